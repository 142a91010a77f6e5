// Restore drill with pgBackRest on the HA stack (scripts/lib/ha.mjs): a full
// backup (read from the standby, encrypted repository), a write load through
// the proxy, a recovery target taken from the server's clock, a table dropped
// "by mistake", then point-in-time recovery to the target into a fresh
// cluster. Every write acknowledged before the target must be there, the audit
// chain must verify, and a gateway and a PostgREST started on the restored
// cluster must serve.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { WriteLoad, http } from './lib.mjs';
import { auditChain } from './failover.mjs';
import { pgbackrest, pgCtlStop, query, waitUntil } from '../../scripts/lib/ha.mjs';
import { gatewayEnv, postgrestBin, startProcess, stopProcess, waitFor, writePostgrestConf } from '../../scripts/lib/services.mjs';
import { urls as stackUrls, isRoot, ROOT } from '../../scripts/lib/config.mjs';
import { privateLogFile } from '../../scripts/lib/cluster.mjs';

const asPostgres = (cmd) => (isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd);
const run = (cmd) => {
  const [c, ...a] = asPostgres(cmd);
  const r = spawnSync(c, a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr || r.stdout}`);
  return r;
};
const mb = (bytes) => Number((bytes / 1024 / 1024).toFixed(1));

/** The acknowledged writes of a load at this instant (what must survive a restore to a later moment). */
function snapshot(load) {
  return {
    signups: new Map(load.acked.signups),
    sessions: new Set(load.acked.sessions),
    profiles: new Map([...load.acked.profiles].filter(([, p]) => p.lastAcked > 0).map(([e, p]) => [e, { lastAcked: p.lastAcked, live: p }])),
  };
}

export async function restoreDrill({ stack, log = console.log }) {
  const { h, bin } = stack;
  const failures = [];
  const figures = {};
  const primary = stack.urls.primary.superuser;
  const dir = path.join(h.dataDir, 'restored-pg');
  const restoredLog = path.join(h.runDir, 'restored-postgres.log');  // user postgres writes it
  const children = [];
  let started = false;
  try {
    // 1. A full backup: data files read from the standby (backup-standby=y), encrypted, retention 2 full.
    let t0 = Date.now();
    await pgbackrest(h, ['backup', '--type=full']);
    figures.backup_s = Number(((Date.now() - t0) / 1000).toFixed(1));
    const info = JSON.parse((await pgbackrest(h, ['info', '--output=json'])).stdout)[0];
    const last = info.backup.at(-1);
    Object.assign(figures, { backup: last.label, database_mb: mb(last.info.size), backup_repo_mb: mb(last.info.repository.delta),
      backups_kept: info.backup.length, cipher: info.cipher });
    log(`  full backup ${last.label} from the standby in ${figures.backup_s} s: database ${figures.database_mb} MB, ${figures.backup_repo_mb} MB in the repository (${info.cipher})`);

    // 2. Writes under load; the target is the server's clock at a moment when the load has run a while.
    const load = new WriteLoad({ gatewayUrl: stack.gatewayUrl, postgrestUrl: stack.postgrestUrl, workers: 4, tag: 'restore' }).start();
    await waitUntil(() => load.acked.signups.size >= 40, { timeoutMs: 90_000, what: 'writes under load', every: 100 });
    // Everything acknowledged before this snapshot committed before the target read just after it.
    const before = snapshot(load);
    const target = (await query(primary, `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t`))[0].t;
    const n = load.figures.ok;
    await waitUntil(() => load.figures.ok >= n + 40, { timeoutMs: 60_000, what: 'more writes after the target', every: 100 });

    // 3. The mistake: a table the service needs, dropped under load.
    // Under load the DROP may be chosen as a deadlock victim: the operator tries again.
    await waitUntil(async () => { await query(primary, `set lock_timeout = '5s'; drop table app.user_sessions cascade`); return true; },
      { timeoutMs: 60_000, what: 'the DROP TABLE to go through', every: 200 });
    const droppedAt = new Date().toISOString();
    log(`  recovery target ${target}; app.user_sessions dropped at ${droppedAt} (${load.acked.signups.size} sign-ups acknowledged so far)`);
    await waitUntil(() => load.figures.ok > 0, { timeoutMs: 5_000, what: 'the load' });
    await load.stop();
    // The WAL up to the drop must be in the repository: `check` switches WAL and waits for it to be archived.
    await pgbackrest(h, ['check']);

    // 4. Point-in-time recovery into a fresh cluster.
    pgCtlStop(bin, dir, 'immediate');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { mode: 0o700 });
    if (isRoot) spawnSync('chown', ['postgres:postgres', dir]);
    t0 = Date.now();
    await pgbackrest(h, ['restore', `--pg1-path=${dir}`, '--type=time', `--target=${target}`, '--target-action=promote']);
    const restoreCopy = (Date.now() - t0) / 1000;
    // Its own port; no archiving into the bank's repository; no standby to wait for; not a Patroni member.
    fs.appendFileSync(path.join(dir, 'postgresql.auto.conf'), [
      '', '# restore drill (tests/faults/restore.mjs)',
      `port = ${h.restorePort}`, `listen_addresses = '${h.host}'`, `unix_socket_directories = '${h.runDir}'`,
      `archive_mode = off`, `synchronous_standby_names = ''`, `cluster_name = 'restored'`, `primary_conninfo = ''`, `primary_slot_name = ''`, '',
    ].join('\n'));
    privateLogFile(restoredLog, { owner: isRoot ? 'postgres' : null });
    run([path.join(bin, 'pg_ctl'), '-D', dir, '-l', restoredLog, '-w', '-t', '300', 'start']);
    started = true;
    const restoredCfg = { ...h.base, pgPort: h.restorePort };
    const restored = stackUrls(restoredCfg);
    await waitUntil(async () => (await query(restored.superuser, 'select not pg_is_in_recovery() as p'))[0].p, { timeoutMs: 300_000, what: 'recovery to the target' });
    figures.restore_s = Number(((Date.now() - t0) / 1000).toFixed(1));
    figures.restore_copy_s = Number(restoreCopy.toFixed(1));
    log(`  restored to ${target} in ${figures.restore_s} s (files ${figures.restore_copy_s} s, then WAL replay and promotion)`);

    // 5. Every write acknowledged before the target is there.
    const snap = { signups: before.signups, sessions: before.sessions,
      profiles: new Map([...before.profiles].map(([e, p]) => [e, { lastAcked: p.lastAcked, lastTried: p.live.lastTried }])) };
    const { acked, lost } = await WriteLoad.prototype.verify.call({ acked: snap }, restored.superuser);
    const tableBack = (await query(restored.superuser, `select to_regclass('app.user_sessions') is not null as p`))[0].p;
    const after = (await query(restored.superuser, `select count(*)::int as n from app.users where email like 'restore-%' and created_at > $1::timestamptz`, [target]))[0].n;
    const chain = await auditChain(restored.superuser);
    Object.assign(figures, { acknowledged_before_target: acked, lost_before_target: lost.length, signups_acknowledged_in_all: load.acked.signups.size,
      users_after_target_in_restore: after, sessions_table_restored: tableBack, audit_chain: chain });
    log(`  ${acked} writes acknowledged before the target, ${lost.length} lost; app.user_sessions back: ${tableBack}; audit chain ${chain}`);
    if (lost.length) failures.push(`${lost.length} writes acknowledged before the target lost: ${lost.slice(0, 5).join('; ')}`);
    if (!tableBack) failures.push('app.user_sessions is not in the restored cluster');
    if (after) failures.push(`${after} sign-ups created after the target are in the restored cluster`);
    if (!chain.startsWith('ok') && chain !== 'absent') failures.push(`audit chain: ${chain}`);

    // 6. The stack serves from the restored cluster: a gateway and a PostgREST on it.
    const jwks = path.join(h.dataDir, 'restored-jwks.json');
    const g = startProcess('restored-gateway', process.execPath,
      [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'gateway', 'src', 'server.ts')],
      { env: gatewayEnv({ ...restoredCfg, gatewayPort: h.http.restoreGateway, postgrestPort: h.http.restorePostgrest }, { JWKS_FILE: jwks }),
        logFile: path.join(h.logDir, 'restored-gateway.log') });
    children.push(g);
    const gwUrl = `http://${h.host}:${h.http.restoreGateway}`;
    await waitFor(`${gwUrl}/healthz`, { what: 'the gateway on the restored cluster', child: g, timeoutMs: 90_000 });
    const conf = writePostgrestConf({ ...restoredCfg, postgrestPort: h.http.restorePostgrest, postgrestAdminPort: h.http.restorePostgrestAdmin },
      { file: path.join(h.runDir, 'postgrest-restored.conf'), jwksFile: jwks });
    const p = startProcess('restored-postgrest', postgrestBin, [conf], { env: { PATH: process.env.PATH }, logFile: path.join(h.logDir, 'restored-postgrest.log') });
    children.push(p);
    await waitFor(`http://${h.host}:${h.http.restorePostgrestAdmin}/ready`, { what: 'PostgREST on the restored cluster', child: p, timeoutMs: 60_000 });
    const email = `after-restore-${Date.now()}@faults.example`;
    const password = 'restored harbour lantern 5';
    const s = await http(`${gwUrl}/auth/signup`, { json: { email, password } });
    const l = await http(`${gwUrl}/auth/login`, { json: { email, password } });
    const m = await http(`http://${h.host}:${h.http.restorePostgrest}/rpc/me`, { token: l.body?.access_token, json: {} });
    figures.serves_from_restored = `signup ${s.status}, login ${l.status}, me ${m.status}`;
    log(`  on the restored cluster: ${figures.serves_from_restored}`);
    if (!(s.status === 201 && l.status === 200 && m.status === 200 && m.body?.email === email)) failures.push(`the restored cluster does not serve: ${figures.serves_from_restored}`);
  } catch (e) {
    failures.push(`aborted: ${e.message}`);
  } finally {
    for (const c of children.reverse()) await stopProcess(c, 'SIGTERM');
    if (started) pgCtlStop(bin, dir, 'fast');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'restore drill (pgBackRest PITR)', figures, failures };
}
