#!/usr/bin/env zx
// `npm run bench [-- --quick] [--users N] [--duration S] [--migrate] [--fresh]`
// Runs every scenario against the real bench stack over HTTP (wrk) and the
// database floors (pgbench), prints a table and writes bench/results/<date>.json,
// .md and the latency-against-data-size chart (.svg).
// Default: 1,000,000 users (measuring session validation and KYC status at
// 100,000 on the way), 8 s per scenario, under 15 minutes with the data load.
// --quick: the data set already loaded (or 20,000 users), 3 s per scenario.
import { $, argv, chalk, fs, path } from 'zx';
import os from 'node:os';
import crypto from 'node:crypto';
import pg from 'pg';
import { generateSecret, generateSync } from 'otplib';
import { ROOT } from '../lib/stack.mjs';
import { loadData, countBenchUsers, benchUuid, BENCH_DOMAIN } from '../lib/bench-data.mjs';
import { benchDatabase, benchServices } from './lib.mjs';
import { writeReport, writeChart } from './report.mjs';

const quick = Boolean(argv.quick);
const targetUsers = Number(argv.users ?? (quick ? 0 : 1_000_000));
const D = Number(argv.duration ?? (quick ? 3 : 8));
const small = 100_000;
const t0 = Date.now();
const log = (...a) => console.log(...a);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dwaybank-bench-'));
const WRK = '/usr/bin/wrk';
const LUA = path.join(ROOT, 'scripts', 'bench', 'wrk.lua');
const PACED_LUA = path.join(ROOT, 'scripts', 'bench', 'wrk-paced.lua');
// Latency targets at 50 connections are read at the load a service is sized
// for: half of what the machine carries (the floor's throughput), so that one of
// two instances can take the other's traffic. Each connection pauses between a
// reply and its next request (exponentially distributed, mean `think` ms).
const SIZED_SHARE = 0.5;

log(chalk.bold(`DwayBank benchmark (${quick ? 'quick' : 'full'}, ${D} s per scenario)`));
const db = await benchDatabase({ fresh: Boolean(argv.fresh), migrate: Boolean(argv.migrate) });
const su = new pg.Client({ connectionString: db.urls.superuser });
await su.connect();
const sql = (text, params) => su.query(text, params);
let services;
const results = { scenarios: [], sizes: [], targets: [] };
// Scheduled maintenance (pg_cron: sealing, session cleanup, report refresh) is
// paused while measuring, so its bursts over a freshly generated data set do
// not land in one scenario and not another; resumed at the end.
const paused = (await sql(`select to_regclass('cron.job') is not null as c`)).rows[0].c
  ? (await sql(`update cron.job set active = false where jobname like 'dwaybank:%' and active returning jobid`)).rows.map((r) => r.jobid)
  : [];
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

