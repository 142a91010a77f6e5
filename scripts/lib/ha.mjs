// The high-availability stack (`npm run start:ha`, the HA phases of
// `npm run test:faults`): PostgreSQL under Patroni 3.0 with etcd 3.4, a
// primary and a synchronous standby; a TCP HAProxy that finds the primary (and
// the standby) through Patroni's REST health checks (/primary, /replica);
// pgBackRest (encrypted repository, WAL archived by the primary, backups taken
// from the standby); two gateways and two PostgREST servers (read-write through
// the primary, read-only on the standby). The HTTP proxy and PgBouncer in front
// come from scripts/lib/proxy.mjs when it is there.
// No script of ours decides when to promote: Patroni does (docs/operations.md).
import { $, fs, path } from 'zx';
import { execFile, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import pg from 'pg';
import { ROOT, isRoot, secrets, urls as stackUrls } from './config.mjs';
import { postgresReachable, privateLogFile } from './cluster.mjs';
import { prepareDatabase, psql } from './database.mjs';
import { gatewayEnv, postgrestBin, startProcess, startService, stopProcess, waitFor, writePostgrestConf } from './services.mjs';
import { ensurePrereqs } from './prereqs.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const asPostgres = (cmd) => (isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd);
const idOf = (flag) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
const owner = (file) => { if (isRoot) spawnSync('chown', ['-R', 'postgres:postgres', file]); };

/**
 * Ports and folders of an HA stack. `ha` is `npm run start:ha`; `faults` the
 * one `npm run test:faults` builds and breaks. All below Linux's ephemeral
 * range (see scripts/test-faults.mjs).
 */
export const HA_PROFILES = {
  ha: { dir: '.data/ha', pg: [25600, 25601], router: 25610, pgbouncer: 25614, restore: 25616, etcd: 25650, rest: [25652, 25653], http: 3200, stackProfile: 'dev' },
  faults: { dir: '.data/faults-ha', pg: [25620, 25621], router: 25630, pgbouncer: 25634, restore: 25636, etcd: 25660, rest: [25662, 25663], http: 3220, stackProfile: 'test' },
};

export const SCOPE = 'dwaybank';
export const STANZA = 'dwaybank';

/** Everything an HA stack needs to know about itself. */
export function haConfig(name = 'ha') {
  const p = HA_PROFILES[name];
  const dataDir = path.resolve(ROOT, process.env.HA_STACK_DATA_DIR ?? postgresReachable(path.resolve(ROOT, p.dir)));
  const host = '127.0.0.1';
  const h = p.http;  // HTTP ports h .. h+14
  const nodes = p.pg.map((port, i) => ({
    name: `pg${i + 1}`, port, restPort: p.rest[i], host,
    dir: path.join(dataDir, `pg${i + 1}`),
    restUrl: `http://${host}:${p.rest[i]}`,
  }));
  // The stack configuration the services see (scripts/lib/services.mjs): the
  // database is whatever the router (or PgBouncer) says is the primary.
  const base = {
    profile: p.stackProfile, dataDir, pgData: path.join(dataDir, 'pg1'), host,
    // The local mailbox the gateways send e-mail to (scripts/mailbox.mjs), and a metrics port.
    smtpPort: h + 12, inboxPort: h + 13, metricsPort: h + 14,
    dbName: process.env.DATABASE_NAME ?? 'dwaybank', owner: 'dwaybank_owner', authenticator: 'authenticator', gateway: 'dwaybank_gateway',
  };
  return {
    name, dataDir, host, nodes, base,
    runDir: path.join(dataDir, 'run'), logDir: path.join(dataDir, 'logs'),
    etcd: { client: p.etcd, peer: p.etcd + 1, dir: path.join(dataDir, 'etcd') },
    router: { rw: p.router, ro: p.router + 1, stats: p.router + 2 },
    pgbouncer: p.pgbouncer,
    restorePort: p.restore,
    http: {
      postgrestRw: h, postgrestRwAdmin: h + 1, postgrestRo: h + 2, postgrestRoAdmin: h + 3,
      gateway1: h + 4, gateway2: h + 5, restorePostgrest: h + 6, restorePostgrestAdmin: h + 7, restoreGateway: h + 8,
      proxy: h + 10,
    },
    backrest: { dir: path.join(dataDir, 'backrest'), conf: path.join(dataDir, 'backrest', 'pgbackrest.conf') },
  };
}

/** Passwords of the HA stack beyond the stack's own (secrets.json): replication and the backup cipher. */
export function haSecrets(h) {
  const file = path.join(h.dataDir, 'ha-secrets.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const pw = () => crypto.randomBytes(24).toString('base64url');
  const s = { replicator: pw(), backupCipher: crypto.randomBytes(48).toString('base64url') };
  fs.writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
  return s;
}

/** Debian packages of the HA stack, installed as root when missing (scripts/lib/prereqs.mjs). */
export async function ensureHaPrereqs() {
  const { bin } = await ensurePrereqs({
    tools: { patroni: 'patroni', etcd: 'etcd-server', pgbackrest: 'pgbackrest', haproxy: 'haproxy', pgbouncer: 'pgbouncer' },
  });
  ensurePrereqs.pgBin = bin;
  return bin;
}

/** pg_ctl stop of a data folder, as user postgres (a node whose agent was killed may leave one running). */
export function pgCtlStop(bin, dir, mode = 'fast') {
  const cmd = asPostgres([path.join(bin, 'pg_ctl'), '-D', dir, '-m', mode, '-w', 'stop']);
  return spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
}

function patroniYaml(h, node, bin) {
  const s = secrets(h.base);
  const hs = haSecrets(h);
  const libdir = path.join(path.dirname(bin), 'lib');
  const preload = ['pg_stat_statements'];
  if (fs.existsSync(path.join(libdir, 'pg_cron.so')) || fs.existsSync(`/usr/lib/postgresql/${path.basename(path.dirname(bin))}/lib/pg_cron.so`)) preload.push('pg_cron');
  // Per node: pgBackRest checks that it runs in the data folder its pg1-path names.
  const archive = `pgbackrest --config=${h.backrest.conf} --stanza=${STANZA} --pg1-path=${node.dir} archive-push %p`;
  // JSON is YAML: no YAML library needed, and no quoting surprises.
  const cfg = {
    scope: SCOPE,
    namespace: `/dwaybank-${h.name}/`,
    name: node.name,
    log: { level: 'INFO' },
    restapi: { listen: `${h.host}:${node.restPort}`, connect_address: `${h.host}:${node.restPort}` },
    etcd3: { hosts: [`${h.host}:${h.etcd.client}`] },
    bootstrap: {
      dcs: {
        // Leader lease 20 s, loop every 3 s (loop_wait + 2 x retry_timeout <= ttl):
        // if the primary's Patroni dies, the standby takes over within ~ttl.
        ttl: 20, loop_wait: 3, retry_timeout: 7,
        maximum_lag_on_failover: 1048576,
        // A crashed primary is not restarted in place: Patroni fails over at once
        // (safe: synchronous_mode promotes only the synchronous standby).
        primary_start_timeout: 0,
        // Commits are acknowledged only once the standby has them; only that
        // standby may be promoted. Not strict: with the standby gone, the primary
        // keeps taking writes alone (availability over a second copy; see docs).
        synchronous_mode: true,
        synchronous_mode_strict: false,
        check_timeline: true,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'replica', hot_standby: 'on', wal_log_hints: 'on',
            max_connections: 300, max_worker_processes: 16, max_wal_senders: 10, max_replication_slots: 10,
            // Whichever node is primary archives ('always', archiving on the standby too, is refused by
            // pgBackRest: error 067). Backups read from the standby instead (backup-standby).
            archive_mode: 'on', archive_timeout: '60s',
            synchronous_commit: 'on', fsync: 'on', full_page_writes: 'on',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums'],
    },
    postgresql: {
      listen: `${h.host}:${node.port}`,
      connect_address: `${h.host}:${node.port}`,
      data_dir: node.dir,
      bin_dir: bin,
      pgpass: path.join(h.runDir, `pgpass-${node.name}`),
      authentication: {
        superuser: { username: 'postgres', password: s.superuser },
        replication: { username: 'replicator', password: hs.replicator },
      },
      // pgBackRest (run as user postgres) reaches PostgreSQL through the socket, by peer authentication.
      pg_hba: [
        'local all postgres peer',
        `host replication replicator ${h.host}/32 scram-sha-256`,
        `host all all ${h.host}/32 scram-sha-256`,
      ],
      parameters: {
        unix_socket_directories: h.runDir,
        archive_command: archive,
        shared_preload_libraries: preload.join(','),
        'cron.database_name': h.base.dbName,
        'cron.use_background_workers': 'on',
        password_encryption: 'scram-sha-256',
        shared_buffers: '128MB', work_mem: '16MB', maintenance_work_mem: '128MB',
        max_wal_size: '4GB', checkpoint_timeout: '15min',
        log_parameter_max_length: 0, log_parameter_max_length_on_error: 0, log_file_mode: '0600',
        log_min_duration_statement: 1000,
        log_line_prefix: '%m [%p] %q%u@%d ',
        timezone: 'UTC',
        'pg_stat_statements.track': 'all',
      },
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
  return JSON.stringify(cfg, null, 2);
}

function backrestConf(h) {
  const hs = haSecrets(h);
  const lines = [
    '[global]',
    `repo1-path=${path.join(h.backrest.dir, 'repo')}`,
    'repo1-cipher-type=aes-256-cbc',
    `repo1-cipher-pass=${hs.backupCipher}`,
    // Two full backups kept (and the WAL they need); older ones expire after each backup.
    'repo1-retention-full=2',
    'compress-type=zst',
    'start-fast=y',
    // Backups read the data files from the standby; only the start/stop calls touch the primary.
    'backup-standby=y',
    `log-path=${path.join(h.backrest.dir, 'log')}`,
    `lock-path=${path.join(h.backrest.dir, 'lock')}`,
    `spool-path=${path.join(h.backrest.dir, 'spool')}`,
    'log-level-console=warn',
    'log-level-file=info',
    '',
    `[${STANZA}]`,
    ...h.nodes.flatMap((n, i) => [`pg${i + 1}-path=${n.dir}`, `pg${i + 1}-port=${n.port}`, `pg${i + 1}-socket-path=${h.runDir}`]),
    '',
  ];
  return lines.join('\n');
}

/** Runs pgBackRest as user postgres with the stack's configuration. */
export async function pgbackrest(h, args, { nothrow = false } = {}) {
  const [c, ...rest] = asPostgres(['pgbackrest', `--config=${h.backrest.conf}`, `--stanza=${STANZA}`, ...args]);
  return $({ nothrow, quiet: true })`${c} ${rest}`;
}

async function get(url, timeoutMs = 2000) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, body: await r.json().catch(() => null) };
  } catch {
    return { status: 0, body: null };
  }
}

export async function waitUntil(fn, { timeoutMs = 60_000, every = 250, what = 'condition' } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try { if ((last = await fn())) return last; } catch { /* not yet */ }
    await sleep(every);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** The cluster as Patroni sees it (GET /cluster on any member that answers). */
export async function clusterState(h) {
  for (const n of h.nodes) {
    const r = await get(`${n.restUrl}/cluster`);
    if (r.status === 200 && r.body?.members) return r.body;
  }
  return null;
}

/** The leader's name, once it runs as primary and a synchronous standby streams from it. */
export async function waitHealthy(h, { timeoutMs = 120_000, what = 'a primary and a synchronous standby' } = {}) {
  return waitUntil(async () => {
    const c = await clusterState(h);
    const leader = c?.members.find((m) => m.role === 'leader' && m.state === 'running');
    const sync = c?.members.find((m) => m.role === 'sync_standby' && ['running', 'streaming'].includes(m.state));
    if (!leader || !sync) return null;
    // Patroni names the standby synchronous; PostgreSQL must say so too.
    const p = h.nodes.find((n) => n.name === leader.name);
    const r = await get(`${p.restUrl}/patroni`);
    const repl = r.body?.replication ?? [];
    if (!repl.some((x) => x.application_name === sync.name && x.sync_state === 'sync')) return null;
    return { leader: leader.name, standby: sync.name };
  }, { timeoutMs, what });
}

export const nodeByName = (h, name) => h.nodes.find((n) => n.name === name);

/** PID of a node's postmaster, from its postmaster.pid. */
export function postmasterPid(node) {
  const f = path.join(node.dir, 'postmaster.pid');
  return fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8').split('\n')[0]) : null;
}

/** `patronictl` with a node's configuration. */
export async function patronictl(h, args) {
  const [c, ...rest] = asPostgres(['patronictl', '-c', path.join(h.runDir, `patroni-${h.nodes[0].name}.yml`), ...args]);
  return $({ quiet: true })`${c} ${rest}`;
}

function haproxyDbConf(h) {
  // Patroni's own recipe (its examples/haproxy.cfg): TCP, health check on the
  // REST API, and every session on a server cut when it stops being the primary.
  const servers = (check) => h.nodes.map((n) =>
    `    server ${n.name} ${h.host}:${n.port} maxconn 500 check port ${n.restPort}${check}`).join('\n');
  return `# Generated by scripts/lib/ha.mjs: PostgreSQL behind Patroni's health checks.
global
    maxconn 2000

defaults
    mode tcp
    retries 2
    timeout client 30m
    timeout connect 4s
    timeout server 30m
    timeout check 2s

listen stats
    mode http
    bind ${h.host}:${h.router.stats}
    stats enable
    stats uri /

listen pg-primary
    bind ${h.host}:${h.router.rw}
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
${servers('')}

listen pg-standby
    bind ${h.host}:${h.router.ro}
    balance roundrobin
    option httpchk OPTIONS /replica
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
${servers('')}
`;
}

async function tcpOpen(port, host = '127.0.0.1') {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ port, host }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

/**
 * Brings the HA stack up. `fresh` removes its data first. Returns a handle:
 * URLs, the processes, stop(), and the fault-injection helpers the tests use.
 */
export async function upHa(name = 'ha', { fresh = false, log = console.log, withServices = true } = {}) {
  const h = haConfig(name);
  const bin = await ensureHaPrereqs();
  const children = [];
  const agents = {};   // node name -> Patroni child
  // watch: the processes whose exit means the stack is broken (start-ha.mjs stops on any).
  const handle = { h, children, agents, bin, watch: [] };
  const stop = async () => {
    for (const c of [...children].reverse()) {
      if (c.stopAll) await c.stopAll(); else await stopProcess(c, 'SIGTERM', { graceMs: 15_000 });
    }
    // Patroni stops its PostgreSQL on SIGTERM; a node whose agent was killed may have left one running.
    for (const n of h.nodes) if (postmasterPid(n)) pgCtlStop(bin, n.dir, 'fast');
  };
  handle.stop = stop;
  try {
    if (fresh) {
      for (const n of h.nodes) if (postmasterPid(n)) pgCtlStop(bin, n.dir, 'immediate');
      fs.rmSync(h.dataDir, { recursive: true, force: true });
    }
    fs.mkdirSync(h.dataDir, { recursive: true, mode: 0o711 });
    fs.chmodSync(h.dataDir, 0o711);
    for (const d of [h.runDir, h.logDir, h.etcd.dir, h.backrest.dir]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    for (const d of ['repo', 'log', 'lock', 'spool']) fs.mkdirSync(path.join(h.backrest.dir, d), { recursive: true, mode: 0o750 });
    secrets(h.base);
    fs.writeFileSync(h.backrest.conf, backrestConf(h), { mode: 0o600 });
    for (const n of h.nodes) fs.mkdirSync(n.dir, { recursive: true, mode: 0o700 });
    owner(h.runDir); owner(h.backrest.dir); for (const n of h.nodes) owner(n.dir);

    // 1. etcd (one member here; three in production, see docs/operations.md).
    const etcdLog = path.join(h.logDir, 'etcd.log');
    const etcd = startProcess('etcd', 'etcd', [
      '--name', 'etcd1', '--data-dir', h.etcd.dir,
      '--listen-client-urls', `http://${h.host}:${h.etcd.client}`, '--advertise-client-urls', `http://${h.host}:${h.etcd.client}`,
      '--listen-peer-urls', `http://${h.host}:${h.etcd.peer}`, '--initial-advertise-peer-urls', `http://${h.host}:${h.etcd.peer}`,
      '--initial-cluster', `etcd1=http://${h.host}:${h.etcd.peer}`, '--initial-cluster-state', 'new',
    ], { env: { PATH: process.env.PATH }, logFile: etcdLog });
    children.push(etcd);
    await waitFor(`http://${h.host}:${h.etcd.client}/health`, { what: 'etcd', child: etcd, timeoutMs: 30_000 });

    // 2. Patroni on each node: the first bootstraps (initdb), the second clones it.
    for (const n of h.nodes) {
      const file = path.join(h.runDir, `patroni-${n.name}.yml`);
      fs.writeFileSync(file, patroniYaml(h, n, bin), { mode: 0o600 });
      owner(file);
    }
    handle.startAgent = (node) => {
      // As user postgres, spawned directly (not through runuser) so the child's PID is the agent's.
      const logFile = path.join(h.logDir, `patroni-${node.name}.log`);
      privateLogFile(logFile);
      const out = fs.openSync(logFile, 'a', 0o600);
      const ids = isRoot ? { uid: idOf('-u'), gid: idOf('-g') } : {};
      const child = spawn('patroni', [path.join(h.runDir, `patroni-${node.name}.yml`)],
        { ...ids, cwd: h.runDir, stdio: ['ignore', out, out], env: { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: h.runDir } });
      fs.closeSync(out);
      child.name = `patroni-${node.name}`;
      agents[node.name] = child;
      children.push(child);
      return child;
    };
    if (fs.existsSync(path.join(h.nodes[0].dir, 'PG_VERSION'))) {
      // A stack made before: every node starts at once and Patroni elects the one that may lead.
      for (const n of h.nodes) handle.startAgent(n);
    } else {
      // A new one: the first node bootstraps (initdb), then the others clone it.
      handle.startAgent(h.nodes[0]);
      await waitUntil(async () => (await get(`${h.nodes[0].restUrl}/primary`)).status === 200,
        { timeoutMs: 180_000, what: `Patroni to bootstrap ${h.nodes[0].name}` });
      for (const n of h.nodes.slice(1)) handle.startAgent(n);
    }
    const roles = await waitHealthy(h, { timeoutMs: 240_000 });
    log(`  Patroni: ${roles.leader} primary, ${roles.standby} synchronous standby`);

    // 3. The router: HAProxy sending each connection to the primary (or the standby).
    const hcfg = path.join(h.runDir, 'haproxy-db.cfg');
    fs.writeFileSync(hcfg, haproxyDbConf(h));
    const router = startProcess('haproxy-db', 'haproxy', ['-db', '-f', hcfg], { env: { PATH: process.env.PATH }, logFile: path.join(h.logDir, 'haproxy-db.log') });
    children.push(router);
    await waitUntil(async () => router.exitCode === null && await tcpOpen(h.router.rw), { what: 'the database router', timeoutMs: 15_000 });
    const routed = { ...h.base, pgPort: h.router.rw };
    await waitUntil(async () => (await query(stackUrls(routed).root, 'select not pg_is_in_recovery() as p'))[0].p,
      { what: 'the router to reach the primary', timeoutMs: 30_000 });

    // 4. The database (created, or migrated), through the router: it lands on the primary.
    await prepareDatabase(routed, { fresh });
    const settings = h.base.profile === 'test' ? { bcrypt_cost: '4', ip_failure_limit: '100000', signup_ip_limit: '100000' } : {};
    for (const [k, v] of Object.entries(settings))
      await psql(stackUrls(routed).root, `alter database ${h.base.dbName} set dwaybank.${k} = '${v}'`);

    // 5. Backups: the stanza, then a first full backup so point-in-time recovery works from the start.
    const info = await pgbackrest(h, ['info', '--output=json'], { nothrow: true });
    const hasBackup = info.exitCode === 0 && JSON.parse(info.stdout || '[]')[0]?.backup?.length > 0;
    if (!hasBackup) {
      await pgbackrest(h, ['stanza-create']);
      await pgbackrest(h, ['check']);
      log('  pgBackRest: stanza created, WAL archiving checked; first full backup (from the standby)');
      await pgbackrest(h, ['backup', '--type=full']);
    }

    handle.urls = {
      primary: stackUrls(routed),
      standby: stackUrls({ ...h.base, pgPort: h.router.ro }),
      node: (n) => stackUrls({ ...h.base, pgPort: n.port }),
    };
    handle.routed = routed;
    if (withServices) await startServices(handle, { log });
    return handle;
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Two gateways and a read-write PostgREST behind PgBouncer and the HTTP proxy
 * (scripts/lib/proxy.mjs, startBehindProxy), PgBouncer's upstream being the
 * router's primary port; and a read-only PostgREST on the standby (one
 * instance: no pooler). Without proxy.mjs (HA_NO_PROXY=1), the same servers
 * connect to the router directly.
 */
async function startServices(handle, { log }) {
  const { h, children } = handle;
  const ht = h.http;
  const rwCfg = { ...h.base, pgPort: h.router.rw, postgrestPort: ht.postgrestRw, postgrestAdminPort: ht.postgrestRwAdmin };
  let proxyMod = null;
  if (fs.existsSync(path.join(ROOT, 'scripts', 'lib', 'proxy.mjs')) && process.env.HA_NO_PROXY !== '1') proxyMod = await import('./proxy.mjs');
  let jwksFile = path.join(h.dataDir, 'jwks.json');
  const mailbox = await startService('mailbox', h.base, h.logDir);
  children.push(mailbox);
  handle.watch.push(mailbox);
  handle.inboxUrl = `http://${h.host}:${h.base.inboxPort}/`;
  if (proxyMod) {
    const front = await proxyMod.startBehindProxy(rwCfg, {
      dir: path.join(h.dataDir, 'front'), logDir: h.logDir,
      // The back office calls PostgREST through the proxy: one origin.
      gatewayEnv: { API_PUBLIC_URL: `http://${h.host}:${ht.proxy}` },
      ports: {
        proxy: ht.proxy, pgbouncer: h.pgbouncer, gateways: [ht.gateway1, ht.gateway2],
        postgrests: [{ port: ht.postgrestRw, adminPort: ht.postgrestRwAdmin }],
      },
    });
    handle.front = front;
    // The proxy stops first (soft stop), then the servers, then PgBouncer.
    children.push({ name: 'front', exitCode: null, signalCode: null, on() {}, kill() {}, stopAll: () => front.stop() });
    for (const c of [front.proxy.child, front.pgbouncer.child, ...front.children]) handle.watch.push(c);
    jwksFile = path.join(h.dataDir, 'front', 'jwks.json');
    handle.proxyUrl = front.url;
    log(`  proxy ${front.url} -> gateways :${ht.gateway1} :${ht.gateway2}, PostgREST :${ht.postgrestRw}; PgBouncer :${h.pgbouncer} -> router :${h.router.rw}`);
  } else {
    for (const [i, port] of [[1, ht.gateway1], [2, ht.gateway2]]) {
      const g = startProcess(`gateway${i}`, process.execPath,
        [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'gateway', 'src', 'server.ts')],
        { env: gatewayEnv({ ...rwCfg, gatewayPort: port }), logFile: path.join(h.logDir, `gateway${i}.log`) });
      children.push(g);
      handle.watch.push(g);
      await waitFor(`http://${h.host}:${port}/healthz`, { what: `gateway${i}`, child: g, timeoutMs: 90_000 });
    }
    const conf = writePostgrestConf({ ...rwCfg, postgrestPort: ht.postgrestRw, postgrestAdminPort: ht.postgrestRwAdmin },
      { file: path.join(h.runDir, 'postgrest-rw.conf') });
    const p = startProcess('postgrest-rw', postgrestBin, [conf], { env: { PATH: process.env.PATH }, logFile: path.join(h.logDir, 'postgrest-rw.log') });
    children.push(p);
    handle.watch.push(p);
    await waitFor(`http://${h.host}:${ht.postgrestRwAdmin}/ready`, { what: 'PostgREST rw', child: p, timeoutMs: 60_000 });
    handle.proxyUrl = null;
  }
  // The read-only PostgREST: the router's standby port.
  const roCfg = { ...h.base, pgPort: h.router.ro, postgrestPort: ht.postgrestRo, postgrestAdminPort: ht.postgrestRoAdmin };
  const roConf = writePostgrestConf(roCfg, { file: path.join(h.runDir, 'postgrest-ro.conf'), jwksFile });
  const ro = startProcess('postgrest-ro', postgrestBin, [roConf], { env: { PATH: process.env.PATH }, logFile: path.join(h.logDir, 'postgrest-ro.log') });
  children.push(ro);
  handle.watch.push(ro);
  await waitFor(`http://${h.host}:${ht.postgrestRoAdmin}/ready`, { what: 'PostgREST ro', child: ro, timeoutMs: 60_000 });
  handle.gatewayUrls = [`http://${h.host}:${ht.gateway1}`, `http://${h.host}:${ht.gateway2}`];
  handle.postgrestRwUrl = `http://${h.host}:${ht.postgrestRw}`;
  handle.postgrestRoUrl = `http://${h.host}:${ht.postgrestRo}`;
  // Where clients go: the proxy when there is one, else the first gateway and the read-write PostgREST.
  handle.gatewayUrl = handle.proxyUrl ?? handle.gatewayUrls[0];
  handle.postgrestUrl = handle.proxyUrl ?? handle.postgrestRwUrl;
}

const execFileP = (cmd, args, opts) => new Promise((resolve, reject) => {
  execFile(cmd, args, { encoding: 'utf8', ...opts }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout)));
});

/** The pg-primary servers HAProxy (the router) sees UP, from its stats page. */
async function routerUp(h) {
  const r = await fetch(`http://${h.host}:${h.router.stats}/;csv`, { signal: AbortSignal.timeout(2000) });
  return (await r.text()).split('\n').map((l) => l.split(',')).filter((f) => f[0] === 'pg-primary' && !['FRONTEND', 'BACKEND'].includes(f[1]) && f[17] === 'UP').map((f) => f[1]);
}

/**
 * A planned switchover: PgBouncer pauses the pools (in-flight transactions
 * finish, new ones wait), `patronictl switchover` moves the primary, the router
 * is seen sending connections to the new primary only, PgBouncer drops its old
 * server connections (RECONNECT) and resumes. Clients see a pause, not errors.
 * Without a PgBouncer admin URL, the switchover alone (requests meanwhile fail with 503).
 */
export async function switchover(h, { leader, candidate, pgbouncerAdminUrl, proxy, pools = [h.base.dbName, `${h.base.dbName}_gateway`], log = () => {},
  healthUrls = serverHealthUrls(h) } = {}) {
  const cur = await waitHealthy(h);
  leader ??= cur.leader;
  candidate ??= cur.standby;
  const admin = (sql) => execFileP('psql', [pgbouncerAdminUrl, '-XAtqc', sql], { timeout: 20_000 });
  const paused = [];
  // The HTTP proxy's health checks (gateway /healthz pings the database) would time out during the
  // pause and take every server out: they are suspended for the switchover (HAProxy runtime API).
  const servers = proxy && pgbouncerAdminUrl ? Object.keys(await proxy.serverStates()) : [];
  try {
    for (const sv of servers) await proxy.command(`disable health ${sv}`);
    if (pgbouncerAdminUrl) {
      for (const db of pools) { await admin(`PAUSE ${db}`); paused.push(db); }
      log(`  PgBouncer paused ${pools.join(', ')}`);
    }
    await patronictl(h, ['switchover', '--leader', leader, '--candidate', candidate, '--force']);
    await waitUntil(async () => {
      const c = await clusterState(h);
      if (!c?.members.some((m) => m.name === candidate && m.role === 'leader' && m.state === 'running')) return false;
      const up = await routerUp(h);
      return up.length === 1 && up[0] === candidate;
    }, { timeoutMs: 60_000, what: `${candidate} to be the primary behind the router`, every: 100 });
    log(`  ${candidate} is the primary; the router sends connections to it only`);
  } finally {
    for (const db of paused) {
      await admin(`RECONNECT ${db}`).catch(() => {});
      await admin(`RESUME ${db}`);
    }
    if (paused.length) log('  PgBouncer resumed');
    // Checks resume once every server answers its own health check again: else a check that timed
    // out during the pause would take it out of the proxy right after.
    if (servers.length) {
      await waitUntil(async () => (await Promise.all(healthUrls.map((u) => get(u)))).every((r) => r.status === 200),
        { timeoutMs: 30_000, what: 'the servers to answer their health checks', every: 100 }).catch(() => {});
      for (const sv of servers) await proxy.command(`enable health ${sv}`);
    }
  }
  return { leader: candidate, standby: leader };
}

/** The health URLs of the servers behind the HTTP proxy (what its checks call). */
export const serverHealthUrls = (h) => [
  `http://${h.host}:${h.http.gateway1}/healthz`, `http://${h.host}:${h.http.gateway2}/healthz`, `http://${h.host}:${h.http.postgrestRwAdmin}/ready`,
];

/** The processes of a PostgreSQL server: every process whose working directory is its data folder. */
export function serverPids(node) {
  const out = [];
  const dir = fs.existsSync(node.dir) ? fs.realpathSync(node.dir) : node.dir;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try { if (fs.readlinkSync(`/proc/${pid}/cwd`) === dir) out.push(Number(pid)); } catch { /* gone, or not ours */ }
  }
  return out;
}

/**
 * kill -9 of a node's postmaster and of every process of that server at once
 * (a machine-level crash of PostgreSQL). Found by working directory, not by
 * parent: a backend forked at the moment of the kill, or a background worker
 * busy in a query, would otherwise outlive it and hold its shared memory.
 */
export async function killPostmaster(node) {
  const pid = postmasterPid(node);
  if (!pid) throw new Error(`${node.name} has no running postmaster`);
  spawnSync('kill', ['-9', String(pid)]);
  for (let i = 0; i < 50; i++) {
    const left = serverPids(node);
    if (!left.length) break;
    spawnSync('kill', ['-9', ...left.map(String)]);
    await sleep(20);
  }
  return pid;
}

/** kill -9 of a node's Patroni agent (its PostgreSQL keeps running, orphaned). */
export function killAgent(handle, node) {
  const child = handle.agents[node.name];
  if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error(`${node.name} has no running Patroni`);
  child.kill('SIGKILL');
  return child.pid;
}

/** Connects once as the superuser to a URL and runs one query. */
export async function query(url, sql, params = []) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try { return (await c.query(sql, params)).rows; } finally { await c.end(); }
}

export { privateLogFile };
