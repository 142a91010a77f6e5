// The proxy (HAProxy 2.6) in front of the gateways and PostgRESTs, and the pooler
// (PgBouncer 1.18, transaction pooling) between them and PostgreSQL. Their
// configuration files are rendered from deploy/proxy/ and deploy/pgbouncer/ into
// a folder of the stack's data dir. Used by `npm run start:ha` (scripts/lib/ha.mjs),
// tests/e2e/proxy.test.ts (through scripts/behind-proxy.mjs) and the proxy bench.
// Why HAProxy, why transaction pooling, and what each setting is for:
// docs/operations.md, "Proxy and pooler".
import { $, fs, path, sleep } from 'zx';
import net from 'node:net';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { ROOT, isRoot, urls } from './config.mjs';
import { startProcess, stopProcess, waitFor, gatewayEnv, postgrestBin, writePostgrestConf } from './services.mjs';
import { postgresReachable } from './cluster.mjs';

export const PROXY_DIR = path.join(ROOT, 'deploy', 'proxy');
export const PGBOUNCER_DIR = path.join(ROOT, 'deploy', 'pgbouncer');

/** The limits the proxy enforces (the README's PostgREST 12.0.2 gaps). */
export const PROXY_LIMITS = { maxBodyBytes: 64 * 1024, maxUrlBytes: 8 * 1024, maxUploadBytes: 32 * 1024 * 1024 };

const fill = (template, values) => template.replace(/\{\{(\w+)\}\}/g, (m, k) => {
  if (!(k in values)) throw new Error(`no value for {{${k}}}`);
  return String(values[k]);
});

/**
 * haproxy.cfg from deploy/proxy/haproxy.cfg.tmpl. `gateways` are {host, port};
 * `postgrests` are {host, port, adminPort} (health from PostgREST's admin /ready).
 * `extra` is appended verbatim (e.g. a TCP listener for the primary, 17a).
 */
export function renderProxyConfig({
  bind, gateways, postgrests, statsSocket, configDir = PROXY_DIR, maxconn = 9_000,
  gatewayMaxconn = 64, postgrestMaxconn = 64, logLevel = 'warning', extra = '', dnsResolver = null, ...limits
}) {
  if (!gateways?.length || !postgrests?.length) throw new Error('renderProxyConfig: at least one gateway and one PostgREST');
  const { maxBodyBytes, maxUrlBytes, maxUploadBytes } = { ...PROXY_LIMITS, ...limits };
  const server = (prefix) => (s, i) => `  server ${prefix}${i + 1} ${s.host}:${s.port} check${s.adminPort ? ` port ${s.adminPort}` : ''}`;
  const text = fill(fs.readFileSync(path.join(PROXY_DIR, 'haproxy.cfg.tmpl'), 'utf8'), {
    bind, maxconn, statsSocket, configDir, logLevel, maxBodyBytes, maxUrlBytes, maxUploadBytes, gatewayMaxconn, postgrestMaxconn,
    // In docker-compose, servers are names resolved by Docker's DNS, again when a container comes back with a new address.
    resolvers: dnsResolver ? `resolvers dns\n  nameserver dns1 ${dnsResolver}\n  hold valid 5s\n` : '',
    serverOptions: dnsResolver ? ' resolvers dns init-addr last,libc,none' : '',
    gatewayServers: gateways.map(server('gateway')).join('\n'),
    postgrestServers: postgrests.map(server('postgrest')).join('\n'),
  });
  const out = text.endsWith('\n') ? text : `${text}\n`;
  return extra ? `${out}\n${extra}\n` : out;
}

/** deploy/proxy/haproxy.compose.cfg is the template rendered with these (tests/e2e/proxy.test.ts). */
export const COMPOSE_PROXY = {
  bind: '*:8080', gateways: [{ host: 'gateway', port: 3001 }], postgrests: [{ host: 'postgrest', port: 3000, adminPort: 3002 }],
  statsSocket: '/tmp/haproxy.sock', configDir: '/usr/local/etc/haproxy', dnsResolver: '127.0.0.11:53',
};

