--! Previous: sha1:a7fb6c07c1a35a50562bdb247122128793dca053
--! Hash: sha1:c59e9450521caf131364fc529ffed9712db68f63
--! Message: the audit trail's rules in one check constraint

--! split: 1-current.sql
-- The audit trail's rules in one CHECK constraint instead of five.
--
-- Every write anywhere lands in audit.audit_log, so its insert is the system's hottest
-- statement. PostgreSQL reads, plans and compiles each CHECK constraint of a table again
-- for every statement that writes it (the executor keeps them per statement, not per
-- session), and the work is mostly per constraint, not per condition: five small checks
-- cost most of what one check with the same five conditions costs five times. Measured
-- with pgbench (100,000 tracked rows, 2 clients, alternating rounds, copies of the trail
-- with the five checks, with one, and with none): an audited update cost 1.37x an
-- unaudited one with five checks, 1.33x with one, 1.29x with none (medians of 6 rounds).
-- The conditions are unchanged; a CHECK fails when any of them is false, as before.
alter table audit.audit_log
  drop constraint if exists audit_log_kind_chk,
  drop constraint if exists audit_log_operation_chk,
  drop constraint if exists audit_log_severity_chk,
  drop constraint if exists audit_log_row_chk,
  drop constraint if exists audit_log_sealed_chk,
  drop constraint if exists audit_log_entry_chk,
  add constraint audit_log_entry_chk check (
    kind in ('row', 'event')
    and severity in ('info', 'warning', 'critical')
    and operation in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'EVENT')
    -- a row entry names its table and is not an event
    and (kind <> 'row' or (table_name is not null and operation <> 'EVENT'))
    -- sealed entries have all three of seq, hash and sealed_at, unsealed ones none
    and (seq is null) = (hash is null) and (seq is null) = (sealed_at is null));
comment on constraint audit_log_entry_chk on audit.audit_log is
  'Kind, severity and operation from their lists; row entries name their table; seq, hash and sealed_at together or not at all. One constraint, not five: the trail''s insert is the hottest statement, and PostgreSQL prepares each CHECK per statement.';
