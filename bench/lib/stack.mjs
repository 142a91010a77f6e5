// The bench stack: the `bench` profile of the local stack (scripts/lib/), except that the
// database is migrated only when the migrations changed (applying the current
// migration drops the schemas, and with them a data set that took minutes to
// load), and the gateway can be restarted with other database settings.
import { fs, path } from 'zx';
import crypto from 'node:crypto';
import { ROOT, stackConfig, urls } from '../../scripts/lib/config.mjs';
import { startPostgres, stopPostgres } from '../../scripts/lib/cluster.mjs';
import { prepareDatabase, psql } from '../../scripts/lib/database.mjs';
import { startProcess, startService, stopProcess, waitFor, writePostgrestConf, postgrestBin, postgrestRtsArgs } from '../../scripts/lib/services.mjs';
import { ensurePrereqs } from '../../scripts/lib/prereqs.mjs';

function migrationsHash() {
  const h = crypto.createHash('sha256');
  for (const dir of ['committed', 'current']) {
    const d = path.join(ROOT, 'migrations', dir);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) h.update(`${dir}/${f}\0`).update(fs.readFileSync(path.join(d, f)));
  }
  return h.digest('hex');
}

/** Postgres up, the database migrated if (and only if) the migrations changed. */
export async function benchDatabase({ profile = 'bench', fresh = false, migrate = false, log = console.log } = {}) {
  const cfg = stackConfig(profile);
  const { bin } = await ensurePrereqs({});
  const startedPg = await startPostgres(cfg, bin);
  const u = urls(cfg);
  const marker = path.join(cfg.dataDir, 'bench-migrations.sha256');
  const hash = migrationsHash();
  const have = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim() : '';
  const dbUp = (await psql(u.root, `select count(*) from pg_database where datname = '${cfg.dbName}'`)).stdout.trim() === '1';
  let migrated = false;
  const schemaUp = dbUp && (await psql(u.root.replace(/\/postgres$/, `/${cfg.dbName}`),
    `select to_regclass('app.users') is not null`).catch(() => ({ stdout: 'f' }))).stdout.trim() === 't';
  if (fresh || !schemaUp || (migrate && have !== hash)) {
    log(`  migrating the ${profile} database${fresh || !schemaUp ? ' (a new data set is loaded)' : ' (incremental: the data set stays)'}`);
    fs.rmSync(marker, { force: true });
    await prepareDatabase(cfg, { fresh });
    fs.writeFileSync(marker, hash);
    migrated = true;
  } else if (have !== hash) {
    log(`  note: the migrations changed since this data set was loaded; --migrate re-applies them (and reloads the data)`);
  }
  // All bench traffic comes from 127.0.0.1: lift the per-IP throttle.
  await psql(u.root, `alter database ${cfg.dbName} set dwaybank.ip_failure_limit = '100000000'`);
  await psql(u.root, `alter database ${cfg.dbName} set dwaybank.signup_ip_limit = '100000000'`);
  const stopPg = async () => { if (startedPg) await stopPostgres(cfg, bin); };
  return { cfg, urls: u, bin, migrated, startedPg, stopPg };
}

/**
 * A second PostgREST on the same database, configured as the bench stack's except that it has no
 * `db-pre-request`: the floor "a token, but no session check" (issue 18). Ports: BENCH_POSTGREST_FLOOR_PORT
 * (3067; the bench profile's 3060-3066 are taken) and the next one for its admin server.
 */
async function startFloorPostgrest(cfg, logDir) {
  const port = Number(process.env.BENCH_POSTGREST_FLOOR_PORT ?? 3067);
  const file = writePostgrestConf({ ...cfg, postgrestPort: port, postgrestAdminPort: port + 1 },
    { file: path.join(cfg.dataDir, 'postgrest-floor.conf'), settings: { 'db-pre-request': null } });
  const child = startProcess('postgrest-floor', postgrestBin, [...postgrestRtsArgs(), file], { env: { PATH: process.env.PATH }, logFile: path.join(logDir, 'postgrest-floor.log') });
  await waitFor(`http://${cfg.host}:${port + 1}/ready`, { what: 'the floor PostgREST (no pre-request)', child, timeoutMs: 60_000 });
  return { child, url: `http://${cfg.host}:${port}` };
}

/**
 * The gateway and PostgREST on the bench ports, and a PostgREST without the pre-request (`floorUrl`);
 * `restartGateway(extraEnv)` for other settings.
 */
export async function benchServices(db) {
  const { cfg } = db;
  const logDir = path.join(cfg.dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const gatewayUrl = `http://${cfg.host}:${cfg.gatewayPort}`;
  const postgrestUrl = `http://${cfg.host}:${cfg.postgrestPort}`;
  let gw = await startService('gateway', cfg, logDir, { LOG_LEVEL: 'warn' });
  const pgrst = await startService('postgrest', cfg, logDir);
  const floor = await startFloorPostgrest(cfg, logDir);
  return {
    gatewayUrl, postgrestUrl, floorUrl: floor.url, logDir,
    gatewayPid: () => gw?.pid,
    async restartGateway(extra = {}) {
      await stopProcess(gw, 'SIGTERM');
      gw = await startService('gateway', cfg, logDir, { LOG_LEVEL: 'warn', ...extra });
    },
    async stop() {
      await stopProcess(gw, 'SIGTERM');
      await stopProcess(pgrst, 'SIGTERM');
      await stopProcess(floor.child, 'SIGTERM');
    },
  };
}
