// The assurance matrix (tests/assurance-matrix.ts) against the catalog, the
// gateway's OpenAPI document and the running servers: nothing unplaced, nothing
// stale, the rules hold, and the servers do what the table says (staff at aal1
// refused, ended sessions refused, step-up entries refused outside the window).
import { beforeAll, describe, expect, it } from 'vitest';
import { apiFunctions, apiViews, gatewayRoutes, type Entry, type Role } from '../assurance-matrix.js';
import { backupCodeSession, db, enrolTotp, gateway, newUser, postgrest, session, staffUser, type Reply } from './helpers.js';

const PLACEHOLDER_ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
/** Gateway routes that are not in /openapi.json (the document itself, the static account page and back office). */
const UNDOCUMENTED = Object.keys(gatewayRoutes).filter((k) => k === 'GET /openapi.json' || k.startsWith('GET /account')
  || k.startsWith('GET /backoffice'));

interface Fn { name: string; args: string[]; required: string[] }
let fns: Fn[] = [];
let views: string[] = [];
let documented: string[] = [];
const grants = new Map<string, Set<Role>>();

beforeAll(async () => {
  fns = (await db.query<Fn>(`select p.proname as name,
      coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs and a <> 'now'), '{}') as args,
      coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs - p.pronargdefaults), '{}') as required
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'api' order by 1`)).rows;
  views = (await db.query<{ relname: string }>(`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'api' and c.relkind in ('v', 'm', 'r', 'f', 'p') order by 1`)).rows.map((r) => r.relname);
  const g = await db.query<{ name: string; role: Role }>(`
    select p.proname as name, r as role from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
         unnest(array['anon', 'authenticated', 'compliance_officer', 'admin']) r
     where n.nspname = 'api' and has_function_privilege(r, p.oid, 'execute')
    union all
    select c.relname, r from pg_class c join pg_namespace n on n.oid = c.relnamespace,
         unnest(array['anon', 'authenticated', 'compliance_officer', 'admin']) r
     where n.nspname = 'api' and c.relkind in ('v', 'm', 'r', 'f', 'p') and has_table_privilege(r, c.oid, 'select')`);
  for (const r of g.rows) grants.set(r.name, (grants.get(r.name) ?? new Set()).add(r.role));
  const doc = (await gateway('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
}, 60_000);

const all = (): [string, Entry][] => [
  ...Object.entries(apiFunctions).map(([k, e]) => [`api function ${k}`, e] as [string, Entry]),
  ...Object.entries(apiViews).map(([k, e]) => [`api view ${k}`, e] as [string, Entry]),
  ...Object.entries(gatewayRoutes).map(([k, e]) => [`route ${k}`, e] as [string, Entry]),
];

describe('assurance matrix: every power is placed', () => {
  it('places every api function, and nothing that no longer exists', () => {
    const names = fns.map((f) => f.name);
    expect(names.filter((n) => !(n in apiFunctions)), 'api functions missing from tests/assurance-matrix.ts').toEqual([]);
    expect(Object.keys(apiFunctions).filter((n) => !names.includes(n)), 'matrix entries for functions that no longer exist').toEqual([]);
  });

  it('places every api view, and nothing that no longer exists', () => {
    expect(views.filter((n) => !(n in apiViews)), 'api views missing from tests/assurance-matrix.ts').toEqual([]);
    expect(Object.keys(apiViews).filter((n) => !views.includes(n)), 'matrix entries for views that no longer exist').toEqual([]);
  });

  it('places every gateway route of /openapi.json, and nothing that no longer exists', async () => {
    expect(documented.length).toBeGreaterThan(30);
    expect(documented.filter((k) => !(k in gatewayRoutes)), 'gateway routes missing from tests/assurance-matrix.ts').toEqual([]);
    expect(Object.keys(gatewayRoutes).filter((k) => !documented.includes(k) && !UNDOCUMENTED.includes(k)),
      'matrix entries for routes not in /openapi.json').toEqual([]);
    for (const k of UNDOCUMENTED) expect([k, (await gateway(k.split(' ')[1]!, { redirect: 'manual' })).status]).not.toEqual([k, 404]);
  });

  it('names exactly the roles the catalog grants', () => {
    const wrong = [...Object.entries(apiFunctions), ...Object.entries(apiViews)]
      .filter(([k, e]) => [...(grants.get(k) ?? [])].sort().join() !== [...e.roles].sort().join())
      .map(([k, e]) => `${k}: matrix ${[...e.roles].sort().join()} / granted ${[...(grants.get(k) ?? [])].sort().join()}`);
    expect(wrong).toEqual([]);
  });
});

describe('assurance matrix: the rules', () => {
  it('needs aal2 for every staff power (anything customers cannot call)', () => {
    const wrong = all().filter(([, e]) => !e.roles.includes('authenticated') && !e.roles.includes('anon')
      && e.assurance !== 'aal2' && e.assurance !== 'step_up').map(([k]) => k);
    expect(wrong).toEqual([]);
  });

  it('needs step-up to change a contact, a factor or a password, or to end another of the caller\'s sessions', () => {
    const wrong = all().filter(([, e]) => ['contact_change', 'factor_change', 'password_change', 'session_management'].includes(e.kind)
      && e.assurance !== 'step_up')
      .map(([k]) => k);
    expect(wrong).toEqual([]);
  });

  it('needs a live session for everything above none', () => {
    expect(all().filter(([, e]) => e.assurance !== 'none' && !e.live && !e.roles.includes('anon')).map(([k]) => k)).toEqual([]);
  });
});

// ---- behaviour over HTTP ----

interface Caller { token: string; sessionId?: string; userId?: string; email?: string }
/** The probe with `$user_id` and `$email` replaced by the caller's. */
const probe = (e: Entry, caller: Caller) => Object.fromEntries(Object.entries(e.probe ?? {})
  .map(([k, v]) => [k, v === '$user_id' ? caller.userId : v === '$email' ? caller.email : v]));
const fnBody = (name: string, extra: Record<string, unknown>) =>
  Object.fromEntries([...(fns.find((f) => f.name === name)?.required ?? []).map((a) => [a, null] as const), ...Object.entries(extra)]);

/** Calls one matrix entry with a token: the function (arguments null but for its probe), the view, or the route. */
function callEntry(key: string, e: Entry, caller: Caller): Promise<Reply> {
  const [kind, name] = key.split(/ (.*)/s) as [string, string];
  const token = caller.token;
  if (kind === 'function') return postgrest(`/rpc/${name}`, { method: 'POST', token, json: fnBody(name, probe(e, caller)) });
  if (kind === 'view') return postgrest(`/${name}?limit=1`, { token });
  const [method, path] = name.split(' ') as [string, string];
  return gateway(path.replace(/\{[^}]+\}/g, PLACEHOLDER_ID),
    { method, token, ...(method === 'GET' ? {} : { json: probe(e, caller) }) });
}
const lateness = (k: string, e: Entry) => (k === 'route POST /auth/logout' ? 2 : ['session_management', 'sign_out'].includes(e.kind) ? 1 : 0);
/** Every entry; those that can end sessions last, so they do not end the session the others are tried with. */
const entries = (): [string, Entry][] => [
  ...Object.entries(apiFunctions).map(([k, e]) => [`function ${k}`, e] as [string, Entry]),
  ...Object.entries(apiViews).map(([k, e]) => [`view ${k}`, e] as [string, Entry]),
  ...Object.entries(gatewayRoutes).map(([k, e]) => [`route ${k}`, e] as [string, Entry]),
].sort(([ka, a], [kb, b]) => lateness(ka, a) - lateness(kb, b));
const codeOf = (r: Reply) => r.body?.code;

/** A signed-in staff account without a factor: an aal1 session. */
async function staffAal1(role: 'admin' | 'compliance_officer'): Promise<Caller> {
  const u = await newUser(`am-${role}-aal1`);
  await db.query('select app.set_user_role($1, $2)', [u.email, role]);
  return { token: (await session(u)).access_token, userId: u.userId, email: u.email };
}

/** A customer with TOTP, at aal2 (backup code). */
async function customerAal2(tag: string): Promise<Caller> {
  const u = await newUser(tag);
  const s = await session(u);
  const { backupCodes } = await enrolTotp(s.access_token);
  const v = await backupCodeSession(u, backupCodes[0]);
  return { token: v.access_token, sessionId: v.session_id, userId: u.userId, email: u.email };
}
const staffAal2 = async (role: 'admin' | 'compliance_officer'): Promise<Caller> => {
  const s = await staffUser(role, `am-${role}`);
  return { token: s.token, sessionId: s.session.session_id, userId: s.userId, email: s.email };
};
/** The caller a table entry is tried with: a customer where customers may call it, else staff. */
const pick = <T>(e: Entry, by: { authenticated: T; admin: T; compliance_officer: T }): T =>
  e.roles.includes('authenticated') ? by.authenticated : e.roles.includes('admin') ? by.admin : by.compliance_officer;

describe('assurance matrix: the servers do what it says', () => {
  it('cannot use any staff power from a staff session at aal1 (AAL2_REQUIRED)', async () => {
    const tokens = { admin: await staffAal1('admin'), compliance_officer: await staffAal1('compliance_officer') };
    const wrong: string[] = [];
    for (const [k, e] of entries()) {
      if (e.assurance === 'none' && !e.live) continue;
      for (const role of ['admin', 'compliance_officer'] as const) {
        if (!e.roles.includes(role)) continue;
        const r = await callEntry(k, e, tokens[role]);
        const refused = r.status === 403 && codeOf(r) === 'AAL2_REQUIRED';
        if (refused === Boolean(e.requiredAction)) wrong.push(`${k} as ${role} at aal1: ${r.status} ${codeOf(r)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('cannot use anything that takes a token once its session has ended (SESSION_ENDED)', async () => {
    const callers = { authenticated: await customerAal2('am-ended'), admin: await staffAal2('admin'),
      compliance_officer: await staffAal2('compliance_officer') };
    for (const c of Object.values(callers)) expect((await gateway('/auth/logout', { method: 'POST', token: c.token })).status).toBe(204);
    const wrong: string[] = [];
    for (const [k, e] of entries()) {
      if (!e.live) continue;
      const r = await callEntry(k, e, pick(e, callers));
      if (r.status !== 401 || codeOf(r) !== 'SESSION_ENDED') wrong.push(`${k}: ${r.status} ${codeOf(r)}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('cannot use a step-up power with a session whose last sign-in is older than the window (STEP_UP_REQUIRED)', async () => {
    const callers = { authenticated: await customerAal2('am-stale'), admin: await staffAal2('admin'),
      compliance_officer: await staffAal2('compliance_officer') };
    await db.query("update app.user_sessions set auth_time = now() - interval '20 minutes' where id = any($1)",
      [Object.values(callers).map((c) => c.sessionId)]);
    const wrong: string[] = [];
    for (const [k, e] of entries()) {
      if (e.assurance !== 'step_up' || !e.live) continue;
      if (!e.probe) {
        if (!e.note) wrong.push(`${k}: a step_up entry without a probe must say why in its note`);
        continue;
      }
      const r = await callEntry(k, e, pick(e, callers));
      if (r.status !== 403 || codeOf(r) !== 'STEP_UP_REQUIRED') wrong.push(`${k}: ${r.status} ${codeOf(r)} ${r.body?.message ?? ''}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});
