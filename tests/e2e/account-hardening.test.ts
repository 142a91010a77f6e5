// Account flows as an attacker who knows the password tries them over HTTP
// (issue 15, findings 13-16 and the password-change half of 5). Links and codes
// come from the stack's local mailbox, which received them over SMTP (scripts/mailbox.mjs).
import { describe, expect, it } from 'vitest';
import { backupCodeSession, db, enrolTotp, gateway, login, mail, me, newUser, postgrest, session, uniqueEmail, type TestUser } from './helpers.js';

/** A user with an authenticator app and backup codes. */
async function withTotp(tag: string) {
  const user = await newUser(tag);
  const s = await session(user);
  return { ...user, backupCodes: (await enrolTotp(s.access_token)).backupCodes };
}
/** Signs in with the password and a backup code: an aal2 session. */
const aal2Session = (u: TestUser & { backupCodes: string[] }, codeIndex: number) => backupCodeSession(u, u.backupCodes[codeIndex]);
async function staff(tag: string, role: 'admin' | 'compliance_officer') {
  const o = await withTotp(tag);
  await db.query('update app.users set role = $2 where id = $1', [o.userId, role]);
  return (await aal2Session(o, 0)).access_token;
}
async function verifyEmail(u: TestUser) {
  const v = await mail(u.userId, 'email_verification');
  expect((await gateway('/auth/email/verify', { method: 'POST', json: { token: v.data.token } })).status).toBe(200);
}
const askEmailChange = async (token: string, newEmail: string) =>
  expect((await gateway('/auth/email/change', { method: 'POST', token, json: { new_email: newEmail } })).status).toBe(202);

