import { getConnInfo } from '@hono/node-server/conninfo';
import net from 'node:net';
import type { Context } from 'hono';
import type { Db, RequestContext } from '../db.js';
import { claims } from '../middlewares/session.js';
import type { AppEnv } from './create-app.js';

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

/** What every database call states about the request it serves (for the audit trail). */
export function requestContext(c: Context<AppEnv>, trustProxy: number): RequestContext {
  return {
    requestId: c.get('requestId'),
    ip: clientIp(c, trustProxy),
    userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null,
  };
}

/**
 * Calls `fn(user_id, session_id, ...args, ip, user_agent)` for the signed-in caller, in a transaction
 * that records the request (the shape of the app functions behind the account's own routes).
 */
export async function asCaller(db: Db, c: Context<AppEnv>, trustProxy: number, fn: `app.${string}`, args: unknown[]): Promise<void> {
  const who = claims(c);
  const ctx = requestContext(c, trustProxy);
  const params = [who.sub, who.sid, ...args, ctx.ip, ctx.userAgent];
  const list = params.map((_, i) => (i === params.length - 2 ? `$${i + 1}::inet` : `$${i + 1}`)).join(', ');
  await db.withTx(ctx, (client) => client.query(`select ${fn}(${list})`, params));
}
