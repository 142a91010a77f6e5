-- Query plans: every hot path uses an index, on tables with enough rows that
-- the planner chooses an index on its own (no enable_seqscan tricks), and every
-- index serves at least one of these queries.
begin;
select plan(28);

-- A realistic slice of data, generated inside this transaction (rolled back):
-- 20,000 users, 3 sessions each (1 in 10 live), 1 in 5 with TOTP and backup
-- codes, 10 audit entries each. Triggers are off while loading (superuser), so
-- the rows are not themselves audited.
set local session_replication_role = replica;
insert into app.users (id, email, first_name, last_name, created_at, updated_at)
select md5('plans-user-' || i)::uuid, 'plans' || i || '@plans.test', 'First', 'Last', now(), now()
from generate_series(1, 20000) i;
insert into app_private.user_secrets (user_id, password_hash)
select md5('plans-user-' || i)::uuid, '$2a$04$abcdefghijklmnopqrstuu5bQ3Ojz0v7Ly8S4PJpM4h7fK8.PEnAG'
from generate_series(1, 20000) i;
insert into app.user_sessions (id, user_id, device_fingerprint, ip, user_agent, created_at, last_activity_at,
                               idle_expires_at, expires_at, revoked_at, revoked_reason)
select md5('plans-session-' || s)::uuid, md5('plans-user-' || (1 + s % 20000))::uuid, 'fp-' || s % 7,
       ('10.0.' || (s % 250) || '.' || (s % 200 + 1))::inet, 'bench', now() - interval '2 days', now() - interval '2 days',
       case when s % 10 = 0 then now() + interval '20 minutes' else now() - interval '1 day' end,
       case when s % 10 = 0 then now() + interval '10 hours' else now() - interval '1 day' end,
       case when s % 10 = 0 then null else now() - interval '1 day' end,
       case when s % 10 = 0 then null else 'logout' end
from generate_series(1, 60000) s;
insert into app_private.refresh_tokens (token_hash, session_id, generation)
select app_private.token_hash('plans-token-' || s), md5('plans-session-' || s)::uuid, 0 from generate_series(1, 60000) s;
insert into app.mfa_configs (id, user_id, method, status, confirmed_at, created_at)
select md5('plans-mfa-' || i || m)::uuid, md5('plans-user-' || i)::uuid, m, 'active', now(), now()
from generate_series(1, 20000, 5) i, unnest(array['totp', 'backup_codes']) m;
insert into app_private.mfa_secrets (config_id, ciphertext, key_id)
select md5('plans-mfa-' || i || 'totp')::uuid, 'v1.k.' || repeat('x', 40), 'k' from generate_series(1, 20000, 5) i;
insert into app_private.mfa_backup_codes (code_hash, config_id, user_id)
select extensions.digest('plans-code-' || i || '-' || c, 'sha256'), md5('plans-mfa-' || i || 'backup_codes')::uuid,
       md5('plans-user-' || i)::uuid
from generate_series(1, 20000, 5) i, generate_series(1, 10) c;
insert into app_private.mfa_challenges (user_id, config_id, method, code_hash, created_at, expires_at, consumed_at)
select md5('plans-user-' || i)::uuid, md5('plans-mfa-' || i || 'totp')::uuid, 'sms', extensions.digest('c' || i, 'sha256'),
       now() - interval '1 hour', now() - interval '50 minutes', now() - interval '55 minutes'
from generate_series(1, 20000, 5) i;
insert into app.mfa_verification_attempts (user_id, method, purpose, outcome, ip, created_at)
select md5('plans-user-' || (1 + a % 20000))::uuid, 'totp', 'login', 'success', ('10.1.' || (a % 250) || '.1')::inet,
       now() - (a % 5000) * interval '1 minute'
