import crypto from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import QRCode from 'qrcode';
import type { Db } from '../db.js';
import { ApiError, commonErrors, errorResponse, errors } from '../errors.js';
import { sentDeviceCookie, setDeviceCookie } from '../auth/routes.js';
import { createRouter, requestContext } from '../router.js';
import { claims } from '../middlewares/session.js';
import type { Tokens } from '../tokens/jwt.js';
import type { MfaKeys } from './crypto.js';
import { sealAad, type Outbox } from './outbox.js';
import { matchStep, newSecret, otpauthUri } from './totp.js';

const totpAad = (userId: string) => `totp:${userId}`;
const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });
const ok = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

const Method = z.enum(['totp', 'sms', 'email', 'backup_codes']);
const Code = z.string().min(6).max(16).openapi({ example: '123456', description: '6 digits (TOTP, SMS, e-mail) or a backup code XXXXX-XXXXX' });

const TokenPair = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int(),
  session_id: z.uuid(),
  aal: z.enum(['aal1', 'aal2']),
  amr: z.array(z.string()),
  device_token: z.string().optional().openapi({ description: 'With remember_device: send it (and the same device_fingerprint) to /auth/login for 30 days' }),
  device_cookie: z.string().optional().openapi({ description: 'Send it to /auth/login (or keep the dwaybank_device cookie): this client is exempt from a lockout others cause' }),
}).openapi('MfaTokenPair');

const auth401 = errorResponse('Missing or invalid access token (INVALID_TOKEN)');
const stepUp403 = errorResponse('A recent sign-in / aal2 session is needed (STEP_UP_REQUIRED)');
const codeErrors = {
  401: errorResponse('MFA_CODE_INVALID, MFA_CODE_EXPIRED, MFA_CODE_LOCKED, MFA_TOKEN_INVALID, MFA_TOKEN_USED, INVALID_TOKEN'),
  429: errorResponse('Too many wrong codes (MFA_RATE_LIMITED); see Retry-After'),
};

