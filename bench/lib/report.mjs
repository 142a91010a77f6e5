// The benchmark report: a table on stdout, bench/results/<stem>.json and .md,
// and <stem>.svg, latency against data size from every results file so far.
import { fs, path } from 'zx';
import { TARGET, thresholdText } from '../targets.mjs';

const f2 = (x) => (x == null || Number.isNaN(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const pct = (x) => (x == null ? '–' : `${(x * 100).toFixed(0)}%`);
// Thresholds and units come from the targets table (bench/targets.mjs), as the verdicts do.
const unitOf = (t) => TARGET[t.id]?.unit ?? t.unit;
const thresholdOf = (t) => (TARGET[t.id] ? thresholdText(TARGET[t.id]) : t.threshold);
const fmtTarget = (t) => (t.value == null ? '–' : unitOf(t) === 'ms' ? `${f2(t.value)} ms`
  : unitOf(t) === 'growth' ? `${t.value >= 0 ? '+' : ''}${(t.value * 100).toFixed(1)}%` : typeof t.value === 'number' && t.value < 20 && !Number.isInteger(t.value) ? t.value.toFixed(2) : String(t.value));

export function writeReport(dir, r) {
  fs.mkdirSync(dir, { recursive: true });
  const stem = r.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z') + (r.quick ? '-quick' : '');
  const rows = r.scenarios.map((s) => `| ${s.name} | ${s.tool} | ${s.concurrency} | ${s.rps.toFixed(0)} | ${f2(s.p50_ms)} | ${f2(s.p95_ms)} | ${f2(s.p99_ms)} | ${s.errors ?? 0} | ${s.ratio == null ? '' : `${pct(s.ratio)} of ${s.baseline}`} |`);
  const targets = r.targets.map((t) => `| ${t.name} | ${fmtTarget(t)} | ${thresholdOf(t)} | ${t.pass == null ? 'n/a' : t.pass ? 'PASS' : 'FAIL'} |`);
  const sizes = r.sizes.map((s) => `| ${s.users.toLocaleString('en')} | ${f2(s.session.p50_ms)} | ${f2(s.session.p99_ms)} | ${s.session.rps.toFixed(0)} | ${f2(s.session_sized?.p99_ms)} | ${f2(s.kyc.p50_ms)} | ${f2(s.kyc.p99_ms)} | ${s.kyc.rps.toFixed(0)} | ${f2(s.kyc_sized?.p99_ms)} |`);
  const d = r.dataset, m = r.machine;
  const md = `# Benchmark ${r.date}${r.quick ? ' (quick)' : ''}

Machine: ${m.cpus} × ${m.cpu_model}, ${m.memory_gb} GB, ${m.os}; ${m.postgres}; Node ${m.node}. Load average at the end: ${m.load_average_at_end}.
A virtual machine: its speed moves between runs and within one, so read ratios and medians, not single figures.
${r.duration_s} s per scenario; total ${r.elapsed_s} s.

Data: ${d.users.toLocaleString('en')} users, ${d.sessions.toLocaleString('en')} sessions (${d.active_sessions.toLocaleString('en')} live), ${d.mfa_configs.toLocaleString('en')} MFA configs, ${d.kyc_records.toLocaleString('en')} KYC records (${d.kyc_documents.toLocaleString('en')} documents, ${d.kyc_checks.toLocaleString('en')} checks), ${d.audit_entries.toLocaleString('en')} audit entries.
Storage (tables, indexes, TOAST): ${d.bytes_per_user} B per user (with password hash), ${d.bytes_per_session} B per session (with refresh-token hash), ${d.bytes_per_kyc_record ?? '–'} B per KYC record (with documents and checks), ${d.bytes_per_audit_entry} B per audit entry; database ${(d.bytes.database / 2 ** 30).toFixed(2)} GB.

## Targets

| Target | Measured | Threshold | |
|---|---|---|---|
${targets.join('\n')}

## Scenarios

| Scenario | Tool | Connections | Requests/s | p50 ms | p95 ms | p99 ms | Errors | Ratio |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

## Latency against data size (wrk, 50 connections)

Without pauses (saturated), and p99 with pauses at half the no-auth floor's throughput ("sized").

| Users | Session p50 | Session p99 | Session req/s | Session p99 sized | KYC p50 | KYC p99 | KYC req/s | KYC p99 sized |
|---|---|---|---|---|---|---|---|---|
${sizes.join('\n')}

![latency against data size](${stem}.svg)
`;
  const paths = { json: path.join(dir, `${stem}.json`), md: path.join(dir, `${stem}.md`), svg: path.join(dir, `${stem}.svg`) };
  fs.writeFileSync(paths.json, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(paths.md, md);
  console.log('\n' + ['Targets:', ...r.targets.map((t) => `  ${(t.pass == null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL').padEnd(5)} ${t.name}: ${fmtTarget(t)} (${thresholdOf(t)})`)].join('\n'));
  return { stem, paths };
}

/** Session validation and KYC status latency (p50, p99) against users, from every full results file. */
export function writeChart(dir, stem) {
  const points = new Map();  // users -> point (the newest file wins)
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const s of j.sizes ?? []) points.set(Math.round(s.users / 1000) * 1000, s);
  }
  const pts = [...points.entries()].sort((a, b) => a[0] - b[0]);
  const W = 640, H = 360, L = 60, R = 170, T = 30, B = 50;
  const xs = pts.map(([u]) => u);
  const xmin = Math.min(...xs, 10_000), xmax = Math.max(...xs, 1_000_000);
  const series = [
    { name: 'session validation p50', color: '#1f77b4', dash: '', get: (s) => s.session.p50_ms },
    { name: 'session validation p99', color: '#1f77b4', dash: '6 4', get: (s) => s.session.p99_ms },
    { name: 'KYC status p50', color: '#d62728', dash: '', get: (s) => s.kyc.p50_ms },
    { name: 'KYC status p99', color: '#d62728', dash: '6 4', get: (s) => s.kyc.p99_ms },
  ];
  const ymax = Math.max(5, ...pts.flatMap(([, s]) => series.map((x) => x.get(s)))) * 1.15;
  const X = (u) => L + ((Math.log10(u) - Math.log10(xmin)) / (Math.log10(xmax) - Math.log10(xmin))) * (W - L - R);
  const Y = (v) => H - B - (v / ymax) * (H - T - B);
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="18" font-size="14" font-weight="bold">Latency against data size (PostgREST, 50 connections)</text>`);
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = (ymax / 5) * i;
    out.push(`<line x1="${L}" y1="${Y(v)}" x2="${W - R}" y2="${Y(v)}" stroke="#ddd"/><text x="${L - 6}" y="${Y(v) + 4}" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
  }
  for (const u of [10_000, 100_000, 1_000_000, 10_000_000].filter((u) => u >= xmin && u <= xmax)) {
    out.push(`<line x1="${X(u)}" y1="${H - B}" x2="${X(u)}" y2="${H - B + 5}" stroke="black"/><text x="${X(u)}" y="${H - B + 18}" text-anchor="middle">${u >= 1e6 ? `${u / 1e6}M` : `${u / 1e3}k`}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">users (log scale)</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">latency, ms</text>`);
  series.forEach((s, i) => {
    const d = pts.map(([u, p], k) => `${k ? 'L' : 'M'}${X(u).toFixed(1)},${Y(s.get(p)).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`);
    for (const [u, p] of pts) out.push(`<circle cx="${X(u).toFixed(1)}" cy="${Y(s.get(p)).toFixed(1)}" r="3" fill="${s.color}"><title>${s.name} at ${u.toLocaleString('en')} users: ${s.get(p).toFixed(2)} ms</title></circle>`);
    const ly = T + 10 + i * 18;
    out.push(`<line x1="${W - R + 12}" y1="${ly}" x2="${W - R + 36}" y2="${ly}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/><text x="${W - R + 40}" y="${ly + 4}">${s.name}</text>`);
  });
  out.push(`</svg>`);
  fs.writeFileSync(path.join(dir, `${stem}.svg`), out.join('\n') + '\n');
}
