--! Previous: sha1:97885ca36fe968535dc628cdced26033c4744fb3
--! Hash: sha1:0625dfd41a342690c1dac6580a52fb5bc308020f
--! Message: audit disable tracking

--! split: 8-audit-disable-tracking.sql
-- audit.disable_tracking(table): the inverse of audit.enable_tracking (as
-- supabase/supa_audit has): drops the table's audit triggers and forgets its
-- tracked_tables row, so nothing edits audit.tracked_tables by hand (the bench
-- did). Invoker rights, as enable_tracking: only an owner of the table (the
-- schema owner) may drop its triggers.
create or replace function audit.disable_tracking(table_oid regclass) returns void
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  execute format('drop trigger if exists _900_audit on %s', table_oid);
  execute format('drop trigger if exists _901_audit_truncate on %s', table_oid);
  delete from audit.tracked_tables t where t.table_oid = disable_tracking.table_oid;
end
$$;
comment on function audit.disable_tracking(regclass) is
  'Stops writing a table''s changes to audit.audit_log: drops its audit triggers and its audit.tracked_tables row (the inverse of audit.enable_tracking). Entries already written stay.';
revoke all on function audit.disable_tracking(regclass) from public;
