import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';

const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The request's id (the client's X-Request-Id when well formed), on the response and in the access log. */
export function requestId(log: Logger): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    // Generated ids are time-ordered (UUID version 7): the audit trail's request index grows at one end.
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : uuidv7();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    const started = performance.now();
    await next();
    if (!c.res.headers.has('X-Request-Id')) c.res.headers.set('X-Request-Id', id);
    // Path only: a query string may carry a token; bodies and headers are never logged.
    log.info({ requestId: id, method: c.req.method, path: c.req.path, status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10 }, 'request');
  };
}
