// MFA over HTTP: TOTP enrolment (codes from oathtool), sign-in with a second
// factor, replay, backup codes, rate limit, SMS/e-mail codes via the outbox,
// step-up, trusted devices, and no secret in clear anywhere.
// SMS/e-mail codes are read as the customer reads them: from the stack's local mailbox, which
// received them over SMTP (scripts/mailbox.mjs; INBOX_URL).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeAt, matchStep, PERIOD } from '../../gateway/src/mfa/totp.js';
import { db, enrolTotp, gateway, lastOutboxId, login, mailbox, newUser, postgrest, session, type TestUser } from './helpers.js';

const oathtool = (secret: string, at?: number) =>
  execFileSync('oathtool', ['--totp', '-b', ...(at ? ['-N', `@${at}`] : []), secret], { encoding: 'utf8' }).trim();
const now = () => Math.floor(Date.now() / 1000);

/** A code for a step no earlier than `minStep`: up to one step ahead is within the accepted drift, so no waiting. */
const codeFor = async (secret: string, minStep = 0): Promise<string> => oathtool(secret, Math.max(now(), minStep * PERIOD));

interface Enrolled extends TestUser { secret: string; backupCodes: string[]; step: number }

/** A user with an authenticator app (codes from oathtool) and backup codes. */
async function totpUser(tag: string): Promise<Enrolled> {
  const user = await newUser(tag);
  const s = await session(user);
  const { secret, backupCodes, at } = await enrolTotp(s.access_token, { label: 'Phone' }, oathtool);
  return { ...user, secret, backupCodes, step: Math.floor(at / PERIOD) };
}

const mfaLogin = async (u: TestUser) => {
  const r = await login(u.email, u.password);
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ mfa_required: true });
  return (r.body as any).mfa_token as string;
};
const verify = (mfa_token: string, method: string, code: string, extra: object = {}) =>
  gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token, method, code, ...extra } });

