#!/usr/bin/env node
// The docker-compose `migrate` step: create the owner role if needed, then
// create the database (first run) or apply committed migrations.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';

const env = process.env;
const root = new pg.Client({ connectionString: env.ROOT_DATABASE_URL });
await root.connect();
const owner = env.DATABASE_OWNER;
await root.query(`do $$ begin
  if not exists (select from pg_roles where rolname = '${owner}') then
    create role ${owner} login createdb bypassrls; end if; end $$`);
await root.query(`alter role ${root.escapeIdentifier(owner)} password ${root.escapeLiteral(env.DATABASE_OWNER_PASSWORD)}`);
const { rowCount } = await root.query('select 1 from pg_database where datname = $1', [env.DATABASE_NAME]);
await root.end();
if (rowCount) {
  // An existing database: a new migration may need an extension it lacks (db/extensions.sql, as the superuser).
  const url = new URL(env.ROOT_DATABASE_URL);
  url.pathname = `/${env.DATABASE_NAME}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  await db.query(fs.readFileSync(new URL('../db/extensions.sql', import.meta.url), 'utf8').replaceAll(':DATABASE_OWNER', db.escapeIdentifier(owner)));
  await db.end();
}
const gm = ['node_modules/.bin/graphile-migrate'];
execFileSync(gm[0], rowCount ? ['migrate'] : ['reset', '--erase'], { stdio: 'inherit', env });
