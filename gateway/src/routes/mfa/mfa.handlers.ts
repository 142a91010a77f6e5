import crypto from 'node:crypto';
import QRCode from 'qrcode';
import type { DeviceCookies } from '../../auth/device-cookie.js';
import { MfaTokenPair, SteppedUp, type SignedInResponses } from '../../auth/signed-in.js';
import type { Db } from '../../db.js';
import { errors, type ApiError } from '../../errors.js';
import type { Handlers } from '../../lib/create-app.js';
import { metrics, mfaOutcome } from '../../lib/metrics.js';
import { requestContext } from '../../lib/request.js';
import { claims } from '../../middlewares/session.js';
import type { MfaKeys } from '../../mfa/crypto.js';
import { sealAad, type Outbox } from '../../mfa/outbox.js';
import { matchStep, newSecret, otpauthUri } from '../../mfa/totp.js';
import type { Tokens } from '../../tokens/jwt.js';
import type { routes } from './mfa.routes.js';

export interface MfaDeps {
  db: Db;
  tokens: Tokens;
  keys: MfaKeys;
  outbox: Outbox;
  trustProxy: number;
  issuer: string;
  deviceCookies: DeviceCookies;
  signedIn: SignedInResponses;
}

const totpAad = (userId: string) => `totp:${userId}`;
type Role = 'authenticated' | 'compliance_officer' | 'admin';

/** SQL statuses of a code check, as the client sees them. */
function codeFailure(status: string, retry: number | null): ApiError {
  switch (status) {
    case 'rate_limited': return errors.mfaRateLimited(retry);
    case 'expired': return errors.mfaCodeExpired();
    case 'locked': return errors.mfaCodeLocked();
    case 'invalid_token': return errors.mfaTokenInvalid();
    case 'token_used': return errors.mfaTokenUsed();
    case 'method_not_available': return errors.mfaMethodNotAvailable();
    case 'not_found': return errors.mfaEnrollmentNotFound();
    case 'suspended': return errors.accountSuspended();
    default: return errors.mfaCodeInvalid();
  }
}

