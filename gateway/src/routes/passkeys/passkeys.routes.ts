import { createRoute, z } from '@hono/zod-openapi';
import { PasskeyTokenPair, SteppedUp } from '../../auth/signed-in.js';
import { commonErrors, errorResponse } from '../../errors.js';
import { json, ok } from '../../lib/openapi.js';

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


export const routes = {
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
      200: ok(PasskeyTokenPair, 'Signed in'), ...commonErrors, 401: passkey401, 403: errorResponse('ACCOUNT_SUSPENDED'),
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
      200: ok(SteppedUp, 'Stepped up'),
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
