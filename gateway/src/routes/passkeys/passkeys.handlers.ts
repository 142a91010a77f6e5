import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type pg from 'pg';
import type { DeviceCookies } from '../../auth/device-cookie.js';
import { PasskeyTokenPair, SteppedUp, type SignedInResponses } from '../../auth/signed-in.js';
import type { Db, RequestContext } from '../../db.js';
import type { PasskeyConfig } from '../../env.js';
import { errors, type ApiError } from '../../errors.js';
import type { Handlers } from '../../lib/create-app.js';
import { asCaller, requestContext } from '../../lib/request.js';
import { claims } from '../../middlewares/session.js';
import type { Tokens } from '../../tokens/jwt.js';
import type { routes } from './passkeys.routes.js';

/**
 * Passkeys (WebAuthn) with @simplewebauthn/server: the gateway makes the
 * options and checks signatures; the database keeps the credentials, the
 * single-use challenges, the sign-counter rule and every attempt
 * (migrations/committed/000006-create-account-lifecycle.sql).
 */
export interface PasskeyDeps {
  db: Db;
  tokens: Tokens;
  trustProxy: number;
  config: PasskeyConfig;
  deviceCookies: DeviceCookies;
  signedIn: SignedInResponses;
}

function failure(status: string, retry: number | null): ApiError {
  switch (status) {
    case 'counter_regressed': return errors.passkeyCounterRegressed();
    case 'invalid_token': return errors.mfaTokenInvalid();
    case 'method_not_available': return errors.noPasskey();
    case 'suspended': return errors.accountSuspended();
    case 'rate_limited': return errors.passkeyAttemptsLimited(retry);
    case 'locked': return errors.passkeyAccountLocked(retry);
    default: return errors.passkeyInvalid();
  }
}

/** The challenge the browser signed, from clientDataJSON; the database decides whether it is one of ours. */
function signedChallenge(response: { response: { clientDataJSON: string } }): string {
  try {
    const c = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof c.challenge === 'string' && /^[A-Za-z0-9_-]{22,128}$/.test(c.challenge)) return c.challenge;
  } catch { /* fall through */ }
  throw errors.passkeyInvalid();
}

interface FinishRow {
  status: string; user_id: string | null; role: 'authenticated' | 'compliance_officer' | 'admin' | null; retry_after_seconds: number | null;
  session_id: string | null; refresh_token: string | null; aal: 'aal2' | null; amr: string[] | null;
}

