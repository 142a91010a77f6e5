#!/usr/bin/env zx
// Fails when db/schema.sql is not what the committed migrations make: rebuilds
// the shadow database from them (graphile-migrate's afterAllMigrations hook
// rewrites db/schema.sql) and compares. `npm test` runs it; after a failure the
// file holds the regenerated schema, ready to review and commit.
import { $, fs, path } from 'zx';
import { migrateEnv, stackConfig, ROOT } from './lib/stack.mjs';

const cfg = stackConfig(process.env.STACK_PROFILE ?? 'dev');
const file = path.join(ROOT, 'db', 'schema.sql');
const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
const gm = path.join(ROOT, 'node_modules', '.bin', 'graphile-migrate');
const r = await $({ nothrow: true, quiet: true, cwd: ROOT, env: migrateEnv(cfg) })`${gm} reset --shadow --erase`;
if (r.exitCode !== 0) {
  process.stdout.write(r.stdout + r.stderr);
  console.log('not ok - db/schema.sql: the committed migrations did not apply to a fresh shadow database');
  process.exit(1);
}
const after = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
if (after === '' || after !== before) {
  console.log('not ok - db/schema.sql is current');
  console.log('  db/schema.sql differed from what the committed migrations make; it has been regenerated');
  console.log('  (npm run db:schema): review the diff (git diff db/schema.sql) and commit it.');
  process.exit(1);
}
console.log('ok - db/schema.sql is current');
