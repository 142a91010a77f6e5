// The local stack: a private PostgreSQL cluster, graphile-migrate, the gateway
// and PostgREST. Used by `npm start`, `npm test`, `npm run migrate` and bench.
// `up` brings it all up; the parts live by job in config.mjs (profiles, ports,
// secrets, URLs), cluster.mjs (initdb, settings, start/stop), database.mjs
// (owner role, reset/migrate, extensions) and services.mjs (gateway, PostgREST),
// and are re-exported here for the scripts and tests that import this module.
import { fs, path } from 'zx';
import { ensurePrereqs } from './prereqs.mjs';
import { stackConfig } from './config.mjs';
import { startPostgres, stopPostgres, checkDurability } from './cluster.mjs';
import { prepareDatabase, psql } from './database.mjs';
import { inboxUrl, startService, stopProcess } from './services.mjs';
import { ensureMonitorRole, startMonitoring } from './monitoring.mjs';

export * from './config.mjs';
export * from './cluster.mjs';
export * from './database.mjs';
export * from './services.mjs';

/**
 * Brings the whole stack up; returns a handle with urls and stop(). `monitoring`: also
 * Prometheus and the PostgreSQL exporter (scripts/lib/monitoring.mjs), scraping every
 * `scrapeInterval`; the handle's `monitoring` then has their URLs.
 */
export async function up(profile = 'dev', { fresh = false, monitoring = false, scrapeInterval = '15s' } = {}) {
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
    children.push(await startService('mailbox', cfg, logDir));
    children.push(await startService('gateway', cfg, logDir));
    children.push(await startService('postgrest', cfg, logDir));
    const inbox = inboxUrl(cfg);
    const gatewayUrl = `http://${cfg.host}:${cfg.gatewayPort}`;
    const postgrestUrl = `http://${cfg.host}:${cfg.postgrestPort}`;
    const metricsUrl = `http://${cfg.host}:${cfg.metricsPort}/metrics`;
    let mon = null;
    if (monitoring) {
      const url = await ensureMonitorRole({ superuserUrl: u.superuser, dataDir: cfg.dataDir });
      mon = await startMonitoring({ dir: path.join(cfg.dataDir, 'monitoring'), scrapeInterval, prometheusPort: cfg.prometheusPort,
        gateways: [`${cfg.host}:${cfg.metricsPort}`], databases: [{ name: 'primary', url, exporterPort: cfg.exporterPort }] });
      children.push(...mon.children);
    }
    return { cfg, urls: u, gatewayUrl, postgrestUrl, metricsUrl, inboxUrl: inbox, children, stop, logDir,
      monitoring: mon && { prometheusUrl: mon.prometheusUrl, exporterUrls: mon.exporterUrls } };
  } catch (e) {
    await stop();
    throw e;
  }
}
