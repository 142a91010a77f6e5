import { createRoute, z } from '@hono/zod-openapi';
import { getCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';
import type pg from 'pg';
import type { Db } from '../db.js';
import { ApiError, commonErrors, errorResponse } from '../errors.js';
import { createRouter, requestContext } from '../router.js';
import { claims } from '../middlewares/session.js';
import type { Tokens } from '../tokens/jwt.js';
import { assertNotCommon } from './passwords.js';
import { createLanes, type Lanes } from './lanes.js';

const optionalText = (max: number) => z.string().max(max).optional();

const SignupBody = z
  .object({
    email: z.string().min(1).max(254).openapi({ example: 'ada@example.com' }),
    password: z.string().min(1).max(1024).openapi({ description: '12 to 256 characters, not a common password' }),
    phone: optionalText(32).openapi({ example: '+4915112345678' }),
    country_code: optionalText(2).openapi({ example: 'DE' }),
    first_name: optionalText(100),
    last_name: optionalText(100),
    referral_code: optionalText(32),
  })
  .openapi('SignupRequest');

const LoginBody = z
  .object({
    email: z.string().min(1).max(320),
    password: z.string().min(1).max(1024),
    device_fingerprint: optionalText(256),
    device_name: optionalText(200),
    device_token: optionalText(128).openapi({ description: 'From a remember_device MFA verification: skips the MFA prompt on this device (with the same device_fingerprint)' }),
    device_cookie: optionalText(128).openapi({ description: `From an earlier sign-in to this account (also read from the ${'`'}dwaybank_device${'`'} cookie): this client is exempt from the account lockout and has its own failure counter` }),
    device: z
      .object({ fingerprint: z.string().min(1).max(256), name: optionalText(200), token: optionalText(128) })
      .optional()
      .openapi({ description: 'The device signing in (same as the flat device_* fields, which it overrides)' }),
  })
  .transform(({ device, ...b }) => ({
    ...b,
    device_fingerprint: device?.fingerprint ?? b.device_fingerprint,
    device_name: device?.name ?? b.device_name,
    device_token: device?.token ?? b.device_token,
  }))
  .openapi('LoginRequest');

const MfaRequired = z
  .object({
    mfa_required: z.literal(true),
    mfa_token: z.string().openapi({ description: 'Single use, 5 minutes; only for /auth/mfa/challenge and /auth/mfa/verify' }),
    methods: z.array(z.string()),
  })
  .openapi('MfaRequired');

const RefreshBody = z.object({ refresh_token: z.string().min(1).max(512) }).openapi('RefreshRequest');

const TokenPair = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int().openapi({ description: 'Seconds until the access token expires', example: 900 }),
    session_id: z.uuid(),
  })
  .openapi('TokenPair');

const SignedIn = TokenPair.extend({
  device_cookie: z.string().optional().openapi({ description: 'Keep it (or the dwaybank_device cookie) and send it with later sign-ins to this account: a lockout caused by others does not apply to this client' }),
  required_actions: z.array(z.enum(['enroll_mfa'])).optional().openapi({ description: 'What this session must do before anything else. '
    + 'enroll_mfa: a staff account without a second factor; until one is enrolled (and used, by step-up or a new sign-in) the session may only '
    + 'enrol a factor, list its sessions and sign out; everything else answers 403 AAL2_REQUIRED' }),
}).openapi('SignedIn');

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });

const signup = createRoute({
  method: 'post',
  path: '/auth/signup',
  tags: ['auth'],
  summary: 'Create an account',
  description: 'Answers the same for an address that is already registered, so sign-up never reveals which addresses exist.',
  request: { body: json(SignupBody) },
  responses: {
    201: { content: { 'application/json': { schema: z.object({ user_id: z.uuid() }) } }, description: 'Created' },
    ...commonErrors,
    400: errorResponse('WEAK_PASSWORD, INVALID_EMAIL, INVALID_PROFILE, INVALID_REFERRAL_CODE, VALIDATION_FAILED, INVALID_JSON'),
    429: errorResponse('Too many sign-ups from this client (TOO_MANY_REQUESTS); see Retry-After'),
    503: errorResponse('Too many sign-ups in progress (SERVER_BUSY) or database unreachable (SERVICE_UNAVAILABLE); see Retry-After'),
  },
});

const login = createRoute({
  method: 'post',
  path: '/auth/login',
  tags: ['auth'],
  summary: 'Sign in with e-mail and password',
  request: { body: json(LoginBody) },
  responses: {
    200: { content: { 'application/json': { schema: z.union([SignedIn, MfaRequired]) } }, description: 'Signed in, or a second factor is needed (mfa_required)' },
    ...commonErrors,
    401: errorResponse('Wrong e-mail or password (INVALID_CREDENTIALS); identical for unknown addresses'),
    403: errorResponse('The account is suspended (ACCOUNT_SUSPENDED)'),
    429: errorResponse('Too many failures for this address (TOO_MANY_ATTEMPTS) or client (TOO_MANY_REQUESTS); see Retry-After'),
  },
});

