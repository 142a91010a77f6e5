// Through the proxy (HAProxy, deploy/proxy/) and the pooler (PgBouncer, deploy/pgbouncer/):
// scripts/behind-proxy.mjs serves this stack's database the production way, a gateway
// (TRUST_PROXY=1) and a PostgREST (dwaybank.trusted_proxy_hops = 1) behind both, and this
// file talks only to the proxy. It closes the PostgREST 12.0.2 gaps the README lists
// (no body limit, 500 in text for `?id=%FF`, text 400 for a long URL) with the product's
// JSON errors, and shows that only the proxy says where a request came from.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, errorRegistry, newUser, staffUser } from './helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
let served: { url: string; socket: string };
let child: ChildProcess;

beforeAll(async () => {
  child = spawn(process.execPath, [path.join(root, 'node_modules', 'zx', 'build', 'cli.js'), 'scripts/behind-proxy.mjs'], {
    cwd: root, env: { ...process.env, STACK_PROFILE: process.env.STACK_PROFILE ?? 'test' }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  served = await new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (line) resolve(JSON.parse(line.slice(6)));
    });
    child.stderr!.on('data', (d) => { out += d; });
    child.on('exit', (code) => reject(new Error(`scripts/behind-proxy.mjs exited (${code}): ${out}`)));
  });
}, 120_000);

afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}, 30_000);

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: any; text: string }

