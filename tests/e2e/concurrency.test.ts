// Races: many identical requests at once must leave exactly the state one
// careful client would, checked in the database and not only by HTTP status.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { PASSWORD_LANE } from '../../gateway/src/auth/lanes.js';
import { PERIOD, codeAt } from '../../gateway/src/mfa/totp.js';
import { db, enrolTotp, gateway, login, newUser, postgrest, refresh, session, type TestUser } from './helpers.js';

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
    const { secret, at: t } = await enrolTotp(s.access_token, { label: 'Phone' }, oathtool);
    // Ten sign-ins, each waiting for its second factor, all given the same next code.
    const tokens = await all(10, async () => {
      const r = await login(u.email, u.password);
      expect(r.body).toMatchObject({ mfa_required: true });
      return r.body.mfa_token as string;
    });
    const code = oathtool(secret, t + PERIOD);
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

// The remaining "look, then write" races (issue 15, finding 12). Each is staged
// so that it happens on every run: the test holds a lock that stops every
// request just after its look and before its write, waits until all of them
// are there, then lets them go together.

/** Backends waiting on a lock inside `fn` (seen in pg_stat_activity). */
const waitingIn = async (fn: string) => (await db.query<{ n: number }>(
  `select count(*)::int n from pg_stat_activity where wait_event_type = 'Lock' and query like $1`, [`%${fn}(%`])).rows[0]!.n;
/** Polls until at least `n` backends wait inside `fn` (10 s at most); returns how many did. */
async function untilWaiting(fn: string, n: number): Promise<number> {
  let seen = 0;
  for (let i = 0; i < 200 && seen < n; i++) {
    seen = await waitingIn(fn);
    if (seen < n) await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}
/** Runs `fn` while `client` holds the locks `lock` took in an open transaction, then releases them. */
async function holding<T>(lock: string, params: unknown[], fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('begin');
    await client.query(lock, params);
    return await fn(client);
  } finally {
    await client.query('rollback').catch(() => undefined);
    client.release();
  }
}
async function withTotp(tag: string): Promise<TestUser & { secret: string }> {
  const u = await newUser(tag);
  const s = await session(u);
  return { ...u, secret: (await enrolTotp(s.access_token)).secret };
}

