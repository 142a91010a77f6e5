// Monitoring of a local stack: Prometheus (deploy/prometheus/alerts.yml loaded) scraping
// the gateways' /metrics listeners and one prometheus-postgres-exporter per PostgreSQL
// server (deploy/prometheus/postgres-exporter-queries.yaml). Used by `npm start -- --metrics`,
// the test stack (up(..., { monitoring: true })) and `npm run start:ha`. Everything listens on
// 127.0.0.1; the exporter connects as dwaybank_monitor (pg_monitor and the app.metrics_* functions).
import { fs, path } from 'zx';
import crypto from 'node:crypto';
import pg from 'pg';
import { ROOT } from './config.mjs';
import { startProcess, stopProcess, waitFor } from './services.mjs';

export const PROMETHEUS_DIR = path.join(ROOT, 'deploy', 'prometheus');
const prometheusBin = '/usr/bin/prometheus';
const exporterBin = '/usr/bin/prometheus-postgres-exporter';

/** The Debian packages monitoring needs, or null when they are installed. */
export function missingMonitoringPackages() {
  const missing = [[prometheusBin, 'prometheus'], [exporterBin, 'prometheus-postgres-exporter']].filter(([b]) => !fs.existsSync(b)).map(([, p]) => p);
  return missing.length ? `Monitoring needs: sudo apt-get install -y ${missing.join(' ')}` : null;
}

/**
 * Makes sure the exporter's role can sign in to the database of `superuserUrl`: the role
 * (normally made by db/afterReset.sql; an older database may lack it), its CONNECT right and a
 * password kept in <dataDir>/monitor-secret (0600). Run it on the primary. Returns the
 * exporter's connection string for that server (change host and port for a standby).
 */
export async function ensureMonitorRole({ superuserUrl, dataDir }) {
  const file = path.join(dataDir, 'monitor-secret');
  if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(24).toString('base64url'), { mode: 0o600 });
  const password = fs.readFileSync(file, 'utf8').trim();
  const client = new pg.Client({ connectionString: superuserUrl });
  await client.connect();
  try {
    await client.query(`do $$ begin
      if not exists (select from pg_roles where rolname = 'dwaybank_monitor') then
        create role dwaybank_monitor login inherit nocreatedb nocreaterole nosuperuser in role pg_monitor;
      end if; end $$`);
    await client.query(`alter role dwaybank_monitor with login password ${client.escapeLiteral(password)}`);
    await client.query(`grant connect on database ${client.escapeIdentifier(client.database)} to dwaybank_monitor`);
  } finally {
    await client.end();
  }
  const u = new URL(superuserUrl);
  u.username = 'dwaybank_monitor';
  u.password = password;
  u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

/** Prometheus's configuration for these targets (YAML is a superset of JSON). */
export function prometheusConfig({ gateways, exporters, prometheusAddress, scrapeInterval }) {
  return {
    global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
    rule_files: [path.join(PROMETHEUS_DIR, 'alerts.yml')],
    scrape_configs: [
      { job_name: 'gateway', static_configs: [{ targets: gateways }] },
      { job_name: 'postgres', static_configs: exporters.map((e) => ({ targets: [e.address], labels: { server: e.name } })) },
      { job_name: 'prometheus', static_configs: [{ targets: [prometheusAddress] }] },
    ],
  };
}

/**
 * Starts one exporter per database and Prometheus scraping them and the gateways.
 *   dir:          its folder (configuration, Prometheus's data, logs)
 *   gateways:     ['127.0.0.1:3003', ...]: the gateways' METRICS_HOST:METRICS_PORT
 *   databases:    [{ name: 'primary', url: <ensureMonitorRole's URL>, exporterPort }, ...]
 *   prometheusPort, scrapeInterval ('15s'; tests use '1s')
 * Returns { prometheusUrl, exporterUrls, children, stop }; the children are also the
 * caller's to stop (scripts/lib/stack.mjs adds them to the stack's).
 */
export async function startMonitoring({ dir, gateways = [], databases = [], prometheusPort, scrapeInterval = '15s', host = '127.0.0.1' }) {
  const missing = missingMonitoringPackages();
  if (missing) throw new Error(missing);
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const children = [];
  const stop = async () => {
    for (const c of [...children].reverse()) await stopProcess(c, 'SIGTERM');
  };
  try {
    const exporters = [];
    for (const d of databases) {
      const address = `${host}:${d.exporterPort}`;
      const child = startProcess(`postgres-exporter-${d.name}`, exporterBin, [
        `--web.listen-address=${address}`, `--extend.query-path=${path.join(PROMETHEUS_DIR, 'postgres-exporter-queries.yaml')}`,
        '--log.level=warn',
      ], { env: { PATH: process.env.PATH, DATA_SOURCE_NAME: d.url }, logFile: path.join(logDir, `postgres-exporter-${d.name}.log`) });
      children.push(child);
      await waitFor(`http://${address}/`, { what: child.name, child, timeoutMs: 30_000 });
      exporters.push({ name: d.name, address });
    }
    const prometheusAddress = `${host}:${prometheusPort}`;
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(config, JSON.stringify(prometheusConfig({ gateways, exporters, prometheusAddress, scrapeInterval }), null, 2), { mode: 0o600 });
    const prometheus = startProcess('prometheus', prometheusBin, [
      `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'prometheus-data')}`, '--storage.tsdb.retention.time=2d',
      `--web.listen-address=${prometheusAddress}`, '--log.level=warn',
    ], { env: { PATH: process.env.PATH }, logFile: path.join(logDir, 'prometheus.log') });
    children.push(prometheus);
    await waitFor(`http://${prometheusAddress}/-/ready`, { what: 'prometheus', child: prometheus, timeoutMs: 60_000 });
    return { prometheusUrl: `http://${prometheusAddress}`, exporterUrls: exporters.map((e) => `http://${e.address}/metrics`), children, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
