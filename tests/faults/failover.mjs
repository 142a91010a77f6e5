// Failover on a real HA engine (scripts/lib/ha.mjs: Patroni 3.0 + etcd 3.4,
// a synchronous standby, HAProxy routing to whichever node Patroni calls the
// primary, PgBouncer and the HTTP proxy in front). Under a write load through
// the proxy:
//   cycle 1: kill -9 of the primary's postmaster;
//   cycle 2: kill -9 of the Patroni agent on the (new) primary;
// each time Patroni promotes the standby by itself (nothing here calls
// promote), the old primary rejoins as the synchronous standby (in cycle 2
// once the supervisor, here this test, starts its agent again); then a planned
// switchover through `patronictl switchover`. Every write the client saw
// acknowledged must be on the final primary, and the audit chain must verify.
import { WriteLoad, http, sleep } from './lib.mjs';
import { clusterState, killAgent, killPostmaster, nodeByName, query, switchover, waitHealthy, waitUntil } from '../../scripts/lib/ha.mjs';

/**
 * Counts the replies of a write load by status, and times the outage after a
 * fault: from the fault to the first acknowledged write after the first failed
 * one (the write-side RTO as a client sees it).
 */
export function instrument(load) {
  const t = { statuses: {}, fault: null, firstFail: null, recovered: null, streak: 0, streakStart: null, samples: [] };
  const note = load.note.bind(load);
  // Writes succeed again at the first of 10 acknowledgements in a row (across workers) after the first failure:
  // a lone success in the outage (a reply to a write sent before the fault) does not count.
  const STREAK = 10;
  load.note = (what, r) => {
    const c = note(what, r);
    t.statuses[r.status] = (t.statuses[r.status] ?? 0) + 1;
    if (t.fault) {
      if (c !== 'ok') {
        if (t.samples.length < 3) t.samples.push(`${what} ${r.status} ${String(r.text).slice(0, 160)}`);
        t.firstFail ??= Date.now();
        t.streak = 0;
      } else {
        if (t.streak++ === 0) t.streakStart = Date.now();
        if (t.streak >= STREAK && t.firstFail && !t.recovered) t.recovered = t.streakStart;
        if (t.promoted) t.okAfterPromotion++;
      }
    }
    return c;
  };
  t.arm = () => Object.assign(t, { statuses: {}, fault: Date.now(), firstFail: null, recovered: null, streak: 0, streakStart: null, promoted: false, okAfterPromotion: 0, samples: [] });
  // Called once the new primary is in place: if no write failed at all (a paused switchover), 10 acknowledged after it do.
  t.waitRecovered = (timeoutMs = 90_000) => {
    t.promoted = true;
    return waitUntil(() => t.recovered || (!t.firstFail && t.okAfterPromotion >= STREAK), { timeoutMs, what: 'writes to succeed again', every: 100 });
  };
  t.rto = () => (t.recovered ? (t.recovered - t.fault) / 1000 : 0);
  load.track = t;
  return t;
}

const n503 = (st) => st['503'] ?? 0;
const other5xx = (st) => Object.entries(st).filter(([s]) => Number(s) >= 500 && Number(s) !== 503).reduce((a, [, n]) => a + n, 0);

/** Seals what is unsealed, then verifies the whole audit chain (as crash.mjs does). */
export async function auditChain(url) {
  const present = async (sig) => (await query(url, `select to_regprocedure('${sig}') is not null as p`))[0].p;
  if (!(await present('audit.verify_chain(timestamptz,timestamptz)'))) return 'absent';
  if (await present('audit.seal(integer)')) await query(url, 'select audit.seal(1000000)');
  const r = (await query(url, 'select * from audit.verify_chain()'))[0];
  return r.ok ? `ok (${r.checked} checked, ${r.unsealed_count} unsealed)` : `BROKEN at ${r.first_bad_seq}: ${r.reason}`;
}

/** Waits until `n` more writes have been acknowledged. */
const moreWrites = (load, n, what) => {
  const target = load.figures.ok + n;
  return waitUntil(() => load.figures.ok >= target, { timeoutMs: 60_000, what, every: 100 });
};

