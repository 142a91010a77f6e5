// Issue 15, findings 2, 3 and 17: every gateway route that takes an access token
// checks its session in the database (one middleware), staff powers need aal2
// (a staff account without a factor may only enrol one), and the admin event
// stream closes when its session ends or its admin role is gone.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_URL, backupCodeSession, db, enrolTotp, gateway, login, newUser, postgrest, session, staffUser, type TestUser } from './helpers.js';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF synthetic passport scan '.repeat(20))]);

/** A customer with a verified address, TOTP, and an aal2 session (backup code). */
async function customerAal2(tag: string): Promise<TestUser & { token: string; sessionId: string }> {
  const u = await newUser(tag);
  await db.query('update app.users set email_verified_at = now() where id = $1', [u.userId]);
  const s = await session(u);
  const { backupCodes } = await enrolTotp(s.access_token);
  const v = await backupCodeSession(u, backupCodes[0]);
  return { ...u, token: v.access_token, sessionId: v.session_id };
}

const logout = (token: string) => gateway('/auth/logout', { method: 'POST', token });

/** The routes of the gateway's OpenAPI document that declare a bearer token, with a placeholder for path parameters. */
async function bearerRoutes(): Promise<{ method: string; path: string }[]> {
  const doc = (await gateway('/openapi.json')).body as { paths: Record<string, Record<string, { security?: unknown[] }>> };
  return Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).filter(([, op]) => op.security?.length)
    .map(([m]) => ({ method: m.toUpperCase(), path: p.replace(/\{[^}]+\}/g, '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b') })));
}

