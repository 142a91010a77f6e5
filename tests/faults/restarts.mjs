// PostgREST and gateway restarts under load: clients see only retryable
// errors (no connection, 502-504), never a 500, and nothing acknowledged is lost.
import path from 'node:path';
import { gatewayEnv, postgrestBin, startProcess, stopProcess, waitFor, writePostgrestConf, ROOT } from '../../scripts/lib/stack.mjs';
import { WriteLoad, sleep } from './lib.mjs';

async function restart(stack, name) {
  const i = stack.children.findIndex((c) => c.name === name && c.exitCode === null);
  const old = stack.children[i];
  // The successor binds the same ports: wait until the old process is gone.
  await stopProcess(old, name === 'gateway' ? 'SIGTERM' : 'SIGKILL');
  const { cfg, logDir } = stack;
  const child = name === 'gateway'
    ? startProcess('gateway', process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'gateway', 'src', 'server.ts')],
      { env: gatewayEnv(cfg), logFile: path.join(logDir, 'gateway.log') })
    : startProcess('postgrest', postgrestBin, [writePostgrestConf(cfg)], { env: { PATH: process.env.PATH }, logFile: path.join(logDir, 'postgrest.log') });
  stack.children[i] = child;
  return child;
}

export async function restartTest({ stack, cycles = 3, log = console.log }) {
  const { cfg, urls, gatewayUrl, postgrestUrl } = stack;
  const load = new WriteLoad({ gatewayUrl, postgrestUrl, workers: 4, tag: 'restart' }).start();
  for (let i = 1; i <= cycles; i++) {
    for (const name of ['postgrest', 'gateway']) {
      await sleep(1500);
      const child = await restart(stack, name);
      const ready = name === 'gateway' ? `${gatewayUrl}/healthz` : `http://${cfg.host}:${cfg.postgrestAdminPort}/ready`;
      await waitFor(ready, { what: name, child, timeoutMs: 60_000 });
      log(`  restart ${i}/${cycles}: ${name} (${name === 'gateway' ? 'SIGTERM' : 'SIGKILL'}) and back`);
    }
  }
  await sleep(1500);
  await load.stop();
  const { acked, lost } = await load.verify(urls.superuser);
  const failures = [];
  if (lost.length) failures.push(`${lost.length} acknowledged writes lost: ${lost.slice(0, 5).join('; ')}`);
  if (load.figures.fatal) failures.push(`${load.figures.fatal} non-retryable 5xx: ${load.fatal.slice(0, 3).join(' | ')}`);
  return {
    name: 'PostgREST and gateway restarts',
    figures: { cycles, requests: load.figures.requests, acknowledged: acked, rows_lost: lost.length, fatal_5xx: load.figures.fatal, retryable: load.figures.retryable },
    failures,
  };
}