const routes = {
  enroll: createRoute({
    method: 'post', path: '/auth/mfa/totp/enroll', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Start setting up an authenticator app',
    description: 'Needs a sign-in within 10 minutes (aal2 if a factor is already active). The secret is shown once; it is stored encrypted.',
    request: { body: { content: { 'application/json': { schema: z.object({ label: z.string().min(1).max(100).optional(), device_fingerprint: z.string().max(256).optional() }) } }, required: false } },
    responses: {
      201: ok(z.object({ config_id: z.uuid(), secret: z.string(), otpauth_uri: z.string(), qr_svg: z.string() }), 'Scan the QR code, then confirm with a code'),
      ...commonErrors, 401: auth401, 403: stepUp403, 409: errorResponse('An authenticator app is already active (MFA_ALREADY_ENROLLED)'),
    },
  }),
  confirm: createRoute({
    method: 'post', path: '/auth/mfa/totp/confirm', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Activate the authenticator app with a code; returns 10 backup codes (shown once)',
    request: { body: json(z.object({ config_id: z.uuid(), code: Code })) },
    responses: {
      200: ok(z.object({ backup_codes: z.array(z.string()) }), 'Active'),
      ...commonErrors, ...codeErrors, 403: stepUp403, 404: errorResponse('No pending enrolment with this id (MFA_ENROLLMENT_NOT_FOUND)'),
    },
  }),
  otpEnroll: createRoute({
    method: 'post', path: '/auth/mfa/otp/enroll', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Start setting up SMS or e-mail codes (sends a first code)',
    request: { body: json(z.object({ method: z.enum(['sms', 'email']) })) },
    responses: {
      201: ok(z.object({ config_id: z.uuid(), expires_at: z.string() }), 'Code sent'),
      ...commonErrors, 401: auth401, 403: stepUp403, 409: errorResponse('Already active (MFA_ALREADY_ENROLLED)'), 429: codeErrors[429],
    },
  }),
  otpConfirm: createRoute({
    method: 'post', path: '/auth/mfa/otp/confirm', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Activate SMS or e-mail codes with the code sent',
    request: { body: json(z.object({ config_id: z.uuid(), code: Code })) },
    responses: {
      200: ok(z.object({ backup_codes: z.array(z.string()).nullable() }), 'Active'),
      ...commonErrors, ...codeErrors, 403: stepUp403, 404: errorResponse('MFA_ENROLLMENT_NOT_FOUND'),
    },
  }),
  challenge: createRoute({
    method: 'post', path: '/auth/mfa/challenge', tags: ['mfa'],
    summary: 'Send a 6-digit code by SMS or e-mail',
    description: 'With an mfa_token (sign-in) or a bearer access token (step-up). Valid 10 minutes, single use, 5 tries.',
    request: { body: json(z.object({ mfa_token: z.string().max(4096).optional(), method: z.enum(['sms', 'email']) })) },
    responses: {
      202: ok(z.object({ expires_at: z.string() }), 'Code queued for delivery'),
      ...commonErrors, 401: codeErrors[401], 429: errorResponse('Too many codes requested (MFA_RATE_LIMITED); see Retry-After'),
    },
  }),
  verify: createRoute({
    method: 'post', path: '/auth/mfa/verify', tags: ['mfa'],
    summary: 'Finish signing in with a second factor',
    description: 'Returns tokens at aal2; the mfa_token works once.',
    request: { body: json(z.object({
      mfa_token: z.string().min(1).max(4096), method: Method, code: Code,
      remember_device: z.boolean().optional(), device_fingerprint: z.string().max(256).optional(), device_name: z.string().max(200).optional(),
      device_cookie: z.string().max(128).optional().openapi({ description: 'The device cookie sent with /auth/login, if any (or the dwaybank_device cookie): kept instead of a new one' }),
    })) },
    responses: { 200: ok(TokenPair, 'Signed in at aal2'), ...commonErrors, ...codeErrors, 403: errorResponse('ACCOUNT_SUSPENDED') },
  }),
  stepUp: createRoute({
    method: 'post', path: '/auth/mfa/step-up', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Raise the current session to aal2 with a second factor',
    description: 'Sensitive actions need aal2 with a sign-in or step-up in the last 10 minutes. Returns a new access token.',
    request: { body: json(z.object({ method: Method, code: Code })) },
    responses: {
      200: ok(z.object({ access_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int(), aal: z.literal('aal2'), amr: z.array(z.string()) }), 'Stepped up'),
      ...commonErrors, ...codeErrors,
    },
  }),
  regenerate: createRoute({
    method: 'post', path: '/auth/mfa/backup-codes/regenerate', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Replace the backup codes (the old set stops working)',
    responses: {
      200: ok(z.object({ backup_codes: z.array(z.string()) }), 'New codes, shown once'),
      401: auth401, 403: stepUp403, 409: errorResponse('No other factor (MFA_NOT_ENROLLED)'), 503: commonErrors[503],
    },
  }),
};

const tooMany = (retry: number | null) =>
  new ApiError(429, 'MFA_RATE_LIMITED', 'Too many wrong codes.', 'Wait for the time in Retry-After before trying again.', {
    'Retry-After': String(Math.max(1, retry ?? 60)),
  });

/** SQL statuses of a code check, as the client sees them. */
function codeFailure(status: string, retry: number | null): ApiError {
  switch (status) {
    case 'rate_limited': return tooMany(retry);
    case 'expired': return new ApiError(401, 'MFA_CODE_EXPIRED', 'The code has expired or was already used.', 'Request a new code.');
    case 'locked': return new ApiError(401, 'MFA_CODE_LOCKED', 'Too many wrong tries for this code.', 'Request a new code.');
    case 'invalid_token': return new ApiError(401, 'MFA_TOKEN_INVALID', 'The MFA token is not valid or has expired.', 'Sign in again.');
    case 'token_used': return new ApiError(401, 'MFA_TOKEN_USED', 'This MFA token was already used.', 'Sign in again.');
    case 'method_not_available': return new ApiError(400, 'MFA_METHOD_NOT_AVAILABLE', 'This second factor is not set up for the account.', 'Use one of the methods listed at sign-in.');
    case 'not_found': return new ApiError(404, 'MFA_ENROLLMENT_NOT_FOUND', 'There is no pending enrolment with this id.', 'Start the enrolment again.');
    case 'suspended': return new ApiError(403, 'ACCOUNT_SUSPENDED', 'This account is suspended.', 'Contact support.');
    default: return new ApiError(401, 'MFA_CODE_INVALID', 'The code is not correct.', 'Check the code and try again; repeated failures pause verification.');
  }
}

