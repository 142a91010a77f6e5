-- The audit trail as evidence: chain, sealing, verification and the four kinds
-- of tampering, append-only guards, partitions ahead, retention under legal
-- hold, GDPR export and erasure, reports, maintenance jobs.
begin;
select plan(73);

-- Tampering, as an attacker with superuser would: triggers off
-- (session_replication_role = replica). The change and its verdict happen in a
-- subtransaction that is rolled back, so each case starts from a clean chain.
create function pg_temp.tampered(attack text) returns audit.chain_report
  language plpgsql volatile
  as $$
declare
  v_report audit.chain_report;
begin
  begin
    perform set_config('session_replication_role', 'replica', true);
    execute attack;
    perform set_config('session_replication_role', 'origin', true);
    v_report := audit.verify_chain();
    raise exception using errcode = 'P0004', message = 'undo';
  exception when assert_failure then
    null;
  end;
  return v_report;
end
$$;

------------------------------------------------------------------------------
-- A busy database: sign-ins, failures, events; then seal and verify
------------------------------------------------------------------------------
select tests.create_user('chain1@example.com', 'a very secret passphrase 42') as chain1 \gset
select count(*) from generate_series(1, 5) g,
  lateral app.authenticate('chain1@example.com', 'a very secret passphrase 42', '192.0.2.60', 'pgtap ' || g);
select count(*) from generate_series(1, 3) g,
  lateral app.authenticate('chain1@example.com', 'a wrong passphrase here!', '192.0.2.61', 'pgtap ' || g);
select count(*) from generate_series(1, 300) g, lateral audit.log_event('test.busy', :'chain1'::uuid, jsonb_build_object('n', g));

select cmp_ok(audit.seal(), '>=', 300, 'should seal every new entry in one batch');
select is((select count(*)::int from audit.audit_log where seq is null), 0, 'should leave no entry unsealed after sealing');
select is((select count(*) - count(distinct seq) + (max(seq) - min(seq) + 1) - count(*) from audit.audit_log where seq is not null)::int, 0,
  'should number sealed entries without gaps or repeats');
select is((select row(ok, reason)::text from audit.verify_chain()), '(t,)', 'should verify the whole chain on a busy database');
select cmp_ok((select checked from audit.verify_chain()), '>=', 300::bigint, 'should report how many entries it checked');
select is((select ok from audit.verify_chain(now() - interval '1 minute', now() + interval '1 minute')), true,
  'should verify a time window of the chain');

select (audit.checkpoint()).head_seq as head \gset
select is((select head_seq from audit.checkpoints order by id desc limit 1), :'head'::bigint, 'should checkpoint the head of the chain');
select ok((select signature = audit.checkpoint_signature(head_seq, head_hash, created_at) from audit.checkpoints order by id desc limit 1),
  'should sign the checkpoint with the dedicated key');
select (:'head'::bigint - 150) as mid \gset

------------------------------------------------------------------------------
-- Tampering as superuser: each kind is detected
------------------------------------------------------------------------------
select is((select row(ok, first_bad_seq, reason)::text from pg_temp.tampered(format(
  $$update audit.audit_log set details = '{"n": -1}' where seq = %s$$, :'mid'))),
  format('(f,%s,hash_mismatch)', :'mid'), 'should detect an altered entry (and name it)');
select is((select row(ok, first_bad_seq, reason)::text from pg_temp.tampered(format(
  $$delete from audit.audit_log where seq = %s$$, :'mid'))),
  format('(f,%s,missing_entry)', :'mid'), 'should detect a removed entry');
select is((select row(ok, first_bad_seq, reason)::text from pg_temp.tampered(format(
  $$insert into audit.audit_log (kind, event_type, operation, seq, prev_hash, hash, sealed_at)
    select 'event', 'test.forged', 'EVENT', seq, prev_hash, extensions.gen_random_bytes(32), sealed_at from audit.audit_log where seq = %s$$, :'mid'))),
  format('(f,%s,duplicate_seq)', :'mid'), 'should detect an entry inserted into the sealed chain');
select is((select row(ok, reason)::text from pg_temp.tampered(
  $$insert into audit.audit_log (occurred_at, kind, event_type, operation) values (now() - interval '2 days', 'event', 'test.backdated', 'EVENT')$$)),
  '(f,backdated_entry)', 'should detect a backdated entry inserted after the fact, before sealing');
