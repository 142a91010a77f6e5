#!/usr/bin/env zx
// An interactive psql on the local stack's database: npm run db:psql [-- --as owner|superuser] [-- psql options]
// As the schema owner by default (what graphile-migrate runs as); --as superuser for
// cluster-wide work. STACK_PROFILE=test|bench picks another local stack.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { stackConfig, urls, startPostgres } from './lib/stack.mjs';
import { ensurePrereqs } from './lib/prereqs.mjs';

// psql's own options pass through untouched; only --as (or --as=...) is ours.
let args = process.argv.slice(process.argv.findIndex((a) => a.endsWith('psql.mjs')) + 1);
let as = 'owner';
const at = args.findIndex((a) => a === '--as' || a.startsWith('--as='));
if (at >= 0) {
  as = args[at].includes('=') ? args[at].split('=')[1] : String(args[at + 1]);
  args = args.filter((_, i) => i !== at && (args[at].includes('=') || i !== at + 1));
}
if (!['owner', 'superuser'].includes(as)) {
  console.error('Usage: npm run db:psql [-- --as owner|superuser] [psql options]');
  process.exit(2);
}
const cfg = stackConfig(process.env.STACK_PROFILE ?? 'dev');
const { bin } = await ensurePrereqs({});
await startPostgres(cfg, bin);
const psql = path.join(bin, 'psql');
const r = spawnSync(psql, [urls(cfg)[as], ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
