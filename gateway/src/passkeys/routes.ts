import { createRoute, z } from '@hono/zod-openapi';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type pg from 'pg';
import { claims } from '../middlewares/session.js';
import { issueDeviceCookie, sentDeviceCookie, setDeviceCookie } from '../auth/routes.js';
import type { Db } from '../db.js';
import { ApiError, commonErrors, errorResponse } from '../errors.js';
import { createRouter, requestContext } from '../router.js';
import type { Tokens } from '../tokens/jwt.js';
import { loadPasskeyConfig, type PasskeyConfig } from './config.js';

/**
 * Passkeys (WebAuthn) with @simplewebauthn/server: the gateway makes the
 * options and checks signatures; the database keeps the credentials, the
 * single-use challenges, the sign-counter rule and every attempt
 * (migrations/committed/000006-create-account-lifecycle.sql).
 */
const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });
const ok = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

const Credential = z.looseObject({
  id: z.string().min(1).max(1400),
  rawId: z.string().min(1).max(1400),
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: z.string().min(1).max(8192) }),
  clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
  authenticatorAttachment: z.string().optional(),
}).openapi('WebAuthnCredential', { description: 'The JSON that @simplewebauthn/browser startRegistration/startAuthentication returns' });
const Options = z.record(z.string(), z.unknown()).openapi({ description: 'Pass to @simplewebauthn/browser as optionsJSON' });

const auth401 = errorResponse('Missing or invalid access token (INVALID_TOKEN, SESSION_ENDED)');
const stepUp403 = errorResponse('Needs a recent sign-in, and aal2 once a factor is active (STEP_UP_REQUIRED)');
const passkey401 = errorResponse('PASSKEY_INVALID (signature, challenge, unknown passkey), PASSKEY_COUNTER_REGRESSED, MFA_TOKEN_INVALID, MFA_TOKEN_USED');

const TokenPair = z.object({
  access_token: z.string(), refresh_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int(),
  session_id: z.uuid(), aal: z.literal('aal2'), amr: z.array(z.string()),
  device_cookie: z.string().openapi({ description: 'As for password sign-in: send it (or the dwaybank_device cookie) with later sign-ins; a lockout caused by others does not apply to this client' }),
}).openapi('PasskeyTokenPair');

const routes = {
  registerOptions: createRoute({
    method: 'post', path: '/auth/passkeys/register/options', tags: ['passkeys'], security: [{ bearer: [] }],
    summary: 'Options to register a passkey (same rules as other factors: recent sign-in; aal2 once a factor is active)',
    responses: { 200: ok(Options, 'Registration options'), 401: auth401, 403: stepUp403, 503: commonErrors[503] },
  }),
  registerVerify: createRoute({
    method: 'post', path: '/auth/passkeys/register/verify', tags: ['passkeys'], security: [{ bearer: [] }],
    summary: 'Store the new passkey; returns backup codes if the account had none',
    request: { body: json(z.object({ response: Credential, label: z.string().min(1).max(100).optional() })) },
    responses: {
      201: ok(z.object({ passkey_id: z.uuid(), backup_codes: z.array(z.string()).nullable() }), 'Registered'),
      ...commonErrors, 400: errorResponse('PASSKEY_INVALID, PASSKEY_ALREADY_REGISTERED, VALIDATION_FAILED'), 401: auth401, 403: stepUp403,
    },
  }),
  loginOptions: createRoute({
    method: 'post', path: '/auth/passkeys/login/options', tags: ['passkeys'],
    summary: 'Options to sign in with a passkey',
    description: 'With an mfa_token: the passkey is the second factor of that sign-in. Without: passwordless sign-in with a discoverable passkey.',
    request: { body: json(z.object({ mfa_token: z.string().min(1).max(4096).optional() })) },
    responses: { 200: ok(Options, 'Authentication options'), ...commonErrors, 400: errorResponse('MFA_METHOD_NOT_AVAILABLE'), 401: passkey401 },
  }),
  loginVerify: createRoute({
    method: 'post', path: '/auth/passkeys/login/verify', tags: ['passkeys'],
    summary: 'Sign in with a passkey: an aal2 session (amr webauthn)',
    request: { body: json(z.object({
      mfa_token: z.string().min(1).max(4096).optional(), response: Credential,
      device_fingerprint: z.string().max(256).optional(), device_name: z.string().max(200).optional(),
      device_cookie: z.string().max(128).optional().openapi({ description: 'From an earlier sign-in to this account (also read from the dwaybank_device cookie): kept instead of a new one' }),
    })) },
    responses: {
      200: ok(TokenPair, 'Signed in'), ...commonErrors, 401: passkey401, 403: errorResponse('ACCOUNT_SUSPENDED'),
      429: errorResponse('MFA_RATE_LIMITED, TOO_MANY_ATTEMPTS; see Retry-After'),
    },
  }),
  stepUpOptions: createRoute({
    method: 'post', path: '/auth/passkeys/step-up/options', tags: ['passkeys'], security: [{ bearer: [] }],
    summary: 'Options to step the current session up to aal2 with a passkey',
    responses: { 200: ok(Options, 'Authentication options'), 400: errorResponse('MFA_METHOD_NOT_AVAILABLE'), 401: auth401, 503: commonErrors[503] },
  }),
  stepUpVerify: createRoute({
    method: 'post', path: '/auth/passkeys/step-up/verify', tags: ['passkeys'], security: [{ bearer: [] }],
    summary: 'Step up with a passkey; returns a new access token at aal2',
    request: { body: json(z.object({ response: Credential })) },
    responses: {
      200: ok(z.object({ access_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int(), aal: z.literal('aal2'), amr: z.array(z.string()) }), 'Stepped up'),
      ...commonErrors, 401: passkey401, 429: errorResponse('MFA_RATE_LIMITED'),
    },
  }),
  list: createRoute({
    method: 'get', path: '/auth/passkeys', tags: ['passkeys'], security: [{ bearer: [] }],
    summary: 'The caller\'s passkeys',
    responses: {
      200: ok(z.object({ passkeys: z.array(z.object({ id: z.uuid(), label: z.string().nullable(), transports: z.array(z.string()),
        device_type: z.string().nullable(), backed_up: z.boolean(), created_at: z.string(), last_used_at: z.string().nullable() })) }), 'Passkeys'),
      401: auth401, 503: commonErrors[503],
    },
  }),
  remove: createRoute({
    method: 'delete', path: '/auth/passkeys/{id}', tags: ['passkeys'], security: [{ bearer: [] }],
    summary: 'Remove a passkey (step-up; never the last factor where MFA is required)',
    request: { params: z.object({ id: z.uuid() }) },
    responses: {
      204: { description: 'Removed' }, 400: commonErrors[400], 401: auth401, 403: stepUp403, 404: errorResponse('PASSKEY_NOT_FOUND'),
      409: errorResponse('MFA_REQUIRED_BY_POLICY'), 503: commonErrors[503],
    },
  }),
};

