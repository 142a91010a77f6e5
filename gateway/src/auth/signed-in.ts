import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Tokens } from '../tokens/jwt.js';
import type { DeviceCookies } from './device-cookie.js';

/** The one token pair: what every sign-in and refresh answers (each response below is this, or a part of it, plus a few fields). */
export const TokenPair = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int().openapi({ description: 'Seconds until the access token expires', example: 900 }),
    session_id: z.uuid(),
  })
  .openapi('TokenPair');

/** Password sign-in (and sign-in on a trusted device). */
export const SignedIn = TokenPair.extend({
  device_cookie: z.string().optional().openapi({ description: 'Keep it (or the dwaybank_device cookie) and send it with later sign-ins to this account: a lockout caused by others does not apply to this client' }),
  required_actions: z.array(z.enum(['enroll_mfa'])).optional().openapi({ description: 'What this session must do before anything else. '
    + 'enroll_mfa: a staff account without a second factor; until one is enrolled (and used, by step-up or a new sign-in) the session may only '
    + 'enrol a factor, list its sessions and sign out; everything else answers 403 AAL2_REQUIRED' }),
}).openapi('SignedIn');

const assurance = { aal: z.enum(['aal1', 'aal2']), amr: z.array(z.string()) };

/** Sign-in finished with a second factor. */
export const MfaTokenPair = TokenPair.extend({
  ...assurance,
  device_token: z.string().optional().openapi({ description: 'With remember_device: send it (and the same device_fingerprint) to /auth/login for 30 days' }),
  device_cookie: z.string().optional().openapi({ description: 'Send it to /auth/login (or keep the dwaybank_device cookie): this client is exempt from a lockout others cause' }),
}).openapi('MfaTokenPair');

/** Sign-in with a passkey. */
export const PasskeyTokenPair = TokenPair.extend({
  aal: z.literal('aal2'), amr: assurance.amr,
  device_cookie: z.string().openapi({ description: 'As for password sign-in: send it (or the dwaybank_device cookie) with later sign-ins; a lockout caused by others does not apply to this client' }),
}).openapi('PasskeyTokenPair');

/** A step-up: a new access token for the same session (its refresh token does not change). */
export const SteppedUp = z.object({
  access_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int(), aal: z.literal('aal2'), amr: assurance.amr,
});

/** The session a sign-in opened, a refresh rotated or a step-up raised, as the database answers it. */
export interface Grant {
  user_id: string;
  session_id: string;
  role: 'authenticated' | 'compliance_officer' | 'admin';
  aal: 'aal1' | 'aal2';
  amr: string[];
  /** Absent for a step-up. */
  refresh_token?: string;
}

/** What a response adds to the token pair; a device cookie is also set as the browser cookie. */
interface Extra {
  device_cookie?: string;
  device_token?: string;
  required_actions?: 'enroll_mfa'[];
}

export type SignedInResponses = ReturnType<typeof createSignedIn>;

/**
 * The one place a signed-in response is built: the access token signed for the
 * grant, shaped by the route's response schema (which keeps exactly its fields).
 */
export function createSignedIn(tokens: Tokens, deviceCookies: DeviceCookies) {
  return async function signedIn<S extends z.ZodType>(c: Context, schema: S, grant: Grant, extra: Extra = {}): Promise<z.output<S>> {
    const { token, expiresIn } = await tokens.sign('access', { sub: grant.user_id, sid: grant.session_id, role: grant.role, aal: grant.aal, amr: grant.amr });
    if (extra.device_cookie) deviceCookies.set(c, extra.device_cookie);
    return schema.parse({ access_token: token, refresh_token: grant.refresh_token, token_type: 'bearer', expires_in: expiresIn,
      session_id: grant.session_id, aal: grant.aal, amr: grant.amr, ...extra });
  };
}
