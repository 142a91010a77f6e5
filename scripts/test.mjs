#!/usr/bin/env zx
// `npm test`: a fresh test stack (own cluster and ports), then every suite:
//   pgTAP (tests/db, pg_prove), vitest (tests/e2e, over HTTP against the real
//   PostgREST and gateway). Ends with one line: `N passed, N failed`.
import { $, fs, path, chalk } from 'zx';
import { up, ROOT, psql } from './lib/stack.mjs';
import { startBehindProxy, behindProxyPorts } from './lib/proxy.mjs';

const t0 = Date.now();
const results = [];  // { suite, passed, failed }

// Static checks first: strict TypeScript and the linter (one test each).
console.log(chalk.bold('== static checks (tsc --noEmit, eslint)'));
for (const [name, cmd] of [['tsc', ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json']], ['eslint', ['npx', 'eslint', '.']]]) {
  const r = await $({ nothrow: true, cwd: ROOT })`${cmd}`;
  const ok = r.exitCode === 0;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}`);
  if (!ok) process.stdout.write(r.stdout + r.stderr);
  results.push({ suite: name, passed: ok ? 1 : 0, failed: ok ? 0 : 1 });
}

// The Prometheus rules (deploy/prometheus/): promtool checks them, then unit-tests them with synthetic
// series; alerts.test.yml must hold a firing case for every alert alerts.yml defines.
console.log(chalk.bold('\n== Prometheus rules (promtool)'));
{
  const dir = path.join(ROOT, 'deploy', 'prometheus');
  const { parse } = await import('yaml');
  const alerts = parse(fs.readFileSync(path.join(dir, 'alerts.yml'), 'utf8')).groups.flatMap((g) => g.rules).map((r) => r.alert);
  const fired = new Set(parse(fs.readFileSync(path.join(dir, 'alerts.test.yml'), 'utf8')).tests
    .flatMap((t) => t.alert_rule_test ?? []).filter((a) => a.exp_alerts?.length).map((a) => a.alertname));
  const untested = alerts.filter((a) => !fired.has(a));
  const steps = [
    ['rules', 'promtool check rules', await $({ nothrow: true, cwd: dir })`promtool check rules alerts.yml`],
    ['alerts', 'promtool test rules', await $({ nothrow: true, cwd: dir })`promtool test rules alerts.test.yml`],
    ['alerts', 'every alert has a firing unit test', { exitCode: untested.length, stdout: `untested: ${untested.join(', ')}\n`, stderr: '' }],
  ];
  for (const [suite, name, r] of steps) {
    const ok = r.exitCode === 0;
    console.log(`${ok ? 'ok' : 'not ok'} - ${name}`);
    if (!ok) process.stdout.write(r.stdout + r.stderr);
    results.push({ suite, passed: ok ? 1 : 0, failed: ok ? 0 : 1 });
  }
}

let stack, behind;
try {
  // With Prometheus and the PostgreSQL exporter (tests/e2e/metrics.test.ts reads them back), scraping every second.
  stack = await up('test', { fresh: true, monitoring: true, scrapeInterval: '1s' });
  const { urls, cfg } = stack;
  const su = urls.superuser;

  // db/schema.sql is what the committed migrations make (scripts/check-schema.mjs).
  console.log(chalk.bold('\n== db/schema.sql'));
  const schema = await $({ nothrow: true, cwd: ROOT, env: { ...process.env, STACK_PROFILE: 'test', TEST_STACK_DATA_DIR: cfg.dataDir, TEST_PGPORT: String(cfg.pgPort) } })`node ${path.join(ROOT, 'node_modules', 'zx', 'build', 'cli.js')} scripts/check-schema.mjs`;
  process.stdout.write(schema.stdout + schema.stderr);
  results.push({ suite: 'schema', passed: schema.exitCode === 0 ? 1 : 0, failed: schema.exitCode === 0 ? 0 : 1 });

  // pgTAP lives only in the test database, in its own schema.
  await psql(su, `create schema if not exists tests; create extension if not exists pgtap with schema tests;
    create extension if not exists plpgsql_check with schema tests;`);
  await $`psql ${su} -X -q -v ON_ERROR_STOP=1 -f ${path.join(ROOT, 'tests', 'db', 'helpers.sql')}`;

  console.log(chalk.bold('\n== pgTAP (tests/db)'));
  const files = fs.readdirSync(path.join(ROOT, 'tests', 'db')).filter((f) => f.endsWith('.test.sql')).sort()
    .map((f) => path.join('tests', 'db', f));
  const prove = await $({ nothrow: true, cwd: ROOT, env: { ...process.env, PGOPTIONS: '-c search_path=tests,public' } })`pg_prove ${files} -d ${su}`;
  process.stdout.write(prove.stdout + prove.stderr);
  results.push({ suite: 'pgTAP', ...parseProve(prove.stdout + prove.stderr, prove.exitCode) });

  // TEST_BEHIND_PROXY=1: the suites reach both servers through HAProxy and PgBouncer, as in production
  // (scripts/lib/proxy.mjs: a gateway and a PostgREST that trust the proxy's one hop, on free ports).
  if (process.env.TEST_BEHIND_PROXY === '1') behind = await startBehindProxy(cfg, { ports: await behindProxyPorts() });
  console.log(chalk.bold(`\n== vitest (tests/e2e)${behind ? ` through the proxy ${behind.url}` : ''}`));
  const report = path.join(cfg.dataDir, 'vitest.json');
  const vt = await $({
    nothrow: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env, GATEWAY_URL: behind?.url ?? stack.gatewayUrl, POSTGREST_URL: behind?.url ?? stack.postgrestUrl, DATABASE_URL: su, INBOX_URL: stack.inboxUrl,
      METRICS_URL: stack.metricsUrl, PROMETHEUS_URL: stack.monitoring.prometheusUrl,
      // for tests that run the project's own CLI scripts against this stack
      STACK_PROFILE: 'test', TEST_STACK_DATA_DIR: cfg.dataDir, TEST_PGPORT: String(cfg.pgPort),
    },
  })`npx vitest run --reporter=default --reporter=json --outputFile=${report}`;
  results.push({ suite: 'vitest', ...parseVitest(report, vt.exitCode) });
} catch (e) {
  console.error(chalk.red(`Test stack failed: ${e.message ?? e}`));
  if (stack?.logDir) for (const f of ['gateway.log', 'postgrest.log'])
    if (fs.existsSync(path.join(stack.logDir, f))) console.error(`--- ${f}\n` + fs.readFileSync(path.join(stack.logDir, f), 'utf8').slice(-4000));
  results.push({ suite: 'setup', passed: 0, failed: 1 });
} finally {
  await behind?.stop();
  await stack?.stop();
}

function parseProve(out, code) {
  const tests = Number(out.match(/Tests=(\d+)/)?.[1] ?? 0);
  let failed = 0;
  for (const m of out.matchAll(/Failed (\d+)\/(\d+) subtests/g)) failed += Number(m[1]);
  failed += (out.match(/Parse errors: .*|Bad plan/g) ?? []).length;
  if (code !== 0 && failed === 0) failed = 1;
  return { passed: Math.max(0, tests - failed), failed };
}
function parseVitest(file, code) {
  if (!fs.existsSync(file)) return { passed: 0, failed: 1 };
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  let failed = j.numFailedTests ?? 0;
  if (code !== 0 && failed === 0) failed = 1;  // e.g. a file that failed to load
  return { passed: j.numPassedTests ?? 0, failed };
}

const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log('');
for (const r of results) console.log(`  ${r.suite.padEnd(8)} ${r.passed} passed, ${r.failed} failed`);
console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
