// Property-based fuzzing of every gateway route (from its /openapi.json) and
// every /rpc function PostgREST lists for an authenticated and a staff token.
// Expected: no 5xx, every error is JSON {code, message}, no SQL text, stack
// trace or internal name in any error, and nothing half-written.
//
// FUZZ_RUNS (default 300) and FUZZ_SEED (default random) choose the run; the
// seed and the figures are printed so a failing run can be replayed.
import crypto from 'node:crypto';
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_URL, POSTGREST_URL, db, newUser, session, staffUser, type TestUser } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? crypto.randomInt(2 ** 31 - 1));
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 6);
const MARK = `fz${crypto.randomBytes(4).toString('hex')}`;

type Base = 'gateway' | 'postgrest';
interface Target {
  base: Base;
  path: string;
  /** name -> JSON-schema-ish type / format */
  fields: Record<string, { type?: string; format?: string }>;
  required: string[];
  bearer: boolean;
}
interface Case {
  target: Target;
  method: 'POST' | 'GET';
  auth: 'user' | 'staff' | 'none' | 'garbage';
  contentType: string | null;
  body: { kind: 'json'; value: unknown } | { kind: 'raw'; bytes: Uint8Array; label: string };
}

const stats = { requests: 0, by: {} as Record<string, number>, fiveXX: 0, leaks: 0, badShape: 0, rowsLost: 0, halfWritten: 0, noReply: 0, resetsAfter413: 0, freshRetries: 0 };
const failures: string[] = [];
const signupsOk = new Map<string, string>(); // email -> user_id
const signupsFailed = new Set<string>();
const sessionsOk = new Set<string>();
const fuzzUsers = new Set<string>(); // addresses of the users made for the double-click test (registered, so a refused sign-up of one is no ghost)

let user: TestUser;
let userToken = '';
let staffToken = '';
let targets: Target[] = [];

// ---------------------------------------------------------------------------
// What hostile clients send.
const INJECTIONS = [
  "' or 1=1 --", "'; drop table app.users; --", '" or ""="', "1; select pg_sleep(5)", "admin'--",
  '{"role":"admin"}', '","role":"admin","x":"', '\\"}, "role": "admin"', "$$; select 1; $$", '%00', '${7*7}', '{{7*7}}',
  '<script>alert(1)</script>', '../../etc/passwd', 'Robert"); DROP TABLE users;--', "\u0000", 'a\u0000b',
  'Eve\r\n{"level":50,"msg":"forged"}', '\r\n\r\nHTTP/1.1 200 OK', '\u202e\u0007\u001b[31m', '😀👩‍👩‍👧‍👦🏳️‍🌈',
  '\ud800', '\udfff', 'ʼʻ＇', 'NaN', 'Infinity', '-infinity', 'infinity', '0000-00-00', '9999-12-31', '10000-01-01',
  '1900-02-30', '-4713-01-01 BC', '294277-01-01', 'epoch', 'now', 'today', '1e309', '-1e309', '99999999999999999999999999',
  '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'not-a-uuid', '', ' ', 'null', 'true',
];
const controlChars = fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)), maxLength: 20 });
const nastyString = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  controlChars,
  fc.integer({ min: 200, max: 70_000 }).map((n) => 'x'.repeat(n)),
  fc.tuple(fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 10 })).map(([a, b]) => a + b),
);
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 63, Number.MAX_SAFE_INTEGER, -0, 1e308, 0.1) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 4 }) },
);

const strongPassword = fc.string({ minLength: 4, maxLength: 8, unit: fc.constantFrom(...'abcdefghijklmnop') })
  .map((s) => `quiet ${s} harbour ${s.length}7`);

