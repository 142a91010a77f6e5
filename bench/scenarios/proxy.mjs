// `npm run bench -- proxy`: 5,000 client connections through the proxy.
// The bench database served the production way (scripts/lib/proxy.mjs): HAProxy in front
// of two gateways and two PostgRESTs, PgBouncer (transaction pooling) behind them. wrk
// opens 5,000 connections to PostgREST's /rpc/me (a session check and a read) and to
// the gateway's token refresh (unknown tokens: a database lookup, answered 401), with
// 10 connections before and right after. Target: 0 errors of any kind (socket errors,
// timeouts, any 5xx, 503 included) and the same latency right after as before.
// Ports: BENCH_PROXY_PORT (the servers take the next ones) and BENCH_PGBOUNCER_PORT; free ports otherwise.
import { argv, chalk, fs, path, sleep } from 'zx';
import os from 'node:os';
import pg from 'pg';
import { ROOT } from '../../scripts/lib/config.mjs';
import { startBehindProxy, behindProxyPorts, serverStates, proxyCommand } from '../../scripts/lib/proxy.mjs';
import { benchDatabase } from '../lib/stack.mjs';
import { measurer, post } from '../lib/measure.mjs';

const CONNECTIONS = Number(argv.connections ?? 5000);

const ports = () => behindProxyPorts({ instances: 2,
  base: Number.parseInt(process.env.BENCH_PROXY_PORT ?? '', 10) || null, pgbouncer: Number.parseInt(process.env.BENCH_PGBOUNCER_PORT ?? '', 10) || null });

/** The proxy's frontend: most connections open at once, and the most requests ever queued for a server. */
async function proxyFigures(socket) {
  const csv = await proxyCommand(socket, 'show stat');
  const rows = csv.split('\n').slice(1).map((l) => l.split(','));
  const frontend = rows.find((f) => f[0] === 'api' && f[1] === 'FRONTEND');
  const backends = rows.filter((f) => f[1] === 'BACKEND');
  return { max_client_connections: Number(frontend?.[5] ?? 0), max_queued: Math.max(0, ...backends.map((f) => Number(f[3] ?? 0))) };
}

export async function proxyScenario(ctx, { served, tokensFile, invalidFile }) {
  const { wrk, D } = ctx;
  const out = {};
  for (const [name, p, opts] of [
    ['PostgREST', '/rpc/me', { mode: 'bearer', lines: tokensFile }],
    ['gateway', '/auth/token/refresh', { mode: 'body', lines: invalidFile, expect4xx: true }],
  ]) {
    const before = await wrk(`${name} through the proxy: 10 connections before`, served.url, p, { ...opts, c: 10, d: 3 });
    // The database side while the storm runs: how many connections PostgreSQL ever saw.
    let maxBackends = 0, sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const n = Number((await ctx.sql(`select count(*) as n from pg_stat_activity where backend_type = 'client backend' and datname = current_database()`)).rows[0].n);
        maxBackends = Math.max(maxBackends, n);
        await sleep(250);
      }
    })();
    const storm = await wrk(`${name} through the proxy: ${CONNECTIONS.toLocaleString()} connections`, served.url, p, { ...opts, c: CONNECTIONS, d: Math.max(D, 10), timeout: '30s' });
    sampling = false;
    await sampler;
    const after = await wrk(`${name} through the proxy: 10 connections right after`, served.url, p, { ...opts, c: 10, d: 3 });
    out[name] = { before, storm, after, max_database_connections: maxBackends };
  }
  out.proxy = await proxyFigures(served.proxy.socket);
  return out;
}