describe('session check on every gateway route (finding 3)', () => {
  it('cannot download a KYC document after signing out (SESSION_ENDED)', async () => {
    const u = await customerAal2('sc-kyc');
    const started = await postgrest('/rpc/initiate_kyc_verification', { method: 'POST', token: u.token, json: {
      level: 'standard', legal_first_name: 'Greta', legal_last_name: 'Signout', date_of_birth: '1988-04-12', nationality: 'DE',
      address_line1: 'Lindenallee 5', city: 'Köln', postal_code: '50667', residence_country: 'DE',
      id_document_type: 'passport', id_document_number: 'C7T9K2L4M' } });
    expect(started.status).toBe(200);
    const form = new FormData();
    for (const [k, v] of Object.entries({ kyc_id: started.body.id, document_type: 'passport', issuing_country: 'DE',
      document_number: 'C7T9K2L4M', expires_on: '2032-06-30' })) form.set(k, v);
    form.set('file', new Blob([new Uint8Array(JPEG)], { type: 'image/jpeg' }), 'passport.jpg');
    const doc = await gateway('/kyc/documents', { method: 'POST', token: u.token, body: form });
    expect(doc.status).toBe(201);
    expect((await gateway(`/kyc/documents/${doc.body.id}`, { token: u.token })).status).toBe(200);
    expect((await logout(u.token)).status).toBe(204);
    const after = await gateway(`/kyc/documents/${doc.body.id}`, { token: u.token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('SESSION_ENDED');
    expect(after.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  it('cannot use any gateway route that takes a token after signing out (SESSION_ENDED)', async () => {
    const u = await customerAal2('sc-all');
    expect((await logout(u.token)).status).toBe(204);
    const routes = [...await bearerRoutes(), { method: 'POST', path: '/auth/mfa/challenge' }];
    expect(routes.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const r of routes) {
      const res = await gateway(r.path, { method: r.method, token: u.token, ...(r.method === 'GET' ? {} : { json: { method: 'sms' } }) });
      if (res.status !== 401 || res.body?.code !== 'SESSION_ENDED') wrong.push(`${r.method} ${r.path}: ${res.status} ${res.body?.code}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('staff need a second factor (finding 2)', () => {
  it('cannot use staff powers with a password alone: the session may only enrol a factor (AAL2_REQUIRED)', async () => {
    const u = await newUser('sc-staff');
    const customer = await newUser('sc-staff-target');
    await db.query('select app.set_user_role($1, $2)', [u.email, 'compliance_officer']);
    const l = await login(u.email, u.password);
    expect(l.status).toBe(200);
    expect(l.body.required_actions).toEqual(['enroll_mfa']);
    const token = l.body.access_token;
    // PostgREST: every staff function, and the customer's own ones too.
    for (const [fn, body] of [['export_user_data', { user_id: customer.userId }], ['complete_kyc_verification', { kyc_id: customer.userId, decision: 'approved' }],
      ['me', {}]] as const) {
      const r = await postgrest(`/rpc/${fn}`, { method: 'POST', token, json: body });
      expect([fn, r.status, r.body?.code]).toEqual([fn, 403, 'AAL2_REQUIRED']);
      expect(r.body.hint).toMatch(/\/auth\/mfa\//);
    }
    expect((await postgrest('/kyc_review_queue', { token })).body.code).toBe('AAL2_REQUIRED');
    // Gateway: the document download and the rest answer AAL2_REQUIRED ...
    for (const [method, p] of [['GET', '/kyc/documents/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'], ['POST', '/auth/password/change'],
      ['POST', '/auth/email/change'], ['GET', '/auth/passkeys']] as const) {
      const r = await gateway(p, { method, token, ...(method === 'POST' ? { json: {} } : {}) });
      expect([p, r.status, r.body?.code]).toEqual([p, 403, 'AAL2_REQUIRED']);
    }
    // ... but the required action is open: its sessions, enrolment, then step-up with the new factor.
    expect((await gateway('/auth/sessions', { token })).status).toBe(200);
    const { backupCodes } = await enrolTotp(token);
    expect((await postgrest('/rpc/me', { method: 'POST', token, json: {} })).body.code).toBe('AAL2_REQUIRED');
    const up = await gateway('/auth/mfa/step-up', { method: 'POST', token, json: { method: 'backup_codes', code: backupCodes[0] } });
    expect(up.status).toBe(200);
    // Step-up raised the session itself: even the old token now passes.
    expect((await postgrest('/rpc/me', { method: 'POST', token, json: {} })).status).toBe(200);
    expect((await postgrest('/rpc/me', { method: 'POST', token: up.body.access_token, json: {} })).status).toBe(200);
    expect((await logout(up.body.access_token)).status).toBe(204);
  });

  it('cannot skip the second factor of a staff account with a remembered device', async () => {
    const staff = await staffUser('admin', 'sc-trusted');
    const l = await login(staff.email, staff.password);
    const v = await gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token: l.body.mfa_token, method: 'backup_codes',
      code: staff.backupCodes.shift(), remember_device: true, device_fingerprint: 'fp-staff' } });
    expect(v.status).toBe(200);
    expect(v.body.device_token).toBeTruthy();
    const again = await gateway('/auth/login', { method: 'POST', json: { email: staff.email, password: staff.password,
      device_fingerprint: 'fp-staff', device_token: v.body.device_token } });
    expect(again.status).toBe(200);
    expect(again.body.mfa_required).toBe(true);
    expect(again.body.access_token).toBeUndefined();
    // The pending sign-in is still good for the factor.
    const f = await gateway('/auth/mfa/verify', { method: 'POST', json: { mfa_token: again.body.mfa_token, method: 'backup_codes', code: staff.backupCodes.shift() } });
    expect(f.body.aal).toBe('aal2');
  });

  it('can tell, when granting a staff role, that the user must enrol a second factor', async () => {
      const u = await newUser('sc-cli');
      const run = () => execFileSync('npx', ['zx', path.join('scripts', 'user-role.mjs'), u.email, 'compliance_officer'],
        { env: { ...process.env, FORCE_COLOR: '0' }, encoding: 'utf8' });
      expect(run()).toMatch(/must enrol one at their next sign-in/);
      // With a factor, nothing to say.
      const s = await session(u);
      await enrolTotp(s.access_token);
      expect(run()).not.toMatch(/must enrol/);
  }, 60_000);
});

/** Reads an SSE response until it ends; the events it sent. */
async function readUntilClosed(res: Response, ms: number): Promise<{ events: string[]; closed: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => void reader.cancel(), ms);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch { /* cancelled */ }
  clearTimeout(timer);
  const closed = /event: session_ended/.test(text);
  return { events: [...text.matchAll(/^event: (\S+)/gm)].map((m) => m[1]!), closed };
}

describe('admin event stream (finding 17)', () => {
  it('cannot keep streaming security events after signing out or losing the admin role', async () => {
    const [a, b] = await Promise.all([staffUser('admin', 'sc-sse-a'), staffUser('admin', 'sc-sse-b')]);
    const open = async (token: string) => {
      const res = await fetch(`${GATEWAY_URL}/admin/events`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return res;
    };
    const [ra, rb] = await Promise.all([open(a.token), open(b.token)]);
    expect((await logout(a.token)).status).toBe(204);
    // The role taken away without ending the session (set_user_role would end it too).
    await db.query("update app.users set role = 'customer' where id = $1", [b.userId]);
    // The next keep-alive (every 15 s) re-checks the session and closes the stream.
    const [ea, eb] = await Promise.all([readUntilClosed(ra, 25_000), readUntilClosed(rb, 25_000)]);
    expect(ea).toMatchObject({ closed: true });
    expect(ea.events).toEqual(['ready', 'session_ended']);
    expect(eb).toMatchObject({ closed: true });
    // And it cannot be opened again.
    expect((await gateway('/admin/events', { token: a.token })).body.code).toBe('SESSION_ENDED');
    expect((await gateway('/admin/events', { token: b.token })).body.code).toBe('FORBIDDEN');
  }, 40_000);

  it('cannot deliver an event raised after signing out, even before the next keep-alive', async () => {
    const a = await staffUser('admin', 'sc-sse-c');
    const res = await fetch(`${GATEWAY_URL}/admin/events`, { headers: { authorization: `Bearer ${a.token}` } });
    expect(res.status).toBe(200);
    expect((await logout(a.token)).status).toBe(204);
    // A security event (a warning) right after the sign-out: it must not reach the ended session's stream.
    const victim = await newUser('sc-sse-victim');
    expect((await gateway('/auth/password/forgot', { method: 'POST', json: { email: victim.email } })).status).toBe(202);
    const seen = await readUntilClosed(res, 5_000);
    expect(seen.events).not.toContain('security_event');
    expect(seen.events).toEqual(['ready', 'session_ended']);
  }, 30_000);
});