async function codeSentTo(userId: string, channel: 'sms' | 'email', after: number): Promise<string> {
  const ids = (await db.query<{ id: string }>('select id::text from app_private.outbox where user_id = $1 and channel = $2 and id > $3 order by id',
    [userId, channel, after])).rows.map((r) => r.id);
  for (let i = 0; i < 60; i++) {
    const m = (await mailbox({ after })).find((l) => ids.includes(l.id));
    if (m) return m.data.code;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no message arrived in the outbox mailbox');
}

describe('TOTP module', () => {
  it('passes the RFC 6238 SHA-1 test vectors', () => {
    const secret = new TextEncoder().encode('12345678901234567890');
    const vectors: [number, string][] = [[59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'],
      [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130']];
    for (const [t, code] of vectors) expect(codeAt(secret, t, 8)).toBe(code);
  });

  it('accepts codes from oathtool within one step of drift, not two', () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const t = now();
    const step = Math.floor(t / PERIOD);
    expect(matchStep(secret, oathtool(secret, t), t)).toBe(step);
    expect(matchStep(secret, oathtool(secret, t - PERIOD), t)).toBe(step - 1);
    expect(matchStep(secret, oathtool(secret, t - 2 * PERIOD), t)).toBeNull();
  });
});

describe('MFA', () => {
  it('cannot name an authenticator app with text that is not valid Unicode (400, never a 500 from the otpauth URI)', async () => {
    const s = await session(await newUser('mfa-label'));
    const e = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: s.access_token, json: { label: 'Phone \ud800' } });
    expect([e.status, e.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(e.body.details.map((d: { field: string }) => d.field)).toEqual(['label']);
    const ok = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: s.access_token, json: { label: 'Phone 📱' } });
    expect(ok.status).toBe(201);
  });

  it('can enrol TOTP, confirm with oathtool, and must then sign in with a second factor', async () => {
    const user = await newUser('mfa-enrol');
    const s = await session(user);
    const e = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: s.access_token, json: {} });
    expect(e.status).toBe(201);
    expect(e.body.otpauth_uri).toMatch(/^otpauth:\/\/totp\/.*secret=[A-Z2-7]+.*issuer=DwayBank/);
    expect(e.body.qr_svg).toMatch(/^<svg/);
    const c = await gateway('/auth/mfa/totp/confirm', { method: 'POST', token: s.access_token,
      json: { config_id: e.body.config_id, code: oathtool(e.body.secret) } });
    expect(c.status).toBe(200);
    expect(c.body.backup_codes).toHaveLength(10);

    const mfaToken = await mfaLogin(user);
    expect((await login(user.email, user.password)).body.methods).toEqual(['backup_codes', 'totp']);
    const refused = await postgrest('/rpc/me', { method: 'POST', token: mfaToken, json: {} });
    expect(refused.status).toBe(401);
    expect((await gateway('/auth/logout', { method: 'POST', token: mfaToken })).status).toBe(401);

    const v = await verify(mfaToken, 'backup_codes', c.body.backup_codes[0]);
    expect(v.status).toBe(200);
    expect(v.body.aal).toBe('aal2');
    expect(v.body.amr).toEqual(['pwd', 'backup_code']);
    const me = await postgrest('/rpc/me', { method: 'POST', token: v.body.access_token, json: {} });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(user.userId);
    expect((await verify(mfaToken, 'backup_codes', c.body.backup_codes[1])).body.code).toBe('MFA_TOKEN_USED');
  });

  it('cannot use the same TOTP code twice, nor one two steps old (MFA_CODE_INVALID)', async () => {
    const u = await totpUser('mfa-replay');
    const code = await codeFor(u.secret, u.step + 1);
    const requestId = `e2e-mfa-${u.userId}`;
    const first = await gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token: await mfaLogin(u), method: 'totp', code },
      headers: { 'x-request-id': requestId } });
    expect(first.status).toBe(200);
    expect(first.body.amr).toEqual(['pwd', 'otp']);
    expect(first.body.device_cookie).toBeTruthy();
    // One statement accepts the step, opens the session and issues the device cookie; its audit entries carry the request id.
    const traced = await db.query('select table_name, operation from audit.audit_log where request_id = $1', [requestId]);
    expect(traced.rows).toEqual(expect.arrayContaining([
      { table_name: 'app.mfa_configs', operation: 'UPDATE' },
      { table_name: 'app.user_sessions', operation: 'INSERT' },
      { table_name: 'app_private.device_cookies', operation: 'INSERT' },
    ]));
    const again = await verify(await mfaLogin(u), 'totp', code);
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('MFA_CODE_INVALID');
    const old = await verify(await mfaLogin(u), 'totp', oathtool(u.secret, now() - 2 * PERIOD));
    expect(old.body.code).toBe('MFA_CODE_INVALID');
  });

  it('accepts exactly one of parallel submissions of one valid code', async () => {
    const u = await totpUser('mfa-race');
    const tokens = await Promise.all([1, 2, 3, 4].map(() => mfaLogin(u)));
    const code = await codeFor(u.secret, u.step + 1);
    const results = await Promise.all(tokens.map((t) => verify(t, 'totp', code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it('can use a backup code once, never twice; regenerating invalidates the old set', async () => {
    const u = await totpUser('mfa-backup');
    const ok = await verify(await mfaLogin(u), 'backup_codes', u.backupCodes[0]!);
    expect(ok.status).toBe(200);
    expect((await verify(await mfaLogin(u), 'backup_codes', u.backupCodes[0]!)).body.code).toBe('MFA_CODE_INVALID');
    const regen = await gateway('/auth/mfa/backup-codes/regenerate', { method: 'POST', token: ok.body.access_token });
    expect(regen.status).toBe(200);
    expect((await verify(await mfaLogin(u), 'backup_codes', u.backupCodes[1]!)).body.code).toBe('MFA_CODE_INVALID');
    expect((await verify(await mfaLogin(u), 'backup_codes', regen.body.backup_codes[0])).status).toBe(200);
  });

  it('cannot try a sixth wrong code in the window (429 MFA_RATE_LIMITED, Retry-After), and records every attempt', async () => {
    const u = await totpUser('mfa-limit');
    const token = await mfaLogin(u);
    for (let i = 0; i < 5; i++) expect((await verify(token, 'totp', '000000')).status).toBe(401);
    const sixth = await verify(token, 'totp', await codeFor(u.secret, u.step + 1));
    expect(sixth.status).toBe(429);
    expect(sixth.body.code).toBe('MFA_RATE_LIMITED');
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0);
    const attempts = await db.query('select outcome from app.mfa_verification_attempts where user_id = $1 and purpose = $2 order by id',
      [u.userId, 'login']);
    expect(attempts.rows.map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed', 'rate_limited']);
  });

  it('can enrol e-mail codes and sign in with a code from the outbox; codes are single use and tries are counted per code (the 5-try lock is in tests/db/04-mfa)', async () => {
    const user = await newUser('mfa-email');
    // E-mail codes need a verified address (000006-create-account-lifecycle.sql); verification itself is tested in account.test.ts.
    await db.query('update app.users set email_verified_at = now() where id = $1', [user.userId]);
    const s = await session(user);
    let mark = await lastOutboxId();
    const e = await gateway('/auth/mfa/otp/enroll', { method: 'POST', token: s.access_token, json: { method: 'email' } });
    expect(e.status).toBe(201);
    const c = await gateway('/auth/mfa/otp/confirm', { method: 'POST', token: s.access_token,
      json: { config_id: e.body.config_id, code: await codeSentTo(user.userId, 'email', mark) } });
    expect(c.status).toBe(200);

    const token = await mfaLogin(user);
    mark = await lastOutboxId();
    expect((await gateway('/auth/mfa/challenge', { method: 'POST', json: { mfa_token: token, method: 'email' } })).status).toBe(202);
    const code = await codeSentTo(user.userId, 'email', mark);
    const v = await verify(token, 'email', code);
    expect(v.status).toBe(200);
    expect(v.body.amr).toEqual(['pwd', 'email']);

    // A new sign-in: the old code is spent; wrong tries lock the new one.
    const token2 = await mfaLogin(user);
    expect((await verify(token2, 'email', code)).body.code).toBe('MFA_CODE_EXPIRED');
    mark = await lastOutboxId();
    await gateway('/auth/mfa/challenge', { method: 'POST', json: { mfa_token: token2, method: 'email' } });
    const code2 = await codeSentTo(user.userId, 'email', mark);
    const wrong = code2 === '000000' ? '111111' : '000000';
    for (let i = 0; i < 3; i++) await verify(token2, 'email', wrong);
    const row = await db.query('select attempts from app_private.mfa_challenges where user_id = $1 order by created_at desc limit 1', [user.userId]);
    expect(row.rows[0].attempts).toBe(3);
    const sent = await db.query('select payload from app_private.outbox where user_id = $1 and sent_at is not null', [user.userId]);
    expect(sent.rows.every((r) => !('sealed' in r.payload))).toBe(true);
  });

  it('cannot disable a factor without stepping up (STEP_UP_REQUIRED), can after step-up', async () => {
    const u = await totpUser('mfa-stepup');
    const r = await login(u.email, u.password, {});
    const v = await verify((r.body as any).mfa_token, 'backup_codes', u.backupCodes[0]!, { remember_device: true, device_fingerprint: 'fp-e2e' });
    expect(v.body.device_token).toBeTruthy();
    // A remembered device skips the prompt, at aal1.
    const t = await gateway('/auth/login', { method: 'POST', json: { email: u.email, password: u.password, device_fingerprint: 'fp-e2e', device_token: v.body.device_token } });
    expect(t.status).toBe(200);
    const refused = await postgrest('/rpc/disable_mfa_method', { method: 'POST', token: t.body.access_token, json: { user_id: u.userId, method: 'totp' } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('STEP_UP_REQUIRED');
    const up = await gateway('/auth/mfa/step-up', { method: 'POST', token: t.body.access_token, json: { method: 'backup_codes', code: u.backupCodes[1] } });
    expect(up.status).toBe(200);
    expect(up.body.aal).toBe('aal2');
    const done = await postgrest('/rpc/disable_mfa_method', { method: 'POST', token: up.body.access_token, json: { user_id: u.userId, method: 'totp' } });
    expect(done.status).toBe(200);
    expect((await login(u.email, u.password)).body.access_token).toBeTruthy();
  });

  it('keeps secrets, codes and backup codes out of every table, log and audit entry', async () => {
    const u = await totpUser('mfa-leak');
    const dump = (await db.query(`select string_agg(t::text, ' ') as s from (
        select a::text as t from audit.audit_log a union all select o::text from app_private.outbox o
        union all select s::text from app_private.mfa_secrets s union all select c::text from app.mfa_configs c
        union all select b::text from app_private.mfa_backup_codes b) x`)).rows[0].s as string;
    expect(dump).not.toContain(u.secret);
    for (const c of u.backupCodes) {
      expect(dump).not.toContain(c);
      expect(dump).not.toContain(c.replace('-', ''));
    }
    const logs = path.join(process.env.TEST_STACK_DATA_DIR ?? '.data/test', 'logs', 'gateway.log');
    if (fs.existsSync(logs)) {
      const text = fs.readFileSync(logs, 'utf8');
      expect(text).not.toContain(u.secret);
      for (const c of u.backupCodes) expect(text).not.toContain(c);
    }
  });
});