export async function failoverTest({ stack, log = console.log }) {
  const { h } = stack;
  const failures = [];
  const figures = { via: stack.proxyUrl ? 'proxy' : 'gateway+postgrest', cycles: [] };
  const load = new WriteLoad({ gatewayUrl: stack.gatewayUrl, postgrestUrl: stack.postgrestUrl, workers: 4, tag: 'ha-failover' });
  const t = instrument(load);
  load.start();
  // Reads from the standby's PostgREST go on meanwhile (counted, not judged: it has no standby while one rejoins).
  const reads = { ok: 0, other: {} };
  const email = `ha-reader-${Date.now()}@faults.example`;
  const password = 'quiet standby lantern 7';
  await http(`${stack.gatewayUrl}/auth/signup`, { json: { email, password } });
  const token = (await http(`${stack.gatewayUrl}/auth/login`, { json: { email, password } })).body?.access_token;
  const reader = (async () => {
    while (load.running) {
      const r = await http(`${stack.postgrestRoUrl}/rpc/me`, { token, json: {} });
      if (r.status === 200) reads.ok++; else reads.other[r.status] = (reads.other[r.status] ?? 0) + 1;
      await sleep(100);
    }
  })();
  try {
    await moreWrites(load, 40, 'a steady write load');
    // A write sent to the read-only PostgREST (on the standby) is refused cleanly.
    const w = await http(`${stack.postgrestRoUrl}/rpc/update_my_profile`, { token, json: { last_name: 'Standby' } });
    figures.write_on_standby = `${w.status} ${w.body?.code ?? ''}`.trim();
    if (!(w.status >= 400 && w.status < 500)) failures.push(`a write sent to the read-only PostgREST answered ${w.status}: ${w.text.slice(0, 200)}`);
    for (const kind of ['postmaster', 'agent']) {
      const before = await waitHealthy(h);
      const node = nodeByName(h, before.leader);
      t.arm();
      const pid = kind === 'postmaster' ? await killPostmaster(node) : killAgent(stack, node);
      log(`  ${kind === 'postmaster' ? 'kill -9 of the postmaster' : 'kill -9 of the Patroni agent'} on the primary ${node.name} (pid ${pid})`);
      // Patroni promotes the synchronous standby by itself.
      await waitUntil(async () => (await clusterState(h))?.members.some((m) => m.name === before.standby && m.role === 'leader' && m.state === 'running'),
        { timeoutMs: 90_000, what: `Patroni to promote ${before.standby}` });
      const promotedAfter = (Date.now() - t.fault) / 1000;
      await t.waitRecovered();
      const rto = t.rto();
      // The supervisor's part (systemd): start the agent again. It demotes the orphaned old primary and rewinds it.
      if (kind === 'agent') stack.startAgent(node);
      const after = await waitHealthy(h, { timeoutMs: 180_000, what: `${node.name} to rejoin as the synchronous standby` });
      const rejoinedAfter = (Date.now() - t.fault) / 1000;
      if (after.leader !== before.standby || after.standby !== before.leader) failures.push(`${kind}: expected ${before.standby} primary and ${before.leader} standby, got ${JSON.stringify(after)}`);
      const c = { fault: kind, killed: node.name, promoted: before.standby, promoted_s: Number(promotedAfter.toFixed(1)), rto_s: Number(rto.toFixed(1)),
        rejoined_s: Number(rejoinedAfter.toFixed(1)), '503': n503(t.statuses), other_5xx: other5xx(t.statuses), no_connection: t.statuses['0'] ?? 0 };
      figures.cycles.push(c);
      log(`    ${before.standby} promoted after ${c.promoted_s} s; writes succeed again after ${c.rto_s} s (RTO); ${node.name} back as synchronous standby after ${c.rejoined_s} s; 503: ${c['503']}, other 5xx: ${c.other_5xx}`);
      if (rto > 30) failures.push(`${kind}: RTO ${rto.toFixed(1)} s > 30 s`);
      await moreWrites(load, 20, 'writes after the failover');
    }
    // A planned switchover through Patroni's own command, PgBouncer pausing the pools meanwhile.
    {
      const before = await waitHealthy(h);
      t.arm();
      const failedBefore = load.figures.requests - load.figures.ok;
      const t1 = Date.now();
      await switchover(h, { leader: before.leader, candidate: before.standby, pgbouncerAdminUrl: stack.front?.pgbouncer.adminUrl, proxy: stack.front?.proxy, log });
      const took = (Date.now() - t1) / 1000;
      await t.waitRecovered();
      const after = await waitHealthy(h, { timeoutMs: 120_000, what: `${before.leader} to rejoin after the switchover` });
      const s = { switchover: `${before.leader} -> ${after.leader}`, paused_s: Number(took.toFixed(1)), rto_s: Number(t.rto().toFixed(1)), failed_requests: load.figures.requests - load.figures.ok - failedBefore,
        '503': n503(t.statuses), other_5xx: other5xx(t.statuses) };
      figures.switchover = s;
      log(`  switchover ${s.switchover} in ${s.paused_s} s (writes waited in PgBouncer); ${s.failed_requests} requests failed (503: ${s['503']}), other 5xx: ${s.other_5xx}`);
      if (t.samples.length) log(`    failed during the switchover: ${t.samples.join(' | ')}`);
      await moreWrites(load, 20, 'writes after the switchover');
    }
  } catch (e) {
    failures.push(`aborted: ${e.message}`);
  } finally {
    await load.stop();
    await reader;
  }
  try {
    const { acked, lost } = await load.verify(stack.urls.primary.superuser);
    const chain = await auditChain(stack.urls.primary.superuser);
    // Serving end to end through the front door.
    const e2 = `ha-after-${Date.now()}@faults.example`;
    const s2 = await http(`${stack.gatewayUrl}/auth/signup`, { json: { email: e2, password } });
    const l2 = await http(`${stack.gatewayUrl}/auth/login`, { json: { email: e2, password } });
    const m2 = await http(`${stack.postgrestUrl}/rpc/me`, { token: l2.body?.access_token, json: {} });
    Object.assign(figures, { requests: load.figures.requests, acknowledged: acked, lost: lost.length, '5xx_other_than_503': load.figures.fatal,
      standby_reads_ok: reads.ok, standby_reads_other: reads.other, audit_chain: chain });
    if (lost.length) failures.push(`${lost.length} acknowledged writes lost: ${lost.slice(0, 5).join('; ')}`);
    if (load.figures.fatal) failures.push(`${load.figures.fatal} 5xx other than 503: ${load.fatal.slice(0, 3).join(' | ')}`);
    if (!chain.startsWith('ok') && chain !== 'absent') failures.push(`audit chain: ${chain}`);
    if (!(s2.status === 201 && l2.status === 200 && m2.status === 200)) failures.push(`not serving after the failovers: signup ${s2.status}, login ${l2.status}, me ${m2.status}`);
    for (const c of stack.watch) if (c.exitCode !== null || c.signalCode !== null) failures.push(`${c.name} exited (${c.exitCode ?? c.signalCode}) during the failovers`);
    log(`  acknowledged ${acked}, lost ${lost.length}, 5xx other than 503: ${load.figures.fatal}; audit chain ${chain}`);
  } catch (e) {
    failures.push(`verification failed: ${e.message}`);
  }
  return { name: 'failover (Patroni: 2 faults + switchover)', figures, failures };
}
