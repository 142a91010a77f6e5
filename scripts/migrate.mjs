#!/usr/bin/env zx
// graphile-migrate against the local stack (or DATABASE_URL): the connection
// strings and placeholders are filled in so a DBA only types the command.
//   npm run migrate            apply committed migrations
//   npm run migrate:status     what is applied, what is pending, tampered files
//   npm run migrate:watch      re-apply migrations/current/ on every save
//   npm run migrate:commit -- --message "create x table"
import { $, argv, chalk } from 'zx';
import { createRequire } from 'node:module';
import pg from 'pg';
import path from 'node:path';
import { ensurePrereqs } from './lib/prereqs.mjs';
import { stackConfig, startPostgres, migrateEnv, ROOT, prepareDatabase, urls } from './lib/stack.mjs';

const [command = 'status', ...rest] = argv._;
const cfg = stackConfig(process.env.STACK_PROFILE ?? 'dev');
const { bin } = await ensurePrereqs({});
await startPostgres(cfg, bin);
if (command === 'migrate') {
  await prepareDatabase(cfg);  // creates the database on first use (reset), else migrates
  console.log('Migrations applied.');
} else if (command === 'status') {
  // graphile-migrate checks a committed file's hash only when it runs it; a DBA
  // also wants to know when an already-applied file was edited afterwards.
  const problems = await verifyCommitted();
  const gm = path.join(ROOT, 'node_modules', '.bin', 'graphile-migrate');
  const r = await $({ env: migrateEnv(cfg), cwd: ROOT, stdio: 'inherit', nothrow: true })`${gm} status`;
  if (problems.length) {
    console.error(chalk.red(`\nTAMPERED: ${problems.length} committed migration(s) no longer match their recorded hash:`));
    for (const p of problems) console.error(chalk.red(`  - ${p}`));
    console.error('Committed migrations are never edited: restore the file from git (git checkout -- migrations/committed) and put the change in migrations/current/.');
    process.exitCode = 1;
  } else {
    console.log(chalk.green('All committed migrations match their hashes.'));
    process.exitCode = r.exitCode;
  }
} else {
  const gm = path.join(ROOT, 'node_modules', '.bin', 'graphile-migrate');
  const r = await $({ env: migrateEnv(cfg), cwd: ROOT, stdio: 'inherit', nothrow: true })`${gm} ${command} ${rest} ${process.argv.slice(4).filter((a) => a.startsWith('--'))}`;
  process.exitCode = r.exitCode;
}

async function verifyCommitted() {
  const require = createRequire(import.meta.url);
  const { getAllMigrations } = require('graphile-migrate/dist/migration.js');
  const { calculateHash } = require('graphile-migrate/dist/hash.js');
  const problems = [];
  let migrations = [];
  try {
    migrations = await getAllMigrations({ migrationsFolder: path.join(ROOT, 'migrations') });
  } catch (e) {
    return [e.message];
  }
  let previous = null;
  for (const m of migrations) {
    if (calculateHash(m.body, m.previousHash) !== m.hash) problems.push(`${m.realFilename}: its content does not match its --! Hash header`);
    if ((m.previousHash ?? null) !== previous) problems.push(`${m.realFilename}: its --! Previous header breaks the chain`);
    previous = m.hash;
  }
  const client = new pg.Client({ connectionString: urls(cfg).owner });
  try {
    await client.connect();
    const { rows } = await client.query('select filename, hash from graphile_migrate.migrations');
    const applied = new Map(rows.map((r) => [r.filename, r.hash]));
    for (const m of migrations) {
      const h = applied.get(m.filename);
      if (h && h !== m.hash) problems.push(`${m.realFilename}: the database applied a different version (${h})`);
    }
  } catch { /* no database yet: the file checks above still apply */ } finally {
    await client.end().catch(() => {});
  }
  return problems;
}
