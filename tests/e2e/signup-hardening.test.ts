// Issue 15, findings 5 (sign-up half), 6, 11, 12 and 18, and the 413 that was
// sometimes a connection reset: each test reproduces the attack against the
// real gateway and PostgREST.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Lane } from '../../gateway/src/auth/lanes.js';
import { productionPasskeyIssues } from '../../gateway/src/env.js';
import { GATEWAY_URL, db, gateway, login, newUser, session, uniqueEmail } from './helpers.js';

const all = <T>(n: number, fn: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

/**
 * One oversized POST on a connection of its own, whose reply is read only after
 * the whole body has been handed to the kernel: a server that closes with the
 * body unread resets the connection, and the reset throws away the reply.
 */
function oversizedPost(path: string, bytes: number): Promise<{ head: string; error: string | null }> {
  const { hostname, port } = new URL(GATEWAY_URL);
  const body = Buffer.from(JSON.stringify({ email: 'a@b.example', password: 'x'.repeat(bytes) }));
  return new Promise((resolve) => {
    const s = net.connect(Number(port), hostname);
    let data = '';
    let error: string | null = null;
    s.pause();
    s.on('data', (d) => { data += d; });
    s.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message; });
    s.on('close', () => resolve({ head: data.split('\r\n')[0] ?? '', error }));
    s.setTimeout(30_000, () => s.destroy(new Error('timeout')));
    s.on('connect', () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body);
      // Read nothing until the server has had time to answer and close.
      setTimeout(() => s.resume(), 200);
    });
  });
}

describe('the 413 for an oversized body', () => {
  it('cannot be lost to a connection reset: 60 bodies over 1 MB all get 413 (PAYLOAD_TOO_LARGE)', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) {
      for (const path of ['/auth/login', '/auth/mfa/totp/enroll']) {
        const r = await oversizedPost(path, 1_100_000);
        outcomes.push(r.head === 'HTTP/1.1 413 Payload Too Large' ? '413' : `${r.head || 'no reply'} ${r.error ?? ''}`);
      }
    }
    expect(outcomes.filter((o) => o !== '413')).toEqual([]);
  }, 60_000);
});

describe('check-then-insert under concurrency (finding 12)', () => {
  it('cannot turn a double click on TOTP enrolment into a 500: 10 parallel enrolments, one pending factor', async () => {
    const u = await newUser('race-enroll');
    const s = await session(u);
    const replies = await all(10, () => gateway('/auth/mfa/totp/enroll', { method: 'POST', token: s.access_token, json: { label: 'Phone' } }));
    expect(replies.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(201));
    const rows = await db.query<{ id: string; status: string }>(
      `select c.id, c.status from app.mfa_configs c join app_private.mfa_secrets s on s.config_id = c.id
        where c.user_id = $1 and c.method = 'totp'`, [u.userId]);
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]!.status).toBe('pending');
    // The enrolment that survived is one of those answered.
    expect(replies.map((r) => r.body.config_id)).toContain(rows.rows[0]!.id);
  }, 30_000);
});

