// Bench data set (npm run bench:data): loads a realistic data set fast, set-based
// in the database (no row-by-row API calls), with progress and rate.
// Defaults follow the seed: 1,000,000 users, 5 sessions each (10% active, with
// their refresh-token hashes), 20% with TOTP (200,000 MFA configs), 10% with a
// KYC verification (100,000, each with 2 documents and 2 screening results),
// 10 audit entries each (10,000,000), appended in time order over 90 days.
// Generated users share a handful of precomputed bcrypt hashes (cost 12 for a
// million users would take days of CPU); triggers are disabled while loading,
// so the synthetic rows are not themselves audited. Loading is incremental:
// `--users 100000` then `--users 1000000` adds the 900,000 missing users.
import { chalk } from 'zx';
import pg from 'pg';

export const BENCH_DOMAIN = 'bench.dwaybank.test';
export const BENCH_PASSWORD = (i) => `bench password ${i % 4}`;
/** A deterministic UUID (version 4 and variant bits set, as validators expect) from a SQL text expression. */
export const benchUuid = (expr) => `overlay(overlay(md5(${expr}) placing '4' from 13) placing '8' from 17)::uuid`;
/** The password of generated user i (users share 4 precomputed hashes). */
export const benchUser = (i) => ({ email: `user${i}@${BENCH_DOMAIN}`, password: BENCH_PASSWORD(i) });
/** Generated user i has TOTP (a placeholder secret) when i % 5 = 0, a KYC record when i % 10 = 1. */
export const hasMfa = (i) => i % 5 === 0;

export async function countBenchUsers(client) {
  const r = await client.query(`select count(*)::int as n from app.users where email like '%@${BENCH_DOMAIN}'`);
  return r.rows[0].n;
}

export async function loadData({ users, batch = 50_000, connectionString, log = console.log }) {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await load(client, { users, batch, log });
  } finally {
    await client.end();
  }
}

function progressBar(label, done, total, started, state = {}) {
  const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
  const width = 30, filled = Math.round((done / total) * width);
  const line = `  ${label.padEnd(16)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toLocaleString()}/${total.toLocaleString()} ${Math.round(rate).toLocaleString()}/s`;
  if (process.stdout.isTTY) {
    process.stdout.write(`\r${line}   ${done >= total ? '\n' : ''}`);
  } else {
    const decile = Math.floor((done / total) * 10);  // logs and pipes: a line every 10%
    if (decile !== state.decile) { state.decile = decile; process.stdout.write(`${line}\n`); }
  }
}

