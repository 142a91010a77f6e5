import { createRoute, z } from '@hono/zod-openapi';
import { passwordLane, type Lanes } from '../auth/lanes.js';
import { assertNotCommon } from '../auth/passwords.js';
import type { Db } from '../db.js';
import { ApiError, commonErrors, errorResponse } from '../errors.js';
import type { Outbox } from '../mfa/outbox.js';
import { createRouter, requestContext } from '../router.js';
import type { Tokens } from '../tokens/jwt.js';
import { claims } from '../middlewares/session.js';

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });
const ok = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

const Token = z.string().min(1).max(128).openapi({ description: 'The token from the e-mail link' });
const Password = z.string().min(1).max(1024).openapi({ description: '12 to 256 characters, not a common password' });

const auth401 = errorResponse('Missing or invalid access token, or its session ended (INVALID_TOKEN, SESSION_ENDED)');
const stepUp403 = errorResponse('Needs a step-up: aal2 within 10 minutes, or a recent sign-in without MFA (STEP_UP_REQUIRED)');
const token400 = errorResponse('ACCOUNT_TOKEN_INVALID (unknown, or replaced by a newer link), ACCOUNT_TOKEN_EXPIRED, ACCOUNT_TOKEN_USED');
const tooMany = errorResponse('Too many requests (RATE_LIMITED); see Retry-After');

/** The same answer for every address, known or not. */
const FORGOT_REPLY = { status: 'accepted' as const, message: 'If an account has this address, a link to reset its password is on its way.' };