from generate_series(1, 40000) a;
insert into app.trusted_devices (user_id, device_fingerprint, expires_at)
select md5('plans-user-' || i)::uuid, 'fp-' || i, now() + interval '30 days' from generate_series(1, 20000, 4) i;
insert into app_private.mfa_logins (user_id, methods, created_at, expires_at, consumed_at)
select md5('plans-user-' || i)::uuid, '{totp}', now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
from generate_series(1, 20000, 5) i;
insert into app_private.outbox (user_id, channel, template, created_at, sent_at)
select md5('plans-user-' || i)::uuid, 'email', 'mfa_code', now() - interval '1 day', now() - interval '1 day'
from generate_series(1, 20000) i;
insert into app_private.ip_login_failures (ip, bucket, failures)
select ('10.2.' || (b % 250) || '.' || (b / 250 % 250))::inet, date_trunc('minute', now()) - (b % 60) * interval '1 minute', 1
from generate_series(1, 20000) b;
insert into audit.audit_log (occurred_at, kind, event_type, severity, subject_user_id, table_name, row_id, operation, request_id)
select now() - (a % 600000) * interval '1 second', case when a % 2 = 0 then 'event' else 'row' end,
       case when a % 2 = 0 then (array['auth.login.succeeded', 'auth.login.failed', 'session.created'])[1 + a % 3] else 'update' end,
       'info', md5('plans-user-' || (1 + a % 20000))::uuid,
       case when a % 2 = 1 then 'app.users' end, case when a % 2 = 1 then md5('plans-user-' || (1 + a % 20000))::uuid::text end,
       case when a % 2 = 0 then 'EVENT' else 'UPDATE' end, 'plans-' || a
from generate_series(1, 200000) a
order by a desc;  -- appended in time order, as the trail is
set local session_replication_role = origin;
analyze app.users; analyze app_private.user_secrets; analyze app.user_sessions; analyze app_private.refresh_tokens;
analyze app.mfa_configs; analyze app_private.mfa_secrets; analyze app_private.mfa_backup_codes; analyze app_private.mfa_challenges;
analyze app.mfa_verification_attempts; analyze app.trusted_devices; analyze app_private.mfa_logins; analyze app_private.outbox;
analyze app_private.ip_login_failures; analyze audit.audit_log;