describe('sign-up answers a registered address as a new one (finding 6)', () => {
  const password = () => `violet ${crypto.randomBytes(6).toString('hex')} lantern`;
  const field = (valid: fc.Arbitrary<string>, invalid: fc.Arbitrary<string>) =>
    fc.option(fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: invalid }), { nil: undefined });
  const body = fc.record({
    password: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('short', 'password123456') }),
    phone: field(fc.constantFrom('+4915112345678', '+14155550123'), fc.constantFrom('12345', 'not-a-phone', '+0123', '')),
    country_code: field(fc.constantFrom('DE', 'fr', 'US'), fc.constantFrom('ZZ', 'D', '1A', '')),
    first_name: field(fc.constantFrom('Ada', 'Zoë'), fc.constantFrom('\u0001', 'a\nb', '')),
    last_name: field(fc.constantFrom('Lovelace', "O'Brien"), fc.constantFrom('\u0007', '')),
    referral_code: fc.option(fc.constantFrom('0000000000', 'NOPE'), { nil: undefined, freq: 6 }),
  }, { requiredKeys: ['password'] });

  it('cannot tell a registered address from a new one by any answer to sign-up (INVALID_PROFILE for both)', async () => {
    const registered = await newUser('signup-oracle');
    // The case the attack used: a bad profile, answered 201 for a registered address and 400 for a new one.
    const bad = { password: password(), phone: 'not-a-phone' };
    const a = await gateway('/auth/signup', { method: 'POST', json: { ...bad, email: registered.email } });
    const b = await gateway('/auth/signup', { method: 'POST', json: { ...bad, email: uniqueEmail('signup-oracle-new') } });
    expect([a.status, a.body.code]).toEqual([400, 'INVALID_PROFILE']);
    expect([b.status, b.body]).toEqual([a.status, a.body]);
    // And for every other body: the same status, and the same body but for the id of a 201.
    const samples = fc.sample(body, { numRuns: 40 });
    for (const sample of samples) {
      const json = { ...sample, password: sample.password || password() };
      const known = await gateway('/auth/signup', { method: 'POST', json: { ...json, email: registered.email } });
      const fresh = await gateway('/auth/signup', { method: 'POST', json: { ...json, email: uniqueEmail('signup-oracle-new') } });
      const shape = (r: typeof known) => (r.status === 201 ? { status: 201, keys: Object.keys(r.body), id: typeof r.body.user_id } : { status: r.status, body: r.body });
      expect(shape(known), JSON.stringify(json)).toEqual(shape(fresh));
      expect(known.status).toBeLessThan(500);
    }
    // The registered account is untouched: its password still works.
    expect((await login(registered.email, registered.password)).status).toBe(200);
  }, 60_000);
});

describe('sign-up has a lane of its own (finding 5)', () => {
  it('can run at most `concurrency` tasks at once, queue `queue` more, and refuse the rest (SERVER_BUSY)', async () => {
    const lane = new Lane('test', { concurrency: 2, queue: 3, waitMs: 5_000, retryAfterSeconds: 7 });
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const task = () => lane.run(() => new Promise<string>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      gates.push(() => { running--; resolve('done'); });
    }));
    const results = Array.from({ length: 8 }, () => task().then((v) => v, (e: { status: number; code: string; headers: Record<string, string> }) => `${e.status} ${e.code} ${e.headers['Retry-After']}`));
    await new Promise((r) => setImmediate(r));
    expect(lane.load).toEqual({ active: 2, waiting: 3 });
    // Release each running task in turn: the queued ones take their places, never more than 2 at once.
    while (gates.length) { gates.shift()!(); await new Promise((r) => setImmediate(r)); }
    expect(await Promise.all(results)).toEqual([...Array(5).fill('done'), ...Array(3).fill('503 SERVER_BUSY 7')]);
    expect(peak).toBe(2);
    expect(lane.load).toEqual({ active: 0, waiting: 0 });
  });

  it('can give up waiting in the queue after waitMs (SERVER_BUSY)', async () => {
    const lane = new Lane('test', { concurrency: 1, queue: 5, waitMs: 50 });
    let release = () => {};
    const first = lane.run(() => new Promise<void>((r) => { release = r; }));
    const second = lane.run(async () => 'ran').catch((e: { code: string }) => e.code);
    expect(await second).toBe('SERVER_BUSY');
    release();
    await first;
    expect(await lane.run(async () => 'ran')).toBe('ran');
  });

  it('cannot be flooded into a 500 or into starving sign-in: 24 sign-ups at once, at most SIGNUP_CONCURRENCY hashing', async () => {
    const limit = Number(process.env.SIGNUP_CONCURRENCY || 2);
    const u = await newUser('flood-signin');
    let peak = 0;
    let flooding = true;
    const watch = (async () => {
      while (flooding) {
        const r = await db.query<{ n: number }>(
          `select count(*)::int n from pg_stat_activity where application_name = 'dwaybank-gateway' and state = 'active'
              and query like 'select app.signup(%'`);
        peak = Math.max(peak, r.rows[0]!.n);
      }
    })();
    // 24: fewer than the lane's queue, so that the other test files' sign-ups running now are not refused.
    const flood = all(24, (i) => gateway('/auth/signup', { method: 'POST',
      json: { email: uniqueEmail(`flood-${i}`), password: `violet ${crypto.randomBytes(6).toString('hex')} lantern` } }));
    const signIn = login(u.email, u.password);
    const [replies, signedIn] = await Promise.all([flood, signIn]);
    flooding = false;
    await watch;
    expect(signedIn.status).toBe(200);
    const unexpected = replies.filter((r) => ![201, 429, 503].includes(r.status) || (r.status === 503 && r.body.code !== 'SERVER_BUSY'));
    expect(unexpected.map((r) => `${r.status} ${r.text}`)).toEqual([]);
    for (const r of replies.filter((x) => x.status !== 201)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    console.log(`[signup-flood] 24 sign-ups: ${replies.filter((r) => r.status === 201).length} x 201, ` +
      `${replies.filter((r) => r.status !== 201).length} refused; at most ${peak} hashing at once (lane: ${limit})`);
    expect(peak).toBeLessThanOrEqual(limit);
  }, 60_000);
});

