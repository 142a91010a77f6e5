// Metrics and alerts (issue 17; docs/operations.md): the gateway's /metrics on its own
// loopback listener, Prometheus scraping it and prometheus-postgres-exporter, the alert
// rules loaded. npm test starts the stack with monitoring and sets METRICS_URL and PROMETHEUS_URL.
import { describe, expect, it } from 'vitest';
import { gateway, login, newUser, refresh, session } from './helpers.js';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set: npm test starts Prometheus (or \`npm start -- --metrics\` and set it by hand)`);
  return v.replace(/\/$/, '');
}
const METRICS_URL = required('METRICS_URL');
const PROMETHEUS_URL = required('PROMETHEUS_URL');

const scrape = async () => (await fetch(METRICS_URL)).text();

/** The sum of a metric's samples whose labels include `labels`, from the exposition text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** A PromQL instant query through Prometheus's HTTP API. */
async function promql(query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${PROMETHEUS_URL}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = await res.json() as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}
const promValue = async (query: string) => Number((await promql(query))[0]?.value[1] ?? 0);

/** Polls until `check` holds (Prometheus scrapes every second in the test stack). */
async function eventually<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let v = await get();
  while (!check(v)) {
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
    v = await get();
  }
  return v;
}

describe('metrics', () => {
  it('can read a sign-in back from the gateway\'s /metrics and from Prometheus\'s HTTP API', async () => {
    const user = await newUser('metrics');
    const before = sample(await scrape(), 'dwaybank_sign_in_total', { outcome: 'success' });
    expect((await login(user.email, user.password)).status).toBe(200);
    const after = sample(await scrape(), 'dwaybank_sign_in_total', { outcome: 'success' });
    expect(after).toBeGreaterThanOrEqual(before + 1);
    // Prometheus scrapes the same listener: it soon holds at least the count that includes this sign-in.
    await eventually('Prometheus\'s sign-in counter', () => promValue('sum(dwaybank_sign_in_total{outcome="success"})'), (v) => v >= after);
  });

  it('counts each sign-in outcome and a refresh-token reuse, under fixed labels only', async () => {
    const user = await newUser('metrics-outcomes');
    const t0 = await scrape();
    expect((await login(user.email, `${user.password} but wrong`)).status).toBe(401);
    const a = await session(user);
    const b = await refresh(a.refresh_token);
    expect(b.status).toBe(200);
    const c = await refresh(b.body.refresh_token);
    expect(c.status).toBe(200);
    expect((await refresh(a.refresh_token)).body.code).toBe('REFRESH_TOKEN_REUSED');
    // A route with an id in its path: the label is the pattern.
    const sid = '0190b3a4-0000-7000-8000-00000000beef';
    await gateway(`/auth/sessions/${sid}`, { method: 'DELETE', token: c.body.access_token });

    const t1 = await scrape();
    expect(sample(t1, 'dwaybank_sign_in_total', { outcome: 'wrong_password' })).toBeGreaterThanOrEqual(sample(t0, 'dwaybank_sign_in_total', { outcome: 'wrong_password' }) + 1);
    expect(sample(t1, 'dwaybank_refresh_token_reuse_total')).toBeGreaterThanOrEqual(sample(t0, 'dwaybank_refresh_token_reuse_total') + 1);
    expect(sample(t1, 'dwaybank_http_request_duration_seconds_count', { route: '/auth/sessions/:id', method: 'DELETE' })).toBeGreaterThanOrEqual(1);
    for (const secret of [user.email, user.userId, sid, a.refresh_token, a.access_token, '127.0.0.1']) expect(t1).not.toContain(secret);
    expect(sample(t1, 'dwaybank_db_pool_connections', { state: 'max' })).toBeGreaterThan(0);
    expect(sample(t1, 'dwaybank_outbox_scrape_ok')).toBe(1);
  });

  it('cannot be read on the public listener (404)', async () => {
    const r = await gateway('/metrics');
    expect(r.status).toBe(404);
    expect(r.text).not.toContain('dwaybank_');
  });

  it('gets the product\'s figures from PostgreSQL through the exporter, and loads every alert rule', async () => {
    for (const name of ['dwaybank_audit_unsealed_entries', 'dwaybank_audit_oldest_unsealed_age_seconds', 'dwaybank_audit_chain_ok',
      'dwaybank_kyc_expired_awaiting_renewal', 'dwaybank_job_last_run_failed', 'dwaybank_replication_lag_seconds']) {
      await eventually(name, () => promql(name), (r) => r.length > 0);
    }
    expect(await promValue('min(dwaybank_audit_chain_ok)')).toBe(1);
    expect((await promql('dwaybank_job_last_run_failed')).map((r) => r.metric.job_name)).toContain('seal');

    const rules = await (await fetch(`${PROMETHEUS_URL}/api/v1/rules?type=alert`)).json() as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(['DwaybankAuditChainBroken', 'DwaybankAuditUnsealed', 'DwaybankCronJobFailing',
      'DwaybankLockoutSpike', 'DwaybankOutboxDeadLetters', 'DwaybankOutboxStuck', 'DwaybankRefreshTokenReuse', 'DwaybankReplicationLag', 'DwaybankTargetDown',
      'DwaybankThrottledAddresses']);
    await eventually('rule health', async () => (await (await fetch(`${PROMETHEUS_URL}/api/v1/rules?type=alert`)).json() as typeof rules)
      .data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok').map((r) => r.name), (bad) => bad.length === 0);
  });
});
