#!/usr/bin/env node
// The docker-compose `migrate` step: create the owner role if needed, then
// create the database (first run) or apply committed migrations, as the local
// stack does (scripts/lib/database.mjs). The current migration is never applied here.
import { bootstrapDatabase } from './lib/database.mjs';

const env = process.env;
await bootstrapDatabase({
  rootUrl: env.ROOT_DATABASE_URL,
  dbName: env.DATABASE_NAME,
  owner: env.DATABASE_OWNER,
  ownerPassword: env.DATABASE_OWNER_PASSWORD,
  env,
  showOutput: true,
});