describe('passkeys in production (finding 18)', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const start = (extra: Record<string, string>) => spawnSync(process.execPath,
    [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(root, 'gateway', 'src', 'server.ts')], {
      env: {
        PATH: process.env.PATH ?? '', NODE_ENV: 'production', GATEWAY_PORT: '1',
        GATEWAY_DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none', JWT_PRIVATE_JWKS: '{"keys":[]}', MFA_ENCRYPTION_KEYS: '{}', KYC_ENCRYPTION_KEYS: '{}',
        OUTBOX_SENDER: 'webhook', OUTBOX_WEBHOOK_URL: 'https://notify.example/hook', ...extra,
      },
      encoding: 'utf8', timeout: 30_000,
    });

  it('cannot start in production without WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS', () => {
    const r = start({});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/WEBAUTHN_RP_ID: required in production/);
    expect(r.stderr).toMatch(/WEBAUTHN_ORIGINS: required in production/);
  });

  it('cannot start in production on localhost or with a plain-http origin', () => {
    const r = start({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: 'http://localhost:3001' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/WEBAUTHN_RP_ID: must be a public domain name/);
    expect(r.stderr).toMatch(/WEBAUTHN_ORIGINS: "http:\/\/localhost:3001" is not an https origin/);
    const other = start({ WEBAUTHN_RP_ID: 'bank.example', WEBAUTHN_ORIGINS: 'https://bank.example,https://evil.example' });
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/WEBAUTHN_ORIGINS: "https:\/\/evil.example" is not on the relying party's domain/);
  });

  it('cannot be deployed by docker-compose on development defaults: it sets an RP ID and https origins that pass', () => {
    const secrets = {
      POSTGRES_PASSWORD: 'p', DATABASE_OWNER_PASSWORD: 'o', DATABASE_AUTHENTICATOR_PASSWORD: 'a', DATABASE_GATEWAY_PASSWORD: 'g',
      JWT_PRIVATE_JWKS: '{"keys":[]}', MFA_ENCRYPTION_KEYS: '{}', KYC_ENCRYPTION_KEYS: '{}', SMTP_URL: 'smtp://relay.example:587', OUTBOX_SMS_WEBHOOK_URL: 'https://sms.example/hook',
    };
    const out = spawnSync('docker-compose', ['config'], { cwd: root, env: { ...process.env, ...secrets }, encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    // The gateway service's block of the resolved file (services are listed in name order, two-space indented).
    const gw = /\n {2}gateway:\n([\s\S]*?)(?=\n {2}\S)/.exec(out.stdout)?.[1] ?? '';
    const value = (name: string) => new RegExp(`\\n +${name}: (.+)`).exec(`\n${gw}`)?.[1]?.trim().replace(/^'(.*)'$/, '$1');
    expect(value('NODE_ENV')).toBe('production');
    expect(value('WEBAUTHN_RP_ID')).toBeTruthy();
    expect(productionPasskeyIssues(value('WEBAUTHN_RP_ID'), value('WEBAUTHN_ORIGINS'))).toEqual([]);
  });

  it('can pass the WebAuthn checks with an https origin on the relying party domain (and fail later, on its keys)', () => {
    const r = start({ WEBAUTHN_RP_ID: 'bank.example', WEBAUTHN_ORIGINS: 'https://bank.example,https://app.bank.example:8443' });
    expect(r.stderr).not.toMatch(/WEBAUTHN/);
    // The empty key set of this test is what stops it.
    expect(r.status).not.toBe(0);
  });
});
