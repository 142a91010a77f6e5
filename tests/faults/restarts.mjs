// PostgREST and gateway restarts under load: clients see only retryable
// errors (no connection, 502-504), never a 500, and nothing acknowledged is lost.
import { restartService } from '../../scripts/lib/stack.mjs';
import { WriteLoad, sleep } from './lib.mjs';

export async function restartTest({ stack, cycles = 3, log = console.log }) {
  const { urls, gatewayUrl, postgrestUrl } = stack;
  const load = new WriteLoad({ gatewayUrl, postgrestUrl, workers: 4, tag: 'restart' }).start();
  for (let i = 1; i <= cycles; i++) {
    for (const name of ['postgrest', 'gateway']) {
      await sleep(1500);
      // PostgREST killed outright, the gateway asked to drain; the successor starts once the port is free.
      await restartService(stack, name, { signal: name === 'gateway' ? 'SIGTERM' : 'SIGKILL' });
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
