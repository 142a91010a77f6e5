// Contact changes over HTTP (issue 15, finding 1): the attack was a password-only
// session changing the profile's phone, asking for an SMS step-up code at the new
// number, stepping up to aal2 and then changing the e-mail address. Now a phone
// number changes only with a step-up and a code sent to the new number, the old
// contacts are told, and SMS codes go to the number the factor was enrolled with.
import { describe, expect, it } from 'vitest';
import { db, gateway, mail, newUser, postgrest, session } from './helpers.js';

const OLD = '+4915100000101';

/** A customer with a verified e-mail address and an SMS factor at OLD, and the aal1 session it was enrolled in. */
async function withSms(tag: string) {
  const user = await newUser(tag);
  await db.query(`update app.users set phone = $2, email_verified_at = now() where id = $1`, [user.userId, OLD]);
  const s = await session(user);
  const e = await gateway('/auth/mfa/otp/enroll', { method: 'POST', token: s.access_token, json: { method: 'sms' } });
  expect(e.status).toBe(201);
  const code = (await mail(user.userId, 'mfa_code', { channel: 'sms' })).data.code as string;
  const c = await gateway('/auth/mfa/otp/confirm', { method: 'POST', token: s.access_token, json: { config_id: e.body.config_id, code } });
  expect(c.status).toBe(200);
  return { user, aal1: s.access_token };
}

describe('phone number changes', () => {
  it('cannot change the phone number from an aal1 session (PHONE_CHANGE_NEEDS_VERIFICATION, STEP_UP_REQUIRED)', async () => {
    const { user, aal1 } = await withSms('phone-aal1');
    const direct = await postgrest('/rpc/update_my_profile', { method: 'POST', token: aal1, json: { phone: '+4915199999901' } });
    expect(direct.status).toBe(409);
    expect(direct.body.code).toBe('PHONE_CHANGE_NEEDS_VERIFICATION');
    const started = await postgrest('/rpc/request_phone_change', { method: 'POST', token: aal1, json: { phone: '+4915199999901' } });
    expect(started.status).toBe(403);
    expect(started.body.code).toBe('STEP_UP_REQUIRED');
    expect((await db.query('select phone from app.users where id = $1', [user.userId])).rows[0].phone).toBe(OLD);
  });

  it('sends SMS step-up codes to the enrolled number, whatever the profile says', async () => {
    const { user, aal1 } = await withSms('phone-dest');
    // As if the profile had been changed by a path that no longer exists.
    await db.query(`update app.users set phone = '+4915199999902' where id = $1`, [user.userId]);
    const ch = await gateway('/auth/mfa/challenge', { method: 'POST', token: aal1, json: { method: 'sms' } });
    expect(ch.status).toBe(202);
    expect((await mail(user.userId, 'mfa_code', { channel: 'sms' })).to).toBe(OLD);
  });

  it('can change the phone number after a step-up with the code sent to the new number; the old contacts are told', async () => {
    const { user, aal1 } = await withSms('phone-ok');
    const ch = await gateway('/auth/mfa/challenge', { method: 'POST', token: aal1, json: { method: 'sms' } });
    expect(ch.status).toBe(202);
    const stepCode = (await mail(user.userId, 'mfa_code', { channel: 'sms' })).data.code as string;
    const up = await gateway('/auth/mfa/step-up', { method: 'POST', token: aal1, json: { method: 'sms', code: stepCode } });
    expect(up.status).toBe(200);
    const aal2 = up.body.access_token as string;

    const NEW = '+4915199999903';
    const started = await postgrest('/rpc/request_phone_change', { method: 'POST', token: aal2, json: { phone: NEW } });
    expect(started.status).toBe(200);
    const sms = await mail(user.userId, 'phone_change_code', { channel: 'sms' });
    expect(sms.to).toBe(NEW);
    expect((await mail(user.userId, 'phone_change_requested', { channel: 'email' })).to).toBe(user.email);

    // A wrong code is refused in the one error shape, and counted although the request failed.
    const wrong = await postgrest('/rpc/confirm_phone_change', { method: 'POST', token: aal2,
      json: { code: sms.data.token === '000000' ? '000001' : '000000' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'PHONE_CODE_INVALID', message: expect.any(String), hint: expect.any(String) });
    expect((await db.query('select attempts from app_private.phone_changes where user_id = $1', [user.userId])).rows[0].attempts).toBe(1);

    const ok = await postgrest('/rpc/confirm_phone_change', { method: 'POST', token: aal2, json: { code: sms.data.token } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ changed: true, phone: NEW });
    expect((await postgrest('/rpc/me', { method: 'POST', token: aal2, json: {} })).body.phone).toBe(NEW);
    expect((await mail(user.userId, 'phone_changed', { channel: 'sms' })).to).toBe(OLD);
    expect((await mail(user.userId, 'phone_changed', { channel: 'email' })).to).toBe(user.email);
  });

  it('cannot confirm a phone change once the session that asked for it has ended (SESSION_ENDED)', async () => {
    const { user, aal1 } = await withSms('phone-ended');
    await db.query(`update app.user_sessions set aal = 'aal2', auth_time = now() where user_id = $1`, [user.userId]);
    const started = await postgrest('/rpc/request_phone_change', { method: 'POST', token: aal1, json: { phone: '+4915199999904' } });
    expect(started.status).toBe(200);
    const sms = await mail(user.userId, 'phone_change_code', { channel: 'sms' });
    expect((await gateway('/auth/logout', { method: 'POST', token: aal1 })).status).toBe(204);
    const late = await postgrest('/rpc/confirm_phone_change', { method: 'POST', token: aal1, json: { code: sms.data.token } });
    expect(late.status).toBe(401);
    expect((await db.query('select phone from app.users where id = $1', [user.userId])).rows[0].phone).toBe(OLD);
  });
});

describe('the clock', () => {
  it('cannot read verified = true after expiry by passing a past now (no api function takes now)', async () => {
    const u = await newUser('clock');
    const s = await session(u);
    const r = await postgrest('/rpc/get_user_latest_kyc', { method: 'POST', token: s.access_token, json: { now: '2000-01-01T00:00:00Z' } });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('PGRST202');
  });
});
