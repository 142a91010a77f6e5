#!/usr/bin/env zx
// `npm run start:ha`: the high-availability stack on this machine, no
// configuration: PostgreSQL under Patroni (primary + synchronous standby, etcd),
// HAProxy routing to the primary by Patroni's health checks, pgBackRest, two
// gateways, two PostgREST (read-write, read-only on the standby), and the proxy
// and PgBouncer in front when scripts/lib/proxy.mjs provides them.
// Ctrl-C stops everything this command started. `--fresh` starts from nothing.
import { chalk } from 'zx';
import { upHa, clusterState } from './lib/ha.mjs';
import { runUntilStopped } from './lib/services.mjs';

const stack = await upHa('ha', { fresh: process.argv.includes('--fresh') });
const { h } = stack;
const c = await clusterState(h);
const members = (c?.members ?? []).map((m) => `${m.name} ${m.role} :${m.port}`).join(', ');
console.log(`
${chalk.bold('DwayBank Foundation (HA) is running')}
${stack.proxyUrl ? `  Proxy (one origin)       ${stack.proxyUrl}/   (PgBouncer :${h.pgbouncer} behind the servers)\n` : ''}  Gateways                 ${stack.gatewayUrls.join('  ')}
  PostgREST read-write     ${stack.postgrestRwUrl}/   (through the primary)
  PostgREST read-only      ${stack.postgrestRoUrl}/   (on the standby)
  PostgreSQL primary       DATABASE_URL=${stack.urls.primary.superuser}
  PostgreSQL standby       ${stack.urls.standby.superuser}
  Patroni                  ${members}; REST ${h.nodes.map((n) => n.restUrl).join(' ')}
                           planned switchover: npm run ha:switchover (PgBouncer pauses, patronictl switchover)
  HAProxy (database)       stats at http://${h.host}:${h.router.stats}/
  pgBackRest               pgbackrest --config=${h.backrest.conf} --stanza=dwaybank info (as user postgres)
  Mailbox (e-mail, SMS)    ${stack.inboxUrl}
  Logs                     ${h.logDir}
${chalk.green('ready')} (Ctrl-C to stop)`);

await runUntilStopped({ stop: () => stack.stop(), children: [...stack.children.filter((c) => !c.stopAll), ...stack.watch], logDir: h.logDir });
