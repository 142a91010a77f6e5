// GET of a function that changes data: PostgREST runs GET read-only, so such a
// call used to fail half-way with the database's own message (found by the fuzz
// suite, one function per seed). The pre-request check answers every one of them.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { db, newUser, postgrest, session, staffUser } from './helpers.js';

describe('HTTP methods', () => {
  it('cannot call any api function that changes data with GET (METHOD_NOT_ALLOWED, 405)', async () => {
    // Each function with its required arguments (PostgREST picks the function by their names), called by a
    // role that may call it (a customer, else an officer, else an admin): the method is what is refused.
    const tokens = {
      authenticated: (await session(await newUser('methods'))).access_token,
      compliance_officer: (await staffUser('compliance_officer', 'methods-officer')).token,
      admin: (await staffUser('admin', 'methods-admin')).token,
    };
    const volatile = (await db.query<{ name: string; args: string[]; role: keyof typeof tokens }>(`select p.proname as name,
        coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs - p.pronargdefaults), '{}') as args,
        (select r from unnest(array['authenticated', 'compliance_officer', 'admin']) with ordinality x(r, i)
          where has_function_privilege(r, p.oid, 'execute') order by i limit 1) as role
      from pg_proc p where p.pronamespace = 'api'::regnamespace and p.provolatile = 'v' order by 1`)).rows;
    expect(volatile.length).toBeGreaterThan(10);
    const wrong: string[] = [];
    for (const { name, args, role } of volatile) {
      const query = args.map((a) => `${a}=${encodeURIComponent(crypto.randomUUID())}`).join('&');
      const r = await postgrest(`/rpc/${name}${query ? `?${query}` : ''}`, { token: tokens[role] });
      if (r.status !== 405 || r.body?.code !== 'METHOD_NOT_ALLOWED' || r.headers.get('allow') !== 'POST') {
        wrong.push(`${name}: ${r.status} ${r.text.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('can still call a read-only function with GET', async () => {
    const s = await session(await newUser('methods-get'));
    const r = await postgrest('/rpc/me', { token: s.access_token });
    expect(r.status).toBe(200);
  });
});
