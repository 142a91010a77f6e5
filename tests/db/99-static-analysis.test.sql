-- plpgsql_check over every PL/pgSQL function of ours: no errors, and no
-- warnings unless listed here with the reason.
begin;
select plan(2);

create temp table findings as
select p.oid::regprocedure::text as function, c.level, c.message, c.lineno
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_language l on l.oid = p.prolang
cross join lateral tests.plpgsql_check_function_tb(
  p.oid, coalesce((select t.tgrelid from pg_trigger t where t.tgfoid = p.oid limit 1), 0), fatal_errors => false) c
where n.nspname in ('api', 'app', 'app_private', 'audit')
  and l.lanname = 'plpgsql'
  and not (p.prorettype = 'trigger'::regtype and not exists (select from pg_trigger t where t.tgfoid = p.oid));

-- Explained warnings: (function, message) pairs we accept, with why.
create temp table accepted (function text, message text, why text);

select is_empty($$ select function || ': ' || message || ' (line ' || lineno || ')' from findings where level = 'error' $$,
  'should find no errors in any PL/pgSQL function');
select is_empty($$ select f.function || ': ' || f.message || ' (line ' || f.lineno || ')' from findings f
                   where f.level <> 'error'
                     and not exists (select from accepted a where a.function = f.function and a.message = f.message) $$,
  'should find no unexplained warnings');

select * from finish();
rollback;
