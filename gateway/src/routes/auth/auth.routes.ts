import { createRoute, z } from '@hono/zod-openapi';
import { SignedIn, TokenPair } from '../../auth/signed-in.js';
import { commonErrors, errorResponse } from '../../errors.js';
import { json, ok } from '../../lib/openapi.js';

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

export const routes = {
  signup: createRoute({
    method: 'post',
    path: '/auth/signup',
    tags: ['auth'],
    summary: 'Create an account',
    description: 'Answers the same for an address that is already registered, so sign-up never reveals which addresses exist.',
    request: { body: json(SignupBody) },
    responses: {
      201: ok(z.object({ user_id: z.uuid() }), 'Created'),
      ...commonErrors,
      400: errorResponse('WEAK_PASSWORD, INVALID_EMAIL, INVALID_PROFILE, INVALID_REFERRAL_CODE, VALIDATION_FAILED, INVALID_JSON'),
      429: errorResponse('Too many sign-ups from this client (TOO_MANY_REQUESTS); see Retry-After'),
      503: errorResponse('Too many sign-ups in progress (SERVER_BUSY) or database unreachable (SERVICE_UNAVAILABLE); see Retry-After'),
    },
  }),
  login: createRoute({
    method: 'post',
    path: '/auth/login',
    tags: ['auth'],
    summary: 'Sign in with e-mail and password',
    request: { body: json(LoginBody) },
    responses: {
      200: ok(z.union([SignedIn, MfaRequired]), 'Signed in, or a second factor is needed (mfa_required)'),
      ...commonErrors,
      401: errorResponse('Wrong e-mail or password (INVALID_CREDENTIALS); identical for unknown addresses'),
      403: errorResponse('The account is suspended (ACCOUNT_SUSPENDED)'),
      429: errorResponse('Too many failures for this address (TOO_MANY_ATTEMPTS) or client (TOO_MANY_REQUESTS); see Retry-After'),
    },
  }),
  refresh: createRoute({
    method: 'post',
    path: '/auth/token/refresh',
    tags: ['auth'],
    summary: 'Exchange a refresh token for a new token pair',
    description: 'Each refresh token works once; replaying a rotated one ends the session (REFRESH_TOKEN_REUSED).',
    request: { body: json(RefreshBody) },
    responses: {
      200: ok(TokenPair, 'New token pair'),
      ...commonErrors,
      401: errorResponse('REFRESH_TOKEN_INVALID, REFRESH_TOKEN_REUSED, SESSION_REVOKED or SESSION_EXPIRED'),
    },
  }),
  logout: createRoute({
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
  }),
};
