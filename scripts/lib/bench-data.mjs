// Bench data set (npm run bench:data): loads a realistic data set fast, set-based
// in the database (no row-by-row API calls), with progress and rate.
// Defaults follow the seed: 1,000,000 users, 5 sessions each (10% active),
// 20% with MFA, 10% with KYC, 10 audit entries each.
// Generated users share a handful of precomputed bcrypt hashes (cost 12 for a
// million users would take days of CPU); triggers are disabled while loading,
// so the synthetic rows are not themselves audited.
import { chalk } from 'zx';
import pg from 'pg';

export async function loadData({ users, batch, connectionString, log = console.log }) {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await load(client, { users, batch, log });
  } finally {
    await client.end();
  }
}

async function load(client, { users, batch, log }) {
  const q = (sql, params) => client.query(sql, params);
  await q(`set session_replication_role = replica`);  // no triggers: bulk load
  await q(`set synchronous_commit = off`);
  await q(`set maintenance_work_mem = '512MB'`);
  const t0 = Date.now();
  const progress = (label, done, total, started) => {
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
    const width = 30, filled = Math.round((done / total) * width);
    process.stdout.write(`\r  ${label.padEnd(14)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toLocaleString()}/${total.toLocaleString()} ${Math.round(rate).toLocaleString()}/s   `);
    if (done >= total) process.stdout.write('\n');
  };
  const stage = async (label, total, fn) => {
    const started = Date.now();
    for (let off = 0; off < total; off += batch) {
      const n = Math.min(batch, total - off);
      await fn(off, n);
      progress(label, off + n, total, started);
    }
  };

  const existing = Number((await q(`select count(*) from app.users where email like '%@bench.dwaybank.test'`)).rows[0].count);
  if (existing >= users) {
    log(`  ${existing.toLocaleString()} bench users already loaded`);
    return;
  }
  // Months back and ahead of partitions for the audit history.
  await q(`select audit.create_partitions(6, now() - interval '3 months')`);
  await q(`create temp table bench_hashes as
           select i, app_private.hash_password('bench password ' || i) as h from generate_series(0, 3) i`);
  const bench = `'@bench.dwaybank.test'`;

  await stage('users', users - existing, (off, n) => q(`
    insert into app.users (id, email, phone, country_code, first_name, last_name, date_of_birth, email_verified_at,
                           referral_code, password_changed_at, last_login_at, created_at, updated_at)
    select md5('bench-user-' || i)::uuid, 'user' || i || ${bench}, '+4915' || lpad(i::text, 9, '0'),
           (array['DE','FR','GB','NL','ES','IT','PL','SE','US','CH'])[1 + i % 10],
           'First' || i, 'Last' || i, date '1960-01-01' + (i % 15000)::integer, now() - interval '300 days',
           upper(lpad(to_hex(i), 10, '0')), now() - interval '300 days', now() - (i % 1000) * interval '1 hour',
           now() - interval '400 days' + (i % 365) * interval '1 day', now()
    from generate_series($1::bigint, $2::bigint) i`, [existing + off, existing + off + n - 1]));

  await stage('password hashes', users - existing, (off, n) => q(`
    insert into app_private.user_secrets (user_id, password_hash)
    select md5('bench-user-' || i)::uuid, (select h from bench_hashes where bench_hashes.i = g.i % 4)
    from generate_series($1::bigint, $2::bigint) g(i)`, [existing + off, existing + off + n - 1]));

  await stage('sessions', (users - existing) * 5, (off, n) => q(`
    insert into app.user_sessions (id, user_id, rotation_counter, device_fingerprint, device_name, ip, user_agent, aal, amr,
                                   auth_time, created_at, last_activity_at, idle_expires_at, expires_at, revoked_at, revoked_reason)
    select md5('bench-session-' || s)::uuid, md5('bench-user-' || (s / 5))::uuid, s % 7, 'fp-' || (s / 5) || '-' || (s % 2),
           'Device ' || (s % 2), ('10.' || (s % 250) || '.' || (s / 250 % 250) || '.' || (s % 200 + 1))::inet,
           'Mozilla/5.0 bench', 'aal1', '{pwd}',
           t, t, t, least(t + interval '30 minutes', t + interval '12 hours'), t + interval '12 hours',
           case when s % 10 = 0 then null else t + interval '1 hour' end,
           case when s % 10 = 0 then null else 'logout' end
    from (select s, case when s % 10 = 0 then now() - interval '1 minute' else now() - (1 + s % 90) * interval '1 day' end as t
          from generate_series($1::bigint, $2::bigint) s) x`, [existing * 5 + off, existing * 5 + off + n - 1]));

  await stage('audit entries', (users - existing) * 10, (off, n) => q(`
    insert into audit.audit_log (occurred_at, kind, event_type, severity, actor_id, subject_user_id, session_id, operation, details, ip, user_agent, request_id)
    select now() - (a % 2160) * interval '1 hour' - (a % 3600) * interval '1 second', 'event',
           (array['auth.login.succeeded','auth.login.failed','session.created','auth.logout','auth.login.succeeded'])[1 + a % 5],
           case when a % 5 = 1 then 'warning' else 'info' end,
           md5('bench-user-' || (a / 10))::uuid, md5('bench-user-' || (a / 10))::uuid, null, 'EVENT', '{}'::jsonb,
           ('10.' || (a % 250) || '.0.1')::inet, 'Mozilla/5.0 bench', 'bench-' || a
    from generate_series($1::bigint, $2::bigint) a`, [existing * 10 + off, existing * 10 + off + n - 1]));

  log(chalk.dim('  analyze...'));
  await q(`analyze app.users; analyze app_private.user_secrets; analyze app.user_sessions; analyze audit.audit_log`);
  log(`  loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

