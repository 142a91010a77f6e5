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

export const errors = {
  invalidJson: () => new ApiError(400, 'INVALID_JSON', 'The request body is not valid JSON.', 'Send a JSON object with Content-Type: application/json.'),
  validation: (details: ErrorBody['details']) =>
    new ApiError(400, 'VALIDATION_FAILED', 'Some fields are missing or not valid.', 'See details for each field.', {}, details),
  // Sent after the rest of the body was read and discarded (app.ts, bounded): close
  // the connection all the same, since past the bound bytes may still be unread.
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
  invalidToken: () =>
    new ApiError(401, 'INVALID_TOKEN', 'The access token is missing or not valid.', 'Sign in again to get a new access token.', {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    }),
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