/** A value for one field: plausible for its type and format, or hostile. */
function fieldValue(name: string, spec: { type?: string; format?: string }, hostile = true): fc.Arbitrary<unknown> {
  const plausible: fc.Arbitrary<unknown>[] = [];
  if (name === 'email') plausible.push(fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(...'abcxyz019') }).map((s) => `${s}.${MARK}@fuzz.example`));
  if (name === 'email') plausible.push(fc.constant('USER'));
  if (name === 'password') plausible.push(strongPassword, fc.constant('PASSWORD'));
  if (spec.format === 'uuid' || /_id$/.test(name)) plausible.push(fc.uuid(), fc.constant('USER_ID'));
  if (spec.format === 'date' || /date/.test(name)) plausible.push(fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)));
  if (spec.format?.includes('timestamp') || name === 'now') plausible.push(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
  if (spec.type === 'integer' || spec.format === 'integer' || spec.format === 'bigint') plausible.push(fc.integer());
  if (spec.type === 'boolean' || spec.format === 'boolean') plausible.push(fc.boolean());
  if (/first_name|last_name|name|label/.test(name)) plausible.push(nastyString);
  plausible.push(fc.string({ maxLength: 30 }));
  if (!hostile) return fc.oneof(...plausible.slice(0, 1));
  // Credentials lean plausible so that sign-ups and sign-ins also succeed (and are checked for lost rows).
  const w = name === 'email' || name === 'password' ? 4 : 2;
  return fc.oneof({ weight: w, arbitrary: fc.oneof(...plausible) }, { weight: 3, arbitrary: nastyValue });
}

function objectBody(t: Target): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(t.fields);
  const entries = names.map((n) => fc.option(fieldValue(n, t.fields[n]!), { nil: undefined, freq: 4 }).map((v) => [n, v] as const));
  const extra = fc.dictionary(fc.oneof(fc.constantFrom('role', 'id', 'user_id', 'is_admin', '__proto__', 'constructor', 'sub', 'aal'), fc.string({ maxLength: 12 })), nastyValue, { maxKeys: 3 });
  return fc.tuple(fc.tuple(...entries), fc.option(extra, { freq: 3 })).map(([es, ex]) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of es) if (v !== undefined) o[k] = v;
    if (ex) for (const [k, v] of Object.entries(ex)) o[k] = v;
    return o;
  });
}

/** Required fields plausible and one hostile field at most: these get past validation and write rows. */
function nearlyValidBody(t: Target): fc.Arbitrary<Record<string, unknown>> {
  const req = t.required.filter((n) => t.fields[n]);
  const others = Object.keys(t.fields).filter((n) => !req.includes(n));
  return fc.tuple(
    fc.tuple(...req.map((n) => fieldValue(n, t.fields[n]!, false))),
    others.length ? fc.option(fc.constantFrom(...others).chain((n) => fieldValue(n, t.fields[n]!).map((v) => [n, v] as const))) : fc.constant(null),
  ).map(([vals, extra]) => {
    const o: Record<string, unknown> = Object.fromEntries(req.map((n, i) => [n, vals[i]]));
    if (extra) o[extra[0]] = extra[1];
    return o;
  });
}

const enc = new TextEncoder();
const rawBody: fc.Arbitrary<{ kind: 'raw'; bytes: Uint8Array; label: string }> = fc.oneof(
  fc.constantFrom('{', '{"a":', '{"email": "x" "password": 1}', "{'a':1}", '[1,2', 'nul', '{"a":1}}', '\u0000', '', ' ', '{"a":"\\ud800"}', '{"a":"\\u0000"}',
    '{"__proto__":{"admin":true}}', '[]', '1', '"str"', 'null', '{"a":1e999999}', '{"a":-0e-0}')
    .map((s) => ({ kind: 'raw' as const, bytes: enc.encode(s), label: 'malformed' })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({ kind: 'raw' as const, bytes: Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, ...b, 0x22, 0x7d]), label: 'invalid-utf8' })),
  fc.integer({ min: 100, max: 20_000 }).map((d) => ({ kind: 'raw' as const, bytes: enc.encode('['.repeat(d) + ']'.repeat(d)), label: 'deep-array' })),
  fc.integer({ min: 100, max: 5_000 }).map((d) => ({ kind: 'raw' as const, bytes: enc.encode('{"a":'.repeat(d) + '1' + '}'.repeat(d)), label: 'deep-object' })),
);

