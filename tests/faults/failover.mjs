// Replication and failover on one machine: a streaming standby made with
// pg_basebackup -R, synchronous commit to it, a read-only PostgREST on the
// standby serving read RPCs; then the primary is killed, the standby promoted,
// the gateway and PostgREST pointed at it, and every write the client saw
// acknowledged must be on the new primary.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { postgrestBin, restartService, startProcess, stopProcess, urls as stackUrls, waitFor, writePostgrestConf, ROOT } from '../../scripts/lib/stack.mjs';
import { WriteLoad, asPostgres, crashPostgres, http, realDir, sh, sleep, startCluster, stopCluster, waitUntil } from './lib.mjs';

const isRoot = process.getuid?.() === 0;

async function query(url, sql, params = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return (await c.query(sql, params)).rows; } finally { await c.end(); }
}

export async function failoverTest({ stack, bin, standbyPort, standbyHttpPort, standbyAdminPort, log = console.log }) {
  const { cfg, urls } = stack;
  const primaryReal = realDir(cfg.pgData);
  // Next to the primary's real folder, so user postgres can reach it; linked under .data/faults for people.
  const standbyDir = path.join(path.dirname(primaryReal), 'standby-pg');
  const link = path.join(ROOT, '.data', 'faults', 'standby');
  const standbyLog = path.join(path.dirname(primaryReal), 'standby.log');
  fs.rmSync(standbyDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { force: true });
  if (standbyDir !== link) fs.symlinkSync(standbyDir, link);
  const children = [];
  const failures = [];
  const figures = {};
  try {
    // 1. The standby: a base backup with recovery settings (-R), its own port and name.
    fs.mkdirSync(standbyDir, { mode: 0o700 });
    if (isRoot) sh(['chown', 'postgres:postgres', standbyDir]);
    const su = new URL(urls.superuser);
    sh(asPostgres([path.join(bin, 'pg_basebackup'), '-d', `host=${su.hostname} port=${su.port} user=postgres application_name=standby1`,
      '-D', standbyDir, '-R', '-X', 'stream', '-c', 'fast']), { env: { ...process.env, PGPASSWORD: decodeURIComponent(su.password) } });
    fs.appendFileSync(path.join(standbyDir, 'postgresql.auto.conf'), `port = ${standbyPort}\nhot_standby = on\n`);
    startCluster(bin, standbyDir, standbyLog);
    const standbyCfg = { ...cfg, pgPort: standbyPort };
    const standbyUrls = stackUrls(standbyCfg);
    // 2. Synchronous commit: the primary acknowledges a commit only once the standby has it.
    await query(urls.superuser, `alter system set synchronous_standby_names = 'FIRST 1 (standby1)'`);
    await query(urls.superuser, 'select pg_reload_conf()');
    await waitUntil(async () => (await query(urls.superuser, `select 1 from pg_stat_replication where application_name = 'standby1' and sync_state = 'sync'`)).length === 1,
      { what: 'the standby to be synchronous', timeoutMs: 60_000 });
    log('  standby streaming, synchronous (sync_state = sync)');

    // 3. A read-only PostgREST on the standby.
    const confFile = writePostgrestConf({ ...standbyCfg, postgrestPort: standbyHttpPort, postgrestAdminPort: standbyAdminPort });
    const roConf = path.join(cfg.dataDir, 'postgrest-standby.conf');
    fs.renameSync(confFile, roConf);
    writePostgrestConf(cfg); // put the primary's file back as it was
    const ro = startProcess('postgrest-standby', postgrestBin, [roConf], { env: { PATH: process.env.PATH }, logFile: path.join(stack.logDir, 'postgrest-standby.log') });
    children.push(ro);
    const roUrl = `http://${cfg.host}:${standbyHttpPort}`;
    await waitFor(`http://${cfg.host}:${standbyAdminPort}/ready`, { what: 'standby PostgREST', child: ro });

    // 4. Writes through the primary; reads of the same users from the standby.
    const load = new WriteLoad({ gatewayUrl: stack.gatewayUrl, postgrestUrl: stack.postgrestUrl, workers: 4, tag: 'failover' }).start();
    const reads = { ok: 0, other: {} };
    const reader = (async () => {
      const email = `standby-reader-${Date.now()}@faults.example`;
      const password = 'quiet standby lantern 7';
      await http(`${stack.gatewayUrl}/auth/signup`, { json: { email, password } });
      const token = (await http(`${stack.gatewayUrl}/auth/login`, { json: { email, password } })).body.access_token;
      while (load.running) {
        const r = await http(`${roUrl}/rpc/me`, { token, json: {} });
        if (r.status === 200 && r.body?.email === email) reads.ok++; else reads.other[r.status] = (reads.other[r.status] ?? 0) + 1;
        await sleep(50);
      }
    })();
    await sleep(6000);
    {
      // A write sent to the read-only PostgREST while it is a standby is refused cleanly.
      const email = `standby-writer-${Date.now()}@faults.example`;
      const password = 'quiet standby lantern 8';
      await http(`${stack.gatewayUrl}/auth/signup`, { json: { email, password } });
      const token = (await http(`${stack.gatewayUrl}/auth/login`, { json: { email, password } })).body.access_token;
      const w = await http(`${roUrl}/rpc/update_my_profile`, { token, json: { last_name: 'Standby' } });
      reads.writeOnStandby = `${w.status} ${w.body?.code ?? ''}`;
      if (!(w.status >= 400 && w.status < 500)) failures.push(`a write sent to the standby PostgREST answered ${w.status}: ${w.text.slice(0, 200)}`);
    }

    // 5. The primary dies; the standby is promoted; the services follow it.
    const pid = crashPostgres(cfg.pgData);
    log(`  primary killed (postmaster ${pid}); promoting the standby`);
    sh(asPostgres([path.join(bin, 'pg_ctl'), '-D', standbyDir, '-w', 'promote']));
    await waitUntil(async () => (await query(standbyUrls.superuser, 'select not pg_is_in_recovery() as p'))[0].p, { what: 'promotion' });
    // The old primary waited for this standby; the new one has none: no synchronous standby to wait for.
    await query(standbyUrls.superuser, `alter system reset synchronous_standby_names`);
    await query(standbyUrls.superuser, 'select pg_reload_conf()');
    // Point the gateway and the main PostgREST at the new primary (in production: the service address moves).
    for (const name of ['gateway', 'postgrest']) {
      const { wasRunning } = await restartService(stack, name, { cfg: standbyCfg });
      if (!wasRunning) failures.push(`${name} exited when the primary died`);
    }
    await sleep(3000);
    await load.stop();
    await reader;
    const { acked, lost } = await load.verify(standbyUrls.superuser);
    // Writes succeed on the new primary.
    const e = `after-failover-${Date.now()}@faults.example`;
    const s = await http(`${stack.gatewayUrl}/auth/signup`, { json: { email: e, password: 'after failover lantern 9' } });
    Object.assign(figures, { requests: load.figures.requests, acknowledged: acked, rows_lost: lost.length, fatal_5xx: load.figures.fatal,
      retryable: load.figures.retryable, standby_reads_ok: reads.ok, standby_reads_other: reads.other, write_on_standby: reads.writeOnStandby,
      signup_after_failover: s.status });
    if (lost.length) failures.push(`${lost.length} acknowledged writes lost: ${lost.slice(0, 5).join('; ')}`);
    if (load.figures.fatal) failures.push(`${load.figures.fatal} non-retryable 5xx: ${load.fatal.slice(0, 3).join(' | ')}`);
    if (reads.ok === 0) failures.push('the standby served no reads');
    if (s.status !== 201) failures.push(`sign-up after failover answered ${s.status}`);
  } catch (err) {
    failures.push(`failover test aborted: ${err.message}`);
  } finally {
    for (const c of children) await stopProcess(c, 'SIGTERM');
    // Leave the test cluster as the suite found it: the old primary recovers and becomes the stack's
    // cluster again; the standby is removed. (A fresh `npm test` resets the database anyway.)
    stopCluster(bin, standbyDir, 'immediate');
    fs.rmSync(link, { force: true });
    fs.rmSync(standbyDir, { recursive: true, force: true });
    if (!fs.existsSync(path.join(primaryReal, 'postmaster.pid')) || !(await query(urls.superuser, 'select 1').catch(() => false))) {
      startCluster(bin, cfg.pgData, path.join(path.dirname(primaryReal), 'postgres.log'));
      await query(urls.superuser, `alter system reset synchronous_standby_names`).catch(() => {});
      await query(urls.superuser, 'select pg_reload_conf()').catch(() => {});
    }
  }
  return { name: 'failover (sync standby, promote)', figures, failures };
}
