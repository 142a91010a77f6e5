import type { Context, MiddlewareHandler } from 'hono';
import type { Db } from '../db.js';
import { errors } from '../errors.js';
import type { AppEnv } from '../lib/create-app.js';
import { requestContext } from '../lib/request.js';
import type { Tokens, VerifiedToken } from '../tokens/jwt.js';

/** A request's access token, with role and aal as the database has them now (not as the token was signed). */
export type SessionClaims = VerifiedToken<'access'> & { auth_time: Date; staff: boolean };

/**
 * What a route needs beyond a live session. Every route the OpenAPI document
 * marks `security: bearer` gets the session check; this table says only what
 * differs from "any signed-in user, staff at aal2".
 */
export interface SessionPolicy {
  /** Only these (current, database) roles; others get FORBIDDEN. */
  roles?: readonly ('authenticated' | 'compliance_officer' | 'admin')[];
  /**
   * A staff session below aal2 may use it: enrolling a factor, stepping up with it,
   * its own sessions, signing out (Keycloak's "required action": the only things a
   * staff account without a second factor can do).
   */
  enrolment?: boolean;
  /** Also works without a token (with an mfa_token instead): a token is checked when one is sent. */
  optional?: boolean;
}

export const SESSION_POLICIES: Record<string, SessionPolicy> = {
  'POST /auth/logout': { enrolment: true },
  'GET /auth/sessions': { enrolment: true },
  'POST /auth/mfa/totp/enroll': { enrolment: true },
  'POST /auth/mfa/totp/confirm': { enrolment: true },
  'POST /auth/mfa/otp/enroll': { enrolment: true },
  'POST /auth/mfa/otp/confirm': { enrolment: true },
  'POST /auth/mfa/challenge': { enrolment: true, optional: true },
  'POST /auth/mfa/step-up': { enrolment: true },
  'POST /auth/passkeys/register/options': { enrolment: true },
  'POST /auth/passkeys/register/verify': { enrolment: true },
  'POST /auth/passkeys/step-up/options': { enrolment: true },
  'POST /auth/passkeys/step-up/verify': { enrolment: true },
  'GET /admin/events': { roles: ['admin'] },
  'POST /admin/audit/checkpoints/sign': { roles: ['admin'] },
};

interface SessionRow { live: boolean; role: SessionClaims['role'] | null; aal: SessionClaims['aal'] | null; auth_time: Date | null; staff: boolean | null }

/** The session of verified claims as the database has it now (one statement; records activity as PostgREST's pre-request does). */
export async function checkSession(db: Db, claims: VerifiedToken<'access'>, userAgent: string | null, requestId: string): Promise<SessionRow> {
  return (await db.call<SessionRow>('select * from app.check_session($1, $2, $3, now => app.begin_request($4))',
    [claims.sid, claims.sub, userAgent, requestId])).rows[0] ?? { live: false, role: null, aal: null, auth_time: null, staff: null };
}

/** The claims the session middleware checked; a route without them fails closed. */
export function claims(c: Context<AppEnv>): SessionClaims {
  const v = c.get('claims');
  if (!v) throw errors.invalidToken();
  return v;
}

/** `/kyc/documents/{id}` as a regular expression over request paths. */
const pattern = (path: string) => new RegExp(`^${path.split('/')
  .map((seg) => (/^\{[^}]+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}$`);

/**
 * The gateway's db-pre-request, registered once for the whole app: for every route
 * that takes an access token (OpenAPI `security: bearer`, or SESSION_POLICIES),
 * the token's signature, then its session in the database (SESSION_ENDED), then
 * the staff assurance (AAL2_REQUIRED) and the route's roles (FORBIDDEN).
 */
export function sessionMiddleware(deps: { db: Db; tokens: Tokens; trustProxy: number;
  bearerRoutes: () => { method: string; path: string }[] }): MiddlewareHandler<AppEnv> {
  let table: { method: string; re: RegExp; policy: SessionPolicy }[] | null = null;
  const build = () => {
    const keys = new Set([...deps.bearerRoutes().map((r) => `${r.method.toUpperCase()} ${r.path}`), ...Object.keys(SESSION_POLICIES)]);
    return [...keys].map((k) => {
      const [method, path] = k.split(' ') as [string, string];
      return { method, re: pattern(path), policy: SESSION_POLICIES[k] ?? {} };
    });
  };
  return async (c, next) => {
    table ??= build();
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const route = table.find((r) => r.method === method && r.re.test(c.req.path));
    if (!route) return next();
    const header = c.req.header('authorization');
    if (!header && route.policy.optional) return next();
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header ?? '');
    const verified = m ? await deps.tokens.verify('access', m[1]!) : null;
    if (!verified) throw errors.invalidToken();
    const ctx = requestContext(c, deps.trustProxy);
    const row = await checkSession(deps.db, verified, ctx.userAgent, ctx.requestId);
    if (!row.live) throw errors.sessionEnded();
    const staff = Boolean(row.staff) || verified.role !== 'authenticated';
    if (staff && row.aal !== 'aal2' && !route.policy.enrolment) throw errors.aal2Required();
    if (route.policy.roles && !route.policy.roles.includes(row.role!)) throw errors.forbidden(route.policy.roles);
    c.set('claims', { ...verified, role: row.role!, aal: row.aal!, auth_time: new Date(row.auth_time!), staff });
    return next();
  };
}