/**
 * Text for renderProxyConfig's `extra`: a TCP listener that always leads to the current primary, for
 * PgBouncer's upstream in a Patroni cluster (each member's REST API answers 200 on /primary only on the
 * leader). `servers` are {name, host, port, restPort}; `bind` e.g. '127.0.0.1:25545'.
 */
export function patroniPrimaryListener({ bind, servers, name = 'postgres_primary' }) {
  return [`listen ${name}`, `  bind ${bind}`, '  mode tcp', '  option tcplog', '  timeout client 1h', '  timeout server 1h',
    '  option httpchk GET /primary', '  http-check expect status 200',
    // A server that stops being the leader loses its connections at once, so no client keeps writing to it.
    '  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions',
    ...servers.map((s) => `  server ${s.name} ${s.host}:${s.port} check port ${s.restPort}`)].join('\n');
}

/** A folder of the stack's data dir, reachable by user postgres (PgBouncer runs as postgres under root). */
function ownDir(dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Sends one command to HAProxy's admin socket (`show stat`, `disable server postgrest/postgrest1`). */
export function proxyCommand(socketPath, command) {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let out = '';
    s.on('connect', () => s.end(`${command}\n`));
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

/**
 * Starts HAProxy in the foreground (its log in logDir/<name>.log) and waits until
 * it routes to both kinds of server. Returns { url, child, configFile, socket,
 * command(cmd), serverStates(), stop() }.
 */
export async function startProxy({
  dataDir, host = '127.0.0.1', port, gateways, postgrests, name = 'proxy', logDir = path.join(dataDir, 'logs'),
  waitForBackends = true, ...opts
}) {
  if (!port) throw new Error('startProxy: port');
  const dir = ownDir(postgresReachable(path.join(dataDir, name)));
  fs.mkdirSync(logDir, { recursive: true });
  const socket = path.join(dir, 'haproxy.sock');
  fs.rmSync(socket, { force: true });
  const configFile = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(configFile, renderProxyConfig({ bind: `${host}:${port}`, gateways, postgrests, statsSocket: socket, ...opts }), { mode: 0o600 });
  const check = spawnSync('haproxy', ['-c', '-q', '-f', configFile], { encoding: 'utf8' });
  if (check.error) throw new Error('haproxy is not installed: apt-get install haproxy (Debian bookworm: 2.6)');
  if (check.status !== 0) throw new Error(`haproxy rejects ${configFile}: ${check.stderr || check.stdout}`);
  // -db: foreground, so the child is HAProxy itself and SIGTERM/SIGUSR1 reach it.
  const child = startProcess(name, 'haproxy', ['-db', '-f', configFile], { env: { PATH: process.env.PATH }, logFile: path.join(logDir, `${name}.log`) });
  const url = `http://${host}:${port}`;
  try {
    await waitFor(`${url}/healthz`, { what: name, child, timeoutMs: 30_000 });
    if (waitForBackends) await waitForServersUp(socket, child);
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
  const command = (cmd) => proxyCommand(socket, cmd);
  return {
    url, child, configFile, socket, command,
    serverStates: () => serverStates(socket),
    // SIGUSR1: stop accepting, finish what is in flight (HAProxy's soft stop).
    stop: () => stopProcess(child, 'SIGUSR1', { graceMs: 10_000 }),
  };
}

/** {'gateway/gateway1': 'UP', ...} from the admin socket. */
export async function serverStates(socket) {
  const csv = await proxyCommand(socket, 'show stat');
  const out = {};
  for (const line of csv.split('\n').slice(1)) {
    const f = line.split(',');
    if (f.length > 17 && f[1] !== 'FRONTEND' && f[1] !== 'BACKEND') out[`${f[0]}/${f[1]}`] = f[17];
  }
  return out;
}

async function waitForServersUp(socket, child, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  let states = {};
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with code ${child.exitCode}`);
    states = await serverStates(socket).catch(() => ({}));
    const v = Object.values(states);
    if (v.length && v.every((s) => s === 'UP')) return states;
    await sleep(200);
  }
  throw new Error(`haproxy: not every server is up: ${JSON.stringify(states)}`);
}

/**
 * pgbouncer.ini from deploy/pgbouncer/pgbouncer.ini.tmpl. Three aliases of one
 * database: <db> (transaction pool; PostgREST), <db>_gateway (transaction pool,
 * the gateway's statement_timeout set again), <db>_listen (session pool, the
 * gateway's LISTEN connection). `trustedProxyHops` is set on PostgREST's alias
 * only: the gateway states the client address itself.
 */
export function renderPgbouncerConfig({
  host = '127.0.0.1', port, upstream, dbName, authFile, pidfile, adminUser = 'pgbouncer_admin',
  maxClientConn = 5000, poolSize = 20, trustedProxyHops = 0, gatewayStatementTimeoutMs = 15_000,
}) {
  const target = `host=${upstream.host} port=${upstream.port} dbname=${dbName}`;
  const hops = trustedProxyHops ? ` connect_query='set dwaybank.trusted_proxy_hops = ${Number(trustedProxyHops)}'` : '';
  const databases = [
    `${dbName} = ${target}${hops}`,
    `${dbName}_gateway = ${target} connect_query='set statement_timeout = ${Number(gatewayStatementTimeoutMs)}'`,
    `${dbName}_listen = ${target} pool_mode=session pool_size=4`,
  ].join('\n');
  return fill(fs.readFileSync(path.join(PGBOUNCER_DIR, 'pgbouncer.ini.tmpl'), 'utf8'),
    { databases, host, port, pidfile, authFile, adminUser, maxClientConn, poolSize });
}

const userOwned = (file) => {
  if (!isRoot) return;
  const id = (flag) => Number(spawnSync('id', [flag, 'postgres']).stdout.toString().trim());
  fs.chownSync(file, id('-u'), id('-g'));
};

/**
 * Starts PgBouncer in front of the stack's PostgreSQL (or `upstream`, e.g. the
 * primary's address in an HA stack). `cfg` is the stack configuration (roles,
 * secrets). Returns connection strings for each server: { gatewayUrl,
 * gatewayListenUrl, authenticatorUrl, adminUrl }, plus retarget({host, port})
 * (points new server connections elsewhere: after a failover) and stop().
 */
export async function startPgbouncer({
  cfg, port, host = '127.0.0.1', upstream = { host: cfg.host, port: cfg.pgPort }, name = 'pgbouncer',
  dataDir = cfg.dataDir, logDir = path.join(dataDir, 'logs'), ...opts
}) {
  if (!port) throw new Error('startPgbouncer: port');
  const probe = spawnSync('pgbouncer', ['--version']);
  if (probe.error) throw new Error('pgbouncer is not installed: apt-get install pgbouncer (Debian bookworm: 1.18)');
  const dir = ownDir(postgresReachable(path.join(dataDir, name)));
  fs.mkdirSync(logDir, { recursive: true });
  const s = urls(cfg).secrets;
  const adminUser = 'pgbouncer_admin';
  const adminFile = path.join(dir, 'admin-password');
  if (!fs.existsSync(adminFile)) fs.writeFileSync(adminFile, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
  const adminPassword = fs.readFileSync(adminFile, 'utf8').trim();
  // Plain passwords (0600, like secrets.json): PgBouncer then speaks SCRAM to clients and to the server.
  const authFile = path.join(dir, 'userlist.txt');
  const q = (v) => `"${String(v).replace(/"/g, '""')}"`;
  fs.writeFileSync(authFile, [[cfg.gateway, s.gateway], [cfg.authenticator, s.authenticator], [adminUser, adminPassword]]
    .map(([u, p]) => `${q(u)} ${q(p)}`).join('\n') + '\n', { mode: 0o600 });
  const configFile = path.join(dir, 'pgbouncer.ini');
  const pidfile = path.join(dir, 'pgbouncer.pid');
  const write = (up) => fs.writeFileSync(configFile, renderPgbouncerConfig({
    host, port, upstream: up, dbName: cfg.dbName, authFile, pidfile, adminUser, ...opts }), { mode: 0o600 });
  write(upstream);
  for (const f of [dir, authFile, configFile, adminFile]) userOwned(f);
  fs.rmSync(pidfile, { force: true });
  // PgBouncer refuses to run as root: -u switches to user postgres (which owns its folder).
  const args = [...(isRoot ? ['-u', 'postgres'] : []), configFile];
  const child = startProcess(name, 'pgbouncer', args, { env: { PATH: process.env.PATH }, logFile: path.join(logDir, `${name}.log`) });
  const url = (user, pw, db) => `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@${host}:${port}/${db}`;
  const handle = {
    child, configFile, port, host,
    authenticatorUrl: url(cfg.authenticator, s.authenticator, cfg.dbName),
    gatewayUrl: url(cfg.gateway, s.gateway, `${cfg.dbName}_gateway`),
    gatewayListenUrl: url(cfg.gateway, s.gateway, `${cfg.dbName}_listen`),
    adminUrl: url(adminUser, adminPassword, 'pgbouncer'),
    /** New server connections go to `up`; idle ones to the old server are closed (RELOAD). */
    async retarget(up) {
      write(up);
      userOwned(configFile);
      child.kill('SIGHUP');
    },
    stop: () => stopProcess(child, 'SIGINT'),
  };
  try {
    await waitForPgbouncer(handle);
  } catch (e) {
    await stopProcess(child, 'SIGKILL');
    throw e;
  }
  return handle;
}

async function waitForPgbouncer(h, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (h.child.exitCode !== null) throw new Error(`pgbouncer exited with code ${h.child.exitCode}`);
    const r = await $({ nothrow: true, quiet: true, env: { ...process.env, PGCONNECT_TIMEOUT: '3' } })`psql ${h.gatewayUrl} -XAtqc ${'select 1'}`;
    if (r.stdout.trim() === '1') return;
    last = r.stderr.trim();
    await sleep(200);
  }
  throw new Error(`pgbouncer did not answer within ${timeoutMs} ms: ${last}`);
}

