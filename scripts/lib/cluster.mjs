// The private PostgreSQL cluster of a local stack: initdb and its
// postgresql.conf settings, start and stop, and the durability check.
import { $, fs, path } from 'zx';
import { spawnSync as childSpawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { isRoot, secrets } from './config.mjs';
import { psql } from './database.mjs';

const asPostgres = (cmd) => (isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd);
async function run(cmd, opts = {}) {
  const [c, ...args] = asPostgres(cmd);
  return $({ ...opts, quiet: true })`${c} ${args}`;
}

/**
 * As root, the cluster, PgBouncer, Patroni and pgBackRest run as user postgres, which must reach their folders. In a
 * checkout it cannot enter (a 0700 mktemp folder, as a clean clone is), `dir` is replaced by a folder of the same name
 * under /var/tmp/dwaybank-<hash of dir>/ (owned by postgres); otherwise it is returned as it is.
 */
export function postgresReachable(dir) {
  if (!isRoot || spawnSyncOk(['runuser', '-u', 'postgres', '--', 'test', '-x', path.dirname(dir)])) return dir;
  const parent = `/var/tmp/dwaybank-${crypto.createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
  fs.mkdirSync(parent, { recursive: true });
  fs.chownSync(parent, uid('postgres'), gid('postgres'));
  fs.chmodSync(parent, 0o711);
  return path.join(parent, path.basename(dir));
}

/** The cluster's folder: .data/<profile>/pg, or its stand-in under /var/tmp, linked there (postgresReachable). */
function clusterDir(cfg) {
  // Traverse-only for others, so user postgres can reach its own folder inside.
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  fs.chmodSync(path.dirname(cfg.dataDir), 0o711);
  fs.chmodSync(cfg.dataDir, 0o711);
  const real = postgresReachable(cfg.pgData);
  if (real !== cfg.pgData && !fs.existsSync(cfg.pgData)) fs.symlinkSync(real, cfg.pgData);
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

/**
 * Creates a log file readable by its owner only (0600), or makes an existing
 * one so (files of stacks made before this rule); as root, owned by `owner`.
 */
export function privateLogFile(file, { owner = null } = {}) {
  if (!fs.existsSync(file)) fs.writeFileSync(file, '', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  if (owner) fs.chownSync(file, uid(owner), gid(owner));
}

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