describe('remaining races (finding 12)', () => {
  it('opens one account recovery from 8 requests at once, answering the others RECOVERY_ALREADY_REQUESTED', async () => {
    const u = await withTotp('race-recovery');
    const tokens = await all(8, async () => (await login(u.email, u.password)).body.mfa_token as string);
    // SHARE lets every request look (no open recovery) and stops each at its insert.
    const replies = await holding('lock table app.account_recoveries in share mode', [], async () => {
      const pending = all(8, (i) => gateway('/auth/recovery', { method: 'POST', json: { mfa_token: tokens[i] } }));
      console.log(`[concurrency] recovery: ${await untilWaiting('app.request_account_recovery', 8)} requests past the look, waiting to insert`);
      return { pending };
    }).then((x) => x.pending);
    expect(replies.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    expect(count(replies, 202)).toBe(1);
    expect(replies.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(Array(7).fill('RECOVERY_ALREADY_REQUESTED'));
    const open = await db.query(`select 1 from app.account_recoveries where user_id = $1 and status in ('pending', 'approved')`, [u.userId]);
    expect(open.rowCount).toBe(1);
  }, 60_000);

  it('cannot pass the password reset limit of 3 per address by sending 10 requests at once (429)', async () => {
    const u = await newUser('race-reset');
    const replies = await holding('lock table app_private.account_requests in share mode', [], async () => {
      const pending = all(10, () => gateway('/auth/password/forgot', { method: 'POST', json: { email: u.email } }));
      // Every request waits: past its count at the insert, or (with the lock) before its count.
      console.log(`[concurrency] password reset: ${await untilWaiting('app.request_password_reset', 10)} requests waiting`);
      return { pending };
    }).then((x) => x.pending);
    expect(replies.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    expect(count(replies, 202)).toBe(3);
    expect(count(replies, 429)).toBe(7);
    const rows = await db.query(`select 1 from app_private.account_requests where kind = 'password_reset'
                                    and email_fingerprint = app_private.fingerprint($1)`, [u.email]);
    expect(rows.rowCount).toBe(3);
  }, 60_000);

  it('cannot pass the MFA code limit of 5 by asking for 10 codes at once (429 MFA_RATE_LIMITED)', async () => {
    const u = await newUser('race-codes');
    await db.query('update app.users set email_verified_at = now() where id = $1', [u.userId]);
    await db.query(`insert into app.mfa_configs (user_id, method, status, confirmed_at) values ($1, 'email', 'active', now())`, [u.userId]);
    const l = await login(u.email, u.password);
    expect(l.body.mfa_required).toBe(true);
    const replies = await holding('lock table app_private.mfa_challenges in share mode', [], async () => {
      const pending = all(10, () => gateway('/auth/mfa/challenge', { method: 'POST', json: { mfa_token: l.body.mfa_token, method: 'email' } }));
      console.log(`[concurrency] mfa codes: ${await untilWaiting('app.create_mfa_challenge', 10)} requests waiting`);
      return { pending };
    }).then((x) => x.pending);
    expect(replies.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    expect(count(replies, 202)).toBe(5);
    expect(replies.filter((r) => r.status === 429).map((r) => r.body.code)).toEqual(Array(5).fill('MFA_RATE_LIMITED'));
    const sent = await db.query('select 1 from app_private.mfa_challenges where user_id = $1', [u.userId]);
    expect(sent.rowCount).toBe(5);
  }, 60_000);

  it('cannot try more wrong second factors than the limit of 5 by sending 10 at once (429 MFA_RATE_LIMITED)', async () => {
    const u = await withTotp('race-mfa-guesses');
    const tokens = await all(10, async () => (await login(u.email, u.password)).body.mfa_token as string);
    const replies = await holding('lock table app.mfa_verification_attempts in share mode', [], async () => {
      // A wrong code: none of those the authenticator shows around now.
      const t = Math.floor(Date.now() / 1000);
      const shown = [-2, -1, 0, 1, 2].map((d) => codeAt(u.secret, t + d * PERIOD));
      const wrong = ['000000', '111111', '222222', '333333', '444444', '555555'].find((x) => !shown.includes(x))!;
      const pending = all(10, (i) => gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token: tokens[i], method: 'totp', code: wrong } }));
      console.log(`[concurrency] mfa guesses: ${await untilWaiting('app.verify_mfa_login', 10)} requests waiting`);
      return { pending };
    }).then((x) => x.pending);
    expect(replies.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
    const checked = await db.query(`select 1 from app.mfa_verification_attempts where user_id = $1 and outcome = 'failed'`, [u.userId]);
    expect(checked.rowCount).toBe(5);
    expect(replies.filter((r) => r.status === 429).map((r) => r.body.code)).toEqual(Array(5).fill('MFA_RATE_LIMITED'));
  }, 60_000);

  it('can run the KYC expiry job while the customer starts a verification: the customer wins, the job does not fail', async () => {
    const u = await newUser('race-kyc-renewal');
    const kyc = `(user_id, level, legal_first_name, legal_last_name, date_of_birth, nationality, address_line1, city, postal_code,
                  residence_country, id_document_type, id_document_number)
                 values ($1, 'basic', 'Ada', 'Lovelace', '1985-12-10', 'GB', '12 St James Square', 'London', 'SW1Y4JH', 'GB', 'passport', 'P1234567')`;
    const { rows: [old] } = await db.query<{ id: string }>(`insert into app.kyc_records ${kyc} returning id`, [u.userId]);
    await db.query(`update app.kyc_records set status = 'in_review' where id = $1`, [old!.id]);
    await db.query(`update app.kyc_records set status = 'approved', decided_at = now(), automated_decision = true, risk_level = 'low',
                      expires_at = now() + interval '10 days' where id = $1`, [old!.id]);
    // The customer's verification is written but not yet committed when the job looks.
    const customer = await db.connect();
    let job: Promise<unknown>;
    try {
      await customer.query('begin');
      await customer.query(`insert into app.kyc_records ${kyc}`, [u.userId]);
      job = db.query('select * from app.check_kyc_expiry($1)', [u.userId]).then((r) => r.rows[0], (e: Error) => e);
      console.log(`[concurrency] kyc renewal: ${await untilWaiting('app.check_kyc_expiry', 1)} job run waiting on the customer's row`);
      await customer.query('commit');
    } finally {
      customer.release();
    }
    const result = await job;
    expect(result).toEqual({ expired: 0, renewals_opened: 0 });
    const rows = await db.query<{ status: string; renewal_requested: boolean }>(
      'select status, renewal_requested_at is not null as renewal_requested from app.kyc_records where user_id = $1 order by created_at', [u.userId]);
    expect(rows.rows).toEqual([{ status: 'approved', renewal_requested: true }, { status: 'pending', renewal_requested: false }]);
    const notice = await db.query(`select 1 from app_private.outbox where user_id = $1 and template = 'kyc.renewal_due'`, [u.userId]);
    expect(notice.rowCount).toBe(1);
  }, 60_000);

  it('cannot load one watchlist version twice at once (WATCHLIST_LOAD_IN_PROGRESS)', async () => {
    const version = `race-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const first = await db.connect();
    let second: unknown;
    try {
      await first.query('begin');
      expect((await first.query('select app.begin_watchlist_load($1, $2) as id', ['race-list', version])).rows[0].id).toBeTruthy();
      const pending = db.query('select app.begin_watchlist_load($1, $2) as id', ['race-list', version]).then((r) => r.rows[0], (e: unknown) => e);
      // Before the fix the second loader waits for the first, then fails on the unique key: let it.
      await Promise.race([pending, untilWaiting('app.begin_watchlist_load', 1)]);
      await first.query('commit');
      second = await pending;
    } finally {
      first.release();
    }
    expect(second).toBeInstanceOf(Error);
    expect(second).toMatchObject({ code: 'PGRST' });
    expect(JSON.parse((second as Error).message)).toMatchObject({ code: 'WATCHLIST_LOAD_IN_PROGRESS' });
    const rows = await db.query('delete from app.watchlists where name = $1 and version = $2', ['race-list', version]);
    expect(rows.rowCount).toBe(1);
  }, 60_000);

  it('cannot be flooded with password changes and resets into starving sign-in: at most the lane hashes at once', async () => {
    const [changer, resetter, other] = await Promise.all([newUser('lane-change'), newUser('lane-reset'), newUser('lane-signin')]);
    const s = await session(changer);
    const { rows: [t] } = await db.query<{ token: string }>(
      `select token from app_private.issue_account_token($1, 'password_reset', $2, interval '30 minutes', now())`, [resetter.userId, resetter.email]);
    const flood: Promise<{ status: number; text: string; body: any; headers: Headers }>[] = [];
    let signedIn = 0;
    let busy = 0;
    // Every change waits on the changer's row, every reset on its token's row: each request that reaches
    // PostgreSQL stays there, holding a connection, until the locks go.
    await holding(`select (select 1 from app.users where id = $1 for update), (select 1 from app_private.account_tokens
                     where token_hash = app_private.token_hash($2) for update)`, [changer.userId, t!.token], async () => {
      for (let i = 0; i < 12; i++) {
        flood.push(gateway('/auth/password/change', { method: 'POST', token: s.access_token,
          json: { current_password: `${changer.password}-wrong`, new_password: `new ${changer.password} ${i}` } }));
        flood.push(gateway('/auth/password/reset', { method: 'POST', json: { token: t!.token, new_password: `reset ${resetter.password} ${i}` } }));
      }
      // Both of this file's functions: app.change_password( and app.reset_password(.
      const fn = 'app.%_password';
      await untilWaiting(fn, PASSWORD_LANE.concurrency);
      // A sign-in still gets through (before the lane, the flood held every pooled connection and it waited).
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000));
      const r = await Promise.race([login(other.email, other.password), timeout]);
      signedIn = r === 'timeout' ? 0 : r.status;
      busy = await waitingIn(fn);
    });
    const replies = await Promise.all(flood);
    console.log(`[concurrency] password lane: 24 changes/resets, ${busy} in PostgreSQL at once (lane: ${PASSWORD_LANE.concurrency}), ` +
      `sign-in ${signedIn}, ${count(replies, 503)} x 503`);
    expect(signedIn).toBe(200);
    expect(busy).toBeLessThanOrEqual(PASSWORD_LANE.concurrency);
    const unexpected = replies.filter((r) => ![200, 400, 429, 503].includes(r.status) || (r.status === 503 && r.body.code !== 'SERVER_BUSY'));
    expect(unexpected.map((r) => `${r.status} ${r.text}`)).toEqual([]);
    for (const r of replies.filter((x) => x.status === 503)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(replies.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
  }, 60_000);
});
