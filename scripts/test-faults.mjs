#!/usr/bin/env zx
// `npm run test:faults`: the heavy reliability suites on a fresh test stack.
//   1. fuzz with >= 10,000 requests and a random seed (FUZZ_RUNS, FUZZ_SEED),
//      with the concurrency, cross-tenant and access-matrix suites;
//   2. crash: kill -9 PostgreSQL under a write load, 3 cycles (FAULT_CRASH_CYCLES);
//   3. PostgREST and gateway restarts under load;
//   4. failover on Patroni (scripts/lib/ha.mjs): kill -9 of the primary's
//      postmaster, then of its Patroni agent, then a planned switchover, under a
//      write load through the proxy;
//   5. restore drill with pgBackRest: point-in-time recovery to the moment
//      before a table was dropped "by mistake".
// Prints the figures of each (requests tried, 5xx, rows lost) and ends with
// `N passed, N failed`. Phases 1-3 use the TEST_* stack settings; the failover
// and restore phases run on an HA stack of their own (.data/faults-ha:
// PostgreSQL 25620-25636, etcd/Patroni 25660-25663, HTTP 3220-3234).
// All below Linux's ephemeral range (32768-60999): these servers restart while
// thousands of client connections come and go, and a port in that range may be
// held by an outgoing connection at the moment a server binds it again.
import { $, fs, path, chalk } from 'zx';
import crypto from 'node:crypto';

process.env.TEST_STACK_DATA_DIR ??= '.data/faults/stack';
process.env.TEST_PGPORT ??= '25400';
process.env.TEST_POSTGREST_PORT ??= '3020';
process.env.TEST_POSTGREST_ADMIN_PORT ??= '3021';
process.env.TEST_GATEWAY_PORT ??= '3022';
const { up, ROOT } = await import('./lib/stack.mjs');
const { ensurePrereqs } = await import('./lib/prereqs.mjs');
const { crashTest } = await import('../tests/faults/crash.mjs');
const { restartTest } = await import('../tests/faults/restarts.mjs');
const { failoverTest } = await import('../tests/faults/failover.mjs');
const { restoreDrill } = await import('../tests/faults/restore.mjs');
const { upHa } = await import('./lib/ha.mjs');

const t0 = Date.now();
const results = [];
const only = (process.env.FAULTS_ONLY ?? 'fuzz,crash,restarts,failover,restore').split(',');
const log = (s) => console.log(s);
let stack, haStack;
try {
  const needsTestStack = ['fuzz', 'crash', 'restarts'].some((k) => only.includes(k));
  if (needsTestStack) stack = await up('test', { fresh: true });
  const bin = ensurePrereqs.pgBin;
  const env = needsTestStack ? { ...process.env, GATEWAY_URL: stack.gatewayUrl, POSTGREST_URL: stack.postgrestUrl, DATABASE_URL: stack.urls.superuser, INBOX_URL: stack.inboxUrl } : {};

  if (only.includes('fuzz')) {
    const seed = process.env.FUZZ_SEED ?? String(crypto.randomInt(2 ** 31 - 1));
    const runs = process.env.FUZZ_RUNS ?? '10000';
    console.log(chalk.bold(`\n== fuzz (${runs} runs, seed ${seed}), concurrency, cross-tenant, access matrix`));
    const report = path.join(stack.cfg.dataDir, 'vitest-faults.json');
    const vt = await $({ nothrow: true, cwd: ROOT, env: { ...env, FUZZ_RUNS: runs, FUZZ_SEED: seed } })`npx vitest run --reporter=default --reporter=json --outputFile=${report} tests/e2e/fuzz.test.ts tests/e2e/concurrency.test.ts tests/e2e/cross-tenant.test.ts tests/e2e/access-matrix.test.ts`;
    const out = vt.stdout + vt.stderr;
    for (const line of out.split('\n')) if (/^\[(fuzz|concurrency|cross-tenant|access-matrix|tokens)\]/.test(line)) console.log(`  ${line}`);
    const j = fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : {};
    const failed = (j.numFailedTests ?? 0) || (vt.exitCode !== 0 ? 1 : 0);
    if (failed) process.stdout.write(out.slice(-6000));
    const f = out.match(/\[fuzz\] seed=(\d+) runs=(\d+) requests=(\d+) .*?5xx=(\d+) leaks=(\d+).*?rows_lost=(\d+) half_written=(\d+)/);
    results.push({ name: 'fuzz + races + access', passed: j.numPassedTests ?? 0, failed,
      figures: f ? { seed: Number(f[1]), requests: Number(f[3]), '5xx': Number(f[4]), leaks: Number(f[5]), rows_lost: Number(f[6]), half_written: Number(f[7]),
        fresh_retries: Number(/fresh_retries=(\d+)/.exec(out)?.[1] ?? 0) } : {} });
  }

  const phases = [
    ['crash', () => crashTest({ stack, bin, cycles: Number(process.env.FAULT_CRASH_CYCLES ?? 3), log })],
    ['restarts', () => restartTest({ stack, cycles: 2, log })],
    ['failover', () => failoverTest({ stack: haStack, log })],
    // Last: it drops a table on the HA stack's primary.
    ['restore', () => restoreDrill({ stack: haStack, log })],
  ];
  for (const [key, run] of phases) {
    if (!only.includes(key)) continue;
    console.log(chalk.bold(`\n== ${key}`));
    let r;
    try {
      if (['failover', 'restore'].includes(key) && !haStack) {
        if (stack) { await stack.stop(); stack = null; }  // two cores: one stack at a time
        log('  starting the HA stack (Patroni, etcd, HAProxy, PgBouncer, proxy, pgBackRest) in .data/faults-ha');
        haStack = await upHa('faults', { fresh: true, log });
      }
      r = await run();
    } catch (e) {
      r = { name: key, figures: {}, failures: [`aborted: ${e.message}`] };
    }
    for (const f of r.failures) console.log(chalk.red(`  FAIL ${f}`));
    results.push({ name: r.name, passed: r.failures.length ? 0 : 1, failed: r.failures.length ? 1 : 0, figures: r.figures });
  }
} catch (e) {
  console.error(chalk.red(`Fault stack failed: ${e.message ?? e}`));
  results.push({ name: 'setup', passed: 0, failed: 1, figures: {} });
} finally {
  await stack?.stop();
  await haStack?.stop();
}

console.log('');
for (const r of results) console.log(`  ${(r.failed ? chalk.red('FAIL') : chalk.green('ok  '))} ${r.name.padEnd(36)} ${JSON.stringify(r.figures)}`);
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
