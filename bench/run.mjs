#!/usr/bin/env zx
// `npm run bench [-- --quick] [--users N] [--duration S] [--migrate] [--fresh]`
// Runs every scenario (bench/scenarios/) against the real bench stack over HTTP
// (wrk) and the database floors (pgbench), judges them against the targets
// (bench/targets.mjs), prints a table and writes bench/results/<date>.json, .md
// and the latency-against-data-size chart (.svg).
// Default: 1,000,000 users (measuring session validation and KYC status at
// 100,000 on the way), 8 s per scenario, under 15 minutes with the data load.
// --quick: the data set already loaded (or 20,000 users), 3 s per scenario.
import { argv, chalk, fs, path } from 'zx';
import os from 'node:os';
import pg from 'pg';
import { ROOT } from '../scripts/lib/config.mjs';
import { loadData, countBenchUsers } from './lib/dataset.mjs';
import { benchDatabase, benchServices } from './lib/stack.mjs';
import { measurer, combine, median } from './lib/measure.mjs';
import { datasetFacts, machine, previousSize } from './lib/facts.mjs';
import { writeReport, writeChart } from './lib/report.mjs';
import { judge } from './targets.mjs';
import { measureSize } from './scenarios/sizes.mjs';
import { databaseFloors } from './scenarios/database.mjs';
import { signinAtCost } from './scenarios/signin.mjs';
import { auditScenarios, untrackBenchTables } from './scenarios/audit.mjs';
import { gatewayAtCost4 } from './scenarios/gateway.mjs';
import { flood as floodScenario } from './scenarios/flood.mjs';

// `npm run bench -- proxy`: only the proxy scenario, 5,000 connections through HAProxy and PgBouncer.
if (argv._[0] === 'proxy') process.exit((await (await import('./scenarios/proxy.mjs')).main()) ? 0 : 1);

const quick = Boolean(argv.quick);
const targetUsers = Number(argv.users ?? (quick ? 0 : 1_000_000));
const D = Number(argv.duration ?? (quick ? 3 : 8));
const small = 100_000;
const t0 = Date.now();
const log = (...a) => console.log(...a);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dwaybank-bench-'));
const resultsDir = path.join(ROOT, 'bench', 'results');

log(chalk.bold(`DwayBank benchmark (${quick ? 'quick' : 'full'}, ${D} s per scenario)`));
const db = await benchDatabase({ fresh: Boolean(argv.fresh), migrate: Boolean(argv.migrate) });
const su = new pg.Client({ connectionString: db.urls.superuser });
await su.connect();
const sql = (text, params) => su.query(text, params);
// Scenarios measured in interleaved rounds report the median of their rounds.
const ctx = { db, su, sql, log, D, quick, rounds: quick ? 2 : 3, ...measurer({ work, bin: db.bin, dbUrl: db.urls.superuser, log }) };
let services;
const results = { scenarios: [], sizes: [], targets: [] };
// Scheduled maintenance (pg_cron: sealing, session cleanup, report refresh) is
// paused while measuring, so its bursts over a freshly generated data set do
// not land in one scenario and not another; resumed at the end.
const paused = (await sql(`select to_regclass('cron.job') is not null as c`)).rows[0].c
  ? (await sql(`update cron.job set active = false where jobname like 'dwaybank:%' and active returning jobid`)).rows.map((r) => r.jobid)
  : [];

