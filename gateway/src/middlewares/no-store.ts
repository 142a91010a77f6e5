import type { MiddlewareHandler } from 'hono';

/** Token responses and their failures are never cached (RFC 6749 5.1); `pragma` adds HTTP/1.0's Pragma: no-cache. */
export const noStore = (opts: { pragma?: boolean } = {}): MiddlewareHandler => async (c, next) => {
  c.header('Cache-Control', 'no-store');
  if (opts.pragma) c.header('Pragma', 'no-cache');
  await next();
};
