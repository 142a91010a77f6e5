// The bench's measuring tools: wrk over HTTP (bench/lua/), pgbench against the
// database, and the bookkeeping of rounds. `measurer` binds them to one run
// (its scratch folder, PostgreSQL's binaries and URL, its log).
import { $, fs, path } from 'zx';
import crypto from 'node:crypto';
import { ROOT } from '../../scripts/lib/config.mjs';
import { BENCH_DOMAIN } from './dataset.mjs';

const WRK = '/usr/bin/wrk';
const LUA = path.join(ROOT, 'bench', 'lua', 'wrk.lua');
const PACED_LUA = path.join(ROOT, 'bench', 'lua', 'wrk-paced.lua');

export function median(a) { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; }

/** `n` rounds of the given measurements, one after another in each round; the results of each, in round order. */
export async function alternate(n, ...measures) {
  const out = measures.map(() => []);
  for (let r = 1; r <= n; r++) for (const [i, measure] of measures.entries()) out[i].push(await measure(r));
  return out;
}

/** Scenarios measured in interleaved rounds report the median of their rounds. */
export const combine = (runs, name) => ({ ...runs[0], name, rps: median(runs.map((a) => a.rps)), p50_ms: median(runs.map((a) => a.p50_ms)),
  p95_ms: median(runs.map((a) => a.p95_ms)), p99_ms: median(runs.map((a) => a.p99_ms)), errors: runs.reduce((n, a) => n + a.errors, 0),
  requests: runs.reduce((n, a) => n + a.requests, 0), duration_s: runs.reduce((n, a) => n + a.duration_s, 0), rounds: runs.length,
  rounds_p99: `${runs.map((a) => a.p99_ms.toFixed(1)).join(', ')} ms` });

export async function post(base, p, body, headers = {}) {
  const r = await fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) j._status = r.status;
  return j;
}

/** Access tokens of generated users i = 10k + rem (i % 10 = rem), signed in through the gateway. */
export async function loginTokens(G, n, rem) {
  const out = [], failures = [];
  for (let k = 0; out.length < n && k < n * 3; k += 8) {
    const batch = Array.from({ length: 8 }, (_, j) => 10 * (k + j) + rem);
    const rs = await Promise.all(batch.map((i) => post(G, '/auth/login', { email: `user${i}@${BENCH_DOMAIN}`, password: `bench password ${i % 4}` })));
    for (const r of rs) if (r.access_token) out.push(r); else failures.push(r);
  }
  if (out.length < n) throw new Error(`could sign in only ${out.length} of ${n} bench users: ${JSON.stringify(failures.slice(0, 3))}`);
  return out.slice(0, n);
}

/** wrk, pgbench and their input files, for one run. */
export function measurer({ work, bin, dbUrl, log }) {
  function writeLines(name, lines) {
    const f = path.join(work, `${name}-${crypto.randomBytes(4).toString('hex')}.txt`);
    fs.writeFileSync(f, lines.join('\n') + '\n');
    return f;
  }

  function printRow(s) {
    log(`  ${s.name.padEnd(58)} c=${String(s.concurrency).padStart(4)} ${s.rps.toFixed(0).padStart(7)}/s  p50 ${s.p50_ms.toFixed(2).padStart(7)}  p95 ${s.p95_ms.toFixed(2).padStart(7)}  p99 ${s.p99_ms.toFixed(2).padStart(7)} ms  errors ${s.errors}`);
  }

  async function wrk(name, base, p, { mode, lines, method = 'POST', c, d, once = false, timeout = '10s', quiet = false, expect4xx = false, think = 0 }) {
    const m = mode === 'bearer' || mode === 'none' || method === 'GET' ? 'GET' : method;
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
    const r = await $({ nothrow: true, cwd: work })`${path.join(bin, 'pgbench')} -n -c ${c} -j ${j} -T ${d} -M ${protocol} -f ${f} -l --log-prefix=${prefix} ${dbUrl}`;
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

  return { writeLines, wrk, pgbench };
}
