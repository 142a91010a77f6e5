-- Metrics (issue 17): the app.metrics_* functions prometheus-postgres-exporter reads
-- (deploy/prometheus/postgres-exporter-queries.yaml). Who may call them, and that each
-- figure moves when the thing it measures happens.
begin;
select plan(17);

-- Who: pg_monitor members (the exporter's dwaybank_monitor), never an API role; the gateway only the outbox.
select ok(pg_has_role('dwaybank_monitor', 'pg_monitor', 'usage') and (select rolcanlogin and not rolsuper and not rolbypassrls
            from pg_roles where rolname = 'dwaybank_monitor'),
  'should make dwaybank_monitor a login role that inherits pg_monitor and nothing more');
select is_empty($$
  select f from unnest(array['app.metrics_audit(timestamptz)', 'app.metrics_audit_chain(integer, timestamptz)',
    'app.metrics_outbox(timestamptz)', 'app.metrics_kyc(timestamptz)', 'app.metrics_jobs(timestamptz)']) f
   where not has_function_privilege('dwaybank_monitor', f, 'execute')
$$, 'should let the monitoring role run every metrics function');
select is_empty($$
  select p.oid::regprocedure::text || ':' || r.role from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   cross join (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('authenticator')) r(role)
   where n.nspname = 'app' and p.proname like 'metrics\_%' and has_function_privilege(r.role, p.oid, 'execute')
$$, 'should let no API role run a metrics function');
select ok(has_function_privilege('dwaybank_gateway', 'app.metrics_outbox(timestamptz)', 'execute')
          and not has_function_privilege('dwaybank_gateway', 'app.metrics_audit(timestamptz)', 'execute'),
  'should let the gateway read the outbox backlog and no other figure');
select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ('api', 'app', 'app_private', 'audit') and c.relkind in ('r', 'p', 'v', 'm')
     and has_table_privilege('dwaybank_monitor', c.oid, 'select')
$$, 'should give the monitoring role no table or view of ours to read');
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'app' and p.proname like 'metrics\_%'
     and not (p.prosecdef and p.proconfig @> array['search_path=""'])
$$, 'should make every metrics function a definer with an empty search_path');

-- Audit: an entry logged and not sealed yet is counted, with its age measured at `now`.
select unsealed_entries as unsealed0 from app.metrics_audit() \gset
select audit.log_event('test.metrics', null);
select is((select unsealed_entries from app.metrics_audit()), (:unsealed0 + 1)::bigint, 'should count an entry not sealed yet');
select cmp_ok((select oldest_unsealed_age_seconds from app.metrics_audit(now() + interval '11 minutes')), '>', 600::float8,
  'should age the oldest unsealed entry');
select audit.seal();
select is((select row(unsealed_entries, oldest_unsealed_age_seconds)::text from app.metrics_audit()), '(0,0)',
  'should count nothing unsealed once sealed');

-- Chain: a verified chain reads 1; a chain an attacker changed (triggers off, as in 06) reads 0.
select is((select ok from app.metrics_audit_chain()), 1, 'should report an intact recent chain as ok');
create function pg_temp.tampered_ok() returns integer language plpgsql volatile as $$
declare
  v_ok integer;
begin
  begin
    perform set_config('session_replication_role', 'replica', true);
    update audit.audit_log set details = '{"forged": true}' where seq = (select max(seq) from audit.audit_log);
    perform set_config('session_replication_role', 'origin', true);
    select m.ok into v_ok from app.metrics_audit_chain() m;
    raise exception using errcode = 'P0004', message = 'undo';
  exception when assert_failure then
    null;
  end;
  return v_ok;
end
$$;
select is(pg_temp.tampered_ok(), 0, 'should report a recent entry changed after sealing as a broken chain');

-- Outbox: a queued message is backlog until delivered.
select backlog as backlog0 from app.metrics_outbox() \gset
insert into app_private.outbox (channel, template, payload, created_at) values ('email', 'test.metrics', '{}', now() - interval '20 minutes');
select is((select backlog from app.metrics_outbox()), (:backlog0 + 1)::bigint, 'should count an undelivered message');
select cmp_ok((select oldest_age_seconds from app.metrics_outbox()), '>=', 1200::float8, 'should age the oldest undelivered message');
select dead_last_day as dead0 from app.metrics_outbox() \gset
update app_private.outbox set dead_at = now(), last_error = 'smtp 550' where template = 'test.metrics';
select is((select (backlog, dead_last_day) from app.metrics_outbox()), (:backlog0::bigint, :dead0 + 1::bigint),
  'should count a dead-lettered message as a dead letter, no longer as backlog');

-- KYC: an approval past its date is overdue until the job expires it; then the customer awaits renewal.
select tests.create_user('metrics.kyc@example.com') as kyc_user \gset
select expired_awaiting_renewal as awaiting0, approvals_past_expiry as overdue0 from app.metrics_kyc() \gset
insert into app.kyc_records (user_id, level, status, legal_first_name, legal_last_name, date_of_birth, nationality, address_line1,
  city, postal_code, residence_country, id_document_type, id_document_number, risk_level, automated_decision, decided_at, expires_at)
values (:'kyc_user', 'basic', 'pending', 'Ada', 'Lovelace', '1990-01-01', 'DE', '1 Main Street', 'Berlin', '10115', 'DE', 'passport',
  'C01X00T47', null, false, null, null) returning id as kyc_id \gset
select set_config('session_replication_role', 'replica', true);
update app.kyc_records set status = 'approved', risk_level = 'low', automated_decision = true,
  decided_at = now() - interval '400 days', expires_at = now() - interval '1 day' where id = :'kyc_id';
select set_config('session_replication_role', 'origin', true);
select is((select approvals_past_expiry from app.metrics_kyc()), (:overdue0 + 1)::bigint, 'should count an approval past its date as overdue');
select app.check_kyc_expiry(:'kyc_user');
select is((select row(expired_awaiting_renewal, approvals_past_expiry)::text from app.metrics_kyc()),
  format('(%s,%s)', :awaiting0 + 1, :overdue0), 'should count a customer whose approval expired as awaiting renewal');

-- Jobs: a run that failed shows on its job until a later run succeeds.
insert into audit.job_runs (job, run_by, status, started_at, finished_at, error)
values ('reports', 'pgtap', 'failed', clock_timestamp(), clock_timestamp(), 'simulated failure');
select is((select row(last_run_failed, failures_last_hour >= 1)::text from app.metrics_jobs() where job = 'reports'), '(1,t)',
  'should flag a job whose last run failed');

select * from finish();
rollback;
