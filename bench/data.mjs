#!/usr/bin/env zx
// `npm run bench:data -- --users N [--fresh]`: loads the benchmark data set into
// the bench stack's database (see bench/lib/dataset.mjs). Incremental: it
// adds only the users (and their data) that are missing.
import { argv, chalk } from 'zx';
import { benchDatabase } from './lib/stack.mjs';
import { loadData } from './lib/dataset.mjs';

const users = Number(argv.users ?? 1_000_000);
const batch = Number(argv.batch ?? 50_000);
const db = await benchDatabase({ profile: argv.profile ?? 'bench', fresh: Boolean(argv.fresh) });
console.log(chalk.bold(`Loading ${users.toLocaleString()} users into the ${db.cfg.profile} stack (${db.cfg.pgData})`));
try {
  await loadData({ users, batch, connectionString: db.urls.superuser });
} finally {
  if (!argv['keep-running']) await db.stopPg();
}
