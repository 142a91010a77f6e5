import { z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The one shape of every error response. */
export const ErrorSchema = z
  .object({
    code: z.string().openapi({ example: 'INVALID_CREDENTIALS' }),
    message: z.string(),
    hint: z.string(),
    details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Error');
export type ErrorBody = z.infer<typeof ErrorSchema>;

/** An error meant for the client: everything in it is safe to show. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly hint: string,
    readonly headers: Record<string, string> = {},
    readonly details?: ErrorBody['details'],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }
}

const WAIT = 'Wait for the time in Retry-After before trying again.';
/** Retry-After from the database's answer (at least a second; a minute when it gave none). */
const retryAfter = (seconds: number | null) => ({ 'Retry-After': String(Math.max(1, seconds ?? 60)) });
const bearerInvalid = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };

/**
 * Every error the gateway answers, defined once (db/errors.md lists each code
 * with its status; tests/e2e/errors-registry.test.ts holds the two together).
 * Errors raised by SQL pass through fromDatabase.
 */
export const errors = {
  // Any route
  invalidJson: () => new ApiError(400, 'INVALID_JSON', 'The request body is not valid JSON.', 'Send a JSON object with Content-Type: application/json.'),
  validation: (details: ErrorBody['details']) =>
    new ApiError(400, 'VALIDATION_FAILED', 'Some fields are missing or not valid.', 'See details for each field.', {}, details),
  // Sent after the rest of the body was read and discarded (middlewares/body-limit.ts, bounded):
  // close the connection all the same, since past the bound bytes may still be unread.
  payloadTooLarge: () =>
    new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.', 'Send at most 64 KiB.', { Connection: 'close' }),
  unsupportedMediaType: () =>
    new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON.', 'Send Content-Type: application/json.'),
  notFound: () => new ApiError(404, 'NOT_FOUND', 'There is no such endpoint.', 'See /openapi.json for the endpoints.'),
  methodNotAllowed: () => new ApiError(405, 'METHOD_NOT_ALLOWED', 'This endpoint does not accept this method.', 'See /openapi.json.'),
  invalidInput: () =>
    new ApiError(400, 'INVALID_INPUT', 'A value in the request is not valid.', 'Check the format and length of each field.'),
  unavailable: () =>
    new ApiError(503, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable.', 'Try again in a few seconds.', {
      'Retry-After': '5',
    }),
  internal: () => new ApiError(500, 'INTERNAL', 'Something went wrong on our side.', 'Try again; if it persists, contact support with the request id.'),
  /** A refusal raised by SQL (PT4xx with its code in DETAIL, or PGRST with JSON): its code, text and headers as the database wrote them. */
  fromDatabase: (status: number, code: string, message: string, hint: string, headers: Record<string, string> = {}) =>
    new ApiError(status as ContentfulStatusCode, code, message, hint, headers),
  /** A lane (auth/lanes.ts) is full: refused before any database work. */
  serverBusy: (retryAfterSeconds: number) =>
    new ApiError(503, 'SERVER_BUSY', 'Too many requests of this kind are being handled right now.', WAIT, { 'Retry-After': String(retryAfterSeconds) }),

  // Access tokens and sessions (middlewares/session.ts)
  invalidToken: () =>
    new ApiError(401, 'INVALID_TOKEN', 'The access token is missing or not valid.', 'Sign in again to get a new access token.', bearerInvalid),
  sessionEnded: () => new ApiError(401, 'SESSION_ENDED', 'The session of this token has ended.', 'Sign in again.', bearerInvalid),
  aal2Required: () => new ApiError(403, 'AAL2_REQUIRED', 'Staff accounts need a session confirmed with a second factor.',
    'Enrol a second factor at /auth/mfa/totp/enroll (or /auth/passkeys/register/options), then sign in with it or step up with POST /auth/mfa/step-up.'),
  forbidden: (roles: readonly string[]) => new ApiError(403, 'FORBIDDEN', `This endpoint is for ${roles.join(' and ')} accounts.`,
    'Sign in with an account that has this role.'),

  // Sign-in and refresh
  weakPassword: () => new ApiError(400, 'WEAK_PASSWORD', 'This password is one of the most commonly used and easy to guess.',
    'Choose a password that is not a common word or pattern; a few unrelated words make a strong password.'),
  invalidCredentials: () => new ApiError(401, 'INVALID_CREDENTIALS', 'The e-mail address or password is not correct.',
    'Check both and try again. After repeated failures sign-in is paused for a while.'),
  signInPaused: (retry: number | null) =>
    new ApiError(429, 'TOO_MANY_ATTEMPTS', 'Sign-in for this address is paused after repeated failures.', WAIT, retryAfter(retry)),
  signInThrottled: (retry: number | null) =>
    new ApiError(429, 'TOO_MANY_REQUESTS', 'Too many failed sign-ins from this network.', WAIT, retryAfter(retry)),
  accountSuspended: () => new ApiError(403, 'ACCOUNT_SUSPENDED', 'This account is suspended.', 'Contact support.'),
  refreshTokenInvalid: () => new ApiError(401, 'REFRESH_TOKEN_INVALID', 'The refresh token is not valid.', 'Sign in again.'),
  refreshTokenReused: () =>
    new ApiError(401, 'REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been ended for safety.', 'Sign in again.'),
  sessionRevoked: () => new ApiError(401, 'SESSION_REVOKED', 'The session of this refresh token has ended.', 'Sign in again.'),
  sessionExpired: () => new ApiError(401, 'SESSION_EXPIRED', 'The session of this refresh token has expired.', 'Sign in again.'),

  // Second factors
  mfaTokenInvalid: () => new ApiError(401, 'MFA_TOKEN_INVALID', 'The MFA token is not valid or has expired.', 'Sign in again.'),
  mfaTokenUsed: () => new ApiError(401, 'MFA_TOKEN_USED', 'This MFA token was already used.', 'Sign in again.'),
  mfaRateLimited: (retry: number | null) => new ApiError(429, 'MFA_RATE_LIMITED', 'Too many wrong codes.', WAIT, retryAfter(retry)),
  mfaCodeInvalid: () => new ApiError(401, 'MFA_CODE_INVALID', 'The code is not correct.',
    'Check the code and try again; repeated failures pause verification.'),
  mfaCodeExpired: () => new ApiError(401, 'MFA_CODE_EXPIRED', 'The code has expired or was already used.', 'Request a new code.'),
  mfaCodeLocked: () => new ApiError(401, 'MFA_CODE_LOCKED', 'Too many wrong tries for this code.', 'Request a new code.'),
  mfaMethodNotAvailable: () => new ApiError(400, 'MFA_METHOD_NOT_AVAILABLE', 'This second factor is not set up for the account.',
    'Use one of the methods listed at sign-in.'),
  mfaEnrollmentNotFound: () =>
    new ApiError(404, 'MFA_ENROLLMENT_NOT_FOUND', 'There is no pending enrolment with this id.', 'Start the enrolment again.'),

  // Passkeys
  passkeyInvalid: () => new ApiError(401, 'PASSKEY_INVALID', 'The passkey could not be verified.', 'Try again, or use another factor.'),
  passkeyCounterRegressed: () => new ApiError(401, 'PASSKEY_COUNTER_REGRESSED',
    'This passkey reported a sign counter that went backwards; it may have been cloned.', 'Use another factor and contact support.'),
  noPasskey: () => new ApiError(400, 'MFA_METHOD_NOT_AVAILABLE', 'The account has no passkey.', 'Use another factor.'),
  passkeyAttemptsLimited: (retry: number | null) =>
    new ApiError(429, 'MFA_RATE_LIMITED', 'Too many failed attempts.', WAIT, retryAfter(retry)),
  passkeyAccountLocked: (retry: number | null) =>
    new ApiError(429, 'TOO_MANY_ATTEMPTS', 'Too many failed attempts.', WAIT, retryAfter(retry)),
  newPasskeyInvalid: () => new ApiError(400, 'PASSKEY_INVALID', 'The new passkey could not be verified.', 'Start the registration again.'),
  registrationChallengeInvalid: () =>
    new ApiError(400, 'PASSKEY_INVALID', 'The registration challenge is not valid or has expired.', 'Start the registration again.'),
  passkeyAlreadyRegistered: () =>
    new ApiError(400, 'PASSKEY_ALREADY_REGISTERED', 'This passkey is already registered.', 'Use it to sign in, or register another one.'),

  // Account lifecycle (links sent by e-mail, password, recovery)
  rateLimited: (retry: number | null) => new ApiError(429, 'RATE_LIMITED', 'Too many requests of this kind.', WAIT, retryAfter(retry)),
  accountTokenExpired: () => new ApiError(400, 'ACCOUNT_TOKEN_EXPIRED', 'This link has expired.', 'Ask for a new one.'),
  accountTokenUsed: () => new ApiError(400, 'ACCOUNT_TOKEN_USED', 'This link was already used.', 'Ask for a new one if you still need it.'),
  accountTokenInvalid: () => new ApiError(400, 'ACCOUNT_TOKEN_INVALID', 'This link is not valid (a newer one may have replaced it).',
    'Use the newest link, or ask for a new one.'),
  emailTaken: () => new ApiError(409, 'EMAIL_TAKEN', 'Another account uses this address now.', 'Choose another address.'),
  emailChangeSessionEnded: () => new ApiError(400, 'EMAIL_CHANGE_SESSION_ENDED', 'The session that asked for this change has ended.',
    'Sign in and ask for the change again.'),
  emailAlreadyVerified: () => new ApiError(409, 'EMAIL_ALREADY_VERIFIED', 'The address is already verified.', 'Nothing to do.'),
  invalidCurrentPassword: () => new ApiError(400, 'INVALID_CURRENT_PASSWORD', 'The current password is not correct.', 'Check it and try again.'),
  passwordLocked: (retry: number | null) =>
    new ApiError(429, 'TOO_MANY_ATTEMPTS', 'The password is locked after repeated wrong attempts.', WAIT, retryAfter(retry)),
  recoveryAlreadyRequested: () => new ApiError(409, 'RECOVERY_ALREADY_REQUESTED', 'An account recovery is already open for this account.',
    'Wait for it, or cancel it first.'),
  recoveryNotFound: () => new ApiError(404, 'RECOVERY_NOT_FOUND', 'Your account has no open recovery.', 'Nothing to cancel.'),

  // KYC documents
  documentStepUp: () => new ApiError(403, 'STEP_UP_REQUIRED', 'Uploading documents needs a session confirmed with your second factor.',
    'Set up a second factor and sign in with it, or step up with POST /auth/mfa/step-up.'),
  unsupportedDocumentType: () => new ApiError(415, 'UNSUPPORTED_DOCUMENT_TYPE', 'The file is not a PDF, JPEG or PNG.',
    'Upload a scan or photo as PDF, JPEG or PNG.'),
  documentTooLarge: (maxBytes: number) => new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The document is too large.',
    `Upload at most ${Math.floor(maxBytes / 1024 / 1024)} MiB.`, { Connection: 'close' }),
  documentIntegrityFailed: () => new ApiError(500, 'DOCUMENT_INTEGRITY_FAILED', 'The stored document failed its integrity check.',
    'The incident has been recorded; contact compliance with the request id.'),
  documentNotFound: () => new ApiError(404, 'KYC_DOCUMENT_NOT_FOUND', 'No document you may see has this id.', 'Check the id.'),
};

/** Reusable OpenAPI response entries. */
export const errorResponse = (description: string) => ({
  content: { 'application/json': { schema: ErrorSchema } },
  description,
});
export const commonErrors = {
  400: errorResponse('Invalid JSON or fields (INVALID_JSON, VALIDATION_FAILED, INVALID_INPUT, or a database rule)'),
  413: errorResponse('Body larger than 64 KiB (PAYLOAD_TOO_LARGE)'),
  415: errorResponse('Body is not JSON (UNSUPPORTED_MEDIA_TYPE)'),
  503: errorResponse('Database unreachable (SERVICE_UNAVAILABLE)'),
} as const;