export function passkeyHandlers(deps: PasskeyDeps): Handlers<typeof routes> {
  const { db, tokens, trustProxy, config: cfg, deviceCookies, signedIn } = deps;

  /**
   * Authentication options for a sign-in (with its pending login, or passwordless) or a step-up:
   * the database records the challenge and lists the credentials allowed (passwordless: none, the
   * authenticator offers its discoverable ones).
   */
  async function authenticationOptions(ctx: RequestContext, who: { purpose: 'login' | 'passwordless' | 'step_up'; loginId?: string | null;
    userId?: string; sessionId?: string }) {
    return db.withTx(ctx, async (client) => {
      const draft = await generateAuthenticationOptions({ rpID: cfg.rpID, userVerification: 'preferred', allowCredentials: [] });
      const r = (await client.query<{ status: string; allow_credentials: { id: string; transports: string[] }[] | null }>(
        'select * from app.begin_passkey_authentication($1, $2, $3, $4, $5, $6::inet, $7)',
        [who.purpose, who.loginId ?? null, who.userId ?? null, who.sessionId ?? null, draft.challenge, ctx.ip, ctx.userAgent])).rows[0]!;
      if (r.status !== 'ok') throw failure(r.status, null);
      return { ...draft, allowCredentials: (r.allow_credentials ?? []).map((a) => ({ id: a.id, type: 'public-key' as const, transports: a.transports })) };
    });
  }

  /** The pending sign-in an mfa_token names (its jti and user), or none for a passwordless sign-in. */
  async function pendingLogin(mfaToken: string | undefined): Promise<{ loginId: string | null; userId: string | null }> {
    if (!mfaToken) return { loginId: null, userId: null };
    const t = await tokens.verify('mfa', mfaToken);
    if (!t) throw failure('invalid_token', null);
    return { loginId: t.jti, userId: t.sub };
  }

  /**
   * Checks an assertion against the stored public key and records the outcome
   * (which uses up the challenge) in one transaction. The library is given a
   * stored counter of 0 so that the database, not the library, applies the
   * counter rule and records a regression as a security event.
   */
  async function finish(client: pg.PoolClient, purpose: 'login' | 'passwordless' | 'step_up', response: AuthenticationResponseJSON,
    ctx: { ip: string; userAgent: string | null }, extra: { loginId?: string | null; sessionId?: string | null; fingerprint?: string | null; deviceName?: string | null }) {
    const challenge = signedChallenge(response);
    const cred = (await client.query<{ user_id: string; public_key: Buffer; transports: string[] }>(
      'select user_id, public_key, transports from app.passkey_credential($1)', [response.id])).rows[0];
    let verified = false;
    let newCounter = 0;
    if (cred) {
      try {
        const v = await verifyAuthenticationResponse({
          response, expectedChallenge: challenge, expectedOrigin: cfg.origins, expectedRPID: cfg.rpID,
          credential: { id: response.id, publicKey: new Uint8Array(cred.public_key), counter: 0, transports: cred.transports as AuthenticatorTransportFuture[] },
          requireUserVerification: purpose === 'passwordless',
        });
        verified = v.verified;
        newCounter = v.authenticationInfo.newCounter;
      } catch {
        verified = false;
      }
    }
    return (await client.query<FinishRow>(
      'select * from app.finish_passkey_authentication($1, $2, $3, $4, $5, $6, $7, $8::inet, $9, $10, $11)',
      [purpose, challenge, response.id, verified, newCounter, extra.loginId ?? null, extra.sessionId ?? null, ctx.ip, ctx.userAgent,
        extra.fingerprint ?? null, extra.deviceName ?? null])).rows[0]!;
  }

  return {
    registerOptions: async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const options = await db.withTx(ctx, async (client) => {
        // The user handle is the account id: stable, and no personal data on the authenticator beyond the name shown.
        const draft = await generateRegistrationOptions({
          rpName: cfg.rpName, rpID: cfg.rpID, userName: 'pending', userID: new Uint8Array(Buffer.from(who.sub.replace(/-/g, ''), 'hex')),
          attestationType: 'none', authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
        });
        const r = (await client.query<{ email: string; display_name: string | null; exclude_credentials: { id: string; transports: string[] }[] }>(
          'select * from app.begin_passkey_registration($1, $2, $3, $4::inet, $5)', [who.sub, who.sid, draft.challenge, ctx.ip, ctx.userAgent])).rows[0]!;
        return {
          ...draft,
          user: { ...draft.user, name: r.email, displayName: r.display_name ?? r.email },
          excludeCredentials: r.exclude_credentials.map((x) => ({ id: x.id, type: 'public-key' as const, transports: x.transports as AuthenticatorTransportFuture[] })),
        };
      });
      return c.json(options as Record<string, unknown>, 200);
    },

    registerVerify: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const response = b.response as unknown as RegistrationResponseJSON;
      const challenge = signedChallenge(response);
      let info;
      try {
        const v = await verifyRegistrationResponse({
          response, expectedChallenge: challenge, expectedOrigin: cfg.origins, expectedRPID: cfg.rpID, requireUserVerification: false,
        });
        if (!v.verified || !v.registrationInfo) throw errors.passkeyInvalid();
        info = v.registrationInfo;
      } catch {
        throw errors.newPasskeyInvalid();
      }
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, async (client) => (await client.query<{ status: string; passkey_id: string | null; backup_codes: string[] | null }>(
        'select * from app.finish_passkey_registration($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::inet, $12)',
        [who.sub, who.sid, challenge, info.credential.id, Buffer.from(info.credential.publicKey), info.credential.counter,
          info.credential.transports ?? response.response.transports ?? [], b.label ?? null, info.credentialDeviceType, info.credentialBackedUp,
          ctx.ip, ctx.userAgent])).rows[0]!);
      if (row.status === 'already_registered') throw errors.passkeyAlreadyRegistered();
      if (row.status !== 'ok') throw errors.registrationChallengeInvalid();
      return c.json({ passkey_id: row.passkey_id!, backup_codes: row.backup_codes }, 201);
    },

    loginOptions: async (c) => {
      const b = c.req.valid('json');
      const { loginId } = await pendingLogin(b.mfa_token);
      const options = await authenticationOptions(requestContext(c, trustProxy), { purpose: loginId ? 'login' : 'passwordless', loginId });
      return c.json(options as Record<string, unknown>, 200);
    },

    loginVerify: async (c) => {
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const { loginId, userId: expectedUser } = await pendingLogin(b.mfa_token);
      const presented = deviceCookies.sent(c, b.device_cookie);
      // The device cookie is issued in the sign-in's transaction, as for a password sign-in.
      const row = await db.withTx(ctx, async (client) => {
        const r = await finish(client, loginId ? 'login' : 'passwordless', b.response as unknown as AuthenticationResponseJSON, ctx,
          { loginId, fingerprint: b.device_fingerprint ?? null, deviceName: b.device_name ?? null });
        // Signed in only as the user the mfa_token names (passwordless: whoever the passkey belongs to).
        const ok = r.status === 'ok' && (!expectedUser || r.user_id === expectedUser);
        return { ...r, device_cookie: ok ? await deviceCookies.issue(client, r.user_id!, r.session_id!, presented) : null };
      });
      if (row.device_cookie === null) throw failure(row.status, row.retry_after_seconds);
      return c.json(await signedIn(c, PasskeyTokenPair, { user_id: row.user_id!, session_id: row.session_id!, role: row.role!, aal: 'aal2',
        amr: row.amr!, refresh_token: row.refresh_token! }, { device_cookie: row.device_cookie }), 200);
    },

    stepUpOptions: async (c) => {
      const who = claims(c);
      const options = await authenticationOptions(requestContext(c, trustProxy), { purpose: 'step_up', userId: who.sub, sessionId: who.sid });
      return c.json(options as Record<string, unknown>, 200);
    },

    stepUpVerify: async (c) => {
      const who = claims(c);
      const b = c.req.valid('json');
      const ctx = requestContext(c, trustProxy);
      const row = await db.withTx(ctx, (client) => finish(client, 'step_up', b.response as unknown as AuthenticationResponseJSON, ctx, { sessionId: who.sid }));
      if (row.status !== 'ok' || row.user_id !== who.sub) throw failure(row.status, row.retry_after_seconds);
      return c.json(await signedIn(c, SteppedUp, { user_id: who.sub, session_id: who.sid, role: row.role!, aal: 'aal2', amr: row.amr! }), 200);
    },

    list: async (c) => {
      const who = claims(c);
      const ctx = requestContext(c, trustProxy);
      const rows = await db.withTx(ctx, async (client) => (await client.query(
        'select id, label, transports, device_type, backed_up, created_at, last_used_at from app.account_passkeys($1, $2)', [who.sub, who.sid])).rows);
      return c.json({ passkeys: rows.map((r) => ({ ...r, created_at: new Date(r.created_at).toISOString(),
        last_used_at: r.last_used_at ? new Date(r.last_used_at).toISOString() : null })) }, 200);
    },

    remove: async (c) => {
      await asCaller(db, c, trustProxy, 'app.remove_passkey', [c.req.valid('param').id]);
      return c.body(null, 204);
    },
  };
}
