import crypto from 'node:crypto';
import { PostgrestClient } from '@supabase/postgrest-js';
import { describe, expect, it } from 'vitest';
import {
  POSTGREST_URL, assertNoInternals, db, gateway, login, me, newUser, refresh, session, uniqueEmail,
} from './helpers.js';

/** Headers that may differ between two otherwise identical answers. */
const VOLATILE = new Set(['date', 'x-request-id', 'retry-after']);
const stableHeaders = (h: Headers) => [...h.entries()].filter(([k]) => !VOLATILE.has(k)).sort();

describe('sign-up', () => {
  it('can sign up and gets a user id', async () => {
    const email = uniqueEmail('signup');
    const r = await gateway('/auth/signup', { method: 'POST', json: { email, password: 'seven purple otters sing', country_code: 'de' } });
    expect(r.status).toBe(201);
    expect(r.body.user_id).toMatch(/^[0-9a-f-]{36}$/);
    const row = await db.query('select email::text, country_code from app.users where id = $1', [r.body.user_id]);
    expect(row.rows[0]).toEqual({ email, country_code: 'DE' });
  });

  it('cannot tell from sign-up that an address is registered', async () => {
    const user = await newUser('dup');
    const r = await gateway('/auth/signup', { method: 'POST', json: { email: user.email, password: 'another fine long password' } });
    expect(r.status).toBe(201);
    expect(r.body.user_id).not.toBe(user.userId);
    const count = await db.query('select count(*)::int as n from app.users where email = $1', [user.email]);
    expect(count.rows[0].n).toBe(1);
  });

  it('cannot sign up with a common password (WEAK_PASSWORD)', async () => {
    // Compared case-insensitively after NFKC: the full-width form is the same password.
    for (const password of ['qwerty123456', 'QWERTY123456', 'ｑｗｅｒｔｙ１２３４５６']) {
      const r = await gateway('/auth/signup', { method: 'POST', json: { email: uniqueEmail('weak'), password } });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'WEAK_PASSWORD', message: expect.any(String), hint: expect.any(String) });
    }
  });

  it('cannot sign up with a password shorter than 12 characters (WEAK_PASSWORD)', async () => {
    const r = await gateway('/auth/signup', { method: 'POST', json: { email: uniqueEmail('short'), password: 'Zq8#vLp2!' } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('WEAK_PASSWORD');
    assertNoInternals(r.text);
  });

  it('cannot sign up with an invalid e-mail address (INVALID_EMAIL)', async () => {
    const r = await gateway('/auth/signup', { method: 'POST', json: { email: 'not-an-address', password: 'seven purple otters sing' } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'INVALID_EMAIL', message: expect.any(String), hint: expect.any(String) });
    assertNoInternals(r.text);
  });

  it('cannot sign up with an unknown country (INVALID_PROFILE)', async () => {
    const r = await gateway('/auth/signup', { method: 'POST', json: { email: uniqueEmail('cc'), password: 'seven purple otters sing', country_code: 'XX' } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('INVALID_PROFILE');
    assertNoInternals(r.text);
  });
});

describe('sign-in, refresh and logout', () => {
  it('can sign up, sign in, call PostgREST, refresh and log out; the old access token is refused at once', async () => {
    const user = await newUser('flow');
    const r = await login(user.email, user.password);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toMatchObject({ token_type: 'bearer', expires_in: 900, access_token: expect.any(String), refresh_token: expect.any(String) });
    const first = r.body;

    const profile = await me(first.access_token);
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ id: user.userId, email: user.email, role: 'customer' });

    const next = await refresh(first.refresh_token);
    expect(next.status).toBe(200);
    expect(next.body.session_id).toBe(first.session_id);
    expect(next.body.refresh_token).not.toBe(first.refresh_token);
    expect((await me(next.body.access_token)).status).toBe(200);

    const out = await gateway('/auth/logout', { method: 'POST', token: next.body.access_token });
    expect(out.status).toBe(204);

    for (const token of [first.access_token, next.body.access_token]) {
      const after = await me(token);
      expect(after.status).toBe(401);
      expect(after.body.code).toBe('SESSION_ENDED');
    }
    const again = await refresh(next.body.refresh_token);
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('SESSION_REVOKED');
  });

  it('can call /rpc/me through @supabase/postgrest-js', async () => {
    const user = await newUser('pgjs');
    const { access_token } = await session(user);
    const client = new PostgrestClient(POSTGREST_URL, { headers: { Authorization: `Bearer ${access_token}` } });
    const { data, error } = await client.rpc('me');
    expect(error).toBeNull();
    expect(data).toMatchObject({ id: user.userId, email: user.email });
  });

  it('cannot log out without a valid access token (INVALID_TOKEN)', async () => {
    const user = await newUser('logout');
    const pair = await session(user);
    for (const token of [undefined, 'garbage', pair.refresh_token]) {
      const r = await gateway('/auth/logout', { method: 'POST', token });
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('INVALID_TOKEN');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await me(pair.access_token)).status).toBe(200);
  });

  it('cannot sign in with a wrong password (INVALID_CREDENTIALS)', async () => {
    const user = await newUser('wrong');
    const r = await login(user.email, `${user.password}x`);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ code: 'INVALID_CREDENTIALS', message: expect.any(String), hint: expect.any(String) });
  });

  it('cannot sign in to a suspended account (ACCOUNT_SUSPENDED)', async () => {
    const user = await newUser('suspended');
    await db.query("update app.users set status = 'suspended' where id = $1", [user.userId]);
    const r = await login(user.email, user.password);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('ACCOUNT_SUSPENDED');
  });

  it('cannot sign in after 5 wrong passwords (TOO_MANY_ATTEMPTS), not even with the right one', async () => {
    const user = await newUser('lock');
    for (let i = 0; i < 5; i++) expect((await login(user.email, `wrong password ${i}`)).status).toBe(401);
    for (const password of ['wrong password 6', user.password]) {
      const r = await login(user.email, password);
      expect(r.status).toBe(429);
      expect(r.body.code).toBe('TOO_MANY_ATTEMPTS');
      const retry = Number(r.headers.get('retry-after'));
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(60);
    }
  });

  it('cannot tell an unknown e-mail from a wrong password, before and after the lockout', async () => {
    const user = await newUser('enum');
    const unknown = uniqueEmail('nobody');
    for (let i = 0; i < 6; i++) {
      const [known, missing] = await Promise.all([login(user.email, `wrong password ${i}`), login(unknown, `wrong password ${i}`)]);
      expect(missing.status).toBe(i < 5 ? 401 : 429);
      expect(missing.status).toBe(known.status);
      expect(missing.text).toBe(known.text);
      expect(stableHeaders(missing.headers)).toEqual(stableHeaders(known.headers));
      expect(missing.headers.has('retry-after')).toBe(known.headers.has('retry-after'));
    }
  });

  it('counts every one of 50 concurrent wrong passwords', async () => {
    const user = await newUser('burst');
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => login(user.email, `wrong password ${i}`)));
    for (const r of replies) expect([401, 429]).toContain(r.status);
    const row = await db.query('select failed_login_attempts from app.users where id = $1', [user.userId]);
    expect(row.rows[0].failed_login_attempts).toBe(50);
  });

  it('cannot replay a rotated refresh token (REFRESH_TOKEN_REUSED) and the session ends', async () => {
    const user = await newUser('reuse');
    const a = await session(user);
    const b = await refresh(a.refresh_token);
    expect(b.status).toBe(200);
    const c = await refresh(b.body.refresh_token);
    expect(c.status).toBe(200);

    const replay = await refresh(a.refresh_token);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('REFRESH_TOKEN_REUSED');

    const afterReuse = await refresh(c.body.refresh_token);
    expect(afterReuse.status).toBe(401);
    expect(afterReuse.body.code).toBe('SESSION_REVOKED');
    expect((await me(c.body.access_token)).status).toBe(401);
    const row = await db.query('select revoked_reason from app.user_sessions where id = $1', [a.session_id]);
    expect(row.rows[0].revoked_reason).toBe('refresh_token_reuse');
  });

  it('can refresh one token several times at once and gets the same successor each time', async () => {
    const user = await newUser('race');
    const a = await session(user);
    // Several tabs at once: more than two makes a lost race in SQL (a stale read of the token) show up reliably.
    // Warm the gateway's connection pool first, so the refreshes really run side by side in the database.
    await Promise.all(Array.from({ length: 10 }, () => gateway('/healthz')));
    const replies = await Promise.all(Array.from({ length: 5 }, () => refresh(a.refresh_token)));
    for (const r of replies) expect({ status: r.status, code: r.body.code }).toEqual({ status: 200, code: undefined });
    expect(new Set(replies.map((r) => r.body.refresh_token)).size).toBe(1);
    expect((await refresh(replies[0]!.body.refresh_token)).status).toBe(200);
  });

  it('cannot refresh with an unknown token (REFRESH_TOKEN_INVALID)', async () => {
    const r = await refresh(crypto.randomBytes(32).toString('base64url'));
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('REFRESH_TOKEN_INVALID');
  });

  it('records the request id in the audit trail', async () => {
    const user = await newUser('audit');
    const requestId = `test-${crypto.randomUUID()}`;
    const r = await login(user.email, user.password, { 'x-request-id': requestId });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe(requestId);
    const rows = await db.query("select event_type from audit.audit_log where request_id = $1 and kind = 'event'", [requestId]);
    expect(rows.rows.map((x) => x.event_type)).toContain('auth.login.succeeded');
  });
});

