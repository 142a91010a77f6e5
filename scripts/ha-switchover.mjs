#!/usr/bin/env zx
// `npm run ha:switchover`: a planned switchover of the running `npm run start:ha` stack.
// PgBouncer pauses its pools (requests wait instead of failing), `patronictl switchover`
// moves the primary to the synchronous standby, PgBouncer reconnects and resumes.
// `-- --candidate pg1` picks the new primary; HA_STACK=faults acts on the test:faults stack.
import { argv } from 'zx';
import fs from 'node:fs';
import path from 'node:path';
import { haConfig, switchover, waitHealthy } from './lib/ha.mjs';
import { proxyCommand, serverStates } from './lib/proxy.mjs';

const h = haConfig(process.env.HA_STACK ?? 'ha');
const before = await waitHealthy(h, { timeoutMs: 10_000 });
const front = path.join(h.dataDir, 'front');
const pwFile = path.join(front, 'pgbouncer', 'admin-password');
const socket = path.join(front, 'proxy', 'haproxy.sock');
const pgbouncerAdminUrl = fs.existsSync(pwFile)
  ? `postgres://pgbouncer_admin:${encodeURIComponent(fs.readFileSync(pwFile, 'utf8').trim())}@${h.host}:${h.pgbouncer}/pgbouncer` : undefined;
const proxy = fs.existsSync(socket) ? { command: (c) => proxyCommand(socket, c), serverStates: () => serverStates(socket) } : undefined;
const t0 = Date.now();
const after = await switchover(h, { candidate: argv.candidate, pgbouncerAdminUrl, proxy, log: console.log });
console.log(`switchover ${before.leader} -> ${after.leader} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const healthy = await waitHealthy(h, { timeoutMs: 120_000 });
console.log(`${healthy.leader} primary, ${healthy.standby} synchronous standby`);