try {
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
  const G = services.gatewayUrl, P = services.postgrestUrl;

  // Scenarios measured in interleaved rounds report the median of their rounds.
  const rounds = quick ? 2 : 3;
  const combine = (runs, name) => ({ ...runs[0], name, rps: median(runs.map((a) => a.rps)), p50_ms: median(runs.map((a) => a.p50_ms)),
    p95_ms: median(runs.map((a) => a.p95_ms)), p99_ms: median(runs.map((a) => a.p99_ms)), errors: runs.reduce((n, a) => n + a.errors, 0),
    requests: runs.reduce((n, a) => n + a.requests, 0), duration_s: runs.reduce((n, a) => n + a.duration_s, 0), rounds: runs.length,
    rounds_p99: `${runs.map((a) => a.p99_ms.toFixed(1)).join(', ')} ms` });

  const measureSize = async (label) => {
    const tokens = await loginTokens(G, 50, 1);   // users with a KYC record (i % 10 = 1)
    const tf = writeLines('tokens', tokens.map((t) => t.access_token));
    // The floor right before the scenarios it is the floor of, so both see the same machine.
    const f = await wrk('PostgREST floor: /rpc/bench_noop', P, '/rpc/bench_noop', { mode: 'bearer', lines: tf, c: 50, d: D });
    const s = await wrk('session validation: /rpc/me', P, '/rpc/me', { mode: 'bearer', lines: tf, c: 50, d: D });
    const k = await wrk('KYC status: /rpc/get_user_latest_kyc', P, '/rpc/get_user_latest_kyc', { mode: 'bearer', lines: tf, c: 50, d: D });
    const think = Math.round((50 / (SIZED_SHARE * f.rps)) * 1000);
    // The p99 targets: rounds, alternating, the median of their p99s (one 100 ms stall of the
    // machine moves one round's tail, not the median).
    const [spRounds, kpRounds] = await alternate(rounds,
      (r) => wrk(`session validation, 50 connections, ${think} ms pauses, round ${r}`, P, '/rpc/me', { mode: 'bearer', lines: tf, c: 50, d: Math.max(3, D / 2), think }),
      (r) => wrk(`KYC status, 50 connections, ${think} ms pauses, round ${r}`, P, '/rpc/get_user_latest_kyc', { mode: 'bearer', lines: tf, c: 50, d: Math.max(3, D / 2), think }));
    const sp = combine(spRounds, `session validation, 50 connections, ${think} ms pauses`);
    const kp = combine(kpRounds, `KYC status, 50 connections, ${think} ms pauses`);
    results.sizes.push({ users: await countBenchUsers(su), label, floor: f, session: s, kyc: k, session_sized: sp, kyc_sized: kp });
    return { tokens, tf, f, s, k, sp, kp };
  };

  if (!quick && users === small && want > small) {
    log(chalk.bold(`\n== at ${small.toLocaleString()} users (for the growth comparison)`));
    await measureSize('small');
  }
  if (users < want) {
    await loadData({ users: want, connectionString: db.urls.superuser, log });
    users = want;
  }
  const dataset = await datasetFacts();
  log(chalk.bold(`\n== at ${users.toLocaleString()} users`));

  // ------------------------------------------------------------ baselines
  const { tokens, tf, f: authNoop, s: session, k: kyc, sp: sessionSized, kp: kycSized } = await measureSize('main');
  const claims = tokens.map((t) => JSON.parse(Buffer.from(t.access_token.split('.')[1], 'base64url').toString()));
  await sql(`drop table if exists bench.claims; create table bench.claims (n integer primary key, claims text not null)`);
  await sql(`insert into bench.claims select n - 1, c from unnest($1::text[]) with ordinality u(c, n)`, [claims.map((c) => JSON.stringify(c))]);
  await sql(`grant usage on schema bench to authenticated; grant select on bench.claims to authenticated`);

  const pgNoop = await pgbench('database floor: select 1 (pgbench)', `select 1;\n`, { c: 50, d: D });
  // What PostgREST runs for a signed-in request: the claims, the role, the pre-request check, the call.
  const asCustomer = (call) => `\\set s random(0, ${tokens.length - 1})
begin;
select set_config('request.jwt.claims', c.claims, true) from bench.claims c where c.n = :s;
set local role authenticated;
select app.check_request();
select * from ${call};
commit;
`;
  const pgSession = await pgbench('database: session check + me() (pgbench)', asCustomer('api.me()'), { c: 50, d: D });
  const pgKyc = await pgbench('database: KYC status (pgbench)', asCustomer('api.get_user_latest_kyc()'), { c: 50, d: D });
  const salt = (await sql(`select extensions.gen_salt('bf', app_private.bcrypt_cost()) as s, app_private.bcrypt_cost() as cost`)).rows[0];
  const cores = os.cpus().length;
  const bcrypt = await pgbench(`bcrypt limit: crypt() at cost ${salt.cost} on ${cores} cores (pgbench)`,
    `select extensions.crypt('bench password input of sixty-four characters, like a SHA-384 b64', '${salt.s}');\n`,
    { c: cores, d: D, protocol: 'simple' });  // crypt() is immutable: a prepared plan would fold it once

  // --------------------------------------------------- sign-in (cost 12)
  const signinBodies = [];
  for (let i = 2; signinBodies.length < 2000 && i < users; i += 5) signinBodies.push(JSON.stringify({ email: `user${i}@${BENCH_DOMAIN}`, password: `bench password ${i % 4}` }));
  const signin = await wrk(`sign-in, bcrypt cost ${salt.cost}`, G, '/auth/login', { mode: 'body', lines: writeLines('signin', signinBodies), c: 2 * cores, d: Math.max(D, 6) });

  // ---------------------------------------------------------------- audit
  const historyScript = `\\set u random(0, ${users - 1})
select * from audit.audit_log a where a.subject_user_id = ${benchUuid("'bench-user-' || :u")} order by a.occurred_at desc limit 50;
`;
  // After a restart of PostgreSQL the trail's index pages are cold: throughput climbs
  // threefold over the first 15 s. A warm-up run, not counted, measures the steady state.
  await pgbench('audit history (warm-up, not counted)', historyScript, { c: 8, d: Math.max(3, D) });
  // Rounds, each with its own p99: a few seconds of the machine's noise move one
  // round's tail, not the median of three.
  const [historyRounds] = await alternate(rounds,
    (r) => pgbench(`audit history of one user, 50 newest (round ${r})`, historyScript, { c: 8, d: Math.max(2, D / 2) }));
  const auditHistory = combine(historyRounds, 'audit history of one user, 50 newest (pgbench)');
  await sql(`drop table if exists bench.users_tracked, bench.users_plain`);
  for (const t of ['users_tracked', 'users_plain']) {
    await sql(`create table bench.${t} (like app.users including defaults including constraints including indexes)`);
    await sql(`insert into bench.${t} select * from app.users where id in (select ${benchUuid("'bench-user-' || i")} from generate_series(0, 99999) i)`);
    await sql(`create trigger _100_timestamps before insert or update on bench.${t} for each row execute function app.tg__timestamps()`);
  }
  await sql(`select audit.enable_tracking('bench.users_tracked', 'id', pii_columns => '{email,phone,first_name,last_name,date_of_birth,last_login_ip,last_login_user_agent}')`);
  await sql(`analyze bench.users_tracked; analyze bench.users_plain`);
  // A sign-in's update of a user row: its timestamps and counter always change; the
  // address usually stays the same (`same`), or changes every time (`moving`, so a
  // PII column is fingerprinted on both sides of every entry).
  const upd = (t, ip) => `\\set u random(0, 99999)
update bench.${t} set last_login_at = now(), failed_login_attempts = failed_login_attempts + 1, last_login_ip = ${ip} where id = ${benchUuid("'bench-user-' || :u")};
`;
  const sameIp = `'10.9.8.7'`, movingIp = `('10.9.' || (:u % 250) || '.' || (random() * 250)::int)::inet`;
  // Warm-up, not measured: the first touch of each freshly copied page (hint bits,
  // full-page WAL images, non-HOT updates) would land on whichever table runs first.
  for (const t of ['users_tracked', 'users_plain']) await sql(`update bench.${t} set last_login_ip = '10.9.8.7', failed_login_attempts = 0`);
  for (const t of ['users_tracked', 'users_plain']) await sql(`vacuum analyze bench.${t}`);  // one statement each: VACUUM runs outside a transaction block
  // Interleaved, so noise hits both alike.
  const [audited, plain] = await alternate(rounds,
    (r) => pgbench(`audited update (pgbench, round ${r})`, upd('users_tracked', sameIp), { c: cores, d: Math.max(2, D / 2) }),
    (r) => pgbench(`unaudited update (pgbench, round ${r})`, upd('users_plain', sameIp), { c: cores, d: Math.max(2, D / 2) }));
  const [auditedMoving, plainMoving] = await alternate(2,
    (r) => pgbench(`audited update, new address each time (round ${r})`, upd('users_tracked', movingIp), { c: cores, d: Math.max(2, D / 2) }),
    (r) => pgbench(`unaudited update, new address each time (round ${r})`, upd('users_plain', movingIp), { c: cores, d: Math.max(2, D / 2) }));
  await sql(`delete from audit.tracked_tables where table_oid = 'bench.users_tracked'::regclass`);

  // ------------------------------------------------ the gateway at cost 4
  // Sign-in's own work (everything but bcrypt), refresh and MFA: the gateway's
  // connections run with bcrypt cost 4 and users whose hashes have cost 4.
  const fastHash = (await sql(`select extensions.crypt(app_private.password_input('bench fast password'), extensions.gen_salt('bf', 4)) as h`)).rows[0].h;
  const mfaUsers = quick ? 1600 : 4400;  // two runs; each must not run out of single-use tokens
  await ensureFastUsers(fastHash, 400, mfaUsers);
  const gwUrl = new URL(db.urls.gateway);
  gwUrl.searchParams.set('options', '-c dwaybank.bcrypt_cost=4');
  await services.restartGateway({ GATEWAY_DATABASE_URL: gwUrl.toString() });
  const fastBodies = Array.from({ length: 400 }, (_, i) => JSON.stringify({ email: `fast${i}@fast.${BENCH_DOMAIN}`, password: 'bench fast password' }));
  // The gateway was just restarted: its first requests open connections and
  // compile the sign-in's functions in them. A warm-up run, not counted.
  await wrk('sign-in (warm-up, not counted)', G, '/auth/login', { mode: 'body', lines: writeLines('fast', fastBodies), c: 1, d: 3, quiet: true });
  // Own work: each round one client's sign-ins, then the one bcrypt hash a cost-4
  // sign-in computes (to take out of its time), measured right after on the same
  // machine; the median of the rounds' differences.
  const salt4 = (await sql(`select extensions.gen_salt('bf', 4) as s`)).rows[0].s;
  const roundTrip = await pgbench('database round trip, one client (pgbench)', `select 1;\n`, { c: 1, d: 2, protocol: 'simple' });
  const [signinRounds, hashRounds] = await alternate(rounds,
    (r) => wrk(`sign-in, bcrypt cost 4 (own work), 1 connection, round ${r}`, G, '/auth/login',
      { mode: 'body', lines: writeLines('fast', fastBodies), c: 1, d: Math.max(3, D / 2) }),
    (r) => pgbench(`bcrypt at cost 4, one hash at a time (round ${r})`,
      `select extensions.crypt('bench password input of sixty-four characters, like a SHA-384 b64', '${salt4}');\n`,
      { c: 1, d: 2, protocol: 'simple' }));
  // Each round's sign-in less the hash measured right after it (the hash alone, without pgbench's round trip).
  const ownRounds = signinRounds.map((s, i) => s.p50_ms - (hashRounds[i].p50_ms - roundTrip.p50_ms));
  const signinFast = combine(signinRounds, 'sign-in, bcrypt cost 4 (own work), 1 connection');
  const bcrypt4 = combine(hashRounds, 'bcrypt at cost 4, one hash at a time (pgbench)');
  const hash4 = bcrypt4.p50_ms - roundTrip.p50_ms;
  const ownWork = median(ownRounds);
  const signinFastC = await wrk('sign-in, bcrypt cost 4, 20 connections', G, '/auth/login', { mode: 'body', lines: writeLines('fast', fastBodies), c: 20, d: D });

  // Latency targets are read at light load (2 connections per core); the same
  // scenario at 20 connections shows throughput. Each run gets its own refresh
  // tokens (a reused token would end its session) and its own MFA users (a TOTP
  // step is accepted once per factor).
  const lightC = 2 * cores;
  const refreshSet = async (from) => {
    const out = [];
    for (let i = from; i < from + 200; i += 20) {
      const rs = await Promise.all(fastBodies.slice(i, i + 20).map((b) => post(G, '/auth/login', JSON.parse(b))));
      for (const r of rs) if (r.refresh_token) out.push(r.refresh_token);
    }
    return writeLines('refresh', out);
  };
  const refreshLight = await wrk(`token refresh, ${lightC} connections`, G, '/auth/token/refresh', { mode: 'refresh', lines: await refreshSet(0), c: lightC, d: D });
  const refresh = await wrk('token refresh, 20 connections', G, '/auth/token/refresh', { mode: 'refresh', lines: await refreshSet(200), c: 20, d: D });

  const mfaLight = await mfaScenario(G, { offset: 0, n: mfaUsers / 2, c: lightC });
  const mfa = await mfaScenario(G, { offset: mfaUsers / 2, n: mfaUsers / 2, c: 20 });

  // ---------------------------------------------- 1000 connections, recovery
  const invalid = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ refresh_token: `not-a-token-${i}-${crypto.randomBytes(8).toString('hex')}` }));
  const flood = {};
  for (const [name, url, p, opts] of [
    ['PostgREST', P, '/rpc/me', { mode: 'bearer', lines: tf }],
    // An unknown refresh token: a database lookup, answered 401 (expected, not an error).
    ['gateway', G, '/auth/token/refresh', { mode: 'body', lines: writeLines('invalid', invalid), expect4xx: true }],
  ]) {
    const before = await wrk(`${name}: 10 connections before`, url, p, { ...opts, c: 10, d: 2, quiet: true });
    const storm = await wrk(`${name}: 1000 connections`, url, p, { ...opts, c: 1000, d: Math.max(D, 5), timeout: '30s' });
    const after = await wrk(`${name}: 10 connections right after`, url, p, { ...opts, c: 10, d: 2 });
    flood[name] = { before, storm, after };
  }

  // ---------------------------------------------------------------- report
  const ratio = (a, b) => (b?.rps ? a.rps / b.rps : null);
  const add = (s, baseline) => results.scenarios.push({ ...s, baseline: baseline?.name ?? null, ratio: baseline ? ratio(s, baseline) : null });
  add(authNoop); add(pgNoop); add(pgSession, pgNoop); add(pgKyc, pgNoop); add(bcrypt);
  add(session, authNoop); add(kyc, authNoop); add(sessionSized, authNoop); add(kycSized, authNoop);
  add(signin, bcrypt); add(signinFast); add(signinFastC); add(bcrypt4); add(roundTrip);
  add(refreshLight); add(refresh); add(mfaLight); add(mfa);
  add(auditHistory, pgNoop);
  // Each round's ratio (unaudited / audited throughput, back to back); the median of the rounds.
  const auditCost = (a, p) => median(a.map((x, i) => p[i].rps / x.rps));
  const auditRatio = auditCost(audited, plain), auditRatioMoving = auditCost(auditedMoving, plainMoving);
  results.scenarios.push({ ...combine(audited, 'audited update (pgbench)'), baseline: 'unaudited update (pgbench)', ratio: 1 / auditRatio });
  add(combine(plain, 'unaudited update (pgbench)'));
  results.scenarios.push({ ...combine(auditedMoving, 'audited update, new address each time (pgbench)'),
    baseline: 'unaudited update, new address each time (pgbench)', ratio: 1 / auditRatioMoving });
  add(combine(plainMoving, 'unaudited update, new address each time (pgbench)'));
  for (const f of Object.values(flood)) { add(f.storm); add(f.after, f.before); }

  // Growth is judged only between sizes measured in the same run: between runs this
  // machine's speed moves by a third. Another run's 100,000-user figures are shown, not judged.
  const smallHere = results.sizes.find((s) => s.label === 'small');
  const smallBefore = smallHere ? null : previousSize(small);
  const T = (name, value, threshold, pass, unit = '') => results.targets.push({ name, value, threshold, unit, pass });
  T('session validation throughput / PostgREST floor (50 connections)', ratio(session, authNoop), '≥ 0.70', ratio(session, authNoop) >= 0.7);
  const sized = (x) => `50 connections at ${Math.round(100 * x.rps / authNoop.rps)}% of the floor's throughput`;
  T(`session validation p99 (${sized(sessionSized)}; median of ${rounds} rounds: ${sessionSized.rounds_p99})`, sessionSized.p99_ms, '≤ 25 ms', sessionSized.p99_ms <= 25 && sessionSized.errors === 0, 'ms');
  T(`sign-in throughput / bcrypt limit (cost ${salt.cost})`, ratio(signin, bcrypt), '≥ 0.85', ratio(signin, bcrypt) >= 0.85);
  T(`sign-in own work excluding bcrypt, p50 (median of ${rounds} rounds of p50 at cost 4 less its one cost-4 hash, ${f2ms(hash4)}: ${ownRounds.map((x) => x.toFixed(2)).join(', ')} ms)`, ownWork, '≤ 5 ms', ownWork <= 5, 'ms');
  T(`MFA verification p99 (${lightC} connections)`, mfaLight.p99_ms, '≤ 50 ms', mfaLight.p99_ms <= 50 && mfaLight.errors === 0, 'ms');
  T(`KYC status p99 (${sized(kycSized)}; median of ${rounds} rounds: ${kycSized.rounds_p99})`, kycSized.p99_ms, '≤ 25 ms', kycSized.p99_ms <= 25 && kycSized.errors === 0, 'ms');
  T(`token refresh p99 (${lightC} connections)`, refreshLight.p99_ms, '≤ 25 ms', refreshLight.p99_ms <= 25 && refreshLight.errors === 0, 'ms');
  // Without pauses, 50 connections saturate the machine: each request waits for
  // the others (mean latency = 50 / throughput), whatever the endpoint does.
  for (const [name, x] of [['PostgREST floor', authNoop], ['session validation', session], ['KYC status', kyc]]) {
    results.targets.push({ name: `${name} p99 at 50 connections without pauses (saturated: mean latency = 50 / throughput)`, value: x.p99_ms,
      threshold: 'reported', unit: 'ms', pass: null, note: 'informational' });
  }
  for (const [name, f] of Object.entries(flood)) {
    const bad = f.storm.socket_errors + f.storm.fivexx;
    T(`1000 connections to ${name}: socket errors + 5xx (503/504 backpressure allowed: ${f.storm.backpressure})`, bad, '= 0', bad === 0);
    const recovered = f.after.errors === 0 && f.after.p50_ms <= Math.max(5, 3 * f.before.p50_ms);
    T(`${name} right after: errors, p50 vs before (${f.before.p50_ms.toFixed(1)} ms)`, f.after.p50_ms, 'no errors, p50 ≤ 3× before', recovered, 'ms');
  }
  T(`audited update cost / unaudited (pgbench, same run, median of ${rounds} rounds)`, auditRatio, '≤ 1.5', auditRatio <= 1.5);
  results.targets.push({ name: 'audited update cost / unaudited when the address changes every time (PII fingerprinted on both sides)',
    value: auditRatioMoving, threshold: 'reported', unit: '', pass: null, note: 'informational' });
  T(`one user's audit history p99 (${dataset.audit_entries.toLocaleString()} entries; median of ${rounds} rounds: ${historyRounds.map((x) => x.p99_ms.toFixed(1)).join(', ')} ms)`, auditHistory.p99_ms, '≤ 10 ms', auditHistory.p99_ms <= 10, 'ms');
  const g = (a, b) => b / a - 1;
  if (smallHere && users > small) {
    const sg = g(smallHere.session.p50_ms, session.p50_ms), kg = g(smallHere.kyc.p50_ms, kyc.p50_ms);
    T(`session validation p50 growth ${small.toLocaleString()} → ${users.toLocaleString()} users`, sg, '< +20%', sg < 0.2, 'ratio');
    T(`KYC status p50 growth ${small.toLocaleString()} → ${users.toLocaleString()} users`, kg, '< +20%', kg < 0.2, 'ratio');
  } else if (smallBefore && users > small) {
    for (const [name, before, now] of [['session validation', smallBefore.size.session, session], ['KYC status', smallBefore.size.kyc, kyc]]) {
      results.targets.push({ name: `${name} p50 growth ${small.toLocaleString()} → ${users.toLocaleString()} users against another run (${smallBefore.file}; judged only within one run: \`--fresh\`)`,
        value: g(before.p50_ms, now.p50_ms), threshold: '< +20%', unit: 'ratio', pass: null, note: 'informational' });
    }
  } else {
    results.targets.push({ name: 'flat growth 100,000 → 1,000,000 users', value: null, threshold: '< +20%', pass: null, note: 'needs a run from scratch (--fresh)' });
  }

  const meta = {
    date: new Date().toISOString(), quick, duration_s: D, users, dataset, elapsed_s: Math.round((Date.now() - t0) / 1000),
    machine: await machine(),
  };
  const files = writeReport(path.join(ROOT, 'bench', 'results'), { ...meta, ...results });
  writeChart(path.join(ROOT, 'bench', 'results'), files.stem);
  log(`\nwritten: ${Object.values(files.paths).map((p) => path.relative(ROOT, p)).join(', ')}`);
} finally {
  await services?.stop();
  await su.query(`delete from audit.tracked_tables where table_oid::text like 'bench.%'`).catch(() => {});
  await su.query(`drop function if exists api.bench_noop(); drop schema if exists bench cascade`).catch(() => {});
  if (paused.length) await su.query(`update cron.job set active = true where jobid = any ($1::bigint[])`, [paused]).catch(() => {});
  await su.end();
  await db.stopPg();
  fs.rmSync(work, { recursive: true, force: true });
  log(chalk.dim(`(${Math.round((Date.now() - t0) / 1000)} s)`));
}

