// One error shape on both servers (db/errors.md): every refusal a client can meet is
// `{code, message, hint}` (+ `details`: null, absent, or the per-field list), with `code`
// the product's code at the registry's status, never `PT400` with the code in `details`
// and never a PostgreSQL SQLSTATE. PostgREST's own errors (PGRSTnnn: no such function,
// a bad filter, a body that is not JSON) keep their codes.
//
// Every refusal path written in SQL is PGRST-shaped (tests/db/99-static-analysis checks
// each raise); here every api function, view and gateway route is called by every kind
// of caller with arguments it refuses, and each answer is checked as a client gets it.
import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../../clients/ts/index.js';
import {
  POSTGREST_URL, type Reply, assertNoInternals, db, errorRegistry, gateway, newUser, postgrest, session, staffUser,
} from './helpers.js';

const registry = errorRegistry();
const postgrestOwn = /^PGRST\d{3}$/;

/** What is wrong with an error answer, or null when it is in the one shape. */
function shapeProblem(r: Reply, where: string): string | null {
  const b = r.body;
  const at = `${where}: ${r.status} ${r.text.slice(0, 160)}`;
  if (r.status >= 500 && r.status !== 503) return `${at} (a server error)`;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return `${at} (not a JSON object)`;
  if (typeof b.code !== 'string' || typeof b.message !== 'string' || !b.message) return `${at} (no code or message)`;
  const own = postgrestOwn.test(b.code);
  if (!(typeof b.hint === 'string' && b.hint) && !(own && b.hint === null)) return `${at} (no hint)`;
  if (!(b.details === undefined || b.details === null || Array.isArray(b.details) || (own && typeof b.details === 'string'))) return `${at} (details)`;
  const extra = Object.keys(b).filter((k) => !['code', 'message', 'hint', 'details'].includes(k));
  if (extra.length) return `${at} (extra keys ${extra.join(', ')})`;
  if (!own && !registry.get(b.code)?.has(r.status)) return `${at} (${b.code} at ${r.status} is not in db/errors.md)`;
  try {
    assertNoInternals(JSON.stringify({ message: b.message, hint: b.hint }));
  } catch (e) {
    return `${at} (${(e as Error).message.slice(0, 60)})`;
  }
  return null;
}

type Caller = 'anon' | 'customer' | 'compliance_officer' | 'admin';
const tokens: Partial<Record<Caller, string>> = {};
let fns: { name: string; args: string[]; types: string[] }[] = [];
let views: string[] = [];

beforeAll(async () => {
  tokens.customer = (await session(await newUser('shape'))).access_token;
  tokens.compliance_officer = (await staffUser('compliance_officer', 'shape-officer')).token;
  tokens.admin = (await staffUser('admin', 'shape-admin')).token;
  fns = (await db.query(`select p.proname as name,
      coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs), '{}') as args,
      array(select format_type(t, null) from unnest(p.proargtypes) t) as types
    from pg_proc p where p.pronamespace = 'api'::regnamespace order by 1`)).rows;
  views = (await db.query<{ relname: string }>(`select c.relname from pg_class c
    where c.relnamespace = 'api'::regnamespace and c.relkind = 'v' order by 1`)).rows.map((r) => r.relname);
}, 60_000);

/**
 * Arguments a function refuses: unknown ids, nulls, empty strings, nothing at all. Each of the
 * argument's own type (a value PostgREST cannot cast is the gap tested below).
 */
const refusedArgs = ({ args, types }: { args: string[]; types: string[] }) => {
  const id = (i: number) => (types[i] === 'uuid' ? crypto.randomUUID() : types[i] === 'bigint' ? 9_000_000_000 : null);
  return [
    Object.fromEntries(args.map((a, i) => [a, id(i)])),
    Object.fromEntries(args.map((a, i) => [a, id(i) ?? (/text|citext|character/.test(types[i] ?? '') ? '' : null)])),
    {},
  ];
};

