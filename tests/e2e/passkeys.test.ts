// Passkeys over HTTP, with real WebAuthn responses from Chromium's virtual
// authenticator (the browser only signs; every request is checked here):
// second factor, single-use challenges, the sign counter, step-up, removal
// under the MFA rules. Without Chromium this fails; it never skips.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { db, gateway, login, newUser, session } from './helpers.js';
import { PAGE_URL, sharedChromium } from './browser.js';


const browser = sharedChromium();

/** A page on the gateway's origin with a virtual authenticator, to make WebAuthn responses. */
async function authenticator(): Promise<Page> {
  const context = await browser().newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(PAGE_URL);
  return page;
}
const register = (page: Page, optionsJSON: unknown) =>
  page.evaluate((o) => (window as any).SimpleWebAuthnBrowser.startRegistration({ optionsJSON: o }), optionsJSON);
const assert = (page: Page, optionsJSON: unknown) =>
  page.evaluate((o) => (window as any).SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: o }), optionsJSON);

async function userWithPasskey(tag: string) {
  const user = await newUser(tag);
  const s = await session(user);
  const page = await authenticator();
  const options = await gateway('/auth/passkeys/register/options', { method: 'POST', token: s.access_token });
  expect(options.status).toBe(200);
  expect(options.body.rp.id).toBe('localhost');
  const v = await gateway('/auth/passkeys/register/verify', { method: 'POST', token: s.access_token,
    json: { response: await register(page, options.body), label: 'Test key' } });
  expect(v.status).toBe(201);
  expect(v.body.backup_codes).toHaveLength(10);
  return { ...user, page, passkeyId: v.body.passkey_id as string, backupCodes: v.body.backup_codes as string[] };
}

/** Password, then the passkey: the reply of /auth/passkeys/login/verify. */
async function passkeyLogin(u: { email: string; password: string; page: Page }) {
  const l = await login(u.email, u.password);
  expect(l.body.methods).toEqual(['backup_codes', 'webauthn']);
  const options = await gateway('/auth/passkeys/login/options', { method: 'POST', json: { mfa_token: l.body.mfa_token } });
  expect(options.status).toBe(200);
  const response = await assert(u.page, options.body);
  const r = await gateway('/auth/passkeys/login/verify', { method: 'POST', json: { mfa_token: l.body.mfa_token, response } });
  return { r, response, mfaToken: l.body.mfa_token as string };
}

describe('passkeys', () => {
  it('can sign in with a passkey as second factor (aal2, amr webauthn); a response cannot be replayed', async () => {
    const u = await userWithPasskey('pk-login');
    try {
      const { r, response } = await passkeyLogin(u);
      expect(r.status).toBe(200);
      expect(r.body.aal).toBe('aal2');
      expect(r.body.amr).toEqual(['pwd', 'webauthn']);
      // Like a password sign-in, it hands out a device cookie (exempt from a lockout others cause); only its hash is kept.
      const cookie = r.body.device_cookie as string;
      expect(r.headers.get('set-cookie') ?? '').toContain(`dwaybank_device=${cookie};`);
      expect((await db.query('select count(*)::int as n from app_private.device_cookies where user_id = $1 and token_hash = app_private.token_hash($2)',
        [u.userId, cookie])).rows[0].n).toBe(1);
      const stored = (await db.query('select credential_id, sign_count, transports, last_used_at from app.webauthn_credentials where id = $1', [u.passkeyId])).rows[0];
      expect(stored.credential_id).toBe(response.id);
      expect(stored.last_used_at).not.toBeNull();
      // The same signed response with a new sign-in: its challenge was used up.
      const l = await login(u.email, u.password);
      const replay = await gateway('/auth/passkeys/login/verify', { method: 'POST', json: { mfa_token: l.body.mfa_token, response } });
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('PASSKEY_INVALID');
      const listed = await gateway('/auth/passkeys', { token: r.body.access_token });
      expect(listed.body.passkeys.map((p: any) => p.label)).toEqual(['Test key']);
      expect(JSON.stringify(listed.body)).not.toContain('public_key');
    } finally {
      await u.page.context().close();
    }
  }, 60_000);

  it('cannot sign in when the sign counter goes backwards (PASSKEY_COUNTER_REGRESSED), which is a critical security event', async () => {
    const u = await userWithPasskey('pk-counter');
    try {
      await db.query('update app.webauthn_credentials set sign_count = 1000000 where id = $1', [u.passkeyId]);
      const { r } = await passkeyLogin(u);
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('PASSKEY_COUNTER_REGRESSED');
      const ev = await db.query("select severity, details from audit.audit_log where event_type = 'mfa.passkey.counter_regressed' and subject_user_id = $1", [u.userId]);
      expect(ev.rows).toHaveLength(1);
      expect(ev.rows[0].severity).toBe('critical');
      expect((await db.query('select sign_count from app.webauthn_credentials where id = $1', [u.passkeyId])).rows[0].sign_count).toBe('1000000');
    } finally {
      await u.page.context().close();
    }
  }, 60_000);

  it('can step up with a passkey; removing one needs a step-up and never the last factor where MFA is required', async () => {
    const u = await userWithPasskey('pk-remove');
    try {
      const { r } = await passkeyLogin(u);
      await db.query("update app.user_sessions set auth_time = now() - interval '20 minutes' where id = $1", [r.body.session_id]);
      const refused = await gateway(`/auth/passkeys/${u.passkeyId}`, { method: 'DELETE', token: r.body.access_token });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('STEP_UP_REQUIRED');
      const options = await gateway('/auth/passkeys/step-up/options', { method: 'POST', token: r.body.access_token });
      expect(options.status).toBe(200);
      const up = await gateway('/auth/passkeys/step-up/verify', { method: 'POST', token: r.body.access_token,
        json: { response: await assert(u.page, options.body) } });
      expect(up.status).toBe(200);
      expect(up.body.aal).toBe('aal2');
      await db.query('update app.users set mfa_required = true where id = $1', [u.userId]);
      const policy = await gateway(`/auth/passkeys/${u.passkeyId}`, { method: 'DELETE', token: up.body.access_token });
      expect(policy.status).toBe(409);
      expect(policy.body.code).toBe('MFA_REQUIRED_BY_POLICY');
      await db.query('update app.users set mfa_required = false where id = $1', [u.userId]);
      expect((await gateway(`/auth/passkeys/${u.passkeyId}`, { method: 'DELETE', token: up.body.access_token })).status).toBe(204);
      expect((await login(u.email, u.password)).body.access_token).toBeTruthy();
    } finally {
      await u.page.context().close();
    }
  }, 60_000);

  it('cannot register a passkey without a recent sign-in (STEP_UP_REQUIRED)', async () => {
    const user = await newUser('pk-stale');
    const s = await session(user);
    await db.query("update app.user_sessions set auth_time = now() - interval '20 minutes' where id = $1", [s.session_id]);
    const r = await gateway('/auth/passkeys/register/options', { method: 'POST', token: s.access_token });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('STEP_UP_REQUIRED');
  });
});