function caseArb(): fc.Arbitrary<Case> {
  // Sign-up and sign-in write rows: they get more of the traffic.
  const weighted = targets.flatMap((t) => (t.base === 'gateway' && /\/auth\/(signup|login)$/.test(t.path) ? [t, t, t, t] : [t]));
  return fc.constantFrom(...weighted).chain((target) =>
    fc.record({
      target: fc.constant(target),
      method: target.base === 'postgrest' ? fc.constantFrom<'POST' | 'GET'>('POST', 'POST', 'GET') : fc.constant<'POST' | 'GET'>('POST'),
      auth: fc.constantFrom<Case['auth']>('user', 'user', 'staff', 'none', 'garbage'),
      contentType: fc.constantFrom<string | null>('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', null),
      body: fc.oneof(
        { weight: 6, arbitrary: objectBody(target).map((value) => ({ kind: 'json' as const, value })) },
        { weight: 3, arbitrary: nearlyValidBody(target).map((value) => ({ kind: 'json' as const, value })) },
        { weight: 1, arbitrary: nastyValue.map((value) => ({ kind: 'json' as const, value })) },
        { weight: 2, arbitrary: rawBody },
      ),
    }),
  );
}

// ---------------------------------------------------------------------------
// Sending and judging.
const LEAKS = [/syntax error/i, /at Object\./, /\.ts:\d/, /\.js:\d/, /app_private/, /\bpg_/, /\bSELECT /, /\bINSERT INTO/i,
  /node_modules/, /\bat \S+ \(/, /SQLSTATE/, /\bplpgsql\b/i, /PL\/pgSQL/i, /\baudit\./, /\bapp\.\w+\(/, /relation "/, /column "/,
  /ECONNREFUSED/, /TypeError|ReferenceError|ZodError/];

function stringsIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringsIn(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push(k); stringsIn(x, out); }
  return out;
}

/** The error text without the client's own input (which errors may quote back). */
function withoutEcho(text: string, sent: string[]): string {
  let t = text;
  for (const s of sent.filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    t = t.split(s).join('');
    const esc = JSON.stringify(s).slice(1, -1);
    t = t.split(esc).join('');
  }
  return t;
}

function fill(v: unknown): unknown {
  if (v === 'USER') return user.email;
  if (v === 'PASSWORD') return user.password;
  if (v === 'USER_ID') return user.userId;
  if (Array.isArray(v)) return v.map(fill);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
  return v;
}

interface Reply { status: number; text: string; sent: string[]; oversized?: boolean }
async function send(c: Case): Promise<Reply> {
  const base = c.target.base === 'gateway' ? GATEWAY_URL : POSTGREST_URL;
  const headers: Record<string, string> = {};
  if (c.contentType) headers['content-type'] = c.contentType;
  if (c.auth === 'user') headers.authorization = `Bearer ${userToken}`;
  if (c.auth === 'staff') headers.authorization = `Bearer ${staffToken}`;
  if (c.auth === 'garbage') headers.authorization = 'Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoicG9zdGdyZXMifQ.';
  let url = `${base}${c.target.path}`;
  let body: BodyInit | undefined;
  let sent: string[] = [];
  const value = c.body.kind === 'json' ? fill(c.body.value) : undefined;
  if (c.method === 'GET') {
    const q = new URLSearchParams();
    if (value && typeof value === 'object' && !Array.isArray(value))
      for (const [k, v] of Object.entries(value)) q.append(k, typeof v === 'string' ? v : JSON.stringify(v) ?? '');
    else if (c.body.kind === 'raw') q.append('q', new TextDecoder().decode(c.body.bytes));
    sent = stringsIn(value);
    // Past ~8 KB of URL the HTTP servers themselves refuse the request line
    // (see 'refuses over-long URLs' below); such inputs go in a POST body.
    if (q.toString().length < 6000) url += `?${q}`;
    else body = JSON.stringify(value) ?? 'null';
  } else if (c.body.kind === 'json') {
    body = JSON.stringify(value) ?? 'null';
    sent = stringsIn(value);
  } else {
    body = c.body.bytes as unknown as BodyInit;
    sent = [new TextDecoder().decode(c.body.bytes)];
  }
  const method = c.method === 'GET' && body !== undefined ? 'POST' : c.method;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body instanceof Uint8Array ? body : undefined;
  let res: { status: number; text: () => Promise<string> };
  try {
    try {
      res = bytes && bytes.length > 64 * 1024
        ? await bigRequest(url, headers, bytes)
        : await fetch(url, { method, headers, body, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      // A kept-alive connection the server had already closed (e.g. after answering a malformed
      // request) fails as a reset before the request reaches it; HTTP clients retry that once on
      // a new connection, and so does this test (counted: fresh_retries). A request that still gets
      // no reply on a new connection is a failure below.
      const code = (e as { cause?: { code?: string } }).cause?.code;
      if ((bytes?.length ?? 0) > 64 * 1024 || !['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(code ?? '')) throw e;
      stats.freshRetries++;
      res = await bigRequest(url, headers, bytes ?? new Uint8Array(), method);
    }
  } catch (e) {
    // No reply at all: a failure. (The gateway reads an oversized body to its end, up to 8 MiB,
    // before its 413, so a client no longer sees a reset there: counted apart as resets-after-413.)
    const err = e as { cause?: { code?: string }; code?: string; message?: string };
    return { status: 0, text: `network error ${err.cause?.code ?? err.code ?? err.message}`, sent, oversized: (bytes?.length ?? 0) > 64 * 1024 };
  }
  const text = await res.text();
  // Bookkeeping for the "nothing half-written" check.
  if (c.target.base === 'gateway' && c.method === 'POST' && c.body.kind === 'json' && value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (c.target.path === '/auth/signup' && typeof v.email === 'string') {
      if (res.status === 201) signupsOk.set(v.email, (JSON.parse(text) as { user_id: string }).user_id);
      else signupsFailed.add(v.email);
    }
    if (c.target.path === '/auth/login' && res.status === 200) {
      const j = JSON.parse(text) as { session_id?: string };
      if (j.session_id) sessionsOk.add(j.session_id);
    }
  }
  return { status: res.status, text, sent };
}

function judge(c: Case, r: Reply): void {
  stats.requests++;
  const label = `${c.method} ${c.target.base}${c.target.path} (${c.body.kind === 'raw' ? c.body.label : 'json'}, auth ${c.auth})`;
  stats.by[c.target.base] = (stats.by[c.target.base] ?? 0) + 1;
  if (r.status === 0) {
    if (r.oversized && c.target.base === 'gateway') stats.resetsAfter413++;
    else stats.noReply++;
    failures.push(`no reply from ${label}: ${r.text}`);
    return;
  }
  if (r.status >= 500) {
    stats.fiveXX++;
    failures.push(`${r.status} from ${label}: ${r.text.slice(0, 300)}`);
    return;
  }
  if (r.status < 400) return;
  let body: unknown;
  try {
    body = JSON.parse(r.text);
  } catch {
    body = undefined;
  }
  const b = body as { code?: unknown; message?: unknown } | undefined;
  if (!b || typeof b.code !== 'string' || typeof b.message !== 'string') {
    stats.badShape++;
    failures.push(`non-JSON error ${r.status} from ${label}: ${r.text.slice(0, 200)}`);
  }
  const scrubbed = withoutEcho(r.text, r.sent);
  const leak = LEAKS.find((re) => re.test(scrubbed));
  if (leak) {
    stats.leaks++;
    failures.push(`leak ${leak} in ${r.status} from ${label}: ${scrubbed.slice(0, 300)}`);
  }
}

/**
 * A large POST whose reply is read even when the server stops reading the
 * body (the gateway answers 413 at 64 KiB, after reading the rest, and closes the connection).
 */
/** One request on a connection of its own (no keep-alive pool). */
function bigRequest(url: string, headers: Record<string, string>, body: Uint8Array, method = 'POST'): Promise<{ status: number; text: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method, agent: false, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: async () => Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

async function runPool<T>(items: T[], n: number, fn: (x: T) => Promise<void>) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

// ---------------------------------------------------------------------------
async function discoverTargets(): Promise<Target[]> {
  const out: Target[] = [];
  const gw = (await (await fetch(`${GATEWAY_URL}/openapi.json`)).json()) as any;
  const resolve = (s: any): any => (s?.$ref ? gw.components.schemas[s.$ref.split('/').pop()] : s);
  for (const [path, ops] of Object.entries<any>(gw.paths)) {
    const op = ops.post;
    if (!op) continue;
    const schema = resolve(op.requestBody?.content?.['application/json']?.schema) ?? {};
    const fields: Target['fields'] = {};
    for (const [k, v] of Object.entries<any>(schema.properties ?? {})) fields[k] = { type: resolve(v)?.type, format: resolve(v)?.format };
    out.push({ base: 'gateway', path, fields, required: schema.required ?? [], bearer: !!op.security });
  }
  // PostgREST lists what the caller's role may execute: union of a customer's and a staff member's view.
  for (const token of [userToken, staffToken]) {
    const doc = (await (await fetch(`${POSTGREST_URL}/`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      if (!path.startsWith('/rpc/') || out.some((t) => t.path === path)) continue;
      const fields: Target['fields'] = {};
      for (const p of ops.get?.parameters ?? []) if (p.in === 'query' && p.name) fields[p.name] = { type: p.type, format: p.format };
      out.push({ base: 'postgrest', path, fields, required: [], bearer: true });
    }
  }
  return out;
}

async function counts() {
  const r = await db.query<{ users: string; sessions: string; audit: string }>(
    `select (select count(*) from app.users) users, (select count(*) from app.user_sessions) sessions,
            (select count(*) from audit.audit_log) audit`);
  return r.rows[0]!;
}

let before: Awaited<ReturnType<typeof counts>>;
let startedAt = new Date();

beforeAll(async () => {
  user = await newUser('fuzz');
  userToken = (await session(user)).access_token;
  staffToken = (await staffUser('admin', 'fuzz-staff')).token;
  targets = await discoverTargets();
  before = await counts();
  startedAt = new Date();
}, 60_000);

afterAll(() => {
  // The figures CI shows: seed, requests tried, 5xx, leaks, rows lost.
  console.log(`[fuzz] seed=${SEED} runs=${RUNS} requests=${stats.requests} gateway=${stats.by.gateway ?? 0} postgrest=${stats.by.postgrest ?? 0} ` +
    `5xx=${stats.fiveXX} leaks=${stats.leaks} non-json-errors=${stats.badShape} no-reply=${stats.noReply} fresh_retries=${stats.freshRetries} resets-after-413=${stats.resetsAfter413} signups_ok=${signupsOk.size} rows_lost=${stats.rowsLost} half_written=${stats.halfWritten}`);
});

describe('fuzz', () => {
  it('discovers every gateway route and every rpc function', () => {
    const paths = targets.map((t) => `${t.base}${t.path}`);
    expect(paths).toContain('gateway/auth/signup');
    expect(paths).toContain('gateway/auth/login');
    expect(paths).toContain('postgrest/rpc/me');
    expect(paths).toContain('postgrest/rpc/update_my_profile');
    expect(targets.filter((t) => t.base === 'postgrest').length).toBeGreaterThan(3);
  });

  it(`answers ${RUNS} hostile requests without a 5xx, a non-JSON error or a leak (seed ${SEED})`, async () => {
    const cases = fc.sample(caseArb(), { seed: SEED, numRuns: RUNS });
    await runPool(cases, CONCURRENCY, async (c) => judge(c, await send(c)));
    expect(failures.slice(0, 20)).toEqual([]);
    expect(stats.fiveXX).toBe(0);
  }, Math.max(120_000, RUNS * 100));

  // Finding 12 of issue 15 (a double click on TOTP enrolment answered 500): every look-then-insert must hold
  // when the same request arrives several times at once. Each route gets a fresh user, so that one route
  // ending the session (sign-out, password change, deletion) does not hide the others.
  it(`answers the same nearly-valid request sent 4 times at once on every route without a 5xx (seed ${SEED})`, async () => {
    const [owner, ownerToken] = [user, userToken];
    const [failuresBefore, fiveXXBefore] = [failures.length, stats.fiveXX];
    try {
      for (const [i, t] of targets.entries()) {
        user = await newUser('fuzz-double');
        fuzzUsers.add(user.email);
        userToken = (await session(user)).access_token;
        const [value] = fc.sample(nearlyValidBody(t), { seed: SEED + i, numRuns: 1 });
        const c: Case = { target: t, method: 'POST', auth: 'user', contentType: 'application/json', body: { kind: 'json', value } };
        const replies = await Promise.all([0, 1, 2, 3].map(() => send(c)));
        for (const r of replies) judge(c, r);
      }
    } finally {
      [user, userToken] = [owner, ownerToken];
    }
    expect(failures.slice(failuresBefore, failuresBefore + 20)).toEqual([]);
    expect(stats.fiveXX - fiveXXBefore).toBe(0);
  }, 180_000);

  it('answers every route with 413 (gateway) and never 5xx (PostgREST) for a body over 1 MB', async () => {
    const huge = JSON.stringify({ email: 'a@b.example', password: 'x'.repeat(1_100_000), first_name: 'y'.repeat(10), refresh_token: 'z' });
    const pgrstStatuses = new Map<number, number>();
    for (const t of targets) {
      const r = await send({ target: t, method: 'POST', auth: 'user', contentType: 'application/json', body: { kind: 'raw', bytes: enc.encode(huge), label: 'huge' } });
      judge({ target: t, method: 'POST', auth: 'user', contentType: 'application/json', body: { kind: 'raw', bytes: new Uint8Array(), label: 'huge' } }, { ...r, sent: [huge] });
      if (t.base === 'gateway') {
        expect(r.status, `${t.path}`).toBe(413);
        expect(JSON.parse(r.text).code).toBe('PAYLOAD_TOO_LARGE');
      } else {
        expect(r.status, `${t.path}`).toBeLessThan(500);
        pgrstStatuses.set(r.status, (pgrstStatuses.get(r.status) ?? 0) + 1);
      }
    }
    // PostgREST has no request body limit: it parses the whole body and answers by content (see README).
    console.log(`[fuzz] PostgREST statuses for >1 MB bodies: ${JSON.stringify(Object.fromEntries(pgrstStatuses))}`);
  }, 120_000);

  it('writes nothing half-way: every acknowledged sign-up and sign-in is stored, no refused one is', async () => {
    const after = await counts();
    // A 201 for an address already registered carries a random id (sign-up never reveals
    // which addresses exist), so an acknowledged sign-up is kept when its address has an account.
    const okEmails = [...signupsOk.keys()];
    const found = await db.query<{ n: string }>(
      'select count(distinct lower(email::text)) n from app.users where email = any($1::extensions.citext[])', [okEmails]);
    stats.rowsLost += new Set(okEmails.map((e) => e.toLowerCase())).size - Number(found.rows[0]!.n);
    // Only addresses the database could hold at all (no NUL, no lone surrogate) can be looked up.
    const storable = (e: string) => !e.includes('\u0000') && Buffer.from(e, 'utf8').toString('utf8') === e;
    const refused = [...signupsFailed].filter((e) => !signupsOk.has(e) && e !== user.email && !fuzzUsers.has(e) && storable(e));
    const ghost = await db.query<{ n: string }>(
      `select count(*) n from app.users where email = any($1::extensions.citext[]) and created_at >= $2`, [refused, startedAt]);
    stats.halfWritten += Number(ghost.rows[0]!.n);
    const sess = await db.query<{ n: string }>('select count(*) n from app.user_sessions where id = any($1::uuid[])', [[...sessionsOk]]);
    stats.rowsLost += sessionsOk.size - Number(sess.rows[0]!.n);
    // Our own sign-ups account for users created by this file (other files may add more in parallel).
    const ours = await db.query<{ n: string }>(`select count(*) n from app.users where email like $1 and created_at >= $2`, [`%.${MARK}@fuzz.example`, startedAt]);
    const oursOk = [...signupsOk.keys()].filter((e) => e.endsWith(`.${MARK}@fuzz.example`)).length;
    expect(Number(ours.rows[0]!.n)).toBe(oursOk);
    expect(Number(after.users)).toBeGreaterThanOrEqual(Number(before.users) + oursOk);
    expect(stats.rowsLost).toBe(0);
    expect(stats.halfWritten).toBe(0);
  });
});

describe('transport limits', () => {
  it('refuses over-long URLs with a 4xx, never a 5xx', async () => {
    const q = `q=${'%5B'.repeat(20_000)}`;
    for (const [base, path] of [[GATEWAY_URL, '/auth/login'], [POSTGREST_URL, '/rpc/me']] as const) {
      const r = await fetch(`${base}${path}?${q}`, { method: 'POST', headers: { authorization: `Bearer ${userToken}` } });
      stats.requests++;
      // Node (431) and warp (400) refuse the request line before any handler runs, so the body is theirs, not JSON.
      expect(r.status, base).toBeGreaterThanOrEqual(400);
      expect(r.status, base).toBeLessThan(500);
    }
  });
});

describe('log and audit injection', () => {
  it('stores CR/LF and JSON inside a name as inert data', async () => {
    const evil = 'Eve\r\n{"event_type":"auth.admin_granted","severity":"critical"}\n';
    const email = `inject.${MARK}@fuzz.example`;
    const password = `inert ${crypto.randomBytes(6).toString('hex')} payload`;
    const s = await fetch(`${GATEWAY_URL}/auth/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, first_name: 'Eve', last_name: 'Inject' }),
    });
    expect(s.status).toBe(201);
    const { user_id } = (await s.json()) as { user_id: string };
    const token = (await session({ email, password, userId: user_id })).access_token;
    // The profile rules refuse control characters in names; JSON without them is stored verbatim.
    const withCrlf = await fetch(`${POSTGREST_URL}/rpc/update_my_profile`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ last_name: evil }),
    });
    expect(withCrlf.status).toBe(400);
    const json = '{"role":"admin","event_type":"x"}';
    const ok = await fetch(`${POSTGREST_URL}/rpc/update_my_profile`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ last_name: json }),
    });
    expect(ok.status).toBeLessThan(300);
    const row = await db.query('select last_name, role from app.users where id = $1', [user_id]);
    expect(row.rows[0]).toEqual({ last_name: json, role: 'customer' });
    // The audit trail holds a fingerprint, not the text, and no event the text names.
    const audit = await db.query<{ t: string }>(`select coalesce(new_values::text, '') || details::text t from audit.audit_log where subject_user_id = $1`, [user_id]);
    expect(audit.rows.length).toBeGreaterThan(0);
    for (const r of audit.rows) expect(r.t).not.toContain('"role":"admin"');
    const forged = await db.query(`select 1 from audit.audit_log where subject_user_id = $1 and event_type in ('x', 'auth.admin_granted')`, [user_id]);
    expect(forged.rowCount).toBe(0);
  });
});