-- The hot queries, as the functions run them (citext operators named explicitly,
-- as the definer functions' search_path resolves them).
create temp table hot_queries (name text primary key, sql text not null);
insert into hot_queries values
  ('sign-in by e-mail', $$select * from app.users u where u.email operator(extensions.=) 'plans77@plans.test'::extensions.citext and u.deleted_at is null$$),
  ('password hash of a user', $$select s.password_hash from app_private.user_secrets s where s.user_id = md5('plans-user-77')::uuid$$),
  ('session by id (pre-request check)', $$select from app.user_sessions s join app.users u on u.id = s.user_id
     where s.id = md5('plans-session-70')::uuid and s.user_id = md5('plans-user-71')::uuid and u.deleted_at is null and u.status = 'active'$$),
  ('session by token hash (refresh)', $$select * from app_private.refresh_tokens t where t.token_hash = app_private.token_hash('plans-token-70')$$),
  ('token generation of a session', $$select max(t.generation) from app_private.refresh_tokens t where t.session_id = md5('plans-session-70')::uuid$$),
  ('sessions of a user (risk, my_sessions)', $$select * from app.user_sessions s where s.user_id = md5('plans-user-77')::uuid order by s.created_at desc limit 100$$),
  ('expired live sessions (cleanup)', $$select s.id from app.user_sessions s where s.revoked_at is null and s.expires_at <= now()$$),
  ('MFA methods of a user', $$select c.*, (select count(*) from app_private.mfa_backup_codes b where b.config_id = c.id and b.used_at is null)
     from app.mfa_configs c where c.user_id = md5('plans-user-76')::uuid order by c.created_at$$),
  ('TOTP secret of a user', $$select c.id, s.ciphertext from app.mfa_configs c join app_private.mfa_secrets s on s.config_id = c.id
     where c.user_id = md5('plans-user-76')::uuid and c.method = 'totp'$$),
  ('pending MFA sign-in', $$select * from app_private.mfa_logins l where l.id = md5('x')::uuid$$),
  ('live code of a factor', $$select * from app_private.mfa_challenges c where c.config_id = md5('plans-mfa-76totp')::uuid
     and c.consumed_at is null order by c.created_at desc limit 1$$),
  ('codes sent to a user (challenge limit)', $$select count(*) from app_private.mfa_challenges c
     where c.user_id = md5('plans-user-76')::uuid and c.created_at > now() - interval '15 minutes'$$),
  ('MFA failures of a user (rate limit)', $$select a.created_at from app.mfa_verification_attempts a
     where a.user_id = md5('plans-user-76')::uuid and a.created_at > now() - interval '15 minutes'
       and a.outcome in ('failed', 'replayed', 'expired', 'locked') order by a.created_at desc limit 5$$),
  ('MFA failures of an address (rate limit)', $$select a.created_at from app.mfa_verification_attempts a
     where a.ip = '10.1.7.1' and a.created_at > now() - interval '15 minutes'
       and a.outcome in ('failed', 'replayed', 'expired', 'locked') order by a.created_at desc limit 50$$),
  ('trusted devices of a user', $$select * from app.trusted_devices d where d.user_id = md5('plans-user-77')::uuid
     order by d.revoked_at is not null, d.created_at desc limit 100$$),
  ('outbox queue', $$select o.id from app_private.outbox o where o.sent_at is null and o.dead_at is null and o.next_attempt_at <= now() order by o.next_attempt_at limit 10$$),
  ('failures of an address (IP throttle)', $$select sum(f.failures) from app_private.ip_login_failures f
     where f.ip = '10.2.7.7' and f.bucket > now() - interval '15 minutes'$$),
  ('audit history of a user', $$select * from audit.audit_log a where a.subject_user_id = md5('plans-user-77')::uuid
     order by a.occurred_at desc limit 50$$),
  ('security events by type and time', $$select * from audit.audit_log a where a.kind = 'event' and a.event_type = 'auth.login.failed'
     and a.occurred_at > now() - interval '1 hour' order by a.occurred_at desc limit 100$$),
  ('audit entries in a time range', $$select * from audit.audit_log a where a.occurred_at > now() - interval '1 hour'
     order by a.occurred_at desc limit 100$$),
  -- A row's history is read through its subject (000007 dropped the index by row: no function read it).
  ('history of a row', $$select * from audit.audit_log a where a.subject_user_id = md5('plans-user-77')::uuid and a.kind = 'row'
     and a.table_name = 'app.users' and a.row_id = md5('plans-user-77')::uuid::text order by a.occurred_at desc limit 50$$),
  ('audit entries of a request', $$select * from audit.audit_log a where a.request_id = 'plans-1234'$$),
  -- GDPR erasure (app_private.erase_user) replaces the addresses of a person's entries as actor, not only as subject.
  ('audit entries of a person as actor (erasure)', $$select a.id from audit.audit_log a where a.actor_id = md5('plans-user-77')::uuid$$),
  -- The chain (000005-create-audit-trail-and-reporting.sql): the sealer reads the head and the unsealed entries; verify_chain walks a seq range.
  ('audit chain head (seal)', $$select a.seq, a.hash from audit.audit_log a where a.seq is not null order by a.seq desc limit 1$$),
  ('unsealed audit entries (seal)', $$select * from audit.audit_log a where a.seq is null order by a.id limit 1000$$),
  ('audit chain range (verify)', $$select * from audit.audit_log a where a.seq between 1000 and 2000 order by a.seq, a.id$$),
  ('recent security events', $$select * from audit.audit_log a where a.kind = 'event' and a.severity <> 'info'
     and a.occurred_at > now() - interval '1 day' order by a.occurred_at desc limit 100$$);

-- KYC (000004-create-kyc-table.sql), when migrated: 1 user in 10 has a verification, most of
-- them approved, with two documents and two screening results each; about 1 in 1,000
-- results is a potential match (the rate in the bench data set).
do $$
begin
  if to_regclass('app.kyc_records') is null then
    return;
  end if;
  set local session_replication_role = replica;
  execute $sql$
    insert into app.kyc_records (id, user_id, level, status, legal_first_name, legal_last_name, date_of_birth, nationality,
                                 address_line1, city, postal_code, residence_country, id_document_type, id_document_number,
                                 risk_score, risk_level, automated_decision, decided_at, expires_at, submitted_at, created_at)
    select md5('plans-kyc-' || i)::uuid, md5('plans-user-' || i)::uuid, 'standard', st, 'First', 'Last', date '1980-01-01', 'DE',
           'Street 1', 'Berlin', '10115', 'DE', 'passport', 'P' || lpad(i::text, 8, '0'), i % 100,
           case when st = 'approved' then 'low' end, st = 'approved',
           case when st in ('approved', 'rejected') then now() - interval '10 days' end,
           case when st = 'approved' then now() + interval '300 days' end, now() - interval '11 days', now() - interval '12 days'
    from (select i, case when i % 100 < 5 then 'pending' when i % 100 < 8 then 'in_review' when i % 100 < 10 then 'rejected'
                         else 'approved' end as st
          from generate_series(1, 20000, 10) i) x
  $sql$;
  execute $sql$
    insert into app.kyc_documents (kyc_record_id, user_id, document_type, issuing_country, document_number, expires_on,
                                   mime_type, size_bytes, sha256)
    select md5('plans-kyc-' || i)::uuid, md5('plans-user-' || i)::uuid, t, case when t = 'passport' then 'DE' end,
           case when t = 'passport' then 'P' || lpad(i::text, 8, '0') end, case when t = 'passport' then date '2030-01-01' end,
           'image/png', 1000, extensions.digest(i || t, 'sha256')
    from generate_series(1, 20000, 10) i, unnest(array['passport', 'proof_of_address']) t
  $sql$;
  execute $sql$
    insert into app.kyc_compliance_checks (kyc_record_id, user_id, check_type, status, top_score)
    select md5('plans-kyc-' || i)::uuid, md5('plans-user-' || i)::uuid, t, case when i % 997 = 0 then 'potential_match' else 'clear' end, 0
    from generate_series(1, 20000, 10) i, unnest(array['sanctions', 'pep']) t
  $sql$;
  set local session_replication_role = origin;
  analyze app.kyc_records; analyze app.kyc_documents; analyze app.kyc_compliance_checks;
  insert into hot_queries values
    ('latest KYC of a user', $q$select r.id, r.status, r.level, r.risk_level, r.decided_at, r.expires_at from app.kyc_records r
       where r.user_id = md5('plans-user-71')::uuid order by r.created_at desc limit 1$q$),
    ('approved KYC of a user', $q$select r.expires_at from app.kyc_records r
       where r.user_id = md5('plans-user-71')::uuid and r.status = 'approved' and r.expires_at > now()$q$),
    ('KYC review queue', $q$select * from api.kyc_review_queue limit 50$q$),
    ('KYC review queue page (keyset)', $q$select * from api.kyc_queue(after_risk_score => 50, after_waiting_since => now() - interval '11 days',
       after_id => md5('plans-kyc-71')::uuid, page_size => 25)$q$),
    ('KYC approvals to expire', $q$select r.id from app.kyc_records r where r.status = 'approved' and r.expires_at <= now() + interval '30 days'$q$),
    ('KYC documents of a verification', $q$select * from app.kyc_documents d where d.kyc_record_id = md5('plans-kyc-71')::uuid$q$),
    ('KYC documents of a user', $q$select * from app.kyc_documents d where d.user_id = md5('plans-user-71')::uuid order by d.created_at desc$q$),
    ('screening results of a verification', $q$select * from app.kyc_compliance_checks c where c.kyc_record_id = md5('plans-kyc-71')::uuid
       and c.check_type = 'pep'$q$);
end
$$;

create function pg_temp.plan_json(query text) returns jsonb
  language plpgsql volatile
  as $$
declare
  v_plan json;
begin
  execute 'explain (format json) ' || query into v_plan;
  return v_plan::jsonb;
end
$$;

-- Every node of every plan, with the index it reads (partition indexes named by
-- their parent index).
create temp table plan_nodes as
with plans as (
  select q.name, pg_temp.plan_json(q.sql) as plan from hot_queries q
)
select p.name, n ->> 'Node Type' as node, n ->> 'Relation Name' as relation,
       coalesce(parent.relname, n ->> 'Index Name') as index_name,
       coalesce(rel.reltuples <= 0, false) as empty_relation
from plans p
cross join lateral jsonb_path_query(p.plan, 'strict $.**') n
left join pg_class ix on ix.relname = n ->> 'Index Name'
left join pg_inherits inh on inh.inhrelid = ix.oid
left join pg_class parent on parent.oid = inh.inhparent
left join pg_class rel on rel.relname = n ->> 'Relation Name' and rel.relkind = 'r'
where jsonb_typeof(n) = 'object' and n ? 'Node Type';

-- Open plan problems, asserted as TODO tests below (not hidden). None is open.
create temp table known_issues (name text primary key, index_name text not null);

-- A sequential scan of an empty partition (next month's audit log) reads nothing.
create temp view seq_scans as
  select name, relation from plan_nodes where node = 'Seq Scan' and not empty_relation
   and name not in (select name from known_issues);

select is_empty($$ select name || ': ' || relation from seq_scans where name = 'sign-in by e-mail' $$,
  'should find a user by e-mail through the index of active users');
select ok(exists (select from plan_nodes where name = 'sign-in by e-mail' and index_name = 'users_email_active_idx'),
  'should use the partial unique index users_email_active_idx for sign-in');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'password hash of a user' $$,
  'should read a password hash by primary key');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'session by id (pre-request check)' $$,
  'should check a session (pre-request) without a sequential scan');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'session by token hash (refresh)' $$,
  'should find a refresh token by its hash without a sequential scan');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'token generation of a session' $$,
  'should find the current token generation of a session by index');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'sessions of a user (risk, my_sessions)' $$,
  'should list a user''s sessions by index');