const invalid = () => new ApiError(401, 'PASSKEY_INVALID', 'The passkey could not be verified.', 'Try again, or use another factor.');

function failure(status: string, retry: number | null): ApiError {
  switch (status) {
    case 'counter_regressed':
      return new ApiError(401, 'PASSKEY_COUNTER_REGRESSED', 'This passkey reported a sign counter that went backwards; it may have been cloned.',
        'Use another factor and contact support.');
    case 'invalid_token': return new ApiError(401, 'MFA_TOKEN_INVALID', 'The MFA token is not valid or has expired.', 'Sign in again.');
    case 'method_not_available': return new ApiError(400, 'MFA_METHOD_NOT_AVAILABLE', 'The account has no passkey.', 'Use another factor.');
    case 'suspended': return new ApiError(403, 'ACCOUNT_SUSPENDED', 'This account is suspended.', 'Contact support.');
    case 'rate_limited':
    case 'locked':
      return new ApiError(429, status === 'locked' ? 'TOO_MANY_ATTEMPTS' : 'MFA_RATE_LIMITED', 'Too many failed attempts.',
        'Wait for the time in Retry-After before trying again.', { 'Retry-After': String(Math.max(1, retry ?? 60)) });
    default: return invalid();
  }
}

/** The challenge the browser signed, from clientDataJSON; the database decides whether it is one of ours. */
function signedChallenge(response: { response: { clientDataJSON: string } }): string {
  try {
    const c = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof c.challenge === 'string' && /^[A-Za-z0-9_-]{22,128}$/.test(c.challenge)) return c.challenge;
  } catch { /* fall through */ }
  throw invalid();
}

interface FinishRow {
  status: string; user_id: string | null; role: 'authenticated' | 'compliance_officer' | 'admin' | null; retry_after_seconds: number | null;
  session_id: string | null; refresh_token: string | null; aal: 'aal2' | null; amr: string[] | null;
}

