import crypto from 'node:crypto';
import * as jose from 'jose';
import { z } from 'zod';
import type { KeyRing, SigningAlg } from './keys.js';

/**
 * Each kind of token the gateway issues: its audience, lifetime and claims.
 * `token_use` names the kind inside the token, so a token of one kind is never
 * accepted as another (PostgREST's pre-request requires "access").
 * A new kind (e.g. the MFA step-up token) is one more entry here.
 */
const tokenKinds = (audience: string) =>
  ({
    access: {
      audience,
      ttlSeconds: 900,
      claims: z.object({
        sub: z.uuid(),
        sid: z.uuid(),
        role: z.enum(['authenticated', 'compliance_officer', 'admin']),
        aal: z.enum(['aal1', 'aal2']),
        amr: z.array(z.string()),
      }),
    },
    // Between password and second factor: its own audience, so PostgREST (jwt-aud) and every
    // other endpoint refuse it; its jti is the database's pending sign-in, consumed once.
    mfa: {
      audience: `${audience}:mfa`,
      ttlSeconds: 300,
      claims: z.object({
        sub: z.uuid(),
        methods: z.array(z.string()),
      }),
    },
  }) as const;

type Kinds = ReturnType<typeof tokenKinds>;
export type TokenKind = keyof Kinds;
export type TokenClaims<K extends TokenKind> = z.infer<Kinds[K]['claims']>;
export type VerifiedToken<K extends TokenKind> = TokenClaims<K> & { iat: number; exp: number; jti: string; token_use: K };

export type Tokens = ReturnType<typeof createTokens>;

export function createTokens(keys: KeyRing, opts: { issuer: string; audience: string }) {
  const kinds = tokenKinds(opts.audience);
  const verifyKey = jose.createLocalJWKSet(keys.jwks);

  const signingKey = crypto.KeyObject.from(keys.signing.key as crypto.webcrypto.CryptoKey);

  async function sign<K extends TokenKind>(kind: K, claims: TokenClaims<K>, options: { jti?: string } = {}): Promise<{ token: string; expiresIn: number }> {
    const k = kinds[kind];
    const body = k.claims.parse(claims);
    const now = Math.floor(Date.now() / 1000);
    const token = signCompact(
      { alg: keys.signing.alg, kid: keys.signing.kid, typ: 'JWT' },
      { ...body, token_use: kind, iss: opts.issuer, aud: k.audience, iat: now, exp: now + k.ttlSeconds, jti: options.jti ?? crypto.randomUUID() },
      signingKey, keys.signing.alg,
    );
    return { token, expiresIn: k.ttlSeconds };
  }

  /** The claims of a valid token of this kind, or null: callers never learn why a token failed. */
  async function verify<K extends TokenKind>(kind: K, token: string): Promise<VerifiedToken<K> | null> {
    const k = kinds[kind];
    try {
      const { payload } = await jose.jwtVerify(token, verifyKey, {
        issuer: opts.issuer,
        audience: k.audience,
        algorithms: keys.algorithms,
        typ: 'JWT',
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'token_use'],
        maxTokenAge: k.ttlSeconds,
      });
      if (payload.token_use !== kind || payload.exp! - payload.iat! > k.ttlSeconds) return null;
      const claims = k.claims.safeParse(payload);
      if (!claims.success) return null;
      return { ...claims.data, iat: payload.iat!, exp: payload.exp!, jti: payload.jti!, token_use: kind } as unknown as VerifiedToken<K>;
    } catch {
      return null;
    }
  }

  return { sign, verify, jwks: keys.jwks };
}

/**
 * A compact JWS (RFC 7515 section 7.1) signed with node:crypto: base64url(header).base64url(payload).base64url(signature),
 * EdDSA over Ed25519 or ES256 with the raw r||s signature (RFC 7518 section 3.4). jose signs through WebCrypto,
 * which hands each signature to the libuv thread pool and back; on 2 cores that cost 0.3-0.5 ms of a sign-in's
 * p50 (8 alternating rounds: 4.38 against 3.84 ms), against about 40 us here. Keys, the JWKS and every
 * verification stay with jose; tests verify what this signs with jose and with PostgREST.
 */
function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, key: crypto.KeyObject, alg: SigningAlg): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = alg === 'EdDSA'
    ? crypto.sign(null, Buffer.from(input), key)
    : crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
