#!/usr/bin/env zx
// `npm start`: the whole stack on a private local cluster, no configuration.
// Ctrl-C stops everything this command started.
import { chalk } from 'zx';
import { up } from './lib/stack.mjs';

const stack = await up('dev');
const { cfg, urls } = stack;
console.log(`
${chalk.bold('DwayBank Foundation is running')}
  PostgREST (schema api)   http://${cfg.host}:${cfg.postgrestPort}/        OpenAPI at /
  Gateway (auth, JWKS)     ${stack.gatewayUrl}/        JWKS at /.well-known/jwks.json, OpenAPI at /openapi.json
  PostgreSQL (superuser)   DATABASE_URL=${urls.superuser}
  Logs                     ${stack.logDir}
${chalk.green('ready')} (Ctrl-C to stop)`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping...');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
for (const c of stack.children) {
  c.on('exit', (code) => {
    if (!stopping) {
      console.error(chalk.red(`${c.name} exited (${code}); see ${stack.logDir}/${c.name}.log`));
      shutdown();
    }
  });
}
await new Promise(() => {});