export function passkeyRoutes(deps: { db: Db; tokens: Tokens; trustProxy: number; config?: PasskeyConfig }) {
  const { db, tokens, trustProxy } = deps;
  const cfg = deps.config ?? loadPasskeyConfig();
  const router = createRouter();
  router.use('/auth/passkeys/*', async (c, next) => {
    c.header('Cache-Control', 'no-store');
    await next();
  });
  router.use('/auth/passkeys', async (c, next) => {
    c.header('Cache-Control', 'no-store');
    await next();
  });

  const authOptions = (allow: { id: string; transports: string[] }[]) => generateAuthenticationOptions({
    rpID: cfg.rpID,
    userVerification: 'preferred',
    allowCredentials: allow.map((a) => ({ id: a.id, transports: a.transports as AuthenticatorTransportFuture[] })),
  });

  /**
   * Checks an assertion against the stored public key and records the outcome
   * (which uses up the challenge) in one transaction. The library is given a
   * stored counter of 0 so that the database, not the library, applies the
   * counter rule and records a regression as a security event.
   */
  async function finish(client: pg.PoolClient, purpose: 'login' | 'passwordless' | 'step_up', response: AuthenticationResponseJSON,
    ctx: { ip: string; userAgent: string | null }, extra: { loginId?: string | null; sessionId?: string | null; fingerprint?: string | null; deviceName?: string | null }) {
    const challenge = signedChallenge(response);
    const cred = (await client.query<{ user_id: string; public_key: Buffer; transports: string[] }>(
      'select user_id, public_key, transports from app.passkey_credential($1)', [response.id])).rows[0];
    let verified = false;
    let newCounter = 0;
    if (cred) {
      try {
        const v = await verifyAuthenticationResponse({
          response, expectedChallenge: challenge, expectedOrigin: cfg.origins, expectedRPID: cfg.rpID,
          credential: { id: response.id, publicKey: new Uint8Array(cred.public_key), counter: 0, transports: cred.transports as AuthenticatorTransportFuture[] },
          requireUserVerification: purpose === 'passwordless',
        });
        verified = v.verified;
        newCounter = v.authenticationInfo.newCounter;
      } catch {
        verified = false;
      }
    }
    return (await client.query<FinishRow>(
      'select * from app.finish_passkey_authentication($1, $2, $3, $4, $5, $6, $7, $8::inet, $9, $10, $11)',
      [purpose, challenge, response.id, verified, newCounter, extra.loginId ?? null, extra.sessionId ?? null, ctx.ip, ctx.userAgent,
        extra.fingerprint ?? null, extra.deviceName ?? null])).rows[0]!;
  }

  return router
    .openapi(routes.registerOptions, async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const options = await db.withTx(ctx, async (client) => {
        // The user handle is the account id: stable, and no personal data on the authenticator beyond the name shown.
        const draft = await generateRegistrationOptions({
          rpName: cfg.rpName, rpID: cfg.rpID, userName: 'pending', userID: new Uint8Array(Buffer.from(who.sub.replace(/-/g, ''), 'hex')),
          attestationType: 'none', authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
        });
        const r = (await client.query<{ email: string; display_name: string | null; exclude_credentials: { id: string; transports: string[] }[] }>(
          'select * from app.begin_passkey_registration($1, $2, $3, $4::inet, $5)', [who.sub, who.sid, draft.challenge, ctx.ip, ctx.userAgent])).rows[0]!;
        return {
          ...draft,
          user: { ...draft.user, name: r.email, displayName: r.display_name ?? r.email },
          excludeCredentials: r.exclude_credentials.map((x) => ({ id: x.id, type: 'public-key' as const, transports: x.transports as AuthenticatorTransportFuture[] })),
        };
      });
      return c.json(options as Record<string, unknown>, 200);
    })
    .openapi(routes.registerVerify, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const response = b.response as unknown as RegistrationResponseJSON;
      const challenge = signedChallenge(response);
      let info;
      try {
        const v = await verifyRegistrationResponse({
          response, expectedChallenge: challenge, expectedOrigin: cfg.origins, expectedRPID: cfg.rpID, requireUserVerification: false,
        });
        if (!v.verified || !v.registrationInfo) throw invalid();
        info = v.registrationInfo;
      } catch {
        throw new ApiError(400, 'PASSKEY_INVALID', 'The new passkey could not be verified.', 'Start the registration again.');
      }
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; passkey_id: string | null; backup_codes: string[] | null }>(
        'select * from app.finish_passkey_registration($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::inet, $12)',
        [who.sub, who.sid, challenge, info.credential.id, Buffer.from(info.credential.publicKey), info.credential.counter,
          info.credential.transports ?? response.response.transports ?? [], b.label ?? null, info.credentialDeviceType, info.credentialBackedUp,
          ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'already_registered') {
        throw new ApiError(400, 'PASSKEY_ALREADY_REGISTERED', 'This passkey is already registered.', 'Use it to sign in, or register another one.');
      }
      if (row.status !== 'ok') throw new ApiError(400, 'PASSKEY_INVALID', 'The registration challenge is not valid or has expired.', 'Start the registration again.');
      return c.json({ passkey_id: row.passkey_id!, backup_codes: row.backup_codes }, 201);
    })
    .openapi(routes.loginOptions, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      let loginId: string | null = null;
      if (b.mfa_token) {
        const t = await tokens.verify('mfa', b.mfa_token);
        if (!t) throw failure('invalid_token', null);
        loginId = t.jti;
      }
      const options = await db.withTx(ctx, async (client) => {
        const draft = await authOptions([]);
        // A pending sign-in lists its user's passkeys; passwordless lists none (the authenticator offers its discoverable ones).
        const r = (await client.query<{ status: string; allow_credentials: { id: string; transports: string[] }[] | null }>(
          'select * from app.begin_passkey_authentication($1, $2, null, null, $3, $4::inet, $5)',
          [loginId ? 'login' : 'passwordless', loginId, draft.challenge, ctx.ip, ctx.userAgent])).rows[0]!;
        if (r.status !== 'ok') throw failure(r.status, null);
        return { ...draft, allowCredentials: (r.allow_credentials ?? []).map((a) => ({ id: a.id, type: 'public-key' as const, transports: a.transports })) };
      });
      return c.json(options as Record<string, unknown>, 200);
    })
    .openapi(routes.loginVerify, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      let loginId: string | null = null;
      let expectedUser: string | null = null;
      if (b.mfa_token) {
        const t = await tokens.verify('mfa', b.mfa_token);
        if (!t) throw failure('invalid_token', null);
        loginId = t.jti;
        expectedUser = t.sub;
      }
      const presented = sentDeviceCookie(c, b.device_cookie);
      // The device cookie is issued in the sign-in's transaction, as for a password sign-in.
      const row = await db.withTx(ctx, async (client) => {
        const r = await finish(client, loginId ? 'login' : 'passwordless', b.response as unknown as AuthenticationResponseJSON, ctx,
          { loginId, fingerprint: b.device_fingerprint ?? null, deviceName: b.device_name ?? null });
        // Signed in only as the user the mfa_token names (passwordless: whoever the passkey belongs to).
        const signedIn = r.status === 'ok' && (!expectedUser || r.user_id === expectedUser);
        return { ...r, device_cookie: signedIn ? await issueDeviceCookie(client, r.user_id!, r.session_id!, presented) : null };
      });
      if (row.device_cookie === null) throw failure(row.status, row.retry_after_seconds);
      const { token, expiresIn } = await tokens.sign('access', { sub: row.user_id!, sid: row.session_id!, role: row.role!, aal: 'aal2', amr: row.amr! });
      setDeviceCookie(c, row.device_cookie);
      return c.json({ access_token: token, refresh_token: row.refresh_token!, token_type: 'bearer' as const, expires_in: expiresIn,
        session_id: row.session_id!, aal: 'aal2' as const, amr: row.amr!, device_cookie: row.device_cookie }, 200);
    })
    .openapi(routes.stepUpOptions, async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const options = await db.withTx(ctx, async (client) => {
        const draft = await authOptions([]);
        const r = (await client.query<{ status: string; allow_credentials: { id: string; transports: string[] }[] | null }>(
          'select * from app.begin_passkey_authentication($1, null, $2, $3, $4, $5::inet, $6)',
          ['step_up', who.sub, who.sid, draft.challenge, ctx.ip, ctx.userAgent])).rows[0]!;
        if (r.status !== 'ok') throw failure(r.status, null);
        return { ...draft, allowCredentials: (r.allow_credentials ?? []).map((a) => ({ id: a.id, type: 'public-key' as const, transports: a.transports })) };
      });
      return c.json(options as Record<string, unknown>, 200);
    })
    .openapi(routes.stepUpVerify, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, (client) => finish(client, 'step_up', b.response as unknown as AuthenticationResponseJSON, ctx, { sessionId: who.sid }));
      if (row.status !== 'ok' || row.user_id !== who.sub) throw failure(row.status, row.retry_after_seconds);
      const { token, expiresIn } = await tokens.sign('access', { sub: who.sub, sid: who.sid, role: row.role!, aal: 'aal2', amr: row.amr! });
      return c.json({ access_token: token, token_type: 'bearer' as const, expires_in: expiresIn, aal: 'aal2' as const, amr: row.amr! }, 200);
    })
    .openapi(routes.list, async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const rows = await db.withTx(ctx, async (client) => (await client.query(
        'select id, label, transports, device_type, backed_up, created_at, last_used_at from app.account_passkeys($1, $2)', [who.sub, who.sid])).rows);
      return c.json({ passkeys: rows.map((r) => ({ ...r, created_at: new Date(r.created_at).toISOString(),
        last_used_at: r.last_used_at ? new Date(r.last_used_at).toISOString() : null })) }, 200);
    })
    .openapi(routes.remove, async (c) => {
      const who = claims(c);
      const { id } = c.req.valid('param');
      const ctx = requestContext(c, trustProxy);
      await db.withTx(ctx, (client) => client.query('select app.remove_passkey($1, $2, $3, $4::inet, $5)', [who.sub, who.sid, id, ctx.ip, ctx.userAgent]));
      return c.body(null, 204);
    });

}
