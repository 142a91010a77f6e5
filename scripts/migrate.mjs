#!/usr/bin/env zx
// graphile-migrate against the local stack (or DATABASE_URL): the connection
// strings and placeholders are filled in so a DBA only types the command.
//   npm run migrate            apply committed migrations
//   npm run migrate:status     what is applied, what is pending, tampered files
//   npm run migrate:watch      re-apply migrations/current/ on every save
//   npm run migrate:commit -- --message "create x table"
import { $, chalk, fs } from 'zx';
import crypto from 'node:crypto';
import pg from 'pg';
import path from 'node:path';
import { ensurePrereqs } from './lib/prereqs.mjs';
import { stackConfig, startPostgres, migrateEnv, ROOT, prepareDatabase, urls } from './lib/stack.mjs';

// The arguments after the command go to graphile-migrate untouched (`--message "create x table"` is two words).
const scriptAt = process.argv.findIndex((a) => a.endsWith('migrate.mjs'));
const [command = 'status', ...rest] = process.argv.slice(scriptAt + 1);
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
  const r = await $({ env: migrateEnv(cfg), cwd: ROOT, stdio: 'inherit', nothrow: true })`${gm} ${command} ${rest}`;
  process.exitCode = r.exitCode;
}

/**
 * graphile-migrate's own rule, restated from its documented file format: a committed
 * migration starts with `--! Previous:` and `--! Hash:` headers, a blank line, then the
 * body; Hash = sha1 over (previous hash, newline, trimmed body, newline).
 */
function committedMigrations() {
  const dir = path.join(ROOT, 'migrations', 'committed');
  return fs.readdirSync(dir).filter((f) => /^\d{6}(-[-\w]+)?\.sql$/.test(f)).sort().map((realFilename) => {
    const lines = fs.readFileSync(path.join(dir, realFilename), 'utf8').split('\n');
    const headers = {};
    let n = 0;
    for (const line of lines) {
      const m = /^--! ([A-Z][a-zA-Z0-9_]*)(?::(.*))?$/.exec(line);
      if (!m) break;
      headers[m[1]] = m[2]?.trim() ?? null;
      n++;
    }
    const body = lines.slice(n).join('\n').trim() + '\n';
    const previousHash = headers.Previous && headers.Previous !== '-' ? headers.Previous : null;
    return { realFilename, filename: `${realFilename.slice(0, 6)}.sql`, body, hash: headers.Hash, previousHash };
  });
}
function sha1(body, previous) {
  return `sha1:${crypto.createHash('sha1').update(`${((previous ?? '') + '\n' + body.trim()).trim()}\n`).digest('hex')}`;
}

async function verifyCommitted() {
  const problems = [];
  let migrations = [];
  try {
    migrations = committedMigrations();
  } catch (e) {
    return [e.message];
  }
  let previous = null;
  for (const m of migrations) {
    if (sha1(m.body, m.previousHash) !== m.hash) problems.push(`${m.realFilename}: its content does not match its --! Hash header`);
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