select ok(exists (select from plan_nodes where name = 'expired live sessions (cleanup)' and index_name = 'user_sessions_live_expiry_idx'),
  'should find expired live sessions through the partial index of live sessions');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'MFA methods of a user' $$,
  'should list a user''s MFA methods (and count backup codes) without a sequential scan');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'TOTP secret of a user' $$,
  'should read a TOTP secret by index');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'pending MFA sign-in' $$,
  'should find a pending MFA sign-in by primary key');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'live code of a factor' $$,
  'should find the live SMS/e-mail code of a factor by index');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'codes sent to a user (challenge limit)' $$,
  'should count codes sent to a user by index');
select is_empty($$ select name || ': ' || relation from seq_scans where name like 'MFA failures of %' $$,
  'should count MFA failures of a user and of an address by index');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'trusted devices of a user' $$,
  'should list a user''s trusted devices by index');
select ok(exists (select from plan_nodes where name = 'outbox queue' and index_name = 'outbox_due_idx'),
  'should take the outbox queue from the partial index of messages due for delivery');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'failures of an address (IP throttle)' $$,
  'should count an address''s sign-in failures by primary key');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'audit history of a user' $$,
  'should read one user''s audit history by index, in every partition');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'security events by type and time' $$,
  'should read security events by type and time by index');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'audit entries in a time range' $$,
  'should read audit entries of a time range through the BRIN index');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'history of a row' $$,
  'should read the history of one row by index');