/**
 * PostgREST behind a transaction pooler cannot LISTEN (db-channel-enabled = false), so `NOTIFY pgrst`
 * (after a migration, a new signing key) would go unheard. This relay listens on a direct connection
 * and passes each notification on as PostgREST's signals: SIGUSR2 for 'reload config', SIGUSR1 for
 * 'reload schema' (and an empty payload). `children()` are the PostgREST processes. Returns stop().
 */
export function relayPgrstNotifications(directUrl, children, log = () => {}) {
  let client = null, stopped = false;
  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: directUrl, application_name: 'dwaybank-pgrst-relay' });
    c.on('notification', (n) => {
      if (n.channel !== 'pgrst') return;
      const signal = n.payload === 'reload config' ? 'SIGUSR2' : 'SIGUSR1';
      for (const child of children()) if (child.exitCode === null) child.kill(signal);
    });
    c.on('error', (err) => {
      log(`pgrst relay lost its connection: ${err.message}`);
      if (client === c) client = null;
      setTimeout(() => void connect().catch(() => undefined), 1_000).unref();
    });
    await c.connect();
    await c.query('listen pgrst');
    client = c;
  };
  const ready = connect();
  return { ready, stop: async () => { stopped = true; await client?.end().catch(() => undefined); } };
}

/**
 * A stack's database served the production way, for tests and the bench: PgBouncer,
 * `instances` gateways (TRUST_PROXY=1) and PostgRESTs (dwaybank.trusted_proxy_hops = 1
 * on their pooled connections), and HAProxy in front. `ports` = { proxy, pgbouncer,
 * gateways: [..], postgrests: [{port, adminPort}, ..] }. The stack's own gateway and
 * PostgREST keep running unchanged (they trust no header). Returns { url, proxy,
 * pgbouncer, children, stop() }.
 */
