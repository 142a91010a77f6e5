import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { createApp } from './app.js';
import { createDb } from './db.js';
import { ConfigError, loadEnv, type Env } from './env.js';
import { loadSettings, type Settings } from './settings.js';
import { createTokens } from './tokens/jwt.js';
import { loadKeys, writeJwksFile } from './tokens/keys.js';

// The one place that decides what a bad start means: modules throw, this process exits.
let env: Env;
try {
  env = loadEnv();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
}
const log = pino({
  level: env.LOG_LEVEL,
  base: { service: 'gateway' },
  redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.refresh_token', '*.access_token'], censor: '[redacted]' },
});

let keys;
try {
  keys = await loadKeys({
    privateJwks: env.JWT_PRIVATE_JWKS,
    keysDir: env.KEYS_DIR,
    alg: env.JWT_ALG,
  });
} catch (e) {
  log.fatal({ err: { message: (e as Error).message } }, 'cannot load signing keys');
  process.exit(1);
}
// PostgREST reads this file at start: it must exist before we answer /healthz.
if (env.JWKS_FILE) writeJwksFile(env.JWKS_FILE, keys.jwks);
log.info({ kid: keys.signing.kid, alg: keys.signing.alg, published: keys.jwks.keys.length }, 'signing keys loaded');

const db = createDb(env.GATEWAY_DATABASE_URL, env.DB_POOL_SIZE, log);

// The settings shared with SQL, once: a database still starting is waited for (a bounded while).
const SETTINGS_WAIT_MS = 30_000;
let settings: Settings | undefined;
for (const started = Date.now(); !settings;) {
  try {
    settings = await loadSettings(db);
  } catch (e) {
    if (Date.now() - started >= SETTINGS_WAIT_MS) {
      log.fatal({ err: { message: (e as Error).message } }, 'cannot read the settings (app.effective_settings())');
      process.exit(1);
    }
    log.warn({ err: { message: (e as Error).message } }, 'settings not readable yet; retrying');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
log.info(settings, 'settings read');

const tokens = createTokens(keys, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
const app = createApp({ env, settings, db, tokens, log, keys });

const server = serve({ fetch: app.fetch, hostname: env.GATEWAY_HOST, port: env.GATEWAY_PORT }, (info) =>
  log.info({ host: info.address, port: info.port }, 'gateway listening'));

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  server.close(() => void db.end().finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
