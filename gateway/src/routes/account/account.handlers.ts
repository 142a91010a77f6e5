import type { Lane } from '../../auth/lanes.js';
import { assertNotCommon } from '../../auth/passwords.js';
import type { Db } from '../../db.js';
import { errors, type ApiError } from '../../errors.js';
import type { Context } from 'hono';
import type { AppEnv, Handlers } from '../../lib/create-app.js';
import { asCaller, requestContext } from '../../lib/request.js';
import { claims } from '../../middlewares/session.js';
import type { Outbox } from '../../mfa/outbox.js';
import type { Tokens } from '../../tokens/jwt.js';
import type { routes } from './account.routes.js';

export interface AccountDeps {
  db: Db;
  tokens: Tokens;
  trustProxy: number;
  outbox: Outbox;
  /**
   * Password change and reset hash in PostgreSQL (bcrypt): a lane of their own (auth/lanes.ts), so a flood
   * queues or gets SERVER_BUSY (503, Retry-After) before any database work, and never takes sign-in's connections.
   */
  passwordLane: Lane;
}

/** The same answer for every address, known or not. */
const FORGOT_REPLY = { status: 'accepted' as const, message: 'If an account has this address, a link to reset its password is on its way.' };

/** SQL statuses of an e-mail token, as the client sees them. */
function tokenFailure(status: string): ApiError {
  switch (status) {
    case 'expired': return errors.accountTokenExpired();
    case 'used': return errors.accountTokenUsed();
    case 'email_taken': return errors.emailTaken();
    case 'session_ended': return errors.emailChangeSessionEnded();
    case 'invalid':
    case 'superseded':
      return errors.accountTokenInvalid();
    default: throw new Error(`unhandled account token status: ${status}`);
  }
}

export function accountHandlers({ db, tokens, trustProxy, outbox, passwordLane: lane }: AccountDeps): Handlers<typeof routes> {
  const mfaToken = async (t: string) => (await tokens.verify('mfa', t)) ?? (() => { throw errors.mfaTokenInvalid(); })();
  /** An e-mail the database queued (or refused to, RATE_LIMITED): sent now, and when its link expires. */
  const queued = (row: { status: string; expires_at: Date | null; retry_after_seconds: number | null }) => {
    if (row.status === 'rate_limited') throw errors.rateLimited(row.retry_after_seconds);
    void outbox.flush();
    return { expires_at: new Date(row.expires_at!).toISOString() };
  };
  /** Redeems the token of an e-mailed link with `fn(token, ip, user_agent)`; throws the link's failure. */
  const redeem = async (c: Context<AppEnv>, fn: 'app.verify_email' | 'app.confirm_email_change', token: string) => {
    const ctx = requestContext(c, trustProxy);
    const { status } = (await db.withTx(ctx, (client) => client.query<{ status: string }>(
      `select status from ${fn}($1, $2::inet, $3)`, [token, ctx.ip, ctx.userAgent]))).rows[0]!;
    if (status !== 'ok') throw tokenFailure(status);
  };

  return {
    verify: async (c) => {
      await redeem(c, 'app.verify_email', c.req.valid('json').token);
      return c.json({ verified: true as const }, 200);
    },

    resend: async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; expires_at: Date | null; retry_after_seconds: number | null }>(
        'select * from app.resend_email_verification($1, $2, $3::inet, $4)', [who.sub, who.sid, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'already_verified') throw errors.emailAlreadyVerified();
      return c.json(queued(row), 202);
    },

    forgot: async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; retry_after_seconds: number | null }>(
        'select * from app.request_password_reset($1, $2::inet, $3)', [b.email, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'rate_limited') throw errors.rateLimited(row.retry_after_seconds);
      void outbox.flush();
      return c.json(FORGOT_REPLY, 202);
    },

    reset: async (c) => {
      const b = c.req.valid('json');
      assertNotCommon(b.new_password);
      const ctx = requestContext(c, trustProxy);
      const row = await lane.run(() => db.withTx(ctx, async (client) => (await client.query<{ status: string; revoked_sessions: number | null }>(
        'select status, revoked_sessions from app.reset_password($1, $2, $3::inet, $4)', [b.token, b.new_password, ctx.ip, ctx.userAgent])).rows[0]!));
      if (row.status !== 'ok') throw tokenFailure(row.status);
      void outbox.flush();
      return c.json({ reset: true as const, revoked_sessions: row.revoked_sessions ?? 0 }, 200);
    },

    change: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      assertNotCommon(b.new_password);
      const ctx = requestContext(c, trustProxy);
      const row = await lane.run(() => db.withTx(ctx, async (client) => (await client.query<{ status: string; revoked_sessions: number | null; retry_after_seconds: number | null }>(
        'select * from app.change_password($1, $2, $3, $4, $5::inet, $6)',
        [who.sub, who.sid, b.current_password, b.new_password, ctx.ip, ctx.userAgent])).rows[0]!));
      if (row.status === 'invalid_password') throw errors.invalidCurrentPassword();
      if (row.status === 'locked') throw errors.passwordLocked(row.retry_after_seconds);
      void outbox.flush();
      return c.json({ changed: true as const, revoked_sessions: row.revoked_sessions ?? 0 }, 200);
    },

    emailChange: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; expires_at: Date | null; retry_after_seconds: number | null }>(
        'select * from app.request_email_change($1, $2, $3, $4::inet, $5)', [who.sub, who.sid, b.new_email, ctx.ip, ctx.userAgent])).rows[0]!);
      return c.json(queued(row), 202);
    },

    emailConfirm: async (c) => {
      await redeem(c, 'app.confirm_email_change', c.req.valid('json').token);
      void outbox.flush();
      return c.json({ changed: true as const }, 200);
    },

    recovery: async (c) => {
      const b = c.req.valid('json');
      const t = await mfaToken(b.mfa_token);
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; recovery_id: string | null; not_before: Date | null }>(
        'select * from app.request_account_recovery($1, $2, $3::inet, $4)', [t.jti, b.reason ?? null, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'invalid_token') throw errors.mfaTokenInvalid();
      if (row.status === 'already_requested') throw errors.recoveryAlreadyRequested();
      void outbox.flush();
      return c.json({ recovery_id: row.recovery_id!, not_before: new Date(row.not_before!).toISOString() }, 202);
    },

    recoveryCancel: async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const status = await db.withTx(ctx, async (client) => (await client.query<{ status: string }>(
        'select app.cancel_account_recovery($1, $2::inet, $3) as status', [b.token, ctx.ip, ctx.userAgent])).rows[0]!.status);
      if (status !== 'ok' && status !== 'not_found') throw tokenFailure(status);
      if (status === 'not_found') throw errors.recoveryNotFound();
      void outbox.flush();
      return c.json({ cancelled: true as const }, 200);
    },

    sessions: async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const rows = await db.withTx(ctx, async (client) => (await client.query(
        'select id, current, device_name, host(ip) as ip, user_agent, aal, amr, created_at, last_activity_at, expires_at, is_suspicious from app.account_sessions($1, $2)',
        [who.sub, who.sid])).rows);
      const iso = (d: Date) => new Date(d).toISOString();
      return c.json({ sessions: rows.map((r) => ({ ...r, created_at: iso(r.created_at), last_activity_at: iso(r.last_activity_at), expires_at: iso(r.expires_at) })) }, 200);
    },

    revokeSession: async (c) => {
      await asCaller(db, c, trustProxy, 'app.revoke_account_session', [c.req.valid('param').id]);
      return c.body(null, 204);
    },
  };
}