try {
  // A data set loaded before audit.disable_tracking existed: say so now, not after minutes of measuring.
  if (!(await sql(`select to_regprocedure('audit.disable_tracking(regclass)') is not null as ok`)).rows[0].ok)
    throw new Error('this bench database predates audit.disable_tracking: run `npm run bench -- --migrate`');
  // Entries an earlier run wrote (its sign-ins, refreshes, refused tokens) are
  // sealed now, as the scheduler would have, rather than during this run's
  // measurements; then the trail is vacuumed, as autovacuum would. (Not in
  // --quick, a smoke run: after several full runs that can take minutes.)
  if (!quick) {
    let sealed = 0, n;
    do {
      n = Number((await sql(`select audit.seal() as n`)).rows[0].n);
      sealed += n;
    } while (n > 0);
    if (sealed > 0) {
      await sql(`vacuum (analyze) audit.audit_log`);
      log(chalk.dim(`  sealed ${sealed.toLocaleString()} audit entries left by earlier runs, vacuumed the trail`));
    }
  }

  // ---------------------------------------------------------------- data
  let users = await countBenchUsers(su);
  const want = quick ? Math.max(users, targetUsers, 20_000) : targetUsers;
  if (!quick && users < small && want > small) {
    await loadData({ users: small, connectionString: db.urls.superuser, log });
    users = small;
  }

  // ------------------------------------------------------------- fixtures
  // Only in the bench database: a do-nothing endpoint (the PostgREST floor)
  // and a schema for pgbench fixtures; both dropped at the end.
  await sql(`create schema if not exists bench`);
  await sql(`create or replace function api.bench_noop() returns integer language sql stable as 'select 1'`);
  await sql(`grant execute on function api.bench_noop() to anon, authenticated`);
  services = await benchServices(db);
  Object.assign(ctx, { services, G: services.gatewayUrl, P: services.postgrestUrl, F: services.floorUrl });

  if (!quick && users === small && want > small) {
    log(chalk.bold(`\n== at ${small.toLocaleString()} users (for the growth comparison)`));
    results.sizes.push((await measureSize(ctx, 'small')).size);
  }
  if (users < want) {
    await loadData({ users: want, connectionString: db.urls.superuser, log });
    users = want;
  }
  const dataset = await datasetFacts(sql);
  log(chalk.bold(`\n== at ${users.toLocaleString()} users`));

  // ------------------------------------------------------------ scenarios
  const main = await measureSize(ctx, 'main');
  results.sizes.push(main.size);
  const { f: noAuth, ft: tokenFloor, fc: currentFloor, s: session, k: kyc, c: ceiling, sp: sessionSized, kp: kycSized } = main;
  const { pgNoop, pgSession, pgKyc, bcrypt, salt } = await databaseFloors(ctx, main.tokens);
  const { signin } = await signinAtCost(ctx, { users, cost: salt.cost });
  const audit = await auditScenarios(ctx, { users });
  const gw = await gatewayAtCost4(ctx);
  const flood = await floodScenario(ctx, { tokensFile: main.tf });

  // ---------------------------------------------------------------- report
  const ratio = (a, b) => (b?.rps ? a.rps / b.rps : null);
  // Against the no-auth floor: the median of the rounds' shares (each round against its own floor).
  const add = (s, baseline) => results.scenarios.push({ ...s, baseline: baseline?.name ?? null,
    ratio: baseline ? (baseline === noAuth && s.share != null ? s.share : ratio(s, baseline)) : null });
  add(noAuth); add(tokenFloor, noAuth); add(currentFloor, noAuth); add(ceiling, noAuth); add(pgNoop); add(pgSession, pgNoop); add(pgKyc, pgNoop); add(bcrypt);
  add(session, noAuth); add(kyc, noAuth); add(sessionSized, noAuth); add(kycSized, noAuth);
  add(signin, bcrypt); add(gw.signinFast); add(gw.signinFastC); add(gw.bcrypt4); add(gw.roundTrip);
  add(gw.refreshLight); add(gw.refresh); add(gw.mfaLight); add(gw.mfa);
  add(audit.auditHistory, pgNoop);
  // Each round's ratio (unaudited / audited throughput, back to back); the median of the rounds.
  const auditCost = (a, p) => median(a.map((x, i) => p[i].rps / x.rps));
  const auditRatio = auditCost(audit.audited, audit.plain), auditRatioMoving = auditCost(audit.auditedMoving, audit.plainMoving);
  results.scenarios.push({ ...combine(audit.audited, 'audited update (pgbench)'), baseline: 'unaudited update (pgbench)', ratio: 1 / auditRatio });
  add(combine(audit.plain, 'unaudited update (pgbench)'));
  results.scenarios.push({ ...combine(audit.auditedMoving, 'audited update, new address each time (pgbench)'),
    baseline: 'unaudited update, new address each time (pgbench)', ratio: 1 / auditRatioMoving });
  add(combine(audit.plainMoving, 'unaudited update, new address each time (pgbench)'));
  for (const f of Object.values(flood)) { add(f.storm); add(f.after, f.before); }

  // ---------------------------------------------------------------- targets
  const { rounds } = ctx;
  const T = (...a) => results.targets.push(judge(...a));
  const sized = (x) => `50 connections at ${Math.round(100 * x.rps / noAuth.rps)}% of the no-auth floor's throughput`;
  const shares = (x) => `median of ${rounds} rounds: ${x.rounds_share}; ${Math.round(x.rps).toLocaleString('en')} vs ${Math.round(noAuth.rps).toLocaleString('en')} req/s`;
  T('floor-share', tokenFloor.share, { subject: 'token floor (JWT, role and claims; no pre-request)', detail: shares(tokenFloor) });
  T('floor-share', currentFloor.share, { subject: 'current floor (token and the pre-request session check)', detail: shares(currentFloor) });
  T('floor-share', ceiling.share, { subject: 'ceiling: /rpc/me with no session check at all (no pre-request)', detail: shares(ceiling) });
  T('session-throughput', session.share, { detail: shares(session) });
  T('kyc-throughput', kyc.share, { detail: shares(kyc) });
  T('session-p99', sessionSized.p99_ms, { errors: sessionSized.errors, detail: `${sized(sessionSized)}; median of ${rounds} rounds: ${sessionSized.rounds_p99}` });
  T('signin-throughput', ratio(signin, bcrypt), { detail: `cost ${salt.cost}` });
  T('signin-own-work', gw.ownWork, { detail: `median of ${rounds} rounds of p50 at cost 4 less its one cost-4 hash, ${gw.hash4.toFixed(2)} ms: ${gw.ownRounds.map((x) => x.toFixed(2)).join(', ')} ms` });
  T('mfa-p99', gw.mfaLight.p99_ms, { errors: gw.mfaLight.errors, detail: `${gw.lightC} connections` });
  T('kyc-p99', kycSized.p99_ms, { errors: kycSized.errors, detail: `${sized(kycSized)}; median of ${rounds} rounds: ${kycSized.rounds_p99}` });
  T('refresh-p99', gw.refreshLight.p99_ms, { errors: gw.refreshLight.errors, detail: `${gw.lightC} connections` });
  for (const [subject, x] of [['no-auth floor', noAuth], ['session validation', session], ['KYC status', kyc]]) T('saturated-p99', x.p99_ms, { subject });
  for (const [subject, x] of [['session validation', session], ['KYC status', kyc]]) T('saturated-p99-ratio', x.p99_share, { subject, detail: `median of ${rounds} rounds` });
  for (const [subject, f] of Object.entries(flood)) {
    T('flood-errors', f.storm.socket_errors + f.storm.fivexx, { subject, detail: `503/504 backpressure allowed: ${f.storm.backpressure}` });
    T('flood-recovery', f.after.p50_ms, { subject, errors: f.after.errors, reference: f.before.p50_ms, detail: `before: ${f.before.p50_ms.toFixed(1)} ms` });
  }
  T('audit-cost', auditRatio, { detail: `same run, median of ${rounds} rounds` });
  T('audit-cost-moving', auditRatioMoving);
  T('audit-history-p99', audit.auditHistory.p99_ms,
    { detail: `${dataset.audit_entries.toLocaleString()} entries; median of ${rounds} rounds: ${audit.historyRounds.map((x) => x.p99_ms.toFixed(1)).join(', ')} ms` });
  // Growth is judged only between sizes measured in the same run: between runs this
  // machine's speed moves by a third. Another run's 100,000-user figures are shown, not judged.
  const g = (a, b) => b / a - 1;
  const smallHere = results.sizes.find((s) => s.label === 'small');
  const smallBefore = smallHere ? null : previousSize(small);
  const span = `${small.toLocaleString()} → ${users.toLocaleString()} users`;
  if (smallHere && users > small) {
    T('growth', g(smallHere.session.p50_ms, session.p50_ms), { subject: 'session validation', detail: span });
    T('growth', g(smallHere.kyc.p50_ms, kyc.p50_ms), { subject: 'KYC status', detail: span });
  } else if (smallBefore && users > small) {
    for (const [subject, before, now] of [['session validation', smallBefore.size.session, session], ['KYC status', smallBefore.size.kyc, kyc]]) {
      T('growth', g(before.p50_ms, now.p50_ms), { subject, judged: false,
        detail: `${span} against another run (${smallBefore.file}; judged only within one run: \`--fresh\`)` });
    }
  } else {
    T('growth', null, { subject: 'session validation and KYC status', note: 'needs a run from scratch (--fresh)' });
  }

  const meta = {
    date: new Date().toISOString(), quick, duration_s: D, users, dataset, elapsed_s: Math.round((Date.now() - t0) / 1000),
    machine: await machine(sql),
  };
  const files = writeReport(resultsDir, { ...meta, ...results });
  writeChart(resultsDir, files.stem);
  log(`\nwritten: ${Object.values(files.paths).map((p) => path.relative(ROOT, p)).join(', ')}`);
} finally {
  await services?.stop();
  await untrackBenchTables(sql).catch(() => {});
  await su.query(`drop function if exists api.bench_noop(); drop schema if exists bench cascade`).catch(() => {});
  if (paused.length) await su.query(`update cron.job set active = true where jobid = any ($1::bigint[])`, [paused]).catch(() => {});
  await su.end();
  await db.stopPg();
  fs.rmSync(work, { recursive: true, force: true });
  log(chalk.dim(`(${Math.round((Date.now() - t0) / 1000)} s)`));
}