select is_empty($$ select name || ': ' || relation from seq_scans where name = 'audit entries of a request' $$,
  'should find the audit entries of a request by index');

-- KYC: the status check and the review queue (000004-create-kyc-table.sql).
select case when to_regclass('app.kyc_records') is null
  then skip('KYC tables are not migrated yet (000004-create-kyc-table.sql)', 2)
  else collect_tap(
    is_empty($q$ select name || ': ' || relation from seq_scans where name in ('latest KYC of a user', 'approved KYC of a user') $q$,
      'should check a user''s KYC status by index'),
    is_empty($q$ select name || ': ' || relation from seq_scans
                 where (name like 'KYC %' or name like 'screening %') and name not in (select name from known_issues) $q$,
      'should serve the expiry job and a verification''s documents and checks by index')) end;

-- The review queue (000007): two branches, each driven by its own partial index.
select case when to_regclass('app.kyc_records') is null
  then skip('KYC tables are not migrated yet (000004-create-kyc-table.sql)', 2)
  else collect_tap(
    is_empty($q$ select name || ': ' || relation from plan_nodes where node = 'Seq Scan' and not empty_relation
                  and name = 'KYC review queue' $q$,
      'should take the KYC review queue from indexes, without a sequential scan'),
    ok(exists (select from plan_nodes where name = 'KYC review queue' and index_name = 'kyc_records_review_queue_idx')
       and exists (select from plan_nodes where name = 'KYC review queue' and index_name = 'kyc_compliance_checks_open_idx'),
      'should find waiting verifications by kyc_records_review_queue_idx and re-matched ones by kyc_compliance_checks_open_idx')) end;

-- Every index outside a constraint (primary keys and unique constraints keep
-- their data correct) serves at least one hot query above.
select is_empty($$
  select i.indexrelid::regclass::text
  from pg_index i
  join pg_class c on c.oid = i.indexrelid
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('app', 'app_private', 'audit')
    and not exists (select from pg_constraint k where k.conindid = i.indexrelid)
    and not exists (select from pg_inherits inh where inh.inhrelid = i.indexrelid)  -- partitions: their parent is checked
    and not exists (select from plan_nodes p where p.index_name = c.relname)
    and not exists (select from known_issues k where k.index_name = c.relname)
    and not i.indisunique  -- a unique index enforces a rule (e.g. one verification in progress)
    -- Only tables this file fills: a plan on an empty table proves nothing.
    and (select t.reltuples from pg_class t where t.oid = i.indrelid) > 0
    -- Kept although no hot query reads them, each for its foreign key (a hard
    -- delete of a user must not scan these tables) or staff tooling; candidates
    -- to drop, see README "Performance".
    and c.relname not in ('users_referred_by_idx', 'mfa_backup_codes_user_idx', 'mfa_logins_user_idx',
                          'kyc_records_renewal_of_idx')
  order by 1
$$, 'should have no index that no hot query uses');

select is_empty($$ select distinct name || ': ' || relation from seq_scans order by 1 $$,
  'should run no hot query with a sequential scan');

select * from finish();
rollback;