// ------------------------------------------------------------------ helpers
function f2ms(x) { return `${x.toFixed(2)} ms`; }
function median(a) { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; }

/** `n` rounds of the given measurements, one after another in each round; the results of each, in round order. */
async function alternate(n, ...measures) {
  const out = measures.map(() => []);
  for (let r = 1; r <= n; r++) for (const [i, measure] of measures.entries()) out[i].push(await measure(r));
  return out;
}

function writeLines(name, lines) {
  const f = path.join(work, `${name}-${crypto.randomBytes(4).toString('hex')}.txt`);
  fs.writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

async function post(base, p, body, headers = {}) {
  const r = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) j._status = r.status;
  return j;
}

/** Access tokens of generated users i = 10k + rem (i % 10 = rem), signed in through the gateway. */
async function loginTokens(G, n, rem) {
  const out = [], failures = [];
  for (let k = 0; out.length < n && k < n * 3; k += 8) {
    const batch = Array.from({ length: 8 }, (_, j) => 10 * (k + j) + rem);
    const rs = await Promise.all(batch.map((i) => post(G, '/auth/login', { email: `user${i}@${BENCH_DOMAIN}`, password: `bench password ${i % 4}` })));
    for (const r of rs) if (r.access_token) out.push(r); else failures.push(r);
  }
  if (out.length < n) throw new Error(`could sign in only ${out.length} of ${n} bench users: ${JSON.stringify(failures.slice(0, 3))}`);
  return out.slice(0, n);
}