export function mfaHandlers(deps: MfaDeps): Handlers<typeof routes> {
  const { db, tokens, keys, outbox, trustProxy, issuer, deviceCookies, signedIn } = deps;

  async function mfaToken(token: string | undefined) {
    const t = token ? await tokens.verify('mfa', token) : null;
    if (!t) throw errors.mfaTokenInvalid();
    return t;
  }
  /** The step at which a TOTP code matches the user's secret, or null (the database records the miss). */
  async function totpStep(client: { query: Db['pool']['query'] }, userId: string, code: string, configId: string | null = null) {
    const r = await client.query<{ ciphertext: string }>('select ciphertext from app.mfa_totp_secret($1, $2)', [userId, configId]);
    const sealed = r.rows[0]?.ciphertext;
    return sealed ? matchStep(keys.open(sealed, totpAad(userId)), code) : null;
  }
  /** A fresh 6-digit code, and the same sealed for the outbox. */
  function newCode(userId: string) {
    const code = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
    return { code, sealed: keys.seal(JSON.stringify({ code }), sealAad(userId)) };
  }

  return {
    enroll: async (c) => {
      const who = claims(c);
      const body = (await c.req.json().catch(() => ({}))) as { label?: string; device_fingerprint?: string };
      const ctx = requestContext(c, trustProxy);
      const secret = newSecret();
      const configId = await db.withTx(ctx, async (client) => {
        const r = await client.query<{ id: string }>(
          'select app.begin_totp_enrollment($1, $2, $3, $4, $5, $6, $7::inet, $8) as id',
          [who.sub, who.sid, keys.seal(secret, totpAad(who.sub)), keys.kid, typeof body.label === 'string' ? body.label.slice(0, 100) : null,
            typeof body.device_fingerprint === 'string' ? body.device_fingerprint.slice(0, 256) : null, ctx.ip, ctx.userAgent]);
        return r.rows[0]!.id;
      });
      const uri = otpauthUri(secret, typeof body.label === 'string' && body.label ? body.label.slice(0, 100) : `account ${who.sub.slice(0, 8)}`, issuer);
      const qr = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return c.json({ config_id: configId, secret, otpauth_uri: uri, qr_svg: qr }, 201);
    },

    confirm: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => {
        const step = await totpStep(client, who.sub, b.code, b.config_id);
        const r = await client.query<{ status: string; retry_after_seconds: number | null; backup_codes: string[] | null }>(
          'select * from app.confirm_totp_enrollment($1, $2, $3, $4, $5::inet, $6)',
          [who.sub, who.sid, b.config_id, step, ctx.ip, ctx.userAgent]);
        return r.rows[0]!;
      });
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      return c.json({ backup_codes: row.backup_codes! }, 200);
    },

    otpEnroll: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const { code, sealed } = newCode(who.sub);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; config_id: string; expires_at: Date; retry_after_seconds: number | null }>(
        'select * from app.begin_otp_enrollment($1, $2, $3, $4, $5, $6::inet, $7)', [who.sub, who.sid, b.method, code, sealed, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      void outbox.flush();
      return c.json({ config_id: row.config_id, expires_at: new Date(row.expires_at).toISOString() }, 201);
    },

    otpConfirm: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; retry_after_seconds: number | null; backup_codes: string[] | null }>(
        'select * from app.confirm_otp_enrollment($1, $2, $3, $4, $5::inet, $6)', [who.sub, who.sid, b.config_id, b.code, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      return c.json({ backup_codes: row.backup_codes }, 200);
    },

    challenge: async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      let userId: string, loginId: string | null = null, sessionId: string | null = null;
      if (b.mfa_token) {
        const t = await mfaToken(b.mfa_token);
        userId = t.sub; loginId = t.jti;
      } else {
        const who = claims(c);
        userId = who.sub; sessionId = who.sid;
      }
      const { code, sealed } = newCode(userId);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; expires_at: Date; retry_after_seconds: number | null }>(
        'select * from app.create_mfa_challenge($1, $2, $3, $4, $5, $6, $7::inet, $8)',
        [userId, b.method, code, sealed, loginId, sessionId, ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status !== 'ok') throw codeFailure(row.status, row.retry_after_seconds);
      void outbox.flush();
      return c.json({ expires_at: new Date(row.expires_at).toISOString() }, 202);
    },

    verify: async (c) => {
      const b = c.req.valid('json');
      const t = await mfaToken(b.mfa_token);
      const ctx = requestContext(c, trustProxy);
      // Two round trips: the sealed secret (a read, outside any transaction), then one
      // statement that accepts the step (at most once: the database enforces it),
      // opens the session and issues its device cookie.
      const step = b.method === 'totp' ? await totpStep(db.pool, t.sub, b.code) : null;
      const row = (await db.call<{ status: string; user_id: string; role: Role; retry_after_seconds: number | null;
        session_id: string; refresh_token: string; aal: 'aal1' | 'aal2'; amr: string[]; device_token: string | null; device_cookie: string | null }>(
        `select v.*, case when v.status = 'ok' and v.user_id = $10 then app.issue_device_cookie(v.user_id, v.session_id, $11) end as device_cookie
           from app.verify_mfa_login($1, $2, $3, $4, $5, $6::inet, $7, $8, $9, now => app.begin_request($12)) v`,
        [t.jti, b.method, b.method === 'totp' ? null : b.code, step, b.remember_device ?? false, ctx.ip, ctx.userAgent,
          b.device_fingerprint ?? null, b.device_name ?? null, t.sub, deviceCookies.sent(c, b.device_cookie), ctx.requestId])).rows[0]!;
      metrics.mfa.inc({ method: b.method, outcome: row.device_cookie ? 'success' : mfaOutcome(row.status === 'ok' ? 'invalid' : row.status) });
      // The statement decided: a device cookie exactly when the sign-in succeeded for the mfa_token's user.
      if (!row.device_cookie) throw codeFailure(row.status, row.retry_after_seconds);
      return c.json(await signedIn(c, MfaTokenPair, row, { device_token: row.device_token ?? undefined, device_cookie: row.device_cookie }), 200);
    },

    stepUp: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => {
        const step = b.method === 'totp' ? await totpStep(client, who.sub, b.code) : null;
        const r = await client.query<{ status: string; retry_after_seconds: number | null; user_id: string; role: Role; aal: 'aal2'; amr: string[] }>(
          'select * from app.step_up_session($1, $2, $3, $4, $5::inet, $6)',
          [who.sid, b.method, b.method === 'totp' ? null : b.code, step, ctx.ip, ctx.userAgent]);
        return r.rows[0]!;
      });
      metrics.stepUps.inc({ method: b.method, outcome: mfaOutcome(row.status) });
      if (row.status !== 'ok') throw row.status === 'invalid_token' ? errors.invalidToken() : codeFailure(row.status, row.retry_after_seconds);
      return c.json(await signedIn(c, SteppedUp, { user_id: who.sub, session_id: who.sid, role: row.role, aal: 'aal2', amr: row.amr }), 200);
    },

    regenerate: async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const codes = await db.withTx(ctx, async (client) => (await client.query<{ codes: string[] }>(
        'select app.regenerate_backup_codes($1, $2, $3::inet, $4) as codes', [who.sub, who.sid, ctx.ip, ctx.userAgent])).rows[0]!.codes);
      return c.json({ backup_codes: codes }, 200);
    },
  };
}
