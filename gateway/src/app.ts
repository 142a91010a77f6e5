import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from 'pino';
import { authRoutes } from './auth/routes.js';
import { createLanes } from './auth/lanes.js';
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
import { sessionMiddleware } from './middlewares/session.js';

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

const JSON_BODY_LIMIT = 64 * 1024;
// A client that sends too much must still read its 413. Closing a socket with
// unread bytes in it makes the kernel answer with a reset, and a reset can
// overtake the 413 and discard it at the client. So the rest of the body is
// read and thrown away first, up to a bound (in bytes and time); past the
// bound the connection is closed anyway.
const DISCARD_BYTES = 8 * 1024 * 1024;
const DISCARD_MS = 5_000;

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, seen: number): Promise<void> {
  let total = seen;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), DISCARD_MS); });
  try {
    while (total <= DISCARD_BYTES) {
      const r = await Promise.race([reader.read(), expired]);
      if (!r || r.done) return;
      total += r.value.byteLength;
    }
  } catch {
    // The client went away: nothing left to protect.
  } finally {
    clearTimeout(timer);
    // Never cancel: that destroys the socket before the 413 is written.
    try { reader.releaseLock(); } catch { /* a read still pending past the deadline */ }
  }
}

/** hono's bodyLimit, except that an oversized body is read to its end (bounded) before the 413. */
function bodyLimitThenDiscard(maxSize: number): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const length = c.req.raw.headers.get('content-length');
    if (length !== null && !c.req.raw.headers.has('transfer-encoding')) {
      if (Number.parseInt(length, 10) <= maxSize) return next();
      await discardRest(body.getReader(), 0);
      throw errors.payloadTooLarge();
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxSize) {
        await discardRest(reader, size);
        throw errors.payloadTooLarge();
      }
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks) });
    return next();
  };
}

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
  // Before the session check: an oversized body is refused (and read off the wire) before any database work.
  const jsonLimit = bodyLimitThenDiscard(JSON_BODY_LIMIT);
  app.use('*', (c, next) => (c.req.method === 'POST' && c.req.path === KYC_UPLOAD_PATH
    && /^multipart\/form-data/i.test(c.req.header('content-type') ?? '') ? next() : jsonLimit(c, next)));

  // Every route that takes an access token: its session checked in the database, staff at aal2.
  app.use('*', sessionMiddleware({ db, tokens, trustProxy, bearerRoutes: () => app.openAPIRegistry.definitions
    .flatMap((d) => (d.type === 'route' && d.route.security?.some((s) => 'bearer' in s) ? [{ method: d.route.method, path: d.route.path }] : [])) }));

  app.onError((err, c) => {
    const e = toApiError(err, log, c.get('requestId'));
    for (const [k, v] of Object.entries(e.headers)) c.header(k, v);
    return c.json(e.body(), e.status);
  });
  app.notFound((c) => c.json(errors.notFound().body(), 404));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  app.route('/', healthRoutes(db));
  app.route('/', tokenRoutes(tokens));
  app.route('/', authRoutes({ db, tokens, trustProxy, lanes: createLanes(env) }));
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
