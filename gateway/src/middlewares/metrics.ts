import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { metrics } from '../lib/metrics.js';

/**
 * Request latency by route pattern (`/auth/mfa/{id}` as registered, never the raw
 * path, which may carry an id or a token), method and status. A path no route
 * matches is `unmatched`, so scanners cannot grow the label set.
 */
export function httpMetrics(): MiddlewareHandler {
  return async (c, next) => {
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      // The route registered for this method and path (middleware is registered for ALL methods).
      const route = matchedRoutes(c).filter((r) => r.method !== 'ALL').at(-1)?.path ?? 'unmatched';
      end({ method: c.req.method, route, status: String(c.res.status) });
    }
  };
}
