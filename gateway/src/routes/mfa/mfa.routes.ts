import { createRoute, z } from '@hono/zod-openapi';
import { MfaTokenPair, SteppedUp } from '../../auth/signed-in.js';
import { commonErrors, errorResponse } from '../../errors.js';
import { json, ok } from '../../lib/openapi.js';

const Method = z.enum(['totp', 'sms', 'email', 'backup_codes']);
const Code = z.string().min(6).max(16).openapi({ example: '123456', description: '6 digits (TOTP, SMS, e-mail) or a backup code XXXXX-XXXXX' });

const auth401 = errorResponse('Missing or invalid access token (INVALID_TOKEN)');
const stepUp403 = errorResponse('A recent sign-in / aal2 session is needed (STEP_UP_REQUIRED)');
const codeErrors = {
  401: errorResponse('MFA_CODE_INVALID, MFA_CODE_EXPIRED, MFA_CODE_LOCKED, MFA_TOKEN_INVALID, MFA_TOKEN_USED, INVALID_TOKEN'),
  429: errorResponse('Too many wrong codes (MFA_RATE_LIMITED); see Retry-After'),
};

// The label goes into the otpauth:// URI, whose encoding refuses a lone UTF-16 surrogate ("\ud800" in JSON): found by
// the fuzz suite as a 500, now a 400 for text that is not valid Unicode.
const Label = z.string().min(1).max(100).refine((s) => !/\p{Cs}/u.test(s), 'must be valid Unicode text (no lone surrogate)');

export const routes = {
  enroll: createRoute({
    method: 'post', path: '/auth/mfa/totp/enroll', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Start setting up an authenticator app',
    description: 'Needs a sign-in within 10 minutes (aal2 if a factor is already active). The secret is shown once; it is stored encrypted.',
    request: { body: { content: { 'application/json': { schema: z.object({ label: Label.optional(), device_fingerprint: z.string().max(256).optional() }) } }, required: false } },
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
    responses: { 200: ok(MfaTokenPair, 'Signed in at aal2'), ...commonErrors, ...codeErrors, 403: errorResponse('ACCOUNT_SUSPENDED') },
  }),
  stepUp: createRoute({
    method: 'post', path: '/auth/mfa/step-up', tags: ['mfa'], security: [{ bearer: [] }],
    summary: 'Raise the current session to aal2 with a second factor',
    description: 'Sensitive actions need aal2 with a sign-in or step-up in the last 10 minutes. Returns a new access token.',
    request: { body: json(z.object({ method: Method, code: Code })) },
    responses: {
      200: ok(SteppedUp, 'Stepped up'),
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
