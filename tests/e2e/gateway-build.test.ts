// The gateway built for production (issue 19): `npm run build` compiles it to
// JavaScript, which runs with `node` alone, production dependencies only, as
// the image does (deploy/app.Dockerfile, docker-compose.yml); and SIGTERM stops
// it gracefully: the requests in flight finish, new ones get 503, it exits 0.
// The build goes to a folder of this test stack's own (parallel stacks share
// the working tree, and dist/), inside the project, where node_modules is found.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PoolClient } from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, uniqueEmail } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dataDir = path.resolve(ROOT, process.env.TEST_STACK_DATA_DIR ?? '.data/test');
const outDir = path.join(dataDir, 'gateway-build', 'dist');
const serverJs = path.join(outDir, 'src', 'server.js');

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});

/** The environment scripts/lib/services.mjs gives this stack's gateway, on another port and writing no JWKS file. */
async function builtGatewayEnv(extra: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  const lib = (f: string) => pathToFileURL(path.join(ROOT, 'scripts', 'lib', f)).href;
  const { stackConfig } = await import(lib('config.mjs'));
  const { gatewayEnv } = await import(lib('services.mjs'));
  return gatewayEnv(stackConfig(process.env.STACK_PROFILE ?? 'test'), { JWKS_FILE: '', LOG_LEVEL: 'info', ...extra });
}

interface Running { child: ChildProcess; url: string; logs: Record<string, unknown>[]; exited: Promise<number | null> }

/** `node <build>/src/server.js`, answering /healthz. */
async function startBuilt(extra: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [serverJs], { env: await builtGatewayEnv({ GATEWAY_PORT: String(port), ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) try { logs.push(JSON.parse(l)); } catch { /* not a log line */ }
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[built gateway] ${d}`));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the built gateway exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break;
    } catch { /* starting */ }
    if (i > 300) throw new Error('the built gateway did not answer /healthz within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, logs, exited };
}

/** Resolves once the gateway has logged `msg` (its own account that it reached a point). */
async function logged(g: Running, msg: string, timeoutMs = 10_000) {
  for (const until = Date.now() + timeoutMs; Date.now() < until;) {
    if (g.logs.some((l) => l.msg === msg)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the built gateway did not log "${msg}"`);
}

const post = (url: string, p: string, json: unknown) =>
  fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) })
    .then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() as any }));
const password = () => `violet ${crypto.randomBytes(8).toString('hex')} lantern`;

/**
 * Holds sign-ups of these addresses in the database: an uncommitted row with
 * each address makes app.signup's insert wait on the unique index until release().
 */
async function holdSignups(emails: string[]) {
  const client: PoolClient = await db.connect();
  await client.query('begin');
  for (const e of emails) await client.query('insert into app.users (email) values ($1)', [e]);
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return {
    /** Resolves once n statements of the gateway are waiting for this transaction. */
    async waiting(n: number) {
      for (let i = 0; i < 600; i++) {
        const r = await db.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [pid]);
        if (r.rows[0]!.n >= n) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`fewer than ${n} sign-ups reached the database`);
    },
    async release() {
      await client.query('rollback').finally(() => client.release());
    },
  };
}

let built: { status: number | null; output: string };
const running: Running[] = [];

beforeAll(async () => {
  // Asynchronously: tsc takes a while, and the worker must keep answering vitest meanwhile.
  const child = spawn('npm', ['run', 'build', '--', '--out-dir', outDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d; });
  child.stderr!.on('data', (d: Buffer) => { output += d; });
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  built = { status, output };
}, 180_000);

afterAll(async () => {
  for (const g of running) if (g.child.exitCode === null && g.child.signalCode === null) g.child.kill('SIGKILL');
});

