#!/usr/bin/env zx
// `npm run bench:data -- --users N [--profile bench]`: loads the benchmark data
// set into the bench stack's database (see scripts/lib/bench-data.mjs).
import { argv, chalk } from 'zx';
import { stackConfig, startPostgres, prepareDatabase } from '../lib/stack.mjs';
import { ensurePrereqs } from '../lib/prereqs.mjs';
import { loadData } from '../lib/bench-data.mjs';

const users = Number(argv.users ?? 1_000_000);
const batch = Number(argv.batch ?? 50_000);
const profile = argv.profile ?? 'bench';
const cfg = stackConfig(profile);
const { bin } = await ensurePrereqs({});
await startPostgres(cfg, bin);
const u = await prepareDatabase(cfg);
console.log(chalk.bold(`Loading ${users.toLocaleString()} users into the ${profile} stack (${cfg.pgData})`));
await loadData({ users, batch, connectionString: u.superuser });
