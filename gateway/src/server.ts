import { serve } from '@hono/node-server';
import { pino } from 'pino';
import { createApp } from './app.js';
import { createDb } from './db.js';
import { loadEnv } from './env.js';
import { createTokens } from './tokens/jwt.js';
import { loadKeys, writeJwksFile } from './tokens/keys.js';

const env = loadEnv();
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
const tokens = createTokens(keys, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
const app = createApp({ db, tokens, log, trustProxy: env.TRUST_PROXY, keys });

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
