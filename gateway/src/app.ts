import type { Logger } from 'pino';
import type { CheckpointSigner } from './admin/checkpoints.js';
import { createDeviceCookies } from './auth/device-cookie.js';
import { createLanes } from './auth/lanes.js';
import { createSignedIn } from './auth/signed-in.js';
import type { Db } from './db.js';
import type { Env } from './env.js';
import { createKyc } from './kyc/index.js';
import { createBaseApp } from './lib/create-app.js';
import { bodyLimitThenDiscard } from './middlewares/body-limit.js';
import { httpMetrics } from './middlewares/metrics.js';
import { sessionMiddleware } from './middlewares/session.js';
import { createMfa, type Mfa } from './mfa/index.js';
import { accountRouter } from './routes/account/account.index.js';
import { accountPageRouter } from './routes/account/account.page.js';
import { adminRouter } from './routes/admin/admin.index.js';
import { backofficePageRouter } from './routes/backoffice/backoffice.page.js';
import { authRouter } from './routes/auth/auth.index.js';
import { healthRouter } from './routes/health/health.index.js';
import { kycRouter } from './routes/kyc/kyc.index.js';
import { KYC_UPLOAD_PATH } from './routes/kyc/kyc.routes.js';
import { mfaRouter } from './routes/mfa/mfa.index.js';
import { passkeysRouter } from './routes/passkeys/passkeys.index.js';
import { tokensRouter } from './routes/tokens/tokens.index.js';
import type { Settings } from './settings.js';
import type { Tokens } from './tokens/jwt.js';

export interface AppDeps {
  /** The environment, parsed once at start (env.ts). */
  env: Env;
  /** The database's settings the gateway shares with SQL, read once at start (settings.ts). */
  settings: Settings;
  db: Db;
  tokens: Tokens;
  log: Logger;
  /** Countersigns audit checkpoints (admin/); without it no signing. Its timer is started and stopped by server.ts. */
  signer?: CheckpointSigner;
  /** MFA keys and outbox; built from the environment when not given. */
  mfa?: Mfa;
}

const JSON_BODY_LIMIT = 64 * 1024;

export function createApp({ env, settings, db, tokens, log, signer, mfa: mfaDeps }: AppDeps) {
  const app = createBaseApp(log);
  app.use('*', httpMetrics());
  const trustProxy = env.TRUST_PROXY;
  const mfa = mfaDeps ?? createMfa(env, db, log);
  const lanes = createLanes(env);
  const deviceCookies = createDeviceCookies(settings.deviceCookieDays);
  const signedIn = createSignedIn(tokens, deviceCookies);

  // Multipart document uploads set their own limit (routes/kyc/kyc.index.ts); everything else is small JSON.
  // Before the session check: an oversized body is refused (and read off the wire) before any database work.
  const jsonLimit = bodyLimitThenDiscard(JSON_BODY_LIMIT);
  app.use('*', (c, next) => (c.req.method === 'POST' && c.req.path === KYC_UPLOAD_PATH
    && /^multipart\/form-data/i.test(c.req.header('content-type') ?? '') ? next() : jsonLimit(c, next)));

  // Every route that takes an access token: its session checked in the database, staff at aal2.
  app.use('*', sessionMiddleware({ db, tokens, trustProxy, bearerRoutes: () => app.openAPIRegistry.definitions
    .flatMap((d) => (d.type === 'route' && d.route.security?.some((s) => 'bearer' in s) ? [{ method: d.route.method, path: d.route.path }] : [])) }));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  app.route('/', healthRouter(db));
  app.route('/', tokensRouter(tokens));
  app.route('/', authRouter({ db, tokens, trustProxy, lanes, deviceCookies, signedIn }));
  app.route('/', mfaRouter({ db, tokens, trustProxy, keys: mfa.keys, outbox: mfa.outbox, issuer: env.MFA_ISSUER, deviceCookies, signedIn }));
  app.route('/', accountRouter({ db, tokens, trustProxy, outbox: mfa.outbox, passwordLane: lanes.password }));
  app.route('/', passkeysRouter({ db, tokens, trustProxy, config: env.passkeys, deviceCookies, signedIn }));
  app.route('/', accountPageRouter());
  app.route('/', backofficePageRouter({ apiUrl: env.API_PUBLIC_URL }));
  app.route('/', kycRouter({ db, trustProxy, kyc: createKyc(env, settings.kycMaxDocumentBytes), log }));
  app.route('/', adminRouter({ db, log, databaseUrl: env.GATEWAY_LISTEN_DATABASE_URL ?? env.GATEWAY_DATABASE_URL, signer }));
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: { title: 'DwayBank Foundation auth gateway', version: '0.1.0',
      description: 'Sign-up, sign-in and sessions. Errors are always {code, message, hint}.' },
  });
  return app;
}