select is((select row(ok, reason)::text from pg_temp.tampered(
  $$insert into audit.audit_log (occurred_at, kind, event_type, operation) values (now() - interval '2 days', 'event', 'test.backdated', 'EVENT');
    select audit.seal()$$)),
  '(f,backdated_entry)', 'should detect a backdated entry inserted after the fact, after sealing');
select is((select row(ok, first_bad_seq, reason)::text from pg_temp.tampered(format(
  $$delete from audit.audit_log where seq > %s - 3$$, :'head'))),
  format('(f,%s,truncated)', :'head'::bigint - 2), 'should detect that the newest entries were dropped (checkpoint past the end)');
select is((select row(ok, reason)::text from pg_temp.tampered(format(
  $$delete from audit.audit_log where seq > %s - 3;
    select audit.log_event('test.rewritten', null) from generate_series(1, 5);
    select audit.seal()$$, :'head'))),
  '(f,checkpoint_mismatch)', 'should detect a rewritten tail (the checkpointed head no longer matches)');
select is((select row(ok, reason)::text from pg_temp.tampered(
  $$update audit.checkpoints set head_seq = head_seq - 1 where id = (select max(id) from audit.checkpoints)$$)),
  '(f,checkpoint_forged)', 'should detect a forged checkpoint');
select is((select ok from audit.verify_chain()), true, 'should verify again once the tampering is undone');

------------------------------------------------------------------------------
-- Append-only for everyone, the owner included
------------------------------------------------------------------------------
select tests.throws_api(format($$update audit.audit_log set event_type = 'x' where seq = %s$$, :'mid'), 403, null,
  'should refuse to update an entry, even for the table owner');
select tests.throws_api(format($$update audit.audit_log set seq = seq + 1000000 where seq = %s$$, :'mid'), 403, null,
  'should refuse to re-seal an entry');
select tests.throws_api(format($$delete from audit.audit_log where seq = %s$$, :'mid'), 403, null,
  'should refuse to delete an entry');
select tests.throws_api($$truncate audit.audit_log$$, 403, null, 'should refuse to truncate the audit log');
select tests.throws_api(format('truncate audit.%I', 'audit_log_' || to_char(now() at time zone 'UTC', 'YYYY_MM')), 403, null,
  'should refuse to truncate a partition on its own');
select is_empty($$
  select c.oid::regclass::text || ':' || r.rolname from pg_class c join pg_namespace n on n.oid = c.relnamespace
  cross join (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('dwaybank_gateway')) r(rolname)
  where n.nspname = 'audit' and c.relname like 'audit_log%'
    and (has_table_privilege(r.rolname, c.oid, 'update') or has_table_privilege(r.rolname, c.oid, 'delete')
         or has_table_privilege(r.rolname, c.oid, 'truncate') or has_table_privilege(r.rolname, c.oid, 'insert'))
$$, 'should give no API or gateway role write, delete or truncate rights on the audit log or its partitions');
select is_empty($$
  select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
  where i.inhparent = 'audit.audit_log'::regclass
    and not exists (select from pg_trigger t where t.tgrelid = c.oid and t.tgname = '_000_no_truncate')
$$, 'should guard every partition against TRUNCATE');

