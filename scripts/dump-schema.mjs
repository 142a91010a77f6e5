#!/usr/bin/env node
// Writes db/schema.sql: the whole current schema as pg_dump --schema-only sees
// it after every committed migration (functions, policies, grants, comments),
// so the diff of a migration shows the real change. graphile-migrate runs this
// after migrating the shadow database (.gmrc afterAllMigrations, GM_DBURL), as
// graphile/starter's dump-db.js does; `npm test` regenerates it and fails when
// the committed file differs.
//   node scripts/dump-schema.mjs [connection url] [--out file]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? path.resolve(args[outAt + 1]) : path.join(ROOT, 'db', 'schema.sql');
const url = args.find((a, i) => !a.startsWith('--') && i !== outAt + 1) ?? process.env.GM_DBURL;
if (!url) {
  console.error('dump-schema: give a connection URL (graphile-migrate sets GM_DBURL for its hooks).');
  process.exit(2);
}

// The server's own pg_dump (same major version), wherever the cluster's binaries are.
const pgDump = ['/usr/lib/postgresql/15/bin/pg_dump'].find((p) => fs.existsSync(p)) ?? 'pg_dump';
const r = spawnSync(pgDump, [
  '--schema-only', '--no-owner', '--no-sync',
  // graphile-migrate's bookkeeping, pg_cron's jobs and the tests' pgTAP are not the product's schema.
  '--exclude-schema=graphile_migrate', '--exclude-schema=cron', '--exclude-schema=tests',
  // Monthly audit partitions are created by date (audit.create_partitions): the parent and default stay.
  '--exclude-table=audit.audit_log_2*',
  url,
], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (r.status !== 0) {
  console.error(`dump-schema: pg_dump failed: ${r.stderr}`);
  process.exit(1);
}
const text = r.stdout
  .split('\n')
  // Lines that change with every dump or every minor version, not with the schema.
  .filter((l) => !/^\\(un)?restrict /.test(l) && !/^-- Dumped (from|by) /.test(l))
  .join('\n');
fs.writeFileSync(out, `-- The current schema, written by scripts/dump-schema.mjs after the committed migrations
-- (graphile-migrate's afterAllMigrations hook). Do not edit: change migrations/current/ and commit it.
${text}`);
console.log(`dump-schema: wrote ${path.relative(ROOT, out)}`);
