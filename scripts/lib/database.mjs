// The database of a stack: the owner role, then the database created
// (graphile-migrate reset) or brought up to date (migrate), with the extensions
// a migration needs. `bootstrapDatabase` is shared by the local stack and the
// docker-compose `migrate` step (scripts/deploy-migrate.mjs), so it needs only
// Node, pg and zx (no psql).
import { $, fs, path } from 'zx';
import pg from 'pg';
import { ROOT, migrateEnv, urls } from './config.mjs';

const gm = path.join(ROOT, 'node_modules', '.bin', 'graphile-migrate');

/** Runs SQL through psql (local stacks; quiet unless it fails). */
export async function psql(connUrl, sql, opts = {}) {
  const bin = opts.bin ?? 'psql';
  return $({ env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' } })`${bin} ${connUrl} -X -v ON_ERROR_STOP=1 -qAt -c ${sql}`;
}

/** db/extensions.sql with its placeholder filled in (run as a superuser). */
export function extensionsSql(owner) {
  return fs.readFileSync(path.join(ROOT, 'db', 'extensions.sql'), 'utf8').replaceAll(':DATABASE_OWNER', owner);
}

async function withClient(connectionString, fn) {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates the owner role (or sets its password), then the database: created by
 * `graphile-migrate reset --erase` when it does not exist (or `fresh`, or, with
 * `redoHalfMade`, when a first reset failed half-way and left no migration
 * table), else db/extensions.sql as the superuser (a migration may need an
 * extension the database lacks) and `graphile-migrate migrate`.
 * `rootUrl` is a superuser's connection to the `postgres` database; `env` is
 * graphile-migrate's environment (its connection strings and placeholders);
 * `showOutput` passes graphile-migrate's output through (else it is kept for errors).
 * Returns whether the database was (re)created.
 */
export async function bootstrapDatabase({ rootUrl, dbName, owner, ownerPassword, env, fresh = false, redoHalfMade = false,
  showOutput = false, beforeReset = () => {} }) {
  const dbUrl = new URL(rootUrl);
  dbUrl.pathname = `/${dbName}`;
  let exists = await withClient(rootUrl, async (root) => {
    await root.query(`do $$ begin
      if not exists (select from pg_roles where rolname = '${owner}') then
        create role ${owner} login createdb bypassrls; end if; end $$`);
    await root.query(`alter role ${root.escapeIdentifier(owner)} password ${root.escapeLiteral(ownerPassword)}`);
    return (await root.query('select 1 from pg_database where datname = $1', [dbName])).rowCount === 1;
  });
  // A database whose first reset failed half-way has no migration table: reset it again.
  if (exists && redoHalfMade) {
    exists = await withClient(dbUrl.toString(), async (db) =>
      (await db.query(`select 1 from pg_namespace where nspname = 'graphile_migrate'`)).rowCount === 1);
  }
  const migrate = (args) => $({ env, cwd: ROOT, ...(showOutput ? { stdio: 'inherit' } : {}) })`${gm} ${args}`;
  if (!exists || fresh) {
    await beforeReset();
    // pg_cron's launcher stays connected to its database: drop with FORCE first.
    await withClient(rootUrl, (root) => root.query(`drop database if exists ${root.escapeIdentifier(dbName)} with (force)`));
    await migrate(['reset', '--erase']);
    return true;
  }
  await withClient(dbUrl.toString(), (db) => db.query(extensionsSql(db.escapeIdentifier(owner))));
  await migrate(['migrate']);
  return false;
}

/** Creates the owner role, then the database (reset) or brings it up to date (migrate); then the current migration. */
export async function prepareDatabase(cfg, { fresh = false } = {}) {
  const u = urls(cfg);
  const menv = migrateEnv(cfg);
  await bootstrapDatabase({
    rootUrl: u.root, dbName: cfg.dbName, owner: cfg.owner, ownerPassword: u.secrets.owner, env: menv,
    fresh, redoHalfMade: true,
  });
  // The file the old `log` outbox sender wrote held codes and links in clear: it goes.
  fs.rmSync(path.join(cfg.dataDir, 'outbox.log'), { force: true });
  // The current (uncommitted) migration, if any; idempotent by convention.
  // (Line by line: a regular expression over the whole text backtracks
  // exponentially on comment lines of dashes.)
  const hasSql = currentMigrationText().split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('--'));
  if (hasSql) {
    await $({ env: menv, cwd: ROOT })`${gm} watch --once`;
  }
  return u;
}

function currentMigrationText() {
  const file = path.join(ROOT, 'migrations', 'current.sql');
  const dir = path.join(ROOT, 'migrations', 'current');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  if (fs.existsSync(dir)) return fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  return '';
}

/**
 * A database error as an operator reads it: a refusal (SQLSTATE PGRST, the API's one error shape) as
 * "message (CODE)" and its hint; anything else as PostgreSQL wrote it.
 */
export function describeDbError(e) {
  if (e?.code === 'PGRST') {
    try {
      const body = JSON.parse(e.message);
      return `${body.message} (${body.code})${body.hint ? `\n${body.hint}` : ''}`;
    } catch { /* not the shape: as written */ }
  }
  return `${e?.message ?? e}${e?.hint ? `\n${e.hint}` : ''}`;
}
