#!/usr/bin/env node
// The docker-compose `migrate` step: create the owner role if needed, then
// create the database (first run) or apply committed migrations.
import { execFileSync } from 'node:child_process';
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
const gm = ['node_modules/.bin/graphile-migrate'];
execFileSync(gm[0], rowCount ? ['migrate'] : ['reset', '--erase'], { stdio: 'inherit', env });