describe('request errors', () => {
  it('cannot send invalid JSON (INVALID_JSON)', async () => {
    const r = await gateway('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": ' });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'INVALID_JSON', message: expect.any(String), hint: expect.any(String) });
    expect(r.headers.get('x-request-id')).toBeTruthy();
  });

  it('cannot send a body over 64 KiB (PAYLOAD_TOO_LARGE)', async () => {
    const r = await gateway('/auth/signup', { method: 'POST', json: { email: uniqueEmail('big'), password: 'x'.repeat(70 * 1024) } });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('cannot send a body that is not JSON (UNSUPPORTED_MEDIA_TYPE)', async () => {
    const r = await gateway('/auth/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(r.status).toBe(415);
    expect(r.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('cannot omit or mistype fields (VALIDATION_FAILED) and sees which ones, without SQL', async () => {
    const r = await gateway('/auth/signup', { method: 'POST', json: { email: 42 } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.any(String), hint: expect.any(String) });
    expect(r.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['email', 'password']);
    assertNoInternals(r.text);
  });

  it('cannot send a NUL character (INVALID_INPUT)', async () => {
    const r = await gateway('/auth/signup', { method: 'POST', json: { email: uniqueEmail('nul'), password: 'seven purple\u0000otters sing' } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'INVALID_INPUT', message: expect.any(String), hint: expect.any(String) });
    assertNoInternals(r.text);
  });

  it('cannot reach an unknown route (NOT_FOUND)', async () => {
    const r = await gateway('/auth/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('NOT_FOUND');
  });

  it('can pass its own request id, and gets a fresh one when it is not sane', async () => {
    const ok = await gateway('/healthz', { headers: { 'x-request-id': 'abc-DEF_123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-DEF_123');
    for (const bad of ['a'.repeat(129), 'has space', 'semi;colon']) {
      const r = await gateway('/healthz', { headers: { 'x-request-id': bad } });
      // A new id, time-ordered: UUID version 7.
      expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('can check health and read the OpenAPI document', async () => {
    const h = await gateway('/healthz');
    expect(h.status).toBe(200);
    expect(h.body).toEqual({ status: 'ok' });
    const doc = await gateway('/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/auth/signup', '/auth/login', '/auth/token/refresh', '/auth/logout', '/.well-known/jwks.json', '/healthz']));
    expect(doc.body.paths['/auth/login'].post.responses).toHaveProperty('429');
  });
});

describe('device cookies (lockout cannot be used to keep an owner out)', () => {
  it('can sign in from a known device while someone else has locked the account, and cannot from a new one', async () => {
    const owner = await newUser('device');
    const first = await login(owner.email, owner.password);
    expect(first.status).toBe(200);
    const cookie = first.body.device_cookie as string;
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const setCookie = first.headers.get('set-cookie') ?? '';
    expect(setCookie.startsWith(`dwaybank_device=${cookie};`)).toBe(true);
    for (const attr of ['Path=/auth', 'HttpOnly', 'Secure', 'SameSite=Strict', 'Max-Age=15552000']) expect(setCookie).toContain(attr);
    const stored = await db.query('select count(*)::int as n from app_private.device_cookies where user_id = $1 and token_hash = app_private.token_hash($2)',
      [owner.userId, cookie]);
    expect(stored.rows[0].n).toBe(1);

    // Someone who only knows the address locks the account.
    for (let i = 0; i < 5; i++) expect((await login(owner.email, `guessing ${i} wrong password`)).status).toBe(401);
    const stranger = await login(owner.email, owner.password);
    expect(stranger.status).toBe(429);
    expect(stranger.body.code).toBe('TOO_MANY_ATTEMPTS');

    // The owner's device gets in, with the cookie in the body or as the browser's cookie.
    const viaBody = await gateway('/auth/login', { method: 'POST', json: { email: owner.email, password: owner.password, device_cookie: cookie } });
    expect(viaBody.status).toBe(200);
    expect(viaBody.body.access_token).toBeTruthy();
    for (let i = 0; i < 5; i++) await login(owner.email, `guessing again ${i} wrong`);
    const viaCookie = await login(owner.email, owner.password, { cookie: `dwaybank_device=${viaBody.body.device_cookie}` });
    expect(viaCookie.status).toBe(200);

    // Another account's cookie is worth nothing here.
    const other = await newUser('device-other');
    const otherCookie = (await login(other.email, other.password)).body.device_cookie as string;
    for (let i = 0; i < 5; i++) await login(owner.email, `and again ${i} wrong`);
    const foreign = await gateway('/auth/login', { method: 'POST', json: { email: owner.email, password: owner.password, device_cookie: otherCookie } });
    expect(foreign.status).toBe(429);
  });
});
