// Access tokens against PostgREST: every forged or misused token is refused.
//
// To prove that PostgREST and app.check_request() check each claim (and not
// only the signature), the suite must sign tokens whose signature is valid but
// whose claims are wrong. It does so with a key of its own that it adds, next
// to the gateway's published keys, to PostgREST's in-database configuration
// (pgrst.jwt_secret on the authenticator role, which overrides the JWKS file),
// and removes again afterwards.
import crypto from 'node:crypto';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, gateway, me, newUser, postgrest, session, type TokenPair } from './helpers.js';
import { createTokens } from '../../gateway/src/tokens/jwt.js';
import { generatePrivateJwk, loadKeys } from '../../gateway/src/tokens/keys.js';

const ISSUER = 'https://auth.dwaybank.local';
const AUDIENCE = 'dwaybank-api';
const TEST_KID = `e2e-test-${crypto.randomBytes(4).toString('hex')}`;

let authenticator: string;
let published: { keys: jose.JWK[] };
let testKey: jose.CryptoKey;
let pair: TokenPair;
let real: jose.JWTPayload & Record<string, unknown>;
let realHeader: jose.ProtectedHeaderParameters;

async function sign(claims: Record<string, unknown>, key: jose.CryptoKey = testKey, kid = TEST_KID, alg = 'EdDSA') {
  return new jose.SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
}

/** Valid claims for the live test session, freshly timed. */
function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c: Record<string, unknown> = { ...real, iat: now, exp: now + 900, jti: crypto.randomUUID(), ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete c[k];
  return c;
}

async function setPostgrestSecret(jwks: { keys: jose.JWK[] } | null) {
  const role = `"${authenticator.replace(/"/g, '""')}"`;
  if (jwks) await db.query(`alter role ${role} set pgrst.jwt_secret = '${JSON.stringify(jwks).replace(/'/g, "''")}'`);
  else await db.query(`alter role ${role} reset pgrst.jwt_secret`);
  await db.query(`notify pgrst, 'reload config'`);
}

beforeAll(async () => {
  const found = await db.query<{ usename: string }>(
    "select usename from pg_stat_activity where application_name like 'PostgREST%' and usename is not null limit 1");
  authenticator = found.rows[0]?.usename ?? 'authenticator';

  const jwks = await gateway('/.well-known/jwks.json');
  published = jwks.body;
  pair = await session(await newUser('tokens'));
  real = jose.decodeJwt(pair.access_token) as typeof real;
  realHeader = jose.decodeProtectedHeader(pair.access_token);

  const kp = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  testKey = kp.privateKey;
  const testPublic = { ...(await jose.exportJWK(kp.publicKey)), kid: TEST_KID, alg: 'EdDSA', use: 'sig' };
  await setPostgrestSecret({ keys: [...published.keys, testPublic] });

  // PostgREST reloads asynchronously: wait until it trusts the test key.
  const control = await sign(claims());
  for (let i = 0; i < 100; i++) {
    if ((await me(control)).status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('PostgREST did not pick up the test key');
});

afterAll(async () => {
  await setPostgrestSecret(null);
});

const refused = async (token: string, statuses = [401]) => {
  const r = await me(token);
  expect(statuses).toContain(r.status);
  expect(r.text).not.toContain(real.sub as string);
  return r;
};

describe('access tokens at PostgREST', () => {
  it('can call /rpc/me with a correctly signed token carrying the right claims (control)', async () => {
    expect((await me(await sign(claims()))).status).toBe(200);
    expect((await me(pair.access_token)).status).toBe(200);
  });

  it('cannot use an unsigned token (alg: none)', async () => {
    await refused(new jose.UnsecuredJWT(claims()).encode());
  });

  it('cannot use a token signed by another key under the real kid', async () => {
    const other = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
    await refused(await sign(claims(), other.privateKey, realHeader.kid!));
  });

  it('cannot use an HMAC token keyed with the public key (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(published));
    const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: realHeader.kid!, typ: 'JWT' }).sign(secret);
    await refused(token);
  });

  it('cannot use a token without exp (INVALID_TOKEN)', async () => {
    const r = await refused(await sign(claims({ exp: undefined })));
    expect(r.body.code).toBe('INVALID_TOKEN');
  });

  it('cannot use a token that lives longer than 15 minutes (INVALID_TOKEN)', async () => {
    const r = await refused(await sign(claims({ exp: Math.floor(Date.now() / 1000) + 24 * 3600 })));
    expect(r.body.code).toBe('INVALID_TOKEN');
  });

  it('cannot use a token for another audience', async () => {
    await refused(await sign(claims({ aud: 'some-other-api' })));
  });

  it('cannot use a token from another issuer (INVALID_TOKEN)', async () => {
    const r = await refused(await sign(claims({ iss: 'https://evil.example' })));
    expect(r.body.code).toBe('INVALID_TOKEN');
  });

  it('cannot use an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await sign(claims({ iat: now - 1000, exp: now - 100 })));
  });

  it('cannot use a refresh or MFA token, or one without token_use, as an access token (INVALID_TOKEN)', async () => {
    for (const token_use of ['refresh', 'mfa', undefined]) {
      const r = await refused(await sign(claims({ token_use })));
      expect(r.body.code).toBe('INVALID_TOKEN');
    }
  });

  it('cannot use a token for a session that does not exist (SESSION_ENDED)', async () => {
    const r = await refused(await sign(claims({ sid: crypto.randomUUID() })));
    expect(r.body.code).toBe('SESSION_ENDED');
  });

  it('cannot use a token whose sub is not the session owner (SESSION_ENDED)', async () => {
    const other = await newUser('tokens-other');
    const r = await refused(await sign(claims({ sub: other.userId })));
    expect(r.body.code).toBe('SESSION_ENDED');
  });

  it('cannot use the refresh token string as a bearer token', async () => {
    await refused(pair.refresh_token);
  });

  it('cannot switch to the postgres role', async () => {
    for (const role of ['postgres', 'dwaybank_owner', authenticator]) await refused(await sign(claims({ role })), [401, 403]);
  });

  it('cannot call PostgREST with a malformed Authorization header', async () => {
    const r = await postgrest('/rpc/me', { method: 'POST', json: {}, headers: { authorization: 'Bearer not.a.jwt' } });
    expect(r.status).toBe(401);
  });
});