describe('finding 13: a pending e-mail change ends with the password and with its session', () => {
  it('cannot confirm an e-mail change asked for before the owner reset the password (ACCOUNT_TOKEN_INVALID)', async () => {
    const owner = await newUser('h1-reset-owner');
    const attacker = await session(owner);  // knows the password, no second factor on the account
    const theirs = uniqueEmail('h1-attacker');
    await askEmailChange(attacker.access_token, theirs);
    const link = await mail(owner.userId, 'email_change_confirm');
    // The owner notices and resets the password, which ends the attacker's session.
    expect((await gateway('/auth/password/forgot', { method: 'POST', json: { email: owner.email } })).status).toBe(202);
    const reset = await mail(owner.userId, 'password_reset');
    const newPassword = `owner ${Date.now()} reclaims lantern`;
    expect((await gateway('/auth/password/reset', { method: 'POST', json: { token: reset.data.token, new_password: newPassword } })).status).toBe(200);
    const r = await gateway('/auth/email/change/confirm', { method: 'POST', json: { token: link.data.token } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('ACCOUNT_TOKEN_INVALID');
    expect((await login(owner.email, newPassword)).status).toBe(200);
    expect((await login(theirs, newPassword)).status).toBe(401);
  });

  it('cannot confirm an e-mail change once the session that asked for it ended (EMAIL_CHANGE_SESSION_ENDED)', async () => {
    const u = await newUser('h1-session-ended');
    const s = await session(u);
    await askEmailChange(s.access_token, uniqueEmail('h1-elsewhere'));
    const link = await mail(u.userId, 'email_change_confirm');
    await db.query("update app.user_sessions set revoked_at = now(), revoked_reason = 'expired' where id = $1", [s.session_id]);
    const r = await gateway('/auth/email/change/confirm', { method: 'POST', json: { token: link.data.token } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('EMAIL_CHANGE_SESSION_ENDED');
    // Signing out ends the request as well.
    const s2 = await session(u);
    await askEmailChange(s2.access_token, uniqueEmail('h1-elsewhere'));
    const link2 = await mail(u.userId, 'email_change_confirm', { after: Number(link.id) });
    expect((await gateway('/auth/logout', { method: 'POST', token: s2.access_token })).status).toBe(204);
    expect((await gateway('/auth/email/change/confirm', { method: 'POST', json: { token: link2.data.token } })).status).toBe(400);
    expect((await db.query('select email from app.users where id = $1', [u.userId])).rows[0].email).toBe(u.email);
  });
});

describe('finding 14: nobody removes another person\'s factor alone', () => {
  it('cannot remove a customer\'s factor as an admin at aal2 (ACCOUNT_RECOVERY_REQUIRED); the customer can, and is told by e-mail', async () => {
    const victim = await withTotp('h1-victim');
    const admin = await staff('h1-admin', 'admin');
    const r = await postgrest('/rpc/disable_mfa_method', { method: 'POST', token: admin, json: { user_id: victim.userId, method: 'totp' } });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('ACCOUNT_RECOVERY_REQUIRED');
    expect((await login(victim.email, victim.password)).body.mfa_required).toBe(true);
    const clock = await postgrest('/rpc/disable_mfa_method', { method: 'POST', token: admin,
      json: { user_id: victim.userId, method: 'totp', now: '2000-01-01T00:00:00Z' } });
    expect(clock.status).toBe(404);  // no such function: API callers do not move the clock
    const own = await aal2Session(victim, 0);
    const done = await postgrest('/rpc/disable_mfa_method', { method: 'POST', token: own.access_token, json: { user_id: victim.userId, method: 'totp' } });
    expect(done.status).toBe(200);
    const notice = await mail(victim.userId, 'mfa_disabled');
    expect(notice.to).toBe(victim.email);
    expect(notice.subject).toBe('A second factor was removed');
    expect(notice.text).toMatch(/^An authenticator app was removed from your DwayBank account/);
    expect(notice.text).toContain('It was your last second factor');
  });
});

describe('finding 15: "sign out everywhere" needs a step-up and keeps only the caller\'s session', () => {
  it('cannot sign out everywhere from a stale session (STEP_UP_REQUIRED) nor keep another session (INVALID_EXCEPT_SESSION)', async () => {
    const u = await newUser('h1-everywhere');
    const owner = await session(u);
    const stolen = await session(u);
    await db.query("update app.user_sessions set auth_time = now() - interval '20 minutes' where id = $1", [stolen.session_id]);
    const r = await postgrest('/rpc/revoke_user_sessions', { method: 'POST', token: stolen.access_token,
      json: { user_id: u.userId, reason: 'stolen', except_session: stolen.session_id } });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('STEP_UP_REQUIRED');
    const fresh = await session(u);
    const other = await postgrest('/rpc/revoke_user_sessions', { method: 'POST', token: fresh.access_token,
      json: { user_id: u.userId, reason: 'stolen', except_session: stolen.session_id } });
    expect(other.status).toBe(400);
    expect(other.body.code).toBe('INVALID_EXCEPT_SESSION');
    expect((await me(owner.access_token)).status).toBe(200);
    const mine = await postgrest('/rpc/revoke_user_sessions', { method: 'POST', token: fresh.access_token,
      json: { user_id: u.userId, reason: 'signed_out_everywhere', except_session: fresh.session_id } });
    expect(mine.status).toBe(200);
    expect((await me(owner.access_token)).status).toBe(401);
    expect((await me(fresh.access_token)).status).toBe(200);
  });
});

describe('finding 16: account recovery', () => {
  it('cannot cancel a recovery with only the password; can with the link e-mailed to the verified address', async () => {
    const u = await withTotp('h1-recovery-cancel');
    await verifyEmail(u);
    const l = await login(u.email, u.password);
    expect((await gateway('/auth/recovery', { method: 'POST', json: { mfa_token: l.body.mfa_token } })).status).toBe(202);
    const notice = await mail(u.userId, 'account_recovery_requested');
    expect(notice.to).toBe(u.email);
    const l2 = await login(u.email, u.password);
    const withPassword = await gateway('/auth/recovery/cancel', { method: 'POST', json: { mfa_token: l2.body.mfa_token } });
    expect(withPassword.status).toBe(400);
    expect((await db.query("select count(*)::int as n from app.account_recoveries where user_id = $1 and status = 'pending'", [u.userId])).rows[0].n).toBe(1);
    const ok = await gateway('/auth/recovery/cancel', { method: 'POST', json: { token: notice.data.cancel_token } });
    expect(ok.status).toBe(200);
    await mail(u.userId, 'account_recovery_cancelled');
    const again = await gateway('/auth/recovery/cancel', { method: 'POST', json: { token: notice.data.cancel_token } });
    expect(again.body.code).toBe('ACCOUNT_TOKEN_USED');
  });

  it('can wait 72 hours from the second approval, not from the request; a compliance officer completes a due recovery', async () => {
    const u = await withTotp('h1-recovery-wait');
    await verifyEmail(u);
    const l = await login(u.email, u.password);
    const r = await gateway('/auth/recovery', { method: 'POST', json: { mfa_token: l.body.mfa_token } });
    expect(r.status).toBe(202);
    // Left unapproved for 100 hours.
    await db.query("update app.account_recoveries set requested_at = now() - interval '100 hours', not_before = now() - interval '28 hours' where id = $1", [r.body.recovery_id]);
    const officer = await staff('h1-rec-officer', 'compliance_officer');
    const admin = await staff('h1-rec-admin', 'admin');
    expect((await postgrest('/rpc/approve_account_recovery', { method: 'POST', token: officer, json: { recovery_id: r.body.recovery_id } })).status).toBe(200);
    const second = await postgrest('/rpc/approve_account_recovery', { method: 'POST', token: admin, json: { recovery_id: r.body.recovery_id } });
    expect(second.status).toBe(200);
    expect(new Date(second.body.not_before).getTime()).toBeGreaterThan(Date.now() + 71 * 3600_000);
    const early = await postgrest('/rpc/complete_account_recovery', { method: 'POST', token: officer, json: { recovery_id: r.body.recovery_id } });
    expect(early.body.code).toBe('RECOVERY_WAITING');
    const approved = await mail(u.userId, 'account_recovery_approved');
    expect(approved.data.cancel_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(approved.data.not_before).getTime()).toBeGreaterThan(Date.now() + 71 * 3600_000);
    await db.query("update app.account_recoveries set not_before = now() - interval '1 minute' where id = $1", [r.body.recovery_id]);
    const done = await postgrest('/rpc/complete_account_recovery', { method: 'POST', token: officer, json: { recovery_id: r.body.recovery_id } });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('completed');
    expect((await login(u.email, u.password)).body.access_token).toBeTruthy();
  });
});

describe('finding 5: wrong current passwords lock like failed sign-ins', () => {
  it('cannot guess the current password without limit (TOO_MANY_ATTEMPTS)', async () => {
    const u = await newUser('h1-guess');
    const s = await session(u);
    const statuses: number[] = [];
    let last = null;
    for (let i = 0; i < 5; i++) {
      last = await gateway('/auth/password/change', { method: 'POST', token: s.access_token,
        json: { current_password: `guess number ${i} here`, new_password: `attacker ${Date.now()} owns this` } });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 4)).toEqual([400, 400, 400, 400]);
    expect(last!.status).toBe(429);
    expect(last!.body.code).toBe('TOO_MANY_ATTEMPTS');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    const right = await gateway('/auth/password/change', { method: 'POST', token: s.access_token,
      json: { current_password: u.password, new_password: `attacker ${Date.now()} owns this` } });
    expect(right.status).toBe(429);
    expect((await login(u.email, u.password)).status).toBe(429);
  });
});
