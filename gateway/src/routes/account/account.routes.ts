import { createRoute, z } from '@hono/zod-openapi';
import { commonErrors, errorResponse } from '../../errors.js';
import { json, ok } from '../../lib/openapi.js';

const Token = z.string().min(1).max(128).openapi({ description: 'The token from the e-mail link' });
const Password = z.string().min(1).max(1024).openapi({ description: '12 to 256 characters, not a common password' });

const auth401 = errorResponse('Missing or invalid access token, or its session ended (INVALID_TOKEN, SESSION_ENDED)');
const stepUp403 = errorResponse('Needs a step-up: aal2 within 10 minutes, or a recent sign-in without MFA (STEP_UP_REQUIRED)');
const token400 = errorResponse('ACCOUNT_TOKEN_INVALID (unknown, or replaced by a newer link), ACCOUNT_TOKEN_EXPIRED, ACCOUNT_TOKEN_USED');
const tooMany = errorResponse('Too many requests (RATE_LIMITED); see Retry-After');

export const routes = {
  verify: createRoute({
    method: 'post', path: '/auth/email/verify', tags: ['account'],
    summary: 'Verify the e-mail address with the token from the verification e-mail',
    description: 'Tokens are single use and valid for 24 hours; a newer e-mail replaces the older link.',
    request: { body: json(z.object({ token: Token })) },
    responses: { 200: ok(z.object({ verified: z.literal(true) }), 'Verified'), ...commonErrors, 400: token400 },
  }),
  resend: createRoute({
    method: 'post', path: '/auth/email/resend', tags: ['account'], security: [{ bearer: [] }],
    summary: 'Send a new verification e-mail (at most 3 an hour)',
    responses: {
      202: ok(z.object({ expires_at: z.string() }), 'Queued'),
      401: auth401, 409: errorResponse('The address is already verified (EMAIL_ALREADY_VERIFIED)'), 429: tooMany, 503: commonErrors[503],
    },
  }),
  forgot: createRoute({
    method: 'post', path: '/auth/password/forgot', tags: ['account'],
    summary: 'Ask for a password reset link',
    description: 'Always the same answer, whether or not an account has the address. The link is valid for 30 minutes, works once, and a newer request replaces it. Limited per address and per client address.',
    request: { body: json(z.object({ email: z.string().min(1).max(320) })) },
    responses: {
      202: ok(z.object({ status: z.literal('accepted'), message: z.string() }), 'Accepted'),
      ...commonErrors, 429: tooMany,
    },
  }),
  reset: createRoute({
    method: 'post', path: '/auth/password/reset', tags: ['account'],
    summary: 'Set a new password with the reset token',
    description: 'Ends every session and forgets every remembered device; the second factor stays, so the next sign-in still asks for it.',
    request: { body: json(z.object({ token: Token, new_password: Password })) },
    responses: {
      200: ok(z.object({ reset: z.literal(true), revoked_sessions: z.number().int() }), 'Password changed'),
      ...commonErrors, 400: errorResponse('WEAK_PASSWORD, ACCOUNT_TOKEN_INVALID, ACCOUNT_TOKEN_EXPIRED, ACCOUNT_TOKEN_USED'),
      503: errorResponse('Too many password changes and resets in progress (SERVER_BUSY) or database unreachable (SERVICE_UNAVAILABLE); see Retry-After'),
    },
  }),
  change: createRoute({
    method: 'post', path: '/auth/password/change', tags: ['account'], security: [{ bearer: [] }],
    summary: 'Change the password (needs a step-up)',
    description: 'Ends the other sessions, every pending e-mailed link (e-mail change, password reset) and forgets every remembered device. Wrong current passwords count as failed sign-ins.',
    request: { body: json(z.object({ current_password: z.string().min(1).max(1024), new_password: Password })) },
    responses: {
      200: ok(z.object({ changed: z.literal(true), revoked_sessions: z.number().int() }), 'Changed'),
      ...commonErrors, 400: errorResponse('WEAK_PASSWORD, INVALID_CURRENT_PASSWORD'), 401: auth401, 403: stepUp403,
      429: errorResponse('Too many wrong current passwords: the account is locked as after failed sign-ins (TOO_MANY_ATTEMPTS); see Retry-After'),
      503: errorResponse('Too many password changes and resets in progress (SERVER_BUSY) or database unreachable (SERVICE_UNAVAILABLE); see Retry-After'),
    },
  }),
  emailChange: createRoute({
    method: 'post', path: '/auth/email/change', tags: ['account'], security: [{ bearer: [] }],
    summary: 'Change the e-mail address (needs a step-up)',
    description: 'Sends a confirmation link to the new address and a notice to the current one, which keeps working until the change is confirmed.',
    request: { body: json(z.object({ new_email: z.string().min(1).max(320) })) },
    responses: {
      202: ok(z.object({ expires_at: z.string() }), 'Confirmation sent to the new address'),
      ...commonErrors, 400: errorResponse('INVALID_EMAIL, EMAIL_UNCHANGED'), 401: auth401, 403: stepUp403, 429: tooMany,
    },
  }),
  emailConfirm: createRoute({
    method: 'post', path: '/auth/email/change/confirm', tags: ['account'],
    summary: 'Confirm an e-mail change with the token sent to the new address',
    description: 'Works only while the session that asked for the change is alive.',
    request: { body: json(z.object({ token: Token })) },
    responses: {
      200: ok(z.object({ changed: z.literal(true) }), 'The new address is the account\'s'),
      ...commonErrors, 400: errorResponse('ACCOUNT_TOKEN_INVALID (unknown, replaced, or ended by a password reset/change or sign-out everywhere), ACCOUNT_TOKEN_EXPIRED, ACCOUNT_TOKEN_USED, EMAIL_CHANGE_SESSION_ENDED (the session that asked has ended)'),
      409: errorResponse('Another account has this address now (EMAIL_TAKEN)'),
    },
  }),
  recovery: createRoute({
    method: 'post', path: '/auth/recovery', tags: ['account'],
    summary: 'Ask for account recovery when every second factor is lost',
    description: 'With the mfa_token of a sign-in that passed the password. Two different staff members must approve; 72 hours after the second approval every factor is removed and you set them up again. You are notified at each step (the verified address gets a cancel link) and can cancel. not_before is the earliest completion; the second approval sets the actual one.',
    request: { body: json(z.object({ mfa_token: z.string().min(1).max(4096), reason: z.string().max(500).optional() })) },
    responses: {
      202: ok(z.object({ recovery_id: z.uuid(), not_before: z.string() }), 'Requested'),
      ...commonErrors, 401: errorResponse('MFA_TOKEN_INVALID'), 409: errorResponse('A recovery is already open (RECOVERY_ALREADY_REQUESTED)'),
    },
  }),
  recoveryCancel: createRoute({
    method: 'post', path: '/auth/recovery/cancel', tags: ['account'],
    summary: 'Cancel the open account recovery with the link from the recovery e-mail (signed-in customers: /rpc/cancel_account_recovery after a step-up)',
    description: 'The token is e-mailed to the account\'s verified address when recovery is requested and at the second approval; single use. A password alone cannot cancel.',
    request: { body: json(z.object({ token: Token })) },
    responses: { 200: ok(z.object({ cancelled: z.literal(true) }), 'Cancelled'), ...commonErrors, 400: token400,
      404: errorResponse('No open recovery (RECOVERY_NOT_FOUND)') },
  }),
  sessions: createRoute({
    method: 'get', path: '/auth/sessions', tags: ['account'], security: [{ bearer: [] }],
    summary: 'The caller\'s live sessions, the current one marked',
    responses: {
      200: ok(z.object({ sessions: z.array(z.object({
        id: z.uuid(), current: z.boolean(), device_name: z.string().nullable(), ip: z.string().nullable(), user_agent: z.string().nullable(),
        aal: z.string(), amr: z.array(z.string()), created_at: z.string(), last_activity_at: z.string(), expires_at: z.string(), is_suspicious: z.boolean(),
      })) }), 'Sessions'),
      401: auth401, 503: commonErrors[503],
    },
  }),
  revokeSession: createRoute({
    method: 'delete', path: '/auth/sessions/{id}', tags: ['account'], security: [{ bearer: [] }],
    summary: 'Sign out one of the caller\'s sessions',
    request: { params: z.object({ id: z.uuid() }) },
    responses: { 204: { description: 'Signed out' }, 400: commonErrors[400], 401: auth401, 404: errorResponse('SESSION_NOT_FOUND'), 503: commonErrors[503] },
  }),
};