/** Runs the scenario on the bench database, prints the figures, writes bench/results/<date>-proxy.{json,md}. */
export async function main() {
  const t0 = Date.now();
  const log = (...a) => console.log(...a);
  const D = Number(argv.duration ?? 10);
  log(chalk.bold(`DwayBank benchmark: ${CONNECTIONS.toLocaleString()} connections through the proxy (HAProxy, PgBouncer)`));
  const db = await benchDatabase({ migrate: Boolean(argv.migrate), log });
  const su = new pg.Client({ connectionString: db.urls.superuser });
  await su.connect();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dwaybank-bench-proxy-'));
  const ctx = { D, log, sql: (t, p) => su.query(t, p), ...measurer({ work, bin: db.bin, dbUrl: db.urls.superuser, log }) };
  let served;
  try {
    served = await startBehindProxy(db.cfg, { ports: await ports(), gatewayEnv: { LOG_LEVEL: 'warn' } });
    log(chalk.dim(`  proxy ${served.url}: ${JSON.stringify(await serverStates(served.proxy.socket))}`));
    // Users of this run, signed up and signed in through the proxy.
    const tokens = [];
    for (let i = 0; i < 16; i++) {
      const email = `proxy-bench-${Date.now()}-${i}@bench.example`, password = `proxy bench password ${i}`;
      const s = await post(served.url, '/auth/signup', { email, password });
      if (!s.user_id) throw new Error(`sign-up through the proxy failed: ${JSON.stringify(s)}`);
      const l = await post(served.url, '/auth/login', { email, password });
      if (!l.access_token) throw new Error(`sign-in through the proxy failed: ${JSON.stringify(l)}`);
      tokens.push(l.access_token);
    }
    const tokensFile = ctx.writeLines('tokens', tokens);
    const invalidFile = ctx.writeLines('invalid', Array.from({ length: 1000 }, (_, i) => JSON.stringify({ refresh_token: `not-a-token-${i}-${Math.random().toString(36).slice(2)}` })));
    const r = await proxyScenario(ctx, { served, tokensFile, invalidFile });

    const verdicts = [];
    log(chalk.bold('\n== figures'));
    for (const name of ['PostgREST', 'gateway']) {
      const { before, storm, after, max_database_connections } = r[name];
      const errors = storm.socket_errors + storm.fivexx + storm.backpressure;
      const recovered = after.requests > 0 && after.errors === 0 && after.p50_ms <= Math.max(2 * before.p50_ms, before.p50_ms + 5);
      verdicts.push(errors === 0 && recovered);
      log(`  ${name.padEnd(9)} ${CONNECTIONS} connections: ${storm.requests.toLocaleString()} requests, ${storm.rps.toFixed(0)}/s, ` +
        `errors ${errors} (socket ${storm.socket_errors}, 5xx ${storm.fivexx}, 503/504 ${storm.backpressure}), p50 ${storm.p50_ms.toFixed(0)} ms, p99 ${storm.p99_ms.toFixed(0)} ms; ` +
        `PostgreSQL connections at most ${max_database_connections}`);
      log(`  ${''.padEnd(9)} right after: p50 ${after.p50_ms.toFixed(2)} ms (before: ${before.p50_ms.toFixed(2)} ms), errors ${after.errors} → ${recovered ? chalk.green('recovered at once') : chalk.red('not recovered')}`);
    }
    log(`  proxy     ${r.proxy.max_client_connections.toLocaleString()} client connections open at once at most, ${r.proxy.max_queued.toLocaleString()} requests queued for a server at most`);
    const ok = verdicts.every(Boolean);
    log(ok ? chalk.green(`\n0 errors with ${CONNECTIONS.toLocaleString()} connections, recovered at once: pass`) : chalk.red('\nproxy target missed'));

    const stem = `${new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-proxy`;
    const dir = path.join(ROOT, 'bench', 'results');
    fs.writeFileSync(path.join(dir, `${stem}.json`), JSON.stringify({ date: new Date().toISOString(), connections: CONNECTIONS, duration_s: D, pass: ok, ...r }, null, 2) + '\n');
    const row = (s) => `| ${s.name} | ${s.concurrency} | ${s.requests} | ${s.rps.toFixed(0)} | ${s.p50_ms.toFixed(1)} | ${s.p99_ms.toFixed(1)} | ${s.socket_errors} | ${s.fivexx} | ${s.backpressure} |`;
    fs.writeFileSync(path.join(dir, `${stem}.md`), [
      `# ${CONNECTIONS.toLocaleString()} connections through the proxy (${new Date().toISOString()})`, '',
      'HAProxy 2.6 in front of two gateways and two PostgRESTs, PgBouncer 1.18 (transaction pooling) behind them (`npm run bench -- proxy`).', '',
      '| scenario | connections | requests | req/s | p50 ms | p99 ms | socket errors | 5xx | 503/504 |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...['PostgREST', 'gateway'].flatMap((n) => [row(r[n].before), row(r[n].storm), row(r[n].after)]), '',
      `PostgreSQL connections at most: PostgREST storm ${r.PostgREST.max_database_connections}, gateway storm ${r.gateway.max_database_connections}. ` +
      `Proxy: ${r.proxy.max_client_connections} client connections at once, ${r.proxy.max_queued} requests queued at most. Result: ${ok ? 'pass' : 'fail'}.`, '',
    ].join('\n'));
    log(`\nwritten: bench/results/${stem}.json, .md (${Math.round((Date.now() - t0) / 1000)} s)`);
    return ok;
  } finally {
    await served?.stop();
    await su.end();
    await db.stopPg();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