export function mfaRoutes(deps: { db: Db; tokens: Tokens; keys: MfaKeys; outbox: Outbox; trustProxy: number; issuer: string }) {
  const { db, tokens, keys, outbox, trustProxy, issuer } = deps;

  async function mfaToken(token: string | undefined) {
    const claims = token ? await tokens.verify('mfa', token) : null;
    if (!claims) throw codeFailure('invalid_token', null);
    return claims;
  }
  /** The step at which a TOTP code matches the user's secret, or null (the database records the miss). */
  async function totpStep(client: { query: Db['pool']['query'] }, userId: string, code: string, configId: string | null = null) {
    const r = await client.query<{ ciphertext: string }>('select ciphertext from app.mfa_totp_secret($1, $2)', [userId, configId]);
    const sealed = r.rows[0]?.ciphertext;
    return sealed ? matchStep(keys.open(sealed, totpAad(userId)), code) : null;
  }
  /** A fresh 6-digit code, and the same sealed for the outbox. */
  function newCode(userId: string) {
    const code = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
    return { code, sealed: keys.seal(JSON.stringify({ code }), sealAad(userId)) };
  }

  const router = createRouter();
  router.use('/auth/mfa/*', async (c, next) => {
    c.header('Cache-Control', 'no-store');
    await next();
  });

  return router
    .openapi(routes.enroll, async (c) => {
      const who = claims(c);
      const body = (await c.req.json().catch(() => ({}))) as { label?: string; device_fingerprint?: string };
      const ctx = requestContext(c, trustProxy);
      const secret = newSecret();
      const configId = await db.withTx(ctx, async (client) => {
        const r = await client.query<{ id: string }>(
          'select app.begin_totp_enrollment($1, $2, $3, $4, $5, $6, $7::inet, $8) as id',
          [who.sub, who.sid, keys.seal(secret, totpAad(who.sub)), keys.kid, typeof body.label === 'string' ? body.label.slice(0, 100) : null,
            typeof body.device_fingerprint === 'string' ? body.device_fingerprint.slice(0, 256) : null, ctx.ip, ctx.userAgent]);
        return r.rows[0]!.id;
      });
      const uri = otpauthUri(secret, typeof body.label === 'string' && body.label ? body.label.slice(0, 100) : `account ${who.sub.slice(0, 8)}`, issuer);
      const qr = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return c.json({ config_id: configId, secret, otpauth_uri: uri, qr_svg: qr }, 201);
    })
    .openapi(routes.confirm, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => {
        const step = await totpStep(client, who.sub, b.code, b.config_id);
        const r = await client.query<{ status: string; retry_after_seconds: number | null; backup_codes: string[] | null }>(
          'select * from app.confirm_totp_enrollment($1, $2, $3, $4, $5::inet, $6)',
          [who.sub, who.sid, b.config_id, step, ctx.ip, ctx.userAgent]);
        return r.rows[0]!;
      });
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      return c.json({ backup_codes: row.backup_codes! }, 200);
    })
    .openapi(routes.otpEnroll, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const { code, sealed } = newCode(who.sub);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; config_id: string; expires_at: Date; retry_after_seconds: number | null }>(
        'select * from app.begin_otp_enrollment($1, $2, $3, $4, $5, $6::inet, $7)', [who.sub, who.sid, b.method, code, sealed, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      void outbox.flush();
      return c.json({ config_id: row.config_id, expires_at: new Date(row.expires_at).toISOString() }, 201);
    })
    .openapi(routes.otpConfirm, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; retry_after_seconds: number | null; backup_codes: string[] | null }>(
        'select * from app.confirm_otp_enrollment($1, $2, $3, $4, $5::inet, $6)', [who.sub, who.sid, b.config_id, b.code, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      return c.json({ backup_codes: row.backup_codes }, 200);
    })
    .openapi(routes.challenge, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      let userId: string, loginId: string | null = null, sessionId: string | null = null;
      if (b.mfa_token) {
        const t = await mfaToken(b.mfa_token);
        userId = t.sub; loginId = t.jti;
      } else {
        const who = claims(c);
        userId = who.sub; sessionId = who.sid;
      }
      const { code, sealed } = newCode(userId);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; expires_at: Date; retry_after_seconds: number | null }>(
        'select * from app.create_mfa_challenge($1, $2, $3, $4, $5, $6, $7::inet, $8)',
        [userId, b.method, code, sealed, loginId, sessionId, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      void outbox.flush();
      return c.json({ expires_at: new Date(row.expires_at).toISOString() }, 202);
    })
    .openapi(routes.verify, async (c) => {
      const b = c.req.valid('json');
      const t = await mfaToken(b.mfa_token);
      const ctx = requestContext(c, trustProxy);
      // Two round trips: the sealed secret (a read, outside any transaction), then one
      // statement that accepts the step (at most once: the database enforces it),
      // opens the session and issues its device cookie.
      const step = b.method === 'totp' ? await totpStep(db.pool, t.sub, b.code) : null;
      const row = (await db.call<{ status: string; user_id: string; role: 'authenticated' | 'compliance_officer' | 'admin'; retry_after_seconds: number | null;
        session_id: string; refresh_token: string; aal: 'aal1' | 'aal2'; amr: string[]; device_token: string | null; device_cookie: string | null }>(
        `select v.*, case when v.status = 'ok' and v.user_id = $10 then app.issue_device_cookie(v.user_id, v.session_id, $11) end as device_cookie
           from app.verify_mfa_login($1, $2, $3, $4, $5, $6::inet, $7, $8, $9, now => app.begin_request($12)) v`,
        [t.jti, b.method, b.method === 'totp' ? null : b.code, step, b.remember_device ?? false, ctx.ip, ctx.userAgent,
          b.device_fingerprint ?? null, b.device_name ?? null, t.sub, sentDeviceCookie(c, b.device_cookie), ctx.requestId])).rows[0]!;
      // The statement decided: a device cookie exactly when the sign-in succeeded for the mfa_token's user.
      if (!row.device_cookie) throw codeFailure(row.status, row.retry_after_seconds);
      const { token, expiresIn } = await tokens.sign('access', { sub: row.user_id, sid: row.session_id, role: row.role, aal: row.aal, amr: row.amr });
      setDeviceCookie(c, row.device_cookie);
      return c.json({ access_token: token, refresh_token: row.refresh_token, token_type: 'bearer' as const, expires_in: expiresIn,
        session_id: row.session_id, aal: row.aal, amr: row.amr, ...(row.device_token ? { device_token: row.device_token } : {}),
        device_cookie: row.device_cookie }, 200);
    })
    .openapi(routes.stepUp, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => {
        const step = b.method === 'totp' ? await totpStep(client, who.sub, b.code) : null;
        const r = await client.query<{ status: string; retry_after_seconds: number | null; user_id: string; role: 'authenticated' | 'compliance_officer' | 'admin'; aal: 'aal2'; amr: string[] }>(
          'select * from app.step_up_session($1, $2, $3, $4, $5::inet, $6)',
          [who.sid, b.method, b.method === 'totp' ? null : b.code, step, ctx.ip, ctx.userAgent]);
        return r.rows[0]!;
      });
      if (row.status !== 'ok') throw row.status === 'invalid_token' ? errors.invalidToken() : codeFailure(row.status, row.retry_after_seconds);
      const { token, expiresIn } = await tokens.sign('access', { sub: who.sub, sid: who.sid, role: row.role, aal: 'aal2', amr: row.amr });
      return c.json({ access_token: token, token_type: 'bearer' as const, expires_in: expiresIn, aal: 'aal2' as const, amr: row.amr }, 200);
    })
    .openapi(routes.regenerate, async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const codes = await db.withTx(ctx, async (client) => (await client.query<{ codes: string[] }>(
        'select app.regenerate_backup_codes($1, $2, $3::inet, $4) as codes', [who.sub, who.sid, ctx.ip, ctx.userAgent])).rows[0]!.codes);
      return c.json({ backup_codes: codes }, 200);
    });
}