const routes = {
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
    responses: {
      200: ok(z.object({ cancelled: z.literal(true) }), 'Cancelled'),
      ...commonErrors, 400: token400, 404: errorResponse('No open recovery (RECOVERY_NOT_FOUND)'),
    },
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

const rateLimited = (retry: number | null) =>
  new ApiError(429, 'RATE_LIMITED', 'Too many requests of this kind.', 'Wait for the time in Retry-After before trying again.', {
    'Retry-After': String(Math.max(1, retry ?? 60)),
  });

/** SQL statuses of an e-mail token, as the client sees them. */
function tokenFailure(status: string): ApiError {
  switch (status) {
    case 'expired': return new ApiError(400, 'ACCOUNT_TOKEN_EXPIRED', 'This link has expired.', 'Ask for a new one.');
    case 'used': return new ApiError(400, 'ACCOUNT_TOKEN_USED', 'This link was already used.', 'Ask for a new one if you still need it.');
    case 'email_taken': return new ApiError(409, 'EMAIL_TAKEN', 'Another account uses this address now.', 'Choose another address.');
    case 'session_ended':
      return new ApiError(400, 'EMAIL_CHANGE_SESSION_ENDED', 'The session that asked for this change has ended.', 'Sign in and ask for the change again.');
    case 'invalid':
    case 'superseded':
      return new ApiError(400, 'ACCOUNT_TOKEN_INVALID', 'This link is not valid (a newer one may have replaced it).', 'Use the newest link, or ask for a new one.');
    default: throw new Error(`unhandled account token status: ${status}`);
  }
}
const mfaTokenInvalid = () => new ApiError(401, 'MFA_TOKEN_INVALID', 'The MFA token is not valid or has expired.', 'Sign in again.');

export function accountRoutes(deps: { db: Db; tokens: Tokens; trustProxy: number; outbox: Outbox; lanes?: Pick<Lanes, 'password'> }) {
  const { db, tokens, trustProxy, outbox } = deps;
  // Password change and reset hash in PostgreSQL (bcrypt): a lane of their own, so a flood queues or gets
  // SERVER_BUSY (503, Retry-After) before any database work, and never takes sign-in's connections.
  const lane = deps.lanes?.password ?? passwordLane();
  const router = createRouter();
  for (const p of ['/auth/email/*', '/auth/password/*', '/auth/recovery', '/auth/recovery/*', '/auth/sessions', '/auth/sessions/*']) {
    router.use(p, async (c, next) => {
      c.header('Cache-Control', 'no-store');
      await next();
    });
  }
  const mfaToken = async (t: string) => (await tokens.verify('mfa', t)) ?? (() => { throw mfaTokenInvalid(); })();

  return router
    .openapi(routes.verify, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string }>(
        'select status from app.verify_email($1, $2::inet, $3)', [b.token, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw tokenFailure(row.status);
      return c.json({ verified: true as const }, 200);
    })
    .openapi(routes.resend, async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; expires_at: Date | null; retry_after_seconds: number | null }>(
        'select * from app.resend_email_verification($1, $2, $3::inet, $4)', [who.sub, who.sid, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'already_verified') throw new ApiError(409, 'EMAIL_ALREADY_VERIFIED', 'The address is already verified.', 'Nothing to do.');
      if (row.status === 'rate_limited') throw rateLimited(row.retry_after_seconds);
      void outbox.flush();
      return c.json({ expires_at: new Date(row.expires_at!).toISOString() }, 202);
    })
    .openapi(routes.forgot, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; retry_after_seconds: number | null }>(
        'select * from app.request_password_reset($1, $2::inet, $3)', [b.email, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'rate_limited') throw rateLimited(row.retry_after_seconds);
      void outbox.flush();
      return c.json(FORGOT_REPLY, 202);
    })
    .openapi(routes.reset, async (c) => {
      const b = c.req.valid('json');
      assertNotCommon(b.new_password);
      const ctx = requestContext(c, trustProxy);
      const row = await lane.run(() => db.withTx(ctx, async (client) => (await client.query<{ status: string; revoked_sessions: number | null }>(
        'select status, revoked_sessions from app.reset_password($1, $2, $3::inet, $4)', [b.token, b.new_password, ctx.ip, ctx.userAgent])).rows[0]!));
      if (row.status !== 'ok') throw tokenFailure(row.status);
      void outbox.flush();
      return c.json({ reset: true as const, revoked_sessions: row.revoked_sessions ?? 0 }, 200);
    })
    .openapi(routes.change, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      assertNotCommon(b.new_password);
      const ctx = requestContext(c, trustProxy);
      const row = await lane.run(() => db.withTx(ctx, async (client) => (await client.query<{ status: string; revoked_sessions: number | null; retry_after_seconds: number | null }>(
        'select * from app.change_password($1, $2, $3, $4, $5::inet, $6)',
        [who.sub, who.sid, b.current_password, b.new_password, ctx.ip, ctx.userAgent])).rows[0]!));
      if (row.status === 'invalid_password') {
        throw new ApiError(400, 'INVALID_CURRENT_PASSWORD', 'The current password is not correct.', 'Check it and try again.');
      }
      if (row.status === 'locked') {
        throw new ApiError(429, 'TOO_MANY_ATTEMPTS', 'The password is locked after repeated wrong attempts.',
          'Wait for the time in Retry-After before trying again.', { 'Retry-After': String(Math.max(1, row.retry_after_seconds ?? 60)) });
      }
      void outbox.flush();
      return c.json({ changed: true as const, revoked_sessions: row.revoked_sessions ?? 0 }, 200);
    })
    .openapi(routes.emailChange, async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; expires_at: Date | null; retry_after_seconds: number | null }>(
        'select * from app.request_email_change($1, $2, $3, $4::inet, $5)', [who.sub, who.sid, b.new_email, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'rate_limited') throw rateLimited(row.retry_after_seconds);
      void outbox.flush();
      return c.json({ expires_at: new Date(row.expires_at!).toISOString() }, 202);
    })
    .openapi(routes.emailConfirm, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string }>(
        'select status from app.confirm_email_change($1, $2::inet, $3)', [b.token, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw tokenFailure(row.status);
      void outbox.flush();
      return c.json({ changed: true as const }, 200);
    })
    .openapi(routes.recovery, async (c) => {
      const b = c.req.valid('json');
      const t = await mfaToken(b.mfa_token);
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; recovery_id: string | null; not_before: Date | null }>(
        'select * from app.request_account_recovery($1, $2, $3::inet, $4)', [t.jti, b.reason ?? null, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'invalid_token') throw mfaTokenInvalid();
      if (row.status === 'already_requested') {
        throw new ApiError(409, 'RECOVERY_ALREADY_REQUESTED', 'An account recovery is already open for this account.', 'Wait for it, or cancel it first.');
      }
      void outbox.flush();
      return c.json({ recovery_id: row.recovery_id!, not_before: new Date(row.not_before!).toISOString() }, 202);
    })
    .openapi(routes.recoveryCancel, async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const status = await db.withTx(ctx, async (client) => (await client.query<{ status: string }>(
        'select app.cancel_account_recovery($1, $2::inet, $3) as status', [b.token, ctx.ip, ctx.userAgent])).rows[0]!.status);
      if (status !== 'ok' && status !== 'not_found') throw tokenFailure(status);
      if (status === 'not_found') throw new ApiError(404, 'RECOVERY_NOT_FOUND', 'Your account has no open recovery.', 'Nothing to cancel.');
      void outbox.flush();
      return c.json({ cancelled: true as const }, 200);
    })
    .openapi(routes.sessions, async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const rows = await db.withTx(ctx, async (client) => (await client.query(
        'select id, current, device_name, host(ip) as ip, user_agent, aal, amr, created_at, last_activity_at, expires_at, is_suspicious from app.account_sessions($1, $2)',
        [who.sub, who.sid])).rows);
      const iso = (d: Date) => new Date(d).toISOString();
      return c.json({ sessions: rows.map((r) => ({ ...r, created_at: iso(r.created_at), last_activity_at: iso(r.last_activity_at), expires_at: iso(r.expires_at) })) }, 200);
    })
    .openapi(routes.revokeSession, async (c) => {
      const who = claims(c);
      const { id } = c.req.valid('param');
      const ctx = requestContext(c, trustProxy);
      await db.withTx(ctx, (client) => client.query('select app.revoke_account_session($1, $2, $3, $4::inet, $5)', [who.sub, who.sid, id, ctx.ip, ctx.userAgent]));
      return c.body(null, 204);
    });
}
