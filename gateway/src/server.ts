import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { pino } from 'pino';
import { createCheckpointSigner } from './admin/checkpoints.js';
import { createApp } from './app.js';
import { createDb } from './db.js';
import { ConfigError, loadEnv, type Env } from './env.js';
import { createDrain } from './lib/drain.js';
import { serveMetrics, watchDb } from './lib/metrics.js';
import { createMfa } from './mfa/index.js';
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
watchDb(db, log);

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
// The background work (outbox delivery, checkpoint countersigning) is made here, so shutdown can stop it.
const mfa = createMfa(env, db, log);
const signer = createCheckpointSigner(db, keys, log);
signer.start();
const app = createApp({ env, settings, db, tokens, log, signer, mfa });

const drain = createDrain();
const server = createAdaptorServer({ fetch: drain.guard(app.fetch), hostname: env.GATEWAY_HOST }) as Server;
drain.attach(server);
const metricsServer = env.METRICS_PORT ? serveMetrics(env.METRICS_HOST, env.METRICS_PORT, log) : null;
metricsServer?.on('error', (e) => {
  log.fatal({ err: { message: e.message } }, 'cannot serve metrics');
  process.exit(1);
});
server.listen(env.GATEWAY_PORT, env.GATEWAY_HOST, () => {
  const { address, port } = server.address() as AddressInfo;
  log.info({ host: address, port }, 'gateway listening');
});

/**
 * SIGTERM (docker stop, Kubernetes, scripts/lib/services.mjs) or SIGINT: new
 * requests get 503 SERVICE_UNAVAILABLE while those in flight finish, then the
 * listener closes, the background timers stop (a run under way ends first) and
 * the pool closes; the process ends (0). Past SHUTDOWN_TIMEOUT_MS it exits 1 whatever is left.
 */
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  const started = Date.now();
  setTimeout(() => {
    log.error({ signal, inFlight: drain.inFlight(), timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting with what is left');
    process.exit(1);
  }, env.SHUTDOWN_TIMEOUT_MS).unref();
  const background = Promise.all([mfa.outbox.stop(), signer.stop()]);
  const http = drain.drain();
  log.info({ signal, inFlight: drain.inFlight(), timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, 'shutting down');
  await http;
  metricsServer?.close();
  metricsServer?.closeAllConnections();  // a scraper's keep-alive connection must not hold the process
  await background;
  await db.end();
  // Nothing is left to keep the process alive, so it ends, with 0: no process.exit here, so
  // that a timer or socket left open shows (as the timeout above) instead of being cut silently.
  log.info({ signal, ms: Date.now() - started }, 'stopped');
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