describe('npm run build', () => {
  it('can compile the gateway into JavaScript that node runs alone: health, the account page, sign-up and sign-in', async () => {
    expect(built.status, built.output).toBe(0);
    expect(fs.existsSync(serverJs)).toBe(true);
    expect(fs.readdirSync(outDir, { recursive: true }).filter((f) => String(f).endsWith('.ts'))).toEqual([]);
    const g = await startBuilt();
    running.push(g);
    expect((await (await fetch(`${g.url}/healthz`)).json())).toMatchObject({ status: 'ok' });
    for (const asset of ['/account/', '/account/app.js', '/account/vendor/simplewebauthn-browser.js']) {
      expect(`${asset} ${(await fetch(`${g.url}${asset}`)).status}`).toBe(`${asset} 200`);
    }
    const email = uniqueEmail('built');
    const pw = password();
    const up = await post(g.url, '/auth/signup', { email, password: pw, first_name: 'Built', last_name: 'Gateway' });
    expect([up.status, typeof up.body.user_id]).toEqual([201, 'string']);
    const signedIn = await post(g.url, '/auth/login', { email, password: pw });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body.access_token).toEqual(expect.any(String));
    g.child.kill('SIGTERM');
    expect(await g.exited).toBe(0);
  }, 60_000);

  it('cannot need a dev dependency at run time: every package the build imports is a production dependency', () => {
    expect(built.status, built.output).toBe(0);
    const deps = new Set(Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies));
    const imported = new Set<string>();
    for (const f of fs.readdirSync(outDir, { recursive: true }).map(String).filter((f) => f.endsWith('.js') && f.startsWith('src'))) {
      const js = fs.readFileSync(path.join(outDir, f), 'utf8');
      for (const m of js.matchAll(/^\s*(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? '';
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    // The account page serves this package's browser bundle from node_modules.
    imported.add('@simplewebauthn/browser');
    expect(imported.size).toBeGreaterThan(5);
    expect([...imported].filter((p) => !deps.has(p))).toEqual([]);
  });

  it('can be what the production image runs: two stages, production dependencies only, `node dist/src/server.js`', () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'deploy', 'app.Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/^RUN npm run build$/m);
    const final = stages[1]!;
    expect(final).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(final).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(final).not.toMatch(/^COPY gateway\b/m);
    expect(final).toMatch(/^CMD \["node", "dist\/src\/server\.js"\]$/m);
    const secrets = {
      POSTGRES_PASSWORD: 'p', DATABASE_OWNER_PASSWORD: 'o', DATABASE_AUTHENTICATOR_PASSWORD: 'a', DATABASE_GATEWAY_PASSWORD: 'g',
      JWT_PRIVATE_JWKS: '{"keys":[]}', MFA_ENCRYPTION_KEYS: '{}', KYC_ENCRYPTION_KEYS: '{}', SMTP_URL: 'smtp://relay.example:587', OUTBOX_SMS_WEBHOOK_URL: 'https://sms.example/hook',
    };
    const out = spawnSync('docker-compose', ['config'], { cwd: ROOT, env: { ...process.env, ...secrets }, encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const gw = (parse(out.stdout) as { services: Record<string, { command?: string[]; build?: { dockerfile?: string } }> }).services.gateway;
    expect(gw?.build?.dockerfile).toBe('deploy/app.Dockerfile');
    expect(gw?.command).toEqual(['node', 'dist/src/server.js']);
    // The path the image runs is the one the build writes.
    expect(path.relative(path.dirname(outDir), serverJs)).toBe(path.join(...gw!.command![1]!.split('/')));
  });
});

describe('SIGTERM', () => {
  it('can stop under load: requests in flight finish (201), new ones get 503 (SERVICE_UNAVAILABLE), then it exits 0', async () => {
    expect(built.status, built.output).toBe(0);
    const g = await startBuilt({ SIGNUP_CONCURRENCY: '8', SHUTDOWN_TIMEOUT_MS: '25000' });
    running.push(g);
    const emails = Array.from({ length: 4 }, (_, i) => uniqueEmail(`drain-${i}`));
    const hold = await holdSignups(emails);
    // Sign-ups that reach the database (each past its bcrypt) and wait there.
    const inFlight = Promise.all(emails.map((email) => post(g.url, '/auth/signup', { email, password: password(), first_name: 'Drain' })));
    try {
      await hold.waiting(emails.length);

      g.child.kill('SIGTERM');
      await logged(g, 'shutting down');
      // From the signal on, every request is refused, on a new connection or not, while those in flight run.
      const refused = await Promise.all([
        fetch(`${g.url}/healthz`).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() as any })),
        post(g.url, '/auth/signup', { email: uniqueEmail('drain-late'), password: password() }),
        post(g.url, '/auth/login', { email: emails[0], password: password() }),
      ]);
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.body).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.any(String), hint: expect.any(String) });
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(g.child.exitCode).toBeNull();
    } finally {
      await hold.release();
    }
    // The sign-ups in flight end as they would have: created.
    const done = await inFlight;
    expect(done.map((r) => r.status)).toEqual(emails.map(() => 201));
    const created = await db.query('select count(*)::int as n from app.users where email::text = any($1::text[])', [emails]);
    expect(created.rows[0].n).toBe(emails.length);
    // Then it exits by itself, cleanly (listener, timers and pool closed), well within SHUTDOWN_TIMEOUT_MS.
    expect(await g.exited).toBe(0);
    expect(g.logs.some((l) => l.msg === 'stopped')).toBe(true);
    expect(g.logs.some((l) => l.msg === 'shutdown timed out; exiting with what is left')).toBe(false);
    await expect(fetch(`${g.url}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('cannot hang on a request that never ends: past SHUTDOWN_TIMEOUT_MS it exits 1', async () => {
    expect(built.status, built.output).toBe(0);
    const g = await startBuilt({ SHUTDOWN_TIMEOUT_MS: '1500' });
    running.push(g);
    const email = uniqueEmail('drain-stuck');
    const hold = await holdSignups([email]);
    try {
      const stuck = post(g.url, '/auth/signup', { email, password: password() }).catch((e: Error) => e);
      await hold.waiting(1);
      const signalled = Date.now();
      g.child.kill('SIGTERM');
      expect(await g.exited).toBe(1);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(1_400);
      expect(g.logs.some((l) => l.msg === 'shutdown timed out; exiting with what is left')).toBe(true);
      expect(await stuck).toBeInstanceOf(Error);
    } finally {
      await hold.release();
    }
  }, 60_000);
});
