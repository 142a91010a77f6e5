#!/usr/bin/env zx
// A running local stack served the production way: PgBouncer, gateways and
// PostgRESTs that trust one proxy hop, HAProxy in front (scripts/lib/proxy.mjs).
// The stack's own gateway and PostgREST keep running as they are.
//   STACK_PROFILE=test npx zx scripts/behind-proxy.mjs [--instances 2]
// Ports: PROXY_PORT (HAProxy; the servers take the next 3 per instance) and
// PGBOUNCER_PORT, with the profile's prefix (TEST_PROXY_PORT, ...); unset, the OS
// picks free ones. Prints one line `ready {"url": ...}`; stops on SIGTERM, Ctrl-C
// or when its standard input closes (the test that started it went away).
import { argv } from 'zx';
import { stackConfig, PROFILES } from './lib/config.mjs';
import { startBehindProxy, behindProxyPorts } from './lib/proxy.mjs';

const profile = process.env.STACK_PROFILE ?? 'dev';
const cfg = stackConfig(profile);
const prefix = PROFILES[profile]?.prefix ?? '';
const want = (name) => Number.parseInt(process.env[prefix + name] ?? '', 10) || null;
const instances = Number(argv.instances ?? 1);

const ports = await behindProxyPorts({ base: want('PROXY_PORT'), pgbouncer: want('PGBOUNCER_PORT'), instances });
const served = await startBehindProxy(cfg, { ports });
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await served.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
for (const c of served.children) c.on('exit', (code) => { if (!stopping) { console.error(`${c.name} exited (${code})`); void shutdown(); } });
console.log(`ready ${JSON.stringify({ url: served.url, ports, socket: served.proxy.socket, logDir: cfg.dataDir })}`);