const refresh = createRoute({
  method: 'post',
  path: '/auth/token/refresh',
  tags: ['auth'],
  summary: 'Exchange a refresh token for a new token pair',
  description: 'Each refresh token works once; replaying a rotated one ends the session (REFRESH_TOKEN_REUSED).',
  request: { body: json(RefreshBody) },
  responses: {
    200: { content: { 'application/json': { schema: TokenPair } }, description: 'New token pair' },
    ...commonErrors,
    401: errorResponse('REFRESH_TOKEN_INVALID, REFRESH_TOKEN_REUSED, SESSION_REVOKED or SESSION_EXPIRED'),
  },
});

const logout = createRoute({
  method: 'post',
  path: '/auth/logout',
  tags: ['auth'],
  summary: 'End the session of the bearer access token',
  security: [{ bearer: [] }],
  responses: {
    204: { description: 'The session has ended; its tokens no longer work' },
    401: errorResponse('Missing or invalid access token (INVALID_TOKEN)'),
    503: commonErrors[503],
  },
});

const tooMany = (code: string, message: string, retryAfter: number | null) =>
  new ApiError(429, code, message, 'Wait for the time in Retry-After before trying again.', {
    'Retry-After': String(Math.max(1, retryAfter ?? 60)),
  });

const loginFailures = {
  invalid: () => new ApiError(401, 'INVALID_CREDENTIALS', 'The e-mail address or password is not correct.',
    'Check both and try again. After repeated failures sign-in is paused for a while.'),
  locked: (retry: number | null) => tooMany('TOO_MANY_ATTEMPTS', 'Sign-in for this address is paused after repeated failures.', retry),
  throttled: (retry: number | null) => tooMany('TOO_MANY_REQUESTS', 'Too many failed sign-ins from this network.', retry),
  suspended: () => new ApiError(403, 'ACCOUNT_SUSPENDED', 'This account is suspended.', 'Contact support.'),
} as const;

const refreshFailures: Record<string, () => ApiError> = {
  invalid: () => new ApiError(401, 'REFRESH_TOKEN_INVALID', 'The refresh token is not valid.', 'Sign in again.'),
  reused: () => new ApiError(401, 'REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been ended for safety.', 'Sign in again.'),
  revoked: () => new ApiError(401, 'SESSION_REVOKED', 'The session of this refresh token has ended.', 'Sign in again.'),
  expired: () => new ApiError(401, 'SESSION_EXPIRED', 'The session of this refresh token has expired.', 'Sign in again.'),
};

interface SessionRow {
  status: string;
  user_id: string | null;
  role: 'authenticated' | 'compliance_officer' | 'admin' | null;
  session_id: string | null;
  refresh_token: string | null;
  aal: 'aal1' | 'aal2' | null;
  amr: string[] | null;
  retry_after_seconds?: number | null;
  /** With status ok, from app.issue_device_cookie. */
  device_cookie?: string;
  /** With status mfa_required: the pending sign-in (the mfa_token's jti) and the factors to answer with. */
  login_id?: string | null;
  mfa_methods?: string[] | null;
}

/** The device cookie a client sent: the JSON field wins over the cookie. */
export const DEVICE_COOKIE = 'dwaybank_device';
export function sentDeviceCookie(c: Context, fromBody?: string): string | null {
  return fromBody ?? getCookie(c, DEVICE_COOKIE) ?? null;
}

/** The device cookie for a session just opened (the presented one if valid, else a new one), in the sign-in's transaction. */
export async function issueDeviceCookie(client: pg.PoolClient, userId: string, sessionId: string, presented: string | null = null): Promise<string> {
  return (await client.query<{ v: string }>('select app.issue_device_cookie($1, $2, $3) as v', [userId, sessionId, presented])).rows[0]!.v;
}

/** Hands the device cookie to a browser as well (HttpOnly; only sign-in routes under /auth read it). */
export function setDeviceCookie(c: Context, value: string): void {
  setCookie(c, DEVICE_COOKIE, value, { path: '/auth', httpOnly: true, secure: true, sameSite: 'Strict', maxAge: 180 * 24 * 3600 });
}

