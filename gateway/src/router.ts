import { OpenAPIHono } from '@hono/zod-openapi';
import { getConnInfo } from '@hono/node-server/conninfo';
import net from 'node:net';
import type { Context } from 'hono';
import type { RequestContext } from './db.js';
import type { SessionClaims } from './middlewares/session.js';
import { errors } from './errors.js';

/** `claims`: the access token of a route that takes one, checked by middlewares/session.ts. */
export type AppEnv = { Variables: { requestId: string; claims?: SessionClaims } };

/** A router whose schema violations become VALIDATION_FAILED, like every other error. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw errors.validation(result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })));
      }
    },
  });
}

/** IPv4 clients reach a dual-stack socket as ::ffff:a.b.c.d; the throttle must see one address. */
const normaliseIp = (ip: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip);

/**
 * The client address: the socket's, or with TRUST_PROXY=n the n-th address from
 * the right of X-Forwarded-For (the one our own proxy appended; entries further
 * left are whatever the client claimed).
 */
export function clientIp(c: Context, trustProxy: number): string {
  const socket = getConnInfo(c).remote.address ?? '0.0.0.0';
  if (trustProxy > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const candidate = hops[hops.length - trustProxy];
    if (candidate && net.isIP(candidate)) return normaliseIp(candidate);
  }
  return normaliseIp(socket);
}

export function requestContext(c: Context<AppEnv>, trustProxy: number): RequestContext {
  return {
    requestId: c.get('requestId'),
    ip: clientIp(c, trustProxy),
    userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null,
  };
}
