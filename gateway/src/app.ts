import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from 'pino';
import { authRoutes } from './auth/routes.js';
import { fromDbError, type Db } from './db.js';
import { ApiError, errors } from './errors.js';
import { healthRoutes } from './health/routes.js';
import { createRouter } from './router.js';
import type { Tokens } from './tokens/jwt.js';
import { tokenRoutes } from './tokens/routes.js';
import { loadEnv } from './env.js';
import { createMfa, type Mfa } from './mfa/index.js';
import { mfaRoutes } from './mfa/routes.js';
import { adminRoutes } from './admin/routes.js';
import type { KeyRing } from './tokens/keys.js';
import { accountApp } from './account/index.js';
import { createKyc } from './kyc/index.js';
import { KYC_UPLOAD_PATH, kycRoutes } from './kyc/routes.js';

const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface AppDeps {
  db: Db;
  tokens: Tokens;
  log: Logger;
  trustProxy: number;
  /** The JWT signing keys, for countersigning audit checkpoints (admin/); without them no signing. */
  keys?: KeyRing;
  /** MFA keys and outbox; built from the environment when not given. */
  mfa?: Mfa;
}

/** Maps anything thrown to an error safe to show; logs what is not. */
function toApiError(err: unknown, log: Logger, requestId: string): ApiError {
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
    if (fromDb.status >= 500) log.error({ requestId, err: describe(err) }, 'database unavailable');
    return fromDb;
  }
  log.error({ requestId, err: describe(err) }, 'unhandled error');
  return errors.internal();
}

/** Enough to debug, never parameters: pg errors carry no bound values, only their SQLSTATE and text. */
const describe = (err: unknown) =>
  err instanceof Error ? { type: err.name, message: err.message, code: (err as { code?: string }).code, stack: err.stack } : { value: String(err) };

export function createApp({ db, tokens, log, trustProxy, keys, mfa: mfaDeps }: AppDeps) {
  const app = createRouter();
  const env = loadEnv();
  const mfa = mfaDeps ?? createMfa(env, db, log);

  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    // Generated ids are time-ordered (UUID version 7): the audit trail's request index grows at one end.
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : uuidv7();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    if (!c.res.headers.has('X-Request-Id')) c.res.headers.set('X-Request-Id', requestId);
    // Path only: a query string may carry a token; bodies and headers are never logged.
    log.info({ requestId, method: c.req.method, path: c.req.path, status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10 }, 'request');
  });

  // Multipart document uploads set their own limit (kyc/routes.ts); everything else is small JSON.
  const jsonLimit = bodyLimit({ maxSize: 64 * 1024, onError: () => { throw errors.payloadTooLarge(); } });
  app.use('*', (c, next) => (c.req.method === 'POST' && c.req.path === KYC_UPLOAD_PATH
    && /^multipart\/form-data/i.test(c.req.header('content-type') ?? '') ? next() : jsonLimit(c, next)));

  app.onError((err, c) => {
    const e = toApiError(err, log, c.get('requestId'));
    for (const [k, v] of Object.entries(e.headers)) c.header(k, v);
    return c.json(e.body(), e.status);
  });
  app.notFound((c) => c.json(errors.notFound().body(), 404));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  app.route('/', healthRoutes(db));
  app.route('/', tokenRoutes(tokens));
  app.route('/', authRoutes({ db, tokens, trustProxy }));
  app.route('/', mfaRoutes({ db, tokens, trustProxy, keys: mfa.keys, outbox: mfa.outbox, issuer: env.MFA_ISSUER }));
  app.route('/', accountApp({ db, tokens, trustProxy, outbox: mfa.outbox }));
  app.route('/', kycRoutes({ db, tokens, trustProxy, kyc: createKyc(env), log }));
  app.route('/', adminRoutes({ db, tokens, log, trustProxy, databaseUrl: env.GATEWAY_DATABASE_URL, keys }));
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: { title: 'DwayBank Foundation auth gateway', version: '0.1.0',
      description: 'Sign-up, sign-in and sessions. Errors are always {code, message, hint}.' },
  });
  return app;
}
