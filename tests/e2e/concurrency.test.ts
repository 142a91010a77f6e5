// Races: many identical requests at once must leave exactly the state one
// careful client would, checked in the database and not only by HTTP status.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PERIOD } from '../../gateway/src/mfa/totp.js';
import { db, gateway, login, newUser, postgrest, refresh, session } from './helpers.js';

const all = <T>(n: number, fn: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
const count = (xs: { status: number }[], status: number) => xs.filter((x) => x.status === status).length;
const oathtool = (secret: string, at: number) =>
  execFileSync('oathtool', ['--totp', '-b', '-N', `@${at}`, secret], { encoding: 'utf8' }).trim();

describe('concurrency', () => {
  it('counts 200 parallel wrong passwords exactly and locks the account', async () => {
    const u = await newUser('race-lockout');
    const replies = await all(200, () => login(u.email, `${u.password}-wrong`));
    expect(replies.filter((r) => r.status >= 500)).toEqual([]);
    // Every reply is a refusal: wrong credentials until the lock, then "paused".
    expect(count(replies, 401) + count(replies, 429)).toBe(200);
    expect(count(replies, 401)).toBeGreaterThanOrEqual(1);
    const row = (await db.query<{ failed_login_attempts: number; locked: boolean; lock_seconds: number }>(
      `select failed_login_attempts, locked_until > now() as locked, extract(epoch from locked_until - now())::int as lock_seconds
         from app.users where id = $1`, [u.userId])).rows[0]!;
    console.log(`[concurrency] lockout: 200 parallel wrong passwords -> counter ${row.failed_login_attempts}, ` +
      `${count(replies, 401)} x 401, ${count(replies, 429)} x 429, locked ${row.lock_seconds} s`);
    expect(row.failed_login_attempts).toBe(200);
    expect(row.locked).toBe(true);
    // Failures during a lock never extend it past the cap.
    expect(row.lock_seconds).toBeLessThanOrEqual(3600);
    const failed = await db.query(`select 1 from audit.audit_log where subject_user_id = $1 and event_type = 'auth.login.failed'`, [u.userId]);
    expect(failed.rowCount).toBe(200);
    // The right password is refused while the lock holds, and no session was created.
    const right = await login(u.email, u.password);
    expect(right.status).toBe(429);
    const sessions = await db.query('select 1 from app.user_sessions where user_id = $1', [u.userId]);
    expect(sessions.rowCount).toBe(0);
  }, 60_000);

  it('gives 20 parallel refreshes of one token at most one live successor, and still detects reuse', async () => {
    const u = await newUser('race-refresh');
    const pair = await session(u);
    const replies = await all(20, () => refresh(pair.refresh_token));
    expect(replies.filter((r) => r.status >= 500)).toEqual([]);
    const successors = new Set(replies.filter((r) => r.status === 200).map((r) => r.body.refresh_token));
    expect(successors.size).toBeLessThanOrEqual(1);
    const gens = await db.query<{ n: string }>('select count(*) n from app_private.refresh_tokens where session_id = $1', [pair.session_id]);
    // The first token and one successor: one rotation, however many raced.
    expect(Number(gens.rows[0]!.n)).toBe(successors.size + 1);
    console.log(`[concurrency] refresh: 20 parallel -> ${count(replies, 200)} x 200 with ${successors.size} distinct successor(s), ${gens.rows[0]!.n} token generations`);
    const [next] = [...successors];
    expect(next).toBeDefined();
    const third = await refresh(next!);
    expect(third.status).toBe(200);
    // The first token is now two generations old: replaying it revokes the session.
    const replay = await refresh(pair.refresh_token);
    expect(replay.status).toBe(401);
    const s = await db.query<{ revoked_reason: string | null }>('select revoked_reason from app.user_sessions where id = $1', [pair.session_id]);
    expect(s.rows[0]!.revoked_reason).toBe('refresh_token_reuse');
    expect((await refresh(third.body.refresh_token)).status).toBe(401);
  }, 60_000);

  it('accepts one TOTP code exactly once when it is submitted in parallel', async () => {
    const u = await newUser('race-totp');
    const s = await session(u);
    const e = await gateway('/auth/mfa/totp/enroll', { method: 'POST', token: s.access_token, json: { label: 'Phone' } });
    expect(e.status).toBe(201);
    const t = Math.floor(Date.now() / 1000);
    const c = await gateway('/auth/mfa/totp/confirm', { method: 'POST', token: s.access_token,
      json: { config_id: e.body.config_id, code: oathtool(e.body.secret, t) } });
    expect(c.status).toBe(200);
    // Ten sign-ins, each waiting for its second factor, all given the same next code.
    const tokens = await all(10, async () => {
      const r = await login(u.email, u.password);
      expect(r.body).toMatchObject({ mfa_required: true });
      return r.body.mfa_token as string;
    });
    const code = oathtool(e.body.secret, t + PERIOD);
    const before = await db.query<{ n: string }>('select count(*) n from app.user_sessions where user_id = $1', [u.userId]);
    const replies = await all(10, (i) => gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token: tokens[i], method: 'totp', code } }));
    expect(replies.filter((r) => r.status >= 500)).toEqual([]);
    expect(count(replies, 200)).toBe(1);
    const after = await db.query<{ n: string }>('select count(*) n from app.user_sessions where user_id = $1', [u.userId]);
    expect(Number(after.rows[0]!.n) - Number(before.rows[0]!.n)).toBe(1);
    console.log(`[concurrency] totp: 10 parallel submissions of one code -> ${count(replies, 200)} accepted`);
  }, 60_000);

  it('creates exactly one KYC record from parallel initiate_kyc_verification calls', async () => {
    const u = await newUser('race-kyc');
    await db.query('update app.users set email_verified_at = now() where id = $1', [u.userId]);  // KYC needs a verified e-mail
    const token = (await session(u)).access_token;
    const args = {
      level: 'basic', legal_first_name: 'Ada', legal_last_name: 'Lovelace', date_of_birth: '1985-12-10', nationality: 'GB',
      address_line1: '12 St James Square', city: 'London', postal_code: 'SW1Y4JH', residence_country: 'GB',
      id_document_type: 'passport', id_document_number: 'P1234567',
    };
    const replies = await all(10, () => postgrest('/rpc/initiate_kyc_verification', { method: 'POST', token, json: args }));
    expect(replies.filter((r) => r.status >= 500)).toEqual([]);
    expect(count(replies, 200)).toBe(1);
    expect(count(replies, 409)).toBe(9);
    const rows = await db.query('select 1 from app.kyc_records where user_id = $1', [u.userId]);
    expect(rows.rowCount).toBe(1);
    console.log(`[concurrency] kyc: 10 parallel initiations -> ${rows.rowCount} record`);
  }, 60_000);
});
