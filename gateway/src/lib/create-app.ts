import { OpenAPIHono, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { fromDbError } from '../db.js';
import { ApiError, errors } from '../errors.js';
import type { SessionClaims } from '../middlewares/session.js';
import { requestId } from '../middlewares/request-id.js';

/** `claims`: the access token of a route that takes one, checked by middlewares/session.ts. */
export type AppEnv = { Variables: { requestId: string; claims?: SessionClaims } };
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
/** A handler for each route of a concern's `<concern>.routes.ts`. */
export type Handlers<R extends Record<string, RouteConfig>> = { [K in keyof R]: AppRouteHandler<R[K]> };
export type Router = ReturnType<typeof createRouter>;

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

/** Registers each route with its handler, in the order the routes are listed (the OpenAPI document's order). */
export function mount<R extends Record<string, RouteConfig>>(router: Router, routes: R, handlers: Handlers<R>): Router {
  for (const [name, route] of Object.entries(routes)) router.openapi(route, handlers[name] as never);
  return router;
}

/** Maps anything thrown to an error safe to show; logs what is not. */
function toApiError(err: unknown, log: Logger, id: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    // Raised by hono itself: the JSON body parser and the media-type gate.
    if (err.status === 400) return errors.invalidJson();
    if (err.status === 413) return errors.payloadTooLarge();
    if (err.status === 415) return errors.unsupportedMediaType();
    if (err.status === 404) return errors.notFound();
  }
  const fromDb = fromDbError(err);
  if (fromDb) {
    if (fromDb.status >= 500) log.error({ requestId: id, err: describe(err) }, 'database unavailable');
    return fromDb;
  }
  log.error({ requestId: id, err: describe(err) }, 'unhandled error');
  return errors.internal();
}

/** Enough to debug, never parameters: pg errors carry no bound values, only their SQLSTATE and text. */
const describe = (err: unknown) =>
  err instanceof Error ? { type: err.name, message: err.message, code: (err as { code?: string }).code, stack: err.stack } : { value: String(err) };

/** The app every concern is mounted on: request ids and the access log, one error handler that never leaks internals. */
export function createBaseApp(log: Logger) {
  const app = createRouter();
  app.use('*', requestId(log));
  app.onError((err, c) => {
    const e = toApiError(err, log, c.get('requestId'));
    for (const [k, v] of Object.entries(e.headers)) c.header(k, v);
    return c.json(e.body(), e.status);
  });
  app.notFound((c) => c.json(errors.notFound().body(), 404));
  return app;
}