describe('the gateway side of tokens', () => {
  it('serves only public key material at /.well-known/jwks.json, cached for 5 minutes', async () => {
    const r = await gateway('/.well-known/jwks.json');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toMatch(/max-age=300/);
    expect(r.body.keys.length).toBeGreaterThan(0);
    for (const k of r.body.keys) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) expect(k).not.toHaveProperty(secret);
      expect(k).toMatchObject({ kid: expect.any(String), alg: expect.stringMatching(/^(EdDSA|ES256)$/), use: 'sig' });
    }
    expect(r.body.keys.map((k: jose.JWK) => k.kid)).toContain(realHeader.kid);
  });

  it('can verify an access token with the published keys; it carries exactly the documented claims', async () => {
    const { payload, protectedHeader } = await jose.jwtVerify(pair.access_token, jose.createLocalJWKSet(published), {
      issuer: ISSUER, audience: AUDIENCE, typ: 'JWT',
    });
    expect(protectedHeader).toMatchObject({ alg: expect.any(String), kid: expect.any(String), typ: 'JWT' });
    expect(payload).toMatchObject({ sub: expect.any(String), sid: pair.session_id, role: 'authenticated', aal: 'aal1', amr: ['pwd'], token_use: 'access' });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('cannot log out with a token the gateway did not sign (INVALID_TOKEN)', async () => {
    const forged = await sign(claims());
    const r = await gateway('/auth/logout', { method: 'POST', token: forged });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('INVALID_TOKEN');
    expect((await me(pair.access_token)).status).toBe(200);
  });
});

describe('the gateway signer (node:crypto), for each algorithm it supports', () => {
  for (const alg of ['EdDSA', 'ES256'] as const) {
    it(`signs ${alg} tokens that jose verifies with the published key, and a changed payload fails`, async () => {
      const jwk = await generatePrivateJwk(alg);
      const ring = await loadKeys({ privateJwks: JSON.stringify({ keys: [jwk] }), alg });
      const signer = createTokens(ring, { issuer: ISSUER, audience: AUDIENCE });
      const sub = crypto.randomUUID(), sid = crypto.randomUUID();
      const { token } = await signer.sign('access', { sub, sid, role: 'authenticated', aal: 'aal2', amr: ['pwd', 'totp'] });
      const { payload, protectedHeader } = await jose.jwtVerify(token, jose.createLocalJWKSet(ring.jwks), {
        issuer: ISSUER, audience: AUDIENCE, typ: 'JWT', algorithms: [alg],
      });
      expect(protectedHeader).toEqual({ alg, kid: jwk.kid, typ: 'JWT' });
      expect(payload).toMatchObject({ sub, sid, role: 'authenticated', aal: 'aal2', amr: ['pwd', 'totp'], token_use: 'access' });
      expect(payload.exp! - payload.iat!).toBe(900);
      expect(await signer.verify('access', token)).toMatchObject({ sub, sid });
      const [h, , sig] = token.split('.');
      const forged = [h, Buffer.from(JSON.stringify({ ...payload, sub: crypto.randomUUID() })).toString('base64url'), sig].join('.');
      expect(await signer.verify('access', forged)).toBeNull();
      await expect(jose.jwtVerify(forged, jose.createLocalJWKSet(ring.jwks))).rejects.toThrow();
    });
  }
});