describe('one error shape', () => {
  it('answers every refusal of every api function in the shape, for every caller', async () => {
    const problems: string[] = [];
    let refusals = 0;
    for (const f of fns) {
      for (const caller of ['anon', 'customer', 'compliance_officer', 'admin'] as Caller[]) {
        for (const json of refusedArgs(f)) {
          const r = await postgrest(`/rpc/${f.name}`, { method: 'POST', token: tokens[caller], json });
          if (r.status < 400) continue;
          refusals++;
          const p = shapeProblem(r, `${caller} ${f.name}(${Object.keys(json).join(', ')})`);
          if (p) problems.push(p);
        }
      }
    }
    console.log(`[error-shape] functions=${fns.length} refusals=${refusals} problems=${problems.length}`);
    expect(problems).toEqual([]);
    expect(refusals).toBeGreaterThan(fns.length * 2);
  }, 180_000);

  it('answers every refusal of every api view, and of a view that does not exist, in the shape', async () => {
    const problems: string[] = [];
    for (const v of [...views, 'users', 'app.users']) {
      for (const caller of ['anon', 'customer', 'compliance_officer'] as Caller[]) {
        // Not PATCH: which columns it may write is decided by PostgreSQL against the body, which the
        // pre-request cannot see (db/errors.md lists the gap).
        for (const [method, json] of [['GET', undefined], ['DELETE', undefined], ['POST', {}]] as const) {
          const r = await postgrest(`/${v}?id=eq.${crypto.randomUUID()}`, { method, token: tokens[caller], json });
          if (r.status >= 400) {
            const p = shapeProblem(r, `${caller} ${method} /${v}`);
            if (p) problems.push(p);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    const missing = await postgrest('/users', { token: tokens.customer });
    expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND']);
  }, 120_000);

  it('answers every refusal of every gateway route in the shape', async () => {
    const doc = (await gateway('/openapi.json')).body;
    const problems: string[] = [];
    let refusals = 0;
    for (const [p, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
      const url = p.replace(/\{[^}]+\}/g, crypto.randomUUID());
      for (const method of Object.keys(ops)) {
        for (const caller of ['anon', 'customer'] as Caller[]) {
          const tries: RequestInit[] = method === 'get' || method === 'delete' ? [{}]
            : [{ body: '{}', headers: { 'content-type': 'application/json' } },
               { body: '{"unterminated', headers: { 'content-type': 'application/json' } },
               { body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }];
          for (const init of tries) {
            const r = await gateway(url, { ...init, method: method.toUpperCase(), token: tokens[caller] });
            if (r.status < 400) continue;
            refusals++;
            const problem = shapeProblem(r, `${caller} ${method.toUpperCase()} ${p}`);
            if (problem) problems.push(problem);
          }
        }
      }
    }
    console.log(`[error-shape] gateway routes=${Object.keys(doc.paths).length} refusals=${refusals} problems=${problems.length}`);
    expect(problems).toEqual([]);
    expect(refusals).toBeGreaterThan(Object.keys(doc.paths).length);
  }, 120_000);

  it('answers a percent-encoded name as no route, never past the privilege check', async () => {
    const customer = (await session(await newUser('shape-encoded'))).access_token;
    for (const token of [undefined, customer]) {
      const caller = token ? 'customer' : 'anon';
      const fn = await postgrest('/rpc/%72un_maintenance?job=seal', { token });
      expect([fn.status, fn.body.code], caller).toEqual([404, 'NOT_FOUND']);
      const volatile = await postgrest('/rpc/%72equest_account_deletion?confirm_email=x', { token });
      expect([volatile.status, volatile.body.code], caller).toEqual([404, 'NOT_FOUND']);
      const view = await postgrest('/%6byc_review_queue', { token });
      expect([view.status, view.body.code], caller).toEqual([404, 'NOT_FOUND']);
    }
  });

  it('gives the same code, status and message for the same rule through PostgREST and through the gateway', async () => {
    const s = await session(await newUser('shape-same'));
    const id = crypto.randomUUID();
    const viaPostgrest = await postgrest('/rpc/revoke_my_session', { method: 'POST', token: s.access_token, json: { session_id: id } });
    const viaGateway = await gateway(`/auth/sessions/${id}`, { method: 'DELETE', token: s.access_token });
    expect(viaPostgrest.status).toBe(404);
    expect(viaGateway.status).toBe(404);
    expect(viaPostgrest.body).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    // The hint names the route of the server asked (/rpc/my_sessions or GET /auth/sessions).
    expect(viaGateway.body).toMatchObject({ code: viaPostgrest.body.code, message: viaPostgrest.body.message, hint: expect.any(String) });
  });

  it('answers an argument PostgREST cannot cast with 400 and PostgreSQL\'s sentence (the documented PostgREST 12 gap)', async () => {
    const s = await session(await newUser('shape-cast'));
    const r = await postgrest('/rpc/update_my_profile', { method: 'POST', token: s.access_token, json: { date_of_birth: 'yesterday-ish' } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: '22007', message: expect.stringMatching(/^invalid input syntax for type date/) });
    assertNoInternals(r.text);
  });

  it('gives @supabase/postgrest-js clients the product code as error.code', async () => {
    const s = await session(await newUser('shape-client'));
    const client = apiClient(POSTGREST_URL, { token: s.access_token });
    const phone = await client.rpc('update_my_profile', { phone: '+4915112345678' });
    expect(phone.error).toMatchObject({ code: 'PHONE_CHANGE_NEEDS_VERIFICATION', message: expect.any(String), hint: expect.any(String) });
    expect(phone.status).toBe(409);
    const queue = await client.from('kyc_review_queue').select();
    expect(queue.error).toMatchObject({ code: 'FORBIDDEN', hint: expect.any(String) });
    expect(queue.status).toBe(403);
    const anon = await apiClient(POSTGREST_URL).rpc('me');
    expect(anon.error).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(anon.status).toBe(401);
  });
});
