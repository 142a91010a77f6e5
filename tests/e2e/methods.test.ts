// GET of a function that changes data: PostgREST runs GET read-only, so such a
// call used to fail half-way with the database's own message (found by the fuzz
// suite, one function per seed). The pre-request check answers every one of them.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { db, newUser, postgrest, session } from './helpers.js';

describe('HTTP methods', () => {
  it('cannot call any api function that changes data with GET (METHOD_NOT_ALLOWED, 405)', async () => {
    const s = await session(await newUser('methods'));
    // Each function with its required arguments (PostgREST picks the function by their names).
    const volatile = (await db.query<{ name: string; args: string[] }>(`select p.proname as name,
        coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs - p.pronargdefaults), '{}') as args
      from pg_proc p where p.pronamespace = 'api'::regnamespace and p.provolatile = 'v' order by 1`)).rows;
    expect(volatile.length).toBeGreaterThan(10);
    const wrong: string[] = [];
    for (const { name, args } of volatile) {
      const query = args.map((a) => `${a}=${encodeURIComponent(crypto.randomUUID())}`).join('&');
      const r = await postgrest(`/rpc/${name}${query ? `?${query}` : ''}`, { token: s.access_token });
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