------------------------------------------------------------------------------
-- Context in every entry; security events notified
------------------------------------------------------------------------------
-- (app.authenticate above set the gateway's context for this transaction; PostgREST requests have none.)
select set_config('dwaybank.ip', '', true), set_config('dwaybank.user_agent', '', true), set_config('dwaybank.actor_id', '', true);
select set_config('request.headers', '{"x-request-id": "req-audit-06", "user-agent": "pgtap-agent", "x-forwarded-for": "203.0.113.9, 198.51.100.7"}', true);
-- One proxy of ours in front of PostgREST: its entry (the rightmost) is the client; the rest is what the client claimed.
select set_config('dwaybank.trusted_proxy_hops', '1', true);
select audit.log_event('test.context', :'chain1'::uuid);
select set_config('dwaybank.trusted_proxy_hops', '', true);
select is((select row(request_id, user_agent, host(ip))::text from audit.audit_log where event_type = 'test.context'),
  '(req-audit-06,pgtap-agent,198.51.100.7)', 'should record the request id, user agent and client address of a PostgREST request');
select set_config('request.headers', '', true);
-- The gateway's single-statement calls state their request id through app.begin_request, as the `now` argument.
select is(app.begin_request('req-audit-06-gw'), now(), 'should serve a gateway request at the transaction''s time');
select audit.log_event('test.context.gateway', :'chain1'::uuid);
select is((select request_id from audit.audit_log where event_type = 'test.context.gateway'), 'req-audit-06-gw',
  'should record the request id a gateway statement stated with app.begin_request');
select is_empty($$
  select r from unnest(array['anon', 'authenticated', 'compliance_officer', 'admin']) r
  where has_function_privilege(r, 'app.begin_request(text)', 'execute')
$$, 'should let only the gateway state a request id with app.begin_request');
select ok(exists (select from pg_trigger where tgrelid = 'audit.audit_log'::regclass and tgname = '_100_notify'),
  'should notify security_events for warning and critical events');

------------------------------------------------------------------------------
-- GDPR: export, deletion request, erasure
------------------------------------------------------------------------------
select app.signup('zelda.quixotl@example.com', 'a very secret passphrase 42', '+4915199988877', 'DE', 'Zeldaqx', 'Quixotlan',
                  null, '192.0.2.70', 'pgtap') as zelda \gset
update app.users set email_verified_at = now() where id = :'zelda';
select session_id as zelda_session from app.authenticate('zelda.quixotl@example.com', 'a very secret passphrase 42', '192.0.2.70', 'pgtap') \gset
select tests.create_user('officer06@example.com', role => 'compliance_officer') as officer \gset
select tests.create_user('admin06@example.com', role => 'admin') as admin \gset

select tests.authenticate_as(:'zelda', :'zelda_session');
select api.initiate_kyc_verification('standard', 'Zeldaqx', 'Quixotlan', '1990-05-01', 'DE', 'Zeldastrasse 9', 'Berlin', '10115',
                                     'DE', 'passport', 'Z01X00T47');
select api.export_my_data() as export \gset
select tests.clear_authentication();
select is((:'export'::jsonb) -> 'profile' ->> 'email', 'zelda.quixotl@example.com', 'should export the caller''s profile');
select ok(jsonb_array_length((:'export'::jsonb) -> 'sessions') >= 1 and jsonb_array_length((:'export'::jsonb) -> 'audit') >= 1,
  'should export the caller''s sessions and the audit entries about them');
select is(jsonb_array_length((:'export'::jsonb) -> 'kyc' -> 'app.kyc_records'), 1, 'should export the caller''s KYC data');
select ok((:'export'::jsonb) ? 'mfa_methods' and (:'export'::jsonb) ? 'referrals', 'should export MFA methods and referrals');
select ok(:'export' !~ '\$2[abxy]\$' and not (:'export'::jsonb -> 'sessions' -> 0 ?| array['token_hash', 'refresh_token']),
  'should export no secret (no password hash, no token)');

select tests.authenticate_as(:'zelda', :'zelda_session');
select throws_ok(format('select api.export_user_data(%L)', :'officer'), '42501', null,
  'should not let a customer export another user''s data');
select tests.clear_authentication();
select tests.authenticate_as(:'officer');
select is(api.export_user_data(:'zelda') -> 'profile' ->> 'id', :'zelda', 'should let a compliance officer export any user''s data');
select tests.clear_authentication();

select tests.authenticate_as(:'zelda', null);
select tests.throws_api($$ select api.request_account_deletion('zelda.quixotl@example.com') $$, 401, 'SESSION_ENDED',
  'should refuse a deletion request from a token without a live session (SESSION_ENDED)');
select tests.clear_authentication();
select tests.authenticate_as(:'zelda', :'zelda_session');
select tests.throws_api($$ select api.request_account_deletion(null) $$, 400, 'CONFIRMATION_REQUIRED',
  'should refuse a deletion request not confirmed with the account''s e-mail address (CONFIRMATION_REQUIRED)');
select is(api.request_account_deletion('Zelda.Quixotl@example.com') ->> 'status', 'deleted', 'should delete the account at once on request');
select tests.clear_authentication();
select is((select row(status, deleted_at is not null)::text from app.users where id = :'zelda'), '(deleted,t)', 'should soft-delete the account');
select is((select count(*)::int from app.user_sessions where user_id = :'zelda' and revoked_at is null), 0, 'should revoke every session');
select is((select erase_after::date from app_private.account_erasures where user_id = :'zelda'), (now() + interval '30 days')::date,
  'should schedule erasure after the 30-day grace period');
select is((app_private.erase_due_accounts(now() + interval '29 days') ->> 'erased')::int, 0, 'should not erase during the grace period');
select is((app_private.erase_due_accounts(now() + interval '31 days') ->> 'erased')::int, 1, 'should erase after the grace period');

-- Every table (and every audit partition) searched for the person's e-mail, phone and names.
create function pg_temp.tables_mentioning(pattern text) returns setof text
  language plpgsql volatile
  as $$
declare
  v_rel regclass;
  v_hit boolean;
begin
  for v_rel in select c.oid::regclass from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname in ('app', 'app_private', 'audit', 'api') and c.relkind in ('r', 'm') order by 1 loop
    execute format('select exists (select from %s t where t::text ~* $1)', v_rel) into v_hit using pattern;
    if v_hit then
      return next v_rel::text;
    end if;
  end loop;
end
$$;
select set_eq($$ select pg_temp.tables_mentioning('zelda\.quixotl|4915199988877|Zeldaqx|Quixotlan') $$,
  array['app.kyc_records'],
  'should leave the person''s e-mail, phone and names nowhere but the retained KYC evidence');
select is((select count(*)::int from app.kyc_records where user_id = :'zelda'), 1, 'should keep the KYC evidence for the AML retention period');
select is((select row(ok, reason)::text from audit.verify_chain()), '(t,)', 'should still verify the chain after erasure');
select is((app_private.erase_due_accounts(now() + interval '5 years 1 day') ->> 'kyc_purged')::int, 1,
  'should purge the KYC evidence when the AML retention period ends');
select is_empty($$ select pg_temp.tables_mentioning('zelda\.quixotl|4915199988877|Zeldaqx|Quixotlan') $$,
  'should leave nothing of the person after the KYC purge');

-- A legal hold stops erasure.
select tests.create_user('held06@example.com') as held \gset
select app_private.request_account_deletion(:'held');
select tests.authenticate_as(:'officer');
select api.place_legal_hold('Case 2026-17 (court order)', :'held') as hold_id \gset
select tests.clear_authentication();
select is(app_private.erase_user(:'held') ->> 'status', 'held', 'should not erase a user under legal hold');

------------------------------------------------------------------------------
-- Reports: materialized views, refreshed concurrently, staff only
------------------------------------------------------------------------------
select is_empty($$
  select m.oid::regclass::text from pg_class m join pg_namespace n on n.oid = m.relnamespace
  where m.relkind = 'm' and n.nspname = 'app_private'
    and not exists (select from pg_index i where i.indrelid = m.oid and i.indisunique and i.indpred is null)
$$, 'should give every materialized view a unique index (so it refreshes concurrently)');
select is(app_private.refresh_reports(), 6, 'should refresh every report concurrently');
select is_empty($$
  select m.oid::regclass::text || ':' || r.rolname from pg_class m
  cross join (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('dwaybank_gateway')) r(rolname)
  where m.relkind = 'm' and has_table_privilege(r.rolname, m.oid, 'select')
$$, 'should let no API role read a materialized view directly');
select tests.authenticate_as(:'chain1');
select throws_ok($$ select * from api.report_daily_auth() $$, '42501', null, 'should not let a customer read reports');
select tests.clear_authentication();
select tests.authenticate_as(:'officer');
select cmp_ok((select sign_ins from api.report_daily_auth() where day = (now() at time zone 'UTC')::date), '>=', 5::bigint,
  'should count today''s sign-ins for a compliance officer');
select ok((select count(*) from api.report_mfa_adoption()) >= 1 and (select count(*) from api.report_security_events()) >= 1
          and (select count(*) from api.report_suspicious_sessions()) >= 1 and (select count(*) from api.report_kyc_funnel()) >= 0
          and (select count(*) from api.report_kyc_risk()) >= 0,
  'should report MFA adoption, security events, suspicious sessions and KYC to staff');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- Maintenance: scheduled with pg_cron where installed, runnable by hand
------------------------------------------------------------------------------
select case when exists (select from pg_extension where extname = 'pg_cron')
  then set_eq($$ select jobname::text from cron.job where jobname like 'dwaybank:%' $$,
              $$ select 'dwaybank:' || job from app_private.maintenance_jobs() $$, 'should schedule every maintenance job in pg_cron')
  else skip('pg_cron is not installed in this database', 1) end;
select tests.authenticate_as(:'admin');
select is_empty($$ select j from unnest(array['seal', 'checkpoint', 'partitions', 'sessions', 'kyc_expiry', 'reports', 'retention', 'erasure']) j
                   where api.run_maintenance(j) ->> 'status' <> 'succeeded' $$,
  'should let an admin run every job by hand, successfully');
select is((select count(distinct job)::int from api.maintenance_runs()), 8, 'should record every run for admins to see');
select tests.throws_api($$ select api.run_maintenance('reticulate') $$, 400, null, 'should refuse an unknown job');
select tests.clear_authentication();
select tests.authenticate_as(:'officer');
select throws_ok($$ select api.run_maintenance('seal') $$, '42501', null, 'should let only admins run maintenance');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- Partitions ahead of time, and retention (last: rows far from now follow)
------------------------------------------------------------------------------
select is(audit.create_partitions(3, now => '2031-01-15'), 4, 'should create a month''s partition and three ahead');
insert into audit.audit_log (occurred_at, kind, event_type, operation)
values ('2031-01-31 23:59:59.999+00', 'event', 'test.boundary', 'EVENT'), ('2031-02-01 00:00:00+00', 'event', 'test.boundary', 'EVENT');
select is(array(select tableoid::regclass::text from audit.audit_log where event_type = 'test.boundary' order by occurred_at),
  array['audit.audit_log_2031_01', 'audit.audit_log_2031_02'], 'should keep inserting across a month boundary, into the month''s partition');

select audit.create_partitions(0, now => '2012-03-10');
select audit.create_partitions(0, now => '2013-06-10');
select is((select pg_get_userbyid(relowner) from pg_class where oid = 'audit.audit_log_2013_06'::regclass),
  (select pg_get_userbyid(relowner) from pg_class where oid = 'audit.audit_log'::regclass),
  'should give a new partition to the trail''s owner, whoever creates it (later migrations alter the trail)');
select tests.authenticate_as(:'officer');
select api.place_legal_hold('Investigation 2013', null, '2013-01-01', '2014-01-01');
select tests.clear_authentication();
insert into audit.audit_log (occurred_at, kind, event_type, operation, subject_user_id)
values ('2013-06-02', 'event', 'test.old', 'EVENT', :'held');
select audit.seal();
select is(audit.drop_expired_partitions(now()), 1, 'should drop partitions past retention');
select is(array[to_regclass('audit.audit_log_2012_03')::text, to_regclass('audit.audit_log_2013_06')::text],
  array[null, 'audit.audit_log_2013_06'], 'should keep a partition under legal hold');
select tests.authenticate_as(:'officer');
select api.release_legal_hold(id) from api.legal_holds() where subject_user_id is null and released_at is null;
select tests.clear_authentication();
select is(audit.drop_expired_partitions(now()), 0, 'should keep a partition holding entries about a person under legal hold');
select ok(exists (select from audit.pruned_partitions where partition_name = 'audit_log_2012_03'), 'should record the dropped partition');

-- The trail's rules (000019: one CHECK constraint, the same conditions as the five before it).
select throws_ok($$insert into audit.audit_log (kind, event_type, operation) values ('note', 'test.kind', 'EVENT')$$,
  '23514', null, 'should refuse an entry of an unknown kind');
select throws_ok($$insert into audit.audit_log (kind, event_type, severity, operation) values ('event', 'test.severity', 'panic', 'EVENT')$$,
  '23514', null, 'should refuse an unknown severity');
select throws_ok($$insert into audit.audit_log (kind, event_type, operation) values ('row', 'update', 'UPDATE')$$,
  '23514', null, 'should refuse a row entry that names no table');
select throws_ok($$insert into audit.audit_log (kind, event_type, operation, seq) values ('event', 'test.half_sealed', 'EVENT', 1)$$,
  '23514', null, 'should refuse a sequence number without its hash and seal time');
select lives_ok($$insert into audit.audit_log (kind, event_type, operation) values ('event', 'test.well_formed', 'EVENT')$$,
  'should take a well-formed event');

select * from finish();
rollback;
