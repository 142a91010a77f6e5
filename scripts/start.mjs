#!/usr/bin/env zx
// `npm start`: the whole stack on a private local cluster, no configuration.
// Ctrl-C stops everything this command started.
import { chalk } from 'zx';
import { up } from './lib/stack.mjs';
import { runUntilStopped } from './lib/services.mjs';

// STACK_PROFILE=test runs a test stack (its TEST_* ports, throttles lifted) to run one vitest file against.
// `npm start -- --metrics` (or METRICS=1) adds Prometheus and the PostgreSQL exporter (docs/operations.md).
const monitoring = process.argv.includes('--metrics') || process.env.METRICS === '1';
const stack = await up(process.env.STACK_PROFILE ?? 'dev', { monitoring });
const { cfg, urls } = stack;
console.log(`
${chalk.bold('DwayBank Foundation is running')}
  PostgREST (schema api)   http://${cfg.host}:${cfg.postgrestPort}/        OpenAPI at /
  Gateway (auth, JWKS)     ${stack.gatewayUrl}/        JWKS at /.well-known/jwks.json, OpenAPI at /openapi.json
  Account page             http://localhost:${cfg.gatewayPort}/account/
  Mailbox (every e-mail and SMS the stack sends)   ${stack.inboxUrl}
  PostgreSQL (superuser)   DATABASE_URL=${urls.superuser}
  Gateway metrics          ${stack.metricsUrl}        (127.0.0.1 only)${stack.monitoring ? `
  Prometheus               ${stack.monitoring.prometheusUrl}/        alerts at /alerts; exporter ${stack.monitoring.exporterUrls.join(' ')}` : ''}
  Logs                     ${stack.logDir}
${chalk.green('ready')} (Ctrl-C to stop)`);

await runUntilStopped({ stop: () => stack.stop(), children: stack.children, logDir: stack.logDir });
