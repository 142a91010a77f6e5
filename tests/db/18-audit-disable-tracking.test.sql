-- audit.disable_tracking: the inverse of audit.enable_tracking. Disabling drops
-- the table's audit triggers and its tracked_tables row; enabling again
-- restores both; only the schema owner may call it.
begin;
set local client_min_messages = warning;
select plan(16);

create table public.tracking_probe (id integer primary key, note text);

select has_function('audit', 'disable_tracking', array['regclass'], 'should have audit.disable_tracking(regclass)');

select audit.enable_tracking('public.tracking_probe', pii_columns => '{note}');
insert into public.tracking_probe values (1, 'tracked');
select is((select count(*)::int from audit.audit_log where table_name = 'public.tracking_probe'), 1,
  'should audit a tracked table (the baseline)');

select lives_ok($$ select audit.disable_tracking('public.tracking_probe') $$, 'should disable tracking of a tracked table');
select is_empty($$ select tgname from pg_trigger where tgrelid = 'public.tracking_probe'::regclass and tgname in ('_900_audit', '_901_audit_truncate') $$,
  'should drop the row and truncate audit triggers');
select is_empty($$ select from audit.tracked_tables where table_oid = 'public.tracking_probe'::regclass $$,
  'should remove the table from audit.tracked_tables');

insert into public.tracking_probe values (2, 'untracked');
update public.tracking_probe set note = 'changed' where id = 1;
delete from public.tracking_probe where id = 2;
truncate public.tracking_probe;
select is((select count(*)::int from audit.audit_log where table_name = 'public.tracking_probe'), 1,
  'should write no audit entry for inserts, updates, deletes or truncates of an untracked table');

select lives_ok($$ select audit.disable_tracking('public.tracking_probe') $$, 'should accept disabling an untracked table (idempotent)');

select audit.enable_tracking('public.tracking_probe', pii_columns => '{note}');
select is((select count(*)::int from pg_trigger where tgrelid = 'public.tracking_probe'::regclass and tgname in ('_900_audit', '_901_audit_truncate')), 2,
  'should restore both audit triggers when tracking is enabled again');
select is((select pii_columns from audit.tracked_tables where table_oid = 'public.tracking_probe'::regclass), '{note}'::text[],
  'should restore the tracked_tables row when tracking is enabled again');
insert into public.tracking_probe values (3, 'tracked again');
select is((select count(*)::int from audit.audit_log where table_name = 'public.tracking_probe'), 2,
  'should audit the table again once tracking is enabled again');

select throws_ok($$ select audit.disable_tracking('no_such_schema.no_such_table') $$, '3F000', null,
  'should refuse a table that does not exist');

select ok(not has_function_privilege(r.role, 'audit.disable_tracking(regclass)', 'execute'),
  format('should not let %s execute audit.disable_tracking', r.role))
from (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('dwaybank_gateway')) r(role);

select * from finish();
rollback;