export function authRoutes(deps: { db: Db; tokens: Tokens; trustProxy: number; lanes?: Lanes }) {
  const { db, tokens, trustProxy } = deps;
  const lanes = deps.lanes ?? createLanes({ SIGNUP_CONCURRENCY: 2, SIGNUP_QUEUE: 32, LOGIN_CONCURRENCY: 16, LOGIN_QUEUE: 512 });

  async function tokenPair(row: SessionRow) {
    const { token, expiresIn } = await tokens.sign('access', {
      sub: row.user_id!, sid: row.session_id!, role: row.role!, aal: row.aal!, amr: row.amr!,
    });
    return { access_token: token, refresh_token: row.refresh_token!, token_type: 'bearer' as const, expires_in: expiresIn, session_id: row.session_id! };
  }

  const router = createRouter();
  // Token responses and their failures are never cached (RFC 6749 5.1).
  router.use('/auth/*', async (c, next) => {
    c.header('Cache-Control', 'no-store');
    c.header('Pragma', 'no-cache');
    await next();
  });

  return router
    .openapi(signup, async (c) => {
      const b = c.req.valid('json');
      assertNotCommon(b.password);
      const ctx = requestContext(c, trustProxy);
      // Its own small lane: a flood of sign-ups queues (or gets SERVER_BUSY) instead of starving sign-in.
      const userId = await lanes.signup.run(() => db.withTx(ctx, async (client) => {
        const r = await client.query<{ user_id: string }>(
          'select app.signup($1, $2, $3, $4, $5, $6, $7, $8::inet, $9) as user_id',
          [b.email, b.password, b.phone ?? null, b.country_code ?? null, b.first_name ?? null, b.last_name ?? null,
            b.referral_code ?? null, ctx.ip, ctx.userAgent],
        );
        return r.rows[0]!.user_id;
      }));
      return c.json({ user_id: userId }, 201);
    })
    .openapi(login, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const presented = sentDeviceCookie(c, b.device_cookie);
      // One statement, its own transaction: the sign-in and, when it succeeds, its device cookie.
      // In the sign-in lane (auth/lanes.ts), apart from sign-ups.
      const row = (await lanes.login.run(() => db.call<SessionRow>(
        `select a.status, a.user_id, a.role, a.retry_after_seconds, a.session_id, a.refresh_token, a.aal, a.amr, a.login_id, a.mfa_methods,
                case when a.status = 'ok' then app.issue_device_cookie(a.user_id, a.session_id, $7) end as device_cookie
           from app.authenticate($1, $2, $3::inet, $4, $5, $6, now => app.begin_request($8), device_cookie => $7) a`,
        [b.email, b.password, ctx.ip, ctx.userAgent, b.device_fingerprint ?? null, b.device_name ?? null, presented, ctx.requestId],
      ))).rows[0]!;
      switch (row.status) {
        case 'ok':
          setDeviceCookie(c, row.device_cookie!);
          // A staff account signing in with a password alone has no second factor yet (with one, the sign-in asks for it).
          return c.json({ ...(await tokenPair(row)), device_cookie: row.device_cookie!,
            ...(row.role !== 'authenticated' && row.aal !== 'aal2' ? { required_actions: ['enroll_mfa' as const] } : {}) }, 200);
        case 'mfa_required': {
          if (b.device_token && b.device_fingerprint) {
            // The same shape as the sign-in above: one statement, the device cookie issued when it succeeds.
            const trusted = (await db.call<SessionRow>(
              `select t.status, t.user_id, t.role, t.session_id, t.refresh_token, t.aal, t.amr,
                      case when t.status = 'ok' then app.issue_device_cookie(t.user_id, t.session_id, $7) end as device_cookie
                 from app.login_with_trusted_device($1, $2, $3, $4::inet, $5, $6, now => app.begin_request($8)) t`,
              [row.login_id, b.device_token, b.device_fingerprint, ctx.ip, ctx.userAgent, b.device_name ?? null, presented, ctx.requestId],
            )).rows[0]!;
            if (trusted.status === 'ok') {
              setDeviceCookie(c, trusted.device_cookie!);
              return c.json({ ...(await tokenPair(trusted)), device_cookie: trusted.device_cookie! }, 200);
            }
          }
          const { token } = await tokens.sign('mfa', { sub: row.user_id!, methods: row.mfa_methods! }, { jti: row.login_id! });
          return c.json({ mfa_required: true as const, mfa_token: token, methods: row.mfa_methods! }, 200);
        }
        case 'locked':
          throw loginFailures.locked(row.retry_after_seconds ?? null);
        case 'throttled':
          throw loginFailures.throttled(row.retry_after_seconds ?? null);
        case 'suspended':
          throw loginFailures.suspended();
        case 'invalid':
          throw loginFailures.invalid();
        default:
          // A status this route does not know yet (a new SQL feature): fail closed and loudly.
          throw new Error(`app.authenticate returned an unhandled status: ${row.status}`);
      }
    })
    .openapi(refresh, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = (await db.call<SessionRow>(
        'select status, user_id, role, session_id, refresh_token, aal, amr from app.refresh_session($1, $2::inet, $3, now => app.begin_request($4))',
        [b.refresh_token, ctx.ip, ctx.userAgent, ctx.requestId],
      )).rows[0]!;
      if (row.status === 'ok') return c.json(await tokenPair(row), 200);
      const failure = refreshFailures[row.status];
      if (!failure) throw new Error(`app.refresh_session returned an unhandled status: ${row.status}`);
      throw failure();
    })
    .openapi(logout, async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      await db.withTx(ctx, (client) =>
        client.query('select app.logout($1, $2::inet, $3)', [who.sid, ctx.ip, ctx.userAgent]));
      return c.body(null, 204);
    });
}