async function load(client, { users, batch, log }) {
  const q = (sql, params) => client.query(sql, params);
  await q(`set session_replication_role = replica`);  // no triggers: bulk load
  await q(`set synchronous_commit = off`);
  await q(`set maintenance_work_mem = '512MB'`);
  const t0 = Date.now();
  const stage = async (label, from, to, perUser, fn) => {
    const total = Math.round((to - from) * perUser);
    if (total <= 0) return;
    const started = Date.now(), state = {};
    const step = Math.max(1, Math.floor(batch / perUser));
    for (let u = from; u < to; u += step) {
      const end = Math.min(to, u + step);
      await fn(u, end - 1);  // users u..end-1 (inclusive bounds)
      progressBar(label, Math.min(total, Math.round((end - from) * perUser)), total, started, state);
    }
  };

  const existing = await countBenchUsers(client);
  const audited = Number((await q(`select count(*) from audit.audit_log where request_id like 'bench-%'`)).rows[0].count);
  if (audited < existing * 10) {
    throw new Error(`an earlier load stopped half-way (${existing} users, ${audited} audit entries): run again with --fresh`);
  }
  if (existing >= users) {
    log(`  ${existing.toLocaleString()} bench users already loaded`);
    return { users: existing, seconds: 0 };
  }
  const hasKyc = (await q(`select to_regclass('app.kyc_records') is not null as k`)).rows[0].k;
  // Months back and ahead of partitions for the audit history.
  await q(`select audit.create_partitions(6, now() - interval '3 months')`);
  await q(`create temp table if not exists bench_hashes as
           select i, app_private.hash_password('bench password ' || i) as h from generate_series(0, 3) i`);
  const bench = `'@${BENCH_DOMAIN}'`;
  const uid = (expr) => benchUuid(`'bench-user-' || (${expr})`);

  await stage('users', existing, users, 1, (a, b) => q(`
    insert into app.users (id, email, phone, country_code, first_name, last_name, date_of_birth, email_verified_at,
                           referral_code, password_changed_at, last_login_at, created_at, updated_at)
    select ${uid('i')}, 'user' || i || ${bench}, '+4915' || lpad(i::text, 9, '0'),
           (array['DE','FR','GB','NL','ES','IT','PL','SE','US','CH'])[1 + i % 10],
           'First' || i, 'Last' || i, date '1960-01-01' + (i % 15000)::integer, now() - interval '300 days',
           upper(lpad(to_hex(i), 10, '0')), now() - interval '300 days', now() - (i % 1000) * interval '1 hour',
           now() - interval '400 days' + (i % 365) * interval '1 day', now()
    from generate_series($1::bigint, $2::bigint) i`, [a, b]));

  await stage('password hashes', existing, users, 1, (a, b) => q(`
    insert into app_private.user_secrets (user_id, password_hash)
    select ${uid('i')}, (select h from bench_hashes where bench_hashes.i = g.i % 4)
    from generate_series($1::bigint, $2::bigint) g(i)`, [a, b]));

  await stage('sessions', existing, users, 5, (a, b) => q(`
    insert into app.user_sessions (id, user_id, rotation_counter, device_fingerprint, device_name, ip, user_agent, aal, amr,
                                   auth_time, created_at, last_activity_at, idle_expires_at, expires_at, revoked_at, revoked_reason)
    select ${benchUuid("'bench-session-' || s")}, ${uid('s / 5')}, s % 7, 'fp-' || (s / 5) || '-' || (s % 2),
           'Device ' || (s % 2), ('10.' || (s % 250) || '.' || (s / 250 % 250) || '.' || (s % 200 + 1))::inet,
           'Mozilla/5.0 bench', 'aal1', '{pwd}',
           t, t, t, least(t + interval '30 minutes', t + interval '12 hours'), t + interval '12 hours',
           case when s % 10 = 0 then null else t + interval '1 hour' end,
           case when s % 10 = 0 then null else 'logout' end
    from (select s, case when s % 10 = 0 then now() - interval '1 minute' else now() - (1 + s % 90) * interval '1 day' end as t
          from generate_series($1::bigint * 5, $2::bigint * 5 + 4) s) x`, [a, b]));

  // Live sessions keep their refresh-token hash; ended ones lose it (cleanup_expired_sessions).
  await stage('refresh tokens', existing, users, 0.5, (a, b) => q(`
    insert into app_private.refresh_tokens (token_hash, session_id, generation, created_at)
    select app_private.token_hash('bench-token-' || s), ${benchUuid("'bench-session-' || s")}, s % 7, now() - interval '1 minute'
    from generate_series($1::bigint * 5, $2::bigint * 5 + 4) s where s % 10 = 0`, [a, b]));

  await stage('MFA configs', existing, users, 0.2, (a, b) => q(`
    with c as (
      insert into app.mfa_configs (id, user_id, method, status, label, last_used_step, created_at, confirmed_at, last_used_at, updated_at)
      select ${benchUuid("'bench-mfa-' || i")}, ${uid('i')}, 'totp', 'active', 'Authenticator app', null,
             now() - interval '200 days', now() - interval '200 days', now() - (i % 30) * interval '1 day', now()
      from generate_series($1::bigint, $2::bigint) i where i % 5 = 0
      returning id)
    insert into app_private.mfa_secrets (config_id, ciphertext, key_id)
    select c.id, 'v1.bench.' || encode(extensions.digest(c.id::text, 'sha256'), 'hex'), 'bench' from c`, [a, b]));

  if (hasKyc) {
    await stage('KYC records', existing, users, 0.1, async (a, b) => {
      await q(`
        insert into app.kyc_records (id, user_id, level, status, legal_first_name, legal_last_name, date_of_birth, nationality,
                                     address_line1, city, postal_code, residence_country, id_document_type, id_document_number,
                                     risk_score, risk_level, risk_assessed_at, automated_decision, decided_at, expires_at,
                                     submitted_at, created_at, updated_at)
        select ${benchUuid("'bench-kyc-' || i")}, ${uid('i')}, (array['basic','standard','enhanced'])[1 + i % 3], st,
               'Anna' || translate(i::text, '0123456789', 'abcdefghij'), 'Meyer' || translate(i::text, '0123456789', 'abcdefghij'), date '1960-01-01' + (i % 15000)::integer, 'DE', 'Street ' || (i % 200 + 1), 'Berlin',
               lpad((10000 + i % 89999)::text, 5, '0'), 'DE', 'passport', 'P' || lpad(i::text, 9, '0'), i % 100,
               case when i % 100 < 60 then 'low' when i % 100 < 85 then 'medium' when i % 100 < 97 then 'high' else 'critical' end,
               now() - interval '30 days', st = 'approved',
               case when st in ('approved', 'rejected') then now() - interval '20 days' end,
               case when st = 'approved' then now() + (i % 700) * interval '1 day' end,
               now() - interval '25 days', now() - interval '30 days', now() - interval '20 days'
        from (select i, case when i % 100 < 91 then 'approved' when i % 100 < 95 then 'pending' when i % 100 < 97 then 'in_review'
                             else 'rejected' end as st
              from generate_series($1::bigint, $2::bigint) i where i % 10 = 1) x`, [a, b]);
      await q(`
        insert into app.kyc_documents (kyc_record_id, user_id, document_type, issuing_country, document_number, expires_on,
                                       status, mime_type, size_bytes, sha256, created_at, updated_at)
        select ${benchUuid("'bench-kyc-' || i")}, ${uid('i')}, t, case when t = 'passport' then 'DE' end,
               case when t = 'passport' then 'P' || lpad(i::text, 9, '0') end, case when t = 'passport' then date '2031-01-01' end,
               'accepted', case when t = 'passport' then 'image/jpeg' else 'application/pdf' end, 200000 + i % 100000,
               extensions.digest('bench-doc-' || i || t, 'sha256'), now() - interval '29 days', now() - interval '29 days'
        from generate_series($1::bigint, $2::bigint) i, unnest(array['passport', 'proof_of_address']) t where i % 10 = 1`, [a, b]);
      await q(`
        insert into app.kyc_compliance_checks (kyc_record_id, user_id, check_type, list_version, status, top_score, created_at, updated_at)
        select ${benchUuid("'bench-kyc-' || i")}, ${uid('i')}, t, 'bench-1', case when i % 997 = 0 then 'potential_match' else 'clear' end,
               case when i % 997 = 0 then 88 else 0 end, now() - interval '28 days', now() - interval '28 days'
        from generate_series($1::bigint, $2::bigint) i, unnest(array['sanctions', 'pep']) t where i % 10 = 1`, [a, b]);
    });
  } else {
    log(chalk.yellow('  (no app.kyc_records yet: KYC data skipped)'));
  }

  // Audit entries in time order (as the trail is appended), after whatever is
  // there; each of the new users gets 10, scattered over the period.
  const { rows: [span] } = await q(`
    select extract(epoch from coalesce(max(occurred_at), now() - interval '90 days'))::float8 as start,
           extract(epoch from now())::float8 as stop
    from audit.audit_log where request_id like 'bench-%'`);
  const entries = (users - existing) * 10;
  // With the hash chain (000005-create-audit-trail-and-reporting.sql) the history is generated as already
  // sealed, as it would be in production (audit.seal runs every minute), with
  // synthetic hashes: verify_chain does not hold over bench data.
  const chained = (await q(`select exists (select from pg_attribute where attrelid = 'audit.audit_log'::regclass and attname = 'seq' and not attisdropped) as c`)).rows[0].c;
  const seq0 = chained ? Number((await q(`select coalesce(max(seq), 0) as s from audit.audit_log where seq is not null`)).rows[0].s) : 0;
  const chainCols = chained ? ', seq, prev_hash, hash, sealed_at' : '';
  const chainVals = chained ? `, $8::bigint + (e - $4::bigint) + 1, extensions.digest('bench-chain-' || (e - 1), 'sha256'),
           extensions.digest('bench-chain-' || e, 'sha256'), to_timestamp($3::float8 + (e - $4::bigint) * $5::float8) + interval '30 seconds'` : '';
  const stepSec = Math.max(0.0001, (span.stop - span.start) / entries);
  await stage('audit entries', existing, users, 10, (a, b) => q(`
    insert into audit.audit_log (occurred_at, kind, event_type, severity, actor_id, subject_user_id, table_name, row_id,
                                 operation, changed_columns, old_values, new_values, details, ip, user_agent, request_id${chainCols})
    select to_timestamp($3::float8 + (e - $4::bigint) * $5::float8), k,
           case when k = 'row' then 'update'
                else (array['auth.login.succeeded','auth.login.failed','session.created','auth.logout','auth.mfa_required'])[1 + e % 5] end,
           case when e % 5 = 1 then 'warning' else 'info' end,
           ${uid('u')}, ${uid('u')}, case when k = 'row' then 'app.users' end, case when k = 'row' then ${uid('u')}::text end,
           case when k = 'row' then 'UPDATE' else 'EVENT' end,
           case when k = 'row' then '{last_login_at}'::text[] end,
           case when k = 'row' then jsonb_build_object('last_login_at', now() - interval '2 days') end,
           case when k = 'row' then jsonb_build_object('last_login_at', now() - interval '1 day') end,
           case when k = 'event' then jsonb_build_object('session_id', ${benchUuid("'bench-session-' || e")}) else '{}'::jsonb end,
           ('10.' || (e % 250) || '.0.1')::inet, 'Mozilla/5.0 (X11; Linux x86_64) bench', 'bench-' || e${chainVals}
    from (select e, $6::bigint + ((e - $4::bigint) * 7919) % $7::bigint as u, case when e % 3 = 0 then 'row' else 'event' end as k
          from generate_series($1::bigint * 10, $2::bigint * 10 + 9) e) x`,
    [a, b, span.start, existing * 10, stepSec, existing, users - existing, ...(chained ? [seq0] : [])]));

  // What a DBA runs after a bulk load: without it, autovacuum visits every new
  // page (hint bits, visibility map) and the checkpointer writes gigabytes
  // while the scenarios run (a run measured that way was a third slower).
  const vacuumStarted = Date.now();
  log(chalk.dim('  vacuum (analyze), checkpoint...'));
  for (const t of ['app.users', 'app_private.user_secrets', 'app.user_sessions', 'app_private.refresh_tokens', 'app.mfa_configs',
    'app_private.mfa_secrets', 'audit.audit_log', ...(hasKyc ? ['app.kyc_records', 'app.kyc_documents', 'app.kyc_compliance_checks'] : [])]) {
    await q(`vacuum (analyze) ${t}`);
  }
  await q('checkpoint');
  log(chalk.dim(`  (vacuum and checkpoint: ${((Date.now() - vacuumStarted) / 1000).toFixed(0)} s)`));
  const seconds = (Date.now() - t0) / 1000;
  log(`  loaded ${(users - existing).toLocaleString()} users and their data in ${seconds.toFixed(0)} s`);
  return { users, seconds };
}
