import type { Lanes } from '../../auth/lanes.js';
import { assertNotCommon } from '../../auth/passwords.js';
import { SignedIn, TokenPair, type Grant, type SignedInResponses } from '../../auth/signed-in.js';
import type { DeviceCookies } from '../../auth/device-cookie.js';
import type { Db } from '../../db.js';
import { errors } from '../../errors.js';
import type { Handlers } from '../../lib/create-app.js';
import { metrics } from '../../lib/metrics.js';
import { requestContext } from '../../lib/request.js';
import { claims } from '../../middlewares/session.js';
import type { Tokens } from '../../tokens/jwt.js';
import type { routes } from './auth.routes.js';

export interface AuthDeps {
  db: Db;
  tokens: Tokens;
  trustProxy: number;
  lanes: Lanes;
  deviceCookies: DeviceCookies;
  signedIn: SignedInResponses;
}

/** A sign-in's or refresh's row: its status and, when ok, the session it opened. */
type SessionRow = { status: string; retry_after_seconds?: number | null; login_id?: string | null; mfa_methods?: string[] | null;
  /** With status ok, from app.issue_device_cookie. */
  device_cookie?: string } & { [K in keyof Grant]: Grant[K] | null };

const grant = (row: SessionRow) => row as Grant;

/** app.authenticate's statuses as the sign-in counter names them (dwaybank_sign_in_total). */
const signInOutcomes: Record<string, string> = {
  ok: 'success', invalid: 'wrong_password', locked: 'locked', throttled: 'throttled', mfa_required: 'mfa_required', suspended: 'suspended',
};

const refreshFailures: Record<string, () => Error> = {
  invalid: errors.refreshTokenInvalid,
  reused: errors.refreshTokenReused,
  revoked: errors.sessionRevoked,
  expired: errors.sessionExpired,
};

export function authHandlers({ db, tokens, trustProxy, lanes, deviceCookies, signedIn }: AuthDeps): Handlers<typeof routes> {
  return {
    signup: async (c) => {
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
    },

    login: async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const presented = deviceCookies.sent(c, b.device_cookie);
      // One statement, its own transaction: the sign-in and, when it succeeds, its device cookie.
      // In the sign-in lane (auth/lanes.ts), apart from sign-ups.
      const row = (await lanes.login.run(() => db.call<SessionRow>(
        `select a.status, a.user_id, a.role, a.retry_after_seconds, a.session_id, a.refresh_token, a.aal, a.amr, a.login_id, a.mfa_methods,
                case when a.status = 'ok' then app.issue_device_cookie(a.user_id, a.session_id, $7) end as device_cookie
           from app.authenticate($1, $2, $3::inet, $4, $5, $6, now => app.begin_request($8), device_cookie => $7) a`,
        [b.email, b.password, ctx.ip, ctx.userAgent, b.device_fingerprint ?? null, b.device_name ?? null, presented, ctx.requestId],
      ))).rows[0]!;
      metrics.signIns.inc({ outcome: signInOutcomes[row.status] ?? 'other' });
      switch (row.status) {
        case 'ok':
          // A staff account signing in with a password alone has no second factor yet (with one, the sign-in asks for it).
          return c.json(await signedIn(c, SignedIn, grant(row), { device_cookie: row.device_cookie!,
            ...(row.role !== 'authenticated' && row.aal !== 'aal2' ? { required_actions: ['enroll_mfa' as const] } : {}) }), 200);
        case 'mfa_required': {
          if (b.device_token && b.device_fingerprint) {
            // The same shape as the sign-in above: one statement, the device cookie issued when it succeeds.
            const trusted = (await db.call<SessionRow>(
              `select t.status, t.user_id, t.role, t.session_id, t.refresh_token, t.aal, t.amr,
                      case when t.status = 'ok' then app.issue_device_cookie(t.user_id, t.session_id, $7) end as device_cookie
                 from app.login_with_trusted_device($1, $2, $3, $4::inet, $5, $6, now => app.begin_request($8)) t`,
              [row.login_id, b.device_token, b.device_fingerprint, ctx.ip, ctx.userAgent, b.device_name ?? null, presented, ctx.requestId],
            )).rows[0]!;
            if (trusted.status === 'ok') return c.json(await signedIn(c, SignedIn, grant(trusted), { device_cookie: trusted.device_cookie! }), 200);
          }
          const { token } = await tokens.sign('mfa', { sub: row.user_id!, methods: row.mfa_methods! }, { jti: row.login_id! });
          return c.json({ mfa_required: true as const, mfa_token: token, methods: row.mfa_methods! }, 200);
        }
        case 'locked':
          throw errors.signInPaused(row.retry_after_seconds ?? null);
        case 'throttled':
          throw errors.signInThrottled(row.retry_after_seconds ?? null);
        case 'suspended':
          throw errors.accountSuspended();
        case 'invalid':
          throw errors.invalidCredentials();
        default:
          // A status this route does not know yet (a new SQL feature): fail closed and loudly.
          throw new Error(`app.authenticate returned an unhandled status: ${row.status}`);
      }
    },

    refresh: async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = (await db.call<SessionRow>(
        'select status, user_id, role, session_id, refresh_token, aal, amr from app.refresh_session($1, $2::inet, $3, now => app.begin_request($4))',
        [b.refresh_token, ctx.ip, ctx.userAgent, ctx.requestId],
      )).rows[0]!;
      metrics.refreshes.inc({ outcome: row.status in refreshFailures ? row.status : row.status === 'ok' ? 'success' : 'other' });
      if (row.status === 'reused') metrics.refreshReuse.inc();
      if (row.status === 'ok') return c.json(await signedIn(c, TokenPair, grant(row)), 200);
      const failure = refreshFailures[row.status];
      if (!failure) throw new Error(`app.refresh_session returned an unhandled status: ${row.status}`);
      throw failure();
    },

    logout: async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      await db.withTx(ctx, (client) =>
        client.query('select app.logout($1, $2::inet, $3)', [who.sid, ctx.ip, ctx.userAgent]));
      return c.body(null, 204);
    },
  };
}
