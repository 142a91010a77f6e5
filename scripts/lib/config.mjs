// Configuration of a local stack: its profile's ports and folders, its
// generated secrets, and the connection strings of every role.
import { $, fs, path } from 'zx';
import crypto from 'node:crypto';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const isRoot = process.getuid?.() === 0;
$.verbose = false;

const env = process.env;
export const int = (v, d) => (v ? Number.parseInt(v, 10) : d);

/** Ports and folders of one stack. `dev` is `npm start`; `test` is `npm test`. */
export const PROFILES = {
  // metrics: the gateway's /metrics listener; prometheus, exporter: `npm start -- --metrics` (scripts/lib/monitoring.mjs),
  // off the Debian packages' own 9090 and 9187 (their services may already run there).
  dev: { prefix: '', pg: 54320, postgrest: 3000, gateway: 3001, admin: 3002, metrics: 3003, prometheus: 3004, exporter: 3005, smtp: 2525, inbox: 3006 },
  test: { prefix: 'TEST_', pg: 54330, postgrest: 3010, gateway: 3011, admin: 3012, metrics: 3013, prometheus: 3014, exporter: 3015, smtp: 2535, inbox: 3016 },
  bench: { prefix: 'BENCH_', pg: 54380, postgrest: 3060, gateway: 3061, admin: 3062, metrics: 3063, prometheus: 3064, exporter: 3065, smtp: 2585, inbox: 3066 },
};

export function stackConfig(profile = 'dev') {
  const p = PROFILES[profile] ?? PROFILES.dev;
  const e = (name) => env[p.prefix + name];
  const dataDir = path.resolve(ROOT, e('STACK_DATA_DIR') ?? path.join('.data', profile));
  return {
    profile,
    dataDir,
    pgData: path.join(dataDir, 'pg'),
    pgPort: int(e('PGPORT'), p.pg),
    postgrestPort: int(e('POSTGREST_PORT'), p.postgrest),
    postgrestAdminPort: int(e('POSTGREST_ADMIN_PORT'), p.admin),
    gatewayPort: int(e('GATEWAY_PORT'), p.gateway),
    // A stack started on other ports (two stacks side by side) gets its metrics listener beside its gateway.
    metricsPort: int(e('METRICS_PORT'), e('GATEWAY_PORT') ? int(e('GATEWAY_PORT')) + 10000 : p.metrics),
    prometheusPort: int(e('PROMETHEUS_PORT'), e('GATEWAY_PORT') ? int(e('GATEWAY_PORT')) + 10001 : p.prometheus),
    exporterPort: int(e('EXPORTER_PORT'), e('GATEWAY_PORT') ? int(e('GATEWAY_PORT')) + 10002 : p.exporter),
    // The local mailbox (scripts/mailbox.mjs): the catch-all SMTP server the gateway sends to, and its web inbox.
    smtpPort: int(e('SMTP_PORT'), e('GATEWAY_PORT') ? int(e('GATEWAY_PORT')) + 11000 : p.smtp),
    inboxPort: int(e('INBOX_PORT'), e('GATEWAY_PORT') ? int(e('GATEWAY_PORT')) + 12000 : p.inbox),
    host: '127.0.0.1',
    dbName: env.DATABASE_NAME ?? 'dwaybank',
    owner: 'dwaybank_owner',
    authenticator: 'authenticator',
    gateway: 'dwaybank_gateway',
    externalUrl: e('DATABASE_URL'),
  };
}

/** The stack's passwords, generated on first use and kept in <dataDir>/secrets.json (0600). */
export function secrets(cfg) {
  const file = path.join(cfg.dataDir, 'secrets.json');
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o711 });
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const pw = () => crypto.randomBytes(24).toString('base64url');
  const s = { superuser: pw(), owner: pw(), authenticator: pw(), gateway: pw() };
  fs.writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
  return s;
}

const url = (user, pw, host, port, db) =>
  `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@${host}:${port}/${db}`;

/** Connection strings for every role of a stack. */
export function urls(cfg) {
  const s = secrets(cfg);
  let host = cfg.host, port = cfg.pgPort, superUrl;
  if (cfg.externalUrl) {
    const u = new URL(cfg.externalUrl);
    host = u.hostname; port = int(u.port, 5432);
    superUrl = (db) => { const v = new URL(cfg.externalUrl); v.pathname = `/${db}`; return v.toString(); };
  } else {
    superUrl = (db) => url('postgres', s.superuser, host, port, db);
  }
  return {
    secrets: s,
    superuser: superUrl(cfg.dbName),
    root: superUrl('postgres'),
    owner: url(cfg.owner, s.owner, host, port, cfg.dbName),
    shadow: url(cfg.owner, s.owner, host, port, `${cfg.dbName}_shadow`),
    authenticator: url(cfg.authenticator, s.authenticator, host, port, cfg.dbName),
    gateway: url(cfg.gateway, s.gateway, host, port, cfg.dbName),
  };
}

/** Environment graphile-migrate needs (connection strings and .gmrc placeholders). */
export function migrateEnv(cfg) {
  const u = urls(cfg);
  return {
    ...env,
    DATABASE_URL: u.owner,
    SHADOW_DATABASE_URL: u.shadow,
    ROOT_DATABASE_URL: u.root,
    DATABASE_NAME: cfg.dbName,
    DATABASE_OWNER: cfg.owner,
    DATABASE_AUTHENTICATOR: cfg.authenticator,
    DATABASE_AUTHENTICATOR_PASSWORD: u.secrets.authenticator,
    DATABASE_GATEWAY: cfg.gateway,
    DATABASE_GATEWAY_PASSWORD: u.secrets.gateway,
  };
}