export async function startBehindProxy(cfg, { ports, logDir = path.join(cfg.dataDir, 'logs'), dir = path.join(cfg.dataDir, 'behind-proxy'), gatewayEnv: extraGatewayEnv = {}, proxy: proxyOpts = {}, pgbouncer: pgbOpts = {} }) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  const children = [];
  let pgb, proxy, relay;
  const stop = async () => {
    await relay?.stop();
    await proxy?.stop();
    await Promise.all(children.map((c) => stopProcess(c, 'SIGTERM')));
    await pgb?.stop();
  };
  try {
    pgb = await startPgbouncer({ cfg, port: ports.pgbouncer, dataDir: dir, logDir, trustedProxyHops: 1, ...pgbOpts });
    const jwksFile = path.join(dir, 'jwks.json');
    const gateways = ports.gateways.map((port) => ({ host: cfg.host, port }));
    const postgrests = ports.postgrests.map(({ port, adminPort }) => ({ host: cfg.host, port, adminPort }));
    const started = [];
    for (const [i, g] of gateways.entries()) {
      const env = gatewayEnv({ ...cfg, gatewayPort: g.port }, {
        GATEWAY_DATABASE_URL: pgb.gatewayUrl, GATEWAY_LISTEN_DATABASE_URL: pgb.gatewayListenUrl, TRUST_PROXY: '1',
        // One origin: pages, e-mailed links and the back office's API calls all go to the proxy.
        JWKS_FILE: jwksFile, WEBAUTHN_ORIGINS: `http://localhost:${ports.proxy},http://127.0.0.1:${ports.proxy}`,
        ACCOUNT_URL: `http://localhost:${ports.proxy}/account/`, API_PUBLIC_URL: `http://${cfg.host}:${ports.proxy}`,
        ...extraGatewayEnv,
      });
      const c = startProcess(`gateway${i + 1}`, process.execPath,
        [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'gateway', 'src', 'server.ts')],
        { env, logFile: path.join(logDir, `proxied-gateway${i + 1}.log`) });
      children.push(c);
      const ready = waitFor(`http://${g.host}:${g.port}/healthz`, { what: c.name, child: c, timeoutMs: 60_000 });
      // The first one alone: on a new stack it generates the keys the others then read.
      if (i === 0) await ready; else started.push(ready);
    }
    await Promise.all(started);  // the gateways write the JWKS PostgREST reads
    for (const [i, p] of postgrests.entries()) {
      // Behind a transaction pooler: no prepared statements, no LISTEN (docs/operations.md).
      const file = writePostgrestConf({ ...cfg, postgrestPort: p.port, postgrestAdminPort: p.adminPort }, {
        file: path.join(dir, `postgrest${i + 1}.conf`), dbUri: pgb.authenticatorUrl, jwksFile,
        settings: { 'db-prepared-statements': 'false', 'db-channel-enabled': 'false' } });
      const c = startProcess(`postgrest${i + 1}`, postgrestBin, [file], { env: { PATH: process.env.PATH }, logFile: path.join(logDir, `proxied-postgrest${i + 1}.log`) });
      children.push(c);
      await waitFor(`http://${p.host}:${p.adminPort}/ready`, { what: c.name, child: c, timeoutMs: 60_000 });
    }
    const pgrsts = children.filter((c) => c.name.startsWith('postgrest'));
    relay = relayPgrstNotifications(urls(cfg).authenticator, () => pgrsts);
    await relay.ready;
    proxy = await startProxy({ dataDir: dir, port: ports.proxy, host: cfg.host, gateways, postgrests, logDir, ...proxyOpts });
    return { url: proxy.url, proxy, pgbouncer: pgb, children, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** `n` distinct free TCP ports on 127.0.0.1 (the OS picks them; all held open at once, so no two are the same). */
export async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * Ports for startBehindProxy: from `base` on (the proxy at base, then each server's) or free ones;
 * PgBouncer at `pgbouncer` or a free one.
 */
export async function behindProxyPorts({ base = null, pgbouncer = null, instances = 1 } = {}) {
  const free = await freePorts(2 + 3 * instances);
  const at = (i) => (base ? base + i : free[i]);
  return {
    proxy: at(0), pgbouncer: pgbouncer ?? free[1 + 3 * instances],
    gateways: Array.from({ length: instances }, (_, i) => at(1 + i)),
    postgrests: Array.from({ length: instances }, (_, i) => ({ port: at(1 + instances + 2 * i), adminPort: at(2 + instances + 2 * i) })),
  };
}
