#!/usr/bin/env zx
// graphile-migrate against the local stack (or DATABASE_URL): the connection
// strings and placeholders are filled in so a DBA only types the command.
//   npm run migrate            apply committed migrations
//   npm run migrate:status     what is applied, what is pending, tampered files
//   npm run migrate:watch      re-apply migrations/current.sql on every save
//   npm run migrate:commit -- --message "create x table"
import { $, argv } from 'zx';
import path from 'node:path';
import { ensurePrereqs } from './lib/prereqs.mjs';
import { stackConfig, startPostgres, migrateEnv, ROOT, prepareDatabase } from './lib/stack.mjs';

const [command = 'status', ...rest] = argv._;
const cfg = stackConfig(process.env.STACK_PROFILE ?? 'dev');
const { bin } = await ensurePrereqs({});
await startPostgres(cfg, bin);
if (command === 'migrate') {
  await prepareDatabase(cfg);  // creates the database on first use (reset), else migrates
  console.log('Migrations applied.');
} else {
  const gm = path.join(ROOT, 'node_modules', '.bin', 'graphile-migrate');
  const r = await $({ env: migrateEnv(cfg), cwd: ROOT, stdio: 'inherit', nothrow: true })`${gm} ${command} ${rest} ${process.argv.slice(4).filter((a) => a.startsWith('--'))}`;
  process.exitCode = r.exitCode;
}
