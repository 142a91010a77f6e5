// The audit trail: one user's history (the 50 newest entries), and what
// auditing costs an update of a user row (a tracked copy of app.users against
// an untracked one, interleaved).
import os from 'node:os';
import { benchUuid } from '../lib/dataset.mjs';
import { alternate, combine } from '../lib/measure.mjs';

export async function auditScenarios(ctx, { users }) {
  const { sql, D, rounds, pgbench } = ctx;
  const cores = os.cpus().length;
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
  await sql(`select audit.disable_tracking('bench.users_tracked')`);
  return { auditHistory, historyRounds, audited, plain, auditedMoving, plainMoving };
}

/** Stops tracking every bench table (after a run that stopped half-way). */
export async function untrackBenchTables(sql) {
  await sql(`select audit.disable_tracking(table_oid) from audit.tracked_tables where table_oid::text like 'bench.%'`);
}