async function wrk(name, base, p, { mode, lines, method = 'POST', c, d, once = false, timeout = '10s', quiet = false, expect4xx = false, think = 0 }) {
  const m = mode === 'bearer' || method === 'GET' ? 'GET' : method;
  const threads = Math.min(2, c);
  const cmd = `ulimit -n 20000; exec ${WRK} -t${threads} -c${c} -d${d}s --timeout ${timeout} -s ${think ? PACED_LUA : LUA} ${base}${p} -- ${lines} ${mode} ${p} ${m} ${once ? 1 : 0} ${threads} ${think}`;
  const r = await $({ nothrow: true })`sh -c ${cmd}`;
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk failed for ${name}: ${r.stderr || r.stdout}`);
  const j = JSON.parse(line.slice(8));
  const s = {
    name, tool: 'wrk', concurrency: c, duration_s: j.duration_us / 1e6, requests: j.requests,
    rps: j.requests / (j.duration_us / 1e6), p50_ms: j.p50_us / 1000, p95_ms: j.p95_us / 1000, p99_ms: j.p99_us / 1000,
    socket_errors: j.connect_errors + j.read_errors + j.write_errors + j.timeouts,
    fivexx: j.fivexx, backpressure: j.backpressure, fourxx: j.fourxx, exhausted: j.exhausted, status_codes: j.codes,
  };
  // With `once`, a thread whose list ran out sends one last request with a used
  // line before it stops (wrk cannot skip a request): that 4xx is not an error.
  const tail4xx = once ? Math.min(s.fourxx, s.exhausted) : 0;
  s.errors = s.socket_errors + s.fivexx + s.backpressure + (expect4xx ? 0 : s.fourxx - tail4xx);
  if (!quiet) printRow(s);
  return s;
}

async function pgbench(name, script, { c, d, protocol = 'prepared' }) {
  const f = writeLines('pgbench', [script]);
  const prefix = path.join(work, `pgb-${crypto.randomBytes(4).toString('hex')}`);
  const j = Math.min(c, 2);
  const r = await $({ nothrow: true, cwd: work })`${path.join(db.bin, 'pgbench')} -n -c ${c} -j ${j} -T ${d} -M ${protocol} -f ${f} -l --log-prefix=${prefix} ${db.urls.superuser}`;
  if (r.exitCode !== 0 && !/number of transactions actually processed/.test(r.stdout)) throw new Error(`pgbench failed for ${name}: ${r.stderr}`);
  const lat = [];
  for (const lf of fs.readdirSync(work).filter((x) => x.startsWith(path.basename(prefix)))) {
    for (const l of fs.readFileSync(path.join(work, lf), 'utf8').split('\n')) {
      const parts = l.split(' ');
      if (parts.length >= 3) lat.push(Number(parts[2]) / 1000);
    }
    fs.rmSync(path.join(work, lf));
  }
  lat.sort((a, b) => a - b);
  const pct = (q) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] : NaN);
  const tps = Number(/tps = ([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const s = { name, tool: 'pgbench', concurrency: c, duration_s: d, requests: lat.length, rps: tps, p50_ms: pct(0.5), p95_ms: pct(0.95), p99_ms: pct(0.99), errors: failed };
  printRow(s);
  return s;
}

function printRow(s) {
  log(`  ${s.name.padEnd(58)} c=${String(s.concurrency).padStart(4)} ${s.rps.toFixed(0).padStart(7)}/s  p50 ${s.p50_ms.toFixed(2).padStart(7)}  p95 ${s.p95_ms.toFixed(2).padStart(7)}  p99 ${s.p99_ms.toFixed(2).padStart(7)} ms  errors ${s.errors}`);
}

async function datasetFacts() {
  const n = async (q) => Number((await sql(q)).rows[0].n);
  const hasKyc = (await sql(`select to_regclass('app.kyc_records') is not null as k`)).rows[0].k;
  const size = async (rel) => Number((await sql(`select coalesce(sum(pg_total_relation_size(c.oid)), 0) as n from pg_class c
     where c.oid = '${rel}'::regclass or c.oid in (select inhrelid from pg_inherits where inhparent = '${rel}'::regclass)`)).rows[0].n);
  const f = {
    users: await n(`select count(*) as n from app.users`),
    sessions: await n(`select reltuples::bigint as n from pg_class where oid = 'app.user_sessions'::regclass`),
    active_sessions: await n(`select count(*) as n from app.user_sessions where revoked_at is null`),
    mfa_configs: await n(`select count(*) as n from app.mfa_configs`),
    kyc_records: hasKyc ? await n(`select count(*) as n from app.kyc_records`) : 0,
    kyc_documents: hasKyc ? await n(`select count(*) as n from app.kyc_documents`) : 0,
    kyc_checks: hasKyc ? await n(`select count(*) as n from app.kyc_compliance_checks`) : 0,
    audit_entries: await n(`select sum(reltuples)::bigint as n from pg_class where oid in (select inhrelid from pg_inherits where inhparent = 'audit.audit_log'::regclass)`),
    bytes: {
      users: await size('app.users') + await size('app_private.user_secrets'),
      sessions: await size('app.user_sessions') + await size('app_private.refresh_tokens'),
      mfa: await size('app.mfa_configs') + await size('app_private.mfa_secrets'),
      kyc: hasKyc ? await size('app.kyc_records') + await size('app.kyc_documents') + await size('app.kyc_compliance_checks') : 0,
      audit: await size('audit.audit_log'),
      database: await n(`select pg_database_size(current_database()) as n`),
    },
  };
  f.bytes_per_user = Math.round(f.bytes.users / f.users);
  f.bytes_per_session = Math.round(f.bytes.sessions / f.sessions);
  f.bytes_per_audit_entry = Math.round(f.bytes.audit / f.audit_entries);
  f.bytes_per_kyc_record = f.kyc_records ? Math.round(f.bytes.kyc / f.kyc_records) : null;
  return f;
}

/** Users for the cost-4 phase: `fast*` (no MFA) and `mfa*` with TOTP, secrets sealed with the gateway's key. */
async function ensureFastUsers(hash, nFast, nMfa) {
  await sql(`set session_replication_role = replica`);
  try {
    await sql(`insert into app.users (id, email, first_name, last_name)
      select ${benchUuid("'bench-fast-' || i")}, 'fast' || i || '@fast.${BENCH_DOMAIN}', 'Fast', 'User' from generate_series(0, $1::int - 1) i
      on conflict do nothing`, [nFast]);
    await sql(`insert into app.users (id, email, first_name, last_name)
      select ${benchUuid("'bench-mfa-user-' || i")}, 'mfa' || i || '@mfa.${BENCH_DOMAIN}', 'Mfa', 'User' from generate_series(0, $1::int - 1) i
      on conflict do nothing`, [nMfa]);
    await sql(`insert into app_private.user_secrets (user_id, password_hash)
      select id, $1 from app.users where email like '%@fast.${BENCH_DOMAIN}' or email like '%@mfa.${BENCH_DOMAIN}'
      on conflict (user_id) do update set password_hash = excluded.password_hash`, [hash]);
    // Each run starts from the same history: the sessions and device cookies earlier runs left behind go.
    const fast = `select id from app.users where email like '%@fast.${BENCH_DOMAIN}' or email like '%@mfa.${BENCH_DOMAIN}'`;
    await sql(`delete from app_private.device_cookies where user_id in (${fast})`);
    // (Foreign-key cascades are off in this block: the rows that reference a session go first.)
    await sql(`delete from app_private.refresh_tokens t using app.user_sessions s where t.session_id = s.id and s.user_id in (${fast})`);
    await sql(`delete from app_private.webauthn_challenges c using app.user_sessions s where c.session_id = s.id and s.user_id in (${fast})`);
    await sql(`delete from app.user_sessions where user_id in (${fast})`);
    await sql(`update app.users set failed_login_attempts = 0, locked_until = null
      where (email like '%@fast.${BENCH_DOMAIN}' or email like '%@mfa.${BENCH_DOMAIN}') and (failed_login_attempts > 0 or locked_until is not null)`);
    await sql(`update app.mfa_configs c set last_used_step = null from app.users u
      where u.id = c.user_id and u.email like '%@mfa.${BENCH_DOMAIN}' and c.last_used_step is not null`);
  } finally {
    await sql(`set session_replication_role = origin`);
  }
  // Factors through ordinary inserts (audited, cascades on): few enough.
  // TOTP secrets, sealed as the gateway seals them (gateway/src/mfa/crypto.ts).
  const keys = JSON.parse(fs.readFileSync(path.join(db.cfg.dataDir, 'keys', 'mfa-keys.json'), 'utf8'));
  const kid = Object.keys(keys).sort().at(-1);
  const key = Buffer.from(keys[kid], 'base64');
  const ids = [], secrets = [], sealed = [];
  const have = (await sql(`select u.id from app.users u join app.mfa_configs c on c.user_id = u.id and c.method = 'totp'
    where u.email like '%@mfa.${BENCH_DOMAIN}'`)).rows.map((r) => r.id);
  const haveSet = new Set(have);
  const secretFile = path.join(db.cfg.dataDir, 'bench-totp-secrets.json');
  const known = fs.existsSync(secretFile) ? JSON.parse(fs.readFileSync(secretFile, 'utf8')) : {};
  const all = (await sql(`select id from app.users where email like '%@mfa.${BENCH_DOMAIN}'`)).rows.map((r) => r.id);
  for (const id of all) {
    if (haveSet.has(id) && known[id]) continue;
    const secret = generateSecret({ length: 20 });
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`totp:${id}`));
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    ids.push(id); secrets.push(secret);
    sealed.push(['v1', kid, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.'));
    known[id] = secret;
  }
  if (ids.length) {
    await sql(`delete from app.mfa_configs where user_id = any ($1::uuid[])`, [ids]);
    await sql(`with c as (
        insert into app.mfa_configs (user_id, method, status, label, confirmed_at)
        select u, 'totp', 'active', 'Bench', now() from unnest($1::uuid[]) u returning id, user_id)
      insert into app_private.mfa_secrets (config_id, ciphertext, key_id)
      select c.id, s.sealed, $3 from c join unnest($1::uuid[], $2::text[]) s(u, sealed) on s.u = c.user_id`, [ids, sealed, kid]);
    fs.writeFileSync(secretFile, JSON.stringify(known), { mode: 0o600 });
  }
  await sql(`analyze app.users; analyze app.mfa_configs`);
  return known;
}

/** TOTP verification: each request its own user, mfa_token and current code. */
async function mfaScenario(G, { offset, n, c }) {
  const known = JSON.parse(fs.readFileSync(path.join(db.cfg.dataDir, 'bench-totp-secrets.json'), 'utf8'));
  const users = (await sql(`select id, email from app.users where email like '%@mfa.${BENCH_DOMAIN}' order by email offset $1 limit $2`, [offset, n])).rows;
  const tokens = [];
  const started = Date.now();
  for (let i = 0; i < users.length; i += 16) {
    const rs = await Promise.all(users.slice(i, i + 16).map((u) => post(G, '/auth/login', { email: u.email, password: 'bench fast password' })
      .then((r) => ({ u, r }))));
    for (const { u, r } of rs) if (r.mfa_token) tokens.push({ id: u.id, mfa_token: r.mfa_token });
  }
  log(chalk.dim(`  (${tokens.length} mfa_tokens from sign-ins in ${((Date.now() - started) / 1000).toFixed(0)} s)`));
  // Codes of the current time step: accepted for this step and the next (one step of drift).
  const epoch = Math.floor(Date.now() / 1000);
  const bodies = tokens.map((t) => JSON.stringify({ mfa_token: t.mfa_token, method: 'totp',
    code: generateSync({ secret: known[t.id], epoch, digits: 6, period: 30, algorithm: 'sha1' }) }));
  const d = Math.min(D, 10);
  return wrk(`MFA verification (TOTP), ${c} connections`, G, '/auth/mfa/verify', { mode: 'body', lines: writeLines('mfa', bodies), c, d, once: true });
}

function previousSize(users) {
  const dir = path.join(ROOT, 'bench', 'results');
  if (!fs.existsSync(dir)) return null;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().reverse();
  for (const f of files) {
    const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const s = (j.sizes ?? []).find((x) => Math.abs(x.users - users) / users < 0.05);
    if (s) return { size: s, file: f.replace(/\.json$/, '') };
  }
  return null;
}

async function machine() {
  const cpus = os.cpus();
  const pgv = (await sql(`select version() as v`)).rows[0].v;
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return { cpus: cpus.length, cpu_model: cpus[0]?.model, memory_gb: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`,
    node: process.version, postgres: pgv.split(',')[0], load_average_at_end: load };
}