/** One request to the proxy from a chosen loopback address (127.0.0.0/8 is all this machine). */
function request(p: string, { method = 'GET', headers = {}, json, from = '127.0.0.1' }: { method?: string; headers?: Record<string, string>; json?: unknown; from?: string } = {}): Promise<Reply> {
  const url = new URL(served.url);
  const body = json === undefined ? undefined : JSON.stringify(json);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: p, method, localAddress: from, agent: false,
      headers: { ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let parsed: any = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The product's error shape: a registered code with this status, a message and a hint, nothing else. */
function expectError(r: Reply, status: number, code: string) {
  expect(r.status, r.text).toBe(status);
  expect(String(r.headers['content-type'])).toMatch(/^application\/json/);
  expect(Object.keys(r.body).sort()).toEqual(['code', 'hint', 'message']);
  expect(r.body.code).toBe(code);
  expect(errorRegistry().get(code)?.has(status), `${code} (${status}) in db/errors.md`).toBe(true);
}

async function signIn(tag: string, from = '127.0.0.1') {
  const u = await newUser(tag);
  const r = await request('/auth/login', { method: 'POST', json: { email: u.email, password: u.password }, from });
  expect(r.status, r.text).toBe(200);
  return { ...u, ...(r.body as { access_token: string; session_id: string }) };
}

describe('one origin', () => {
  it('can sign in and call PostgREST through one address (gateway paths to the gateway, the rest to PostgREST)', async () => {
    const u = await signIn('proxy-origin');
    const me = await request('/rpc/me', { method: 'POST', json: {}, headers: bearer(u.access_token) });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe(u.email);
    expect((await request('/.well-known/jwks.json')).body.keys.length).toBeGreaterThan(0);
    expect((await request('/openapi.json')).body.info.title).toMatch(/gateway/);  // the gateway's document
    expect((await request('/')).body.swagger).toBe('2.0');                       // PostgREST's
    expect((await request('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request('/account/')).headers['content-type']).toMatch(/text\/html/);
  });
});

describe('limits (the PostgREST 12.0.2 gaps)', () => {
  it('cannot send a body over 64 KiB to PostgREST or the gateway (413 PAYLOAD_TOO_LARGE)', async () => {
    const big = { first_name: 'x'.repeat(1024 * 1024) };
    for (const p of ['/rpc/update_my_profile', '/auth/login']) {
      const r = await fetch(`${served.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(big) });
      const text = await r.text();
      expectError({ status: r.status, headers: Object.fromEntries(r.headers), body: JSON.parse(text), text }, 413, 'PAYLOAD_TOO_LARGE');
    }
  });

  it('cannot send a body without a length outside the document upload (411 LENGTH_REQUIRED)', async () => {
    const body = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('{}')); c.close(); } });
    const r = await fetch(`${served.url}/rpc/me`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    const text = await r.text();
    expectError({ status: r.status, headers: Object.fromEntries(r.headers), body: JSON.parse(text), text }, 411, 'LENGTH_REQUIRED');
  });

  it('cannot send invalid percent-encoding to a PostgREST path (400 INVALID_URL_ENCODING), while valid UTF-8 passes', async () => {
    for (const q of ['id=%FF', 'id=%zz', 'id=%', 'id=%C3', 'id=%00', 'id=%ED%A0%80']) {
      expectError(await request(`/rpc/get_user_latest_kyc?${q}`), 400, 'INVALID_URL_ENCODING');
    }
    const fine = await request('/rpc/get_user_latest_kyc?x=%C3%A9%E2%82%AC%F0%9F%98%80');
    expect(fine.body.code).not.toBe('INVALID_URL_ENCODING');
  });

  it('cannot send a URL over 8 KiB (400 URL_TOO_LONG)', async () => {
    for (const n of [8 * 1024 + 1, 20_000]) expectError(await request(`/rpc/me?id=eq.${'a'.repeat(n)}`), 400, 'URL_TOO_LONG');
    expect((await request(`/rpc/me?x=${'a'.repeat(8000)}`)).body.code).not.toBe('URL_TOO_LONG');
  });
});

describe('client address', () => {
  it('can record the forwarded client address in the audit trail of a PostgREST request, and a forged X-Forwarded-For cannot change it', async () => {
    const u = await signIn('proxy-audit');
    const requestId = `e2e-proxy-${crypto.randomBytes(6).toString('hex')}`;
    const r = await request('/rpc/update_my_profile', {
      method: 'POST', json: { first_name: 'Proxied' }, from: '127.0.0.42',
      headers: { ...bearer(u.access_token), 'x-request-id': requestId, 'x-forwarded-for': '203.0.113.66, 198.51.100.1', forwarded: 'for=203.0.113.67' },
    });
    expect(r.status, r.text).toBe(200);
    const rows = await db.query('select host(ip) as ip from audit.audit_log where request_id = $1', [requestId]);
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const row of rows.rows) expect(row.ip).toBe('127.0.0.42');
  });

  it('can record the forwarded client address of a gateway sign-in, and a forged X-Forwarded-For cannot change it', async () => {
    const u = await newUser('proxy-gw');
    const r = await request('/auth/login', { method: 'POST', json: { email: u.email, password: u.password }, from: '127.0.0.43', headers: { 'x-forwarded-for': '203.0.113.77' } });
    expect(r.status).toBe(200);
    const s = await db.query('select host(ip) as ip from app.user_sessions where id = $1', [r.body.session_id]);
    expect(s.rows[0].ip).toBe('127.0.0.43');
  });
});

describe('pooling (PgBouncer, transaction mode)', () => {
  it('can stream security events to an admin through the proxy (LISTEN on the pooler\'s session alias)', async () => {
    const admin = await staffUser('admin', 'proxy-admin');
    const victim = await newUser('proxy-sse');
    const ac = new AbortController();
    const res = await fetch(`${served.url}/admin/events`, { headers: bearer(admin.token), signal: ac.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const seen: string[] = [];
    const until = Date.now() + 15_000;
    let loggedIn = false;
    while (Date.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      if (!loggedIn && /event: ready/.test(buffer)) {
        loggedIn = true;  // 'ready' is sent once LISTEN is active
        await request('/auth/login', { method: 'POST', json: { email: victim.email, password: 'not the password at all' } });
      }
      seen.push(...buffer.split('\n').filter((l) => l.startsWith('data:') && l.includes(victim.userId)));
      if (seen.length) break;
    }
    ac.abort();
    expect(seen.length).toBeGreaterThan(0);
    expect(JSON.parse(seen[0]!.slice(5))).toMatchObject({ event_type: 'auth.login.failed', subject_user_id: victim.userId });
  });

  it('can serve many requests at once through the pooler without prepared-statement errors', async () => {
    const u = await signIn('proxy-pool');
    const rs = await Promise.all(Array.from({ length: 60 }, () => request('/rpc/me', { method: 'POST', json: {}, headers: bearer(u.access_token) })));
    expect(rs.map((r) => r.status)).toEqual(rs.map(() => 200));
  });
});

describe('when no server is up', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After, and serves again once one is back', async () => {
    const admin = (cmd: string) => new Promise<string>((resolve, reject) => {
      const s = net.connect(served.socket);
      let out = '';
      s.on('connect', () => s.end(`${cmd}\n`));
      s.on('data', (d) => { out += d; });
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    const servers = (await admin('show stat')).split('\n').map((l) => l.split(',')).filter((f) => f[0] === 'postgrest' && f[1] !== 'FRONTEND' && f[1] !== 'BACKEND').map((f) => f[1]!);
    expect(servers.length).toBeGreaterThan(0);
    for (const s of servers) await admin(`disable server postgrest/${s}`);
    try {
      const r = await request('/rpc/me', { method: 'POST', json: {} });
      expectError(r, 503, 'SERVICE_UNAVAILABLE');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      for (const s of servers) await admin(`enable server postgrest/${s}`);
    }
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await request('/')).status) !== 200) await new Promise((r) => setTimeout(r, 100));
    expect(status).toBe(200);
  });
});

describe('the proxy\'s configuration', () => {
  const template = fs.readFileSync(path.join(root, 'deploy', 'proxy', 'haproxy.cfg.tmpl'), 'utf8');

  it('lists every code (and status) the proxy answers in db/errors.md', () => {
    const codes = errorRegistry();
    const missing: string[] = [];
    for (const m of template.matchAll(/return status (\d{3}) content-type application\/json string '\{"code":"([A-Z_]+)"/g))
      if (!codes.get(m[2]!)?.has(Number(m[1]))) missing.push(`${m[2]} (${m[1]})`);
    const lua = fs.readFileSync(path.join(root, 'deploy', 'proxy', 'payload-too-large.lua'), 'utf8');
    expect(lua).toContain('applet:set_status(413, ');
    for (const m of lua.matchAll(/'\{"code":"([A-Z_]+)"/g)) if (!codes.get(m[1]!)?.has(413)) missing.push(`${m[1]} (413) in payload-too-large.lua`);
    const dir = path.join(root, 'deploy', 'proxy', 'errors');
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      expect(Object.keys(body).sort()).toEqual(['code', 'hint', 'message']);
      expect(Number(/Content-Length: (\d+)/.exec(text)?.[1])).toBe(Buffer.byteLength(JSON.stringify(body)));
      if (!codes.get(body.code)?.has(status)) missing.push(`${body.code} (${status}) in ${f}`);
    }
    expect(missing).toEqual([]);
  });

  it('is the only one to state X-Forwarded-For: the client\'s is removed before its own is set', () => {
    const lines = template.split('\n').map((l) => l.trim());
    const del = lines.indexOf('http-request del-header X-Forwarded-For');
    expect(del).toBeGreaterThan(0);
    expect(lines).toContain('option forwardfor');
  });

  it('has docker-compose\'s rendering current and valid (deploy/proxy/haproxy.compose.cfg)', () => {
    const render = (extra: string) => execFileSync(process.execPath, ['--input-type=module', '-e',
      `import { renderProxyConfig, COMPOSE_PROXY } from './scripts/lib/proxy.mjs'; process.stdout.write(renderProxyConfig({ ...COMPOSE_PROXY, ${extra} }))`],
    { cwd: root, encoding: 'utf8' });
    expect(fs.readFileSync(path.join(root, 'deploy', 'proxy', 'haproxy.compose.cfg'), 'utf8')).toBe(render(''));
    const local = path.join(fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'haproxy-')), 'haproxy.cfg');
    fs.writeFileSync(local, render(`configDir: ${JSON.stringify(path.join(root, 'deploy', 'proxy'))}`));
    execFileSync('haproxy', ['-c', '-q', '-f', local]);
  });
});
