-- plpgsql_check over every PL/pgSQL function of ours: no errors, and no
-- warnings unless listed here with the reason. Every refusal in the one error shape.
begin;
select plan(6);

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

-- One error shape (db/errors.md): a refusal is PostgREST's custom error, SQLSTATE PGRST with
-- {code, message, hint} in MESSAGE and {status, headers} in DETAIL, never a PTnnn SQLSTATE with the code in DETAIL.
create temp table sources as
select p.oid::regprocedure::text as function, p.prosrc as src
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where n.nspname in ('api', 'app', 'app_private', 'audit');
create function pg_temp.json_or_null(t text) returns jsonb language plpgsql immutable as $$
begin
  return replace(t, '''''', '''')::jsonb;
exception when others then
  return null;
end $$;

select is_empty($$ select function from sources where src ~* 'errcode\s*=\s*''(PT[0-9]|42501)|detail\s*=\s*''[A-Z][A-Z0-9_]+''' $$,
  'should raise every refusal as PGRST (one error shape), never a PTnnn SQLSTATE with the code in DETAIL');
select is_empty($$ select function || ': ' || m[1] from sources, regexp_matches(src, 'message = ''(\{(?:[^'']|'''')*\})''', 'g') m
                   where coalesce(jsonb_typeof(pg_temp.json_or_null(m[1]) -> 'code') <> 'string'
                               or jsonb_typeof(pg_temp.json_or_null(m[1]) -> 'message') <> 'string'
                               or jsonb_typeof(pg_temp.json_or_null(m[1]) -> 'hint') <> 'string', true) $$,
  'should give every PGRST refusal a code, a message and a hint');
select is_empty($$ select function || ': ' || m[1] from sources, regexp_matches(src, 'message = ''(\{(?:[^'']|'''')*\})''', 'g') m
                   where m[1] ~ '\m(app|app_private|audit|pg_catalog)\.[a-z_]' $$,
  'should name no internal schema or table in a refusal''s message or hint');
select is_empty($$ select function || ': ' || m[1] from sources, regexp_matches(src, 'detail = ''(\{(?:[^'']|'''')*\})''', 'g') m
                   where coalesce((pg_temp.json_or_null(m[1]) ->> 'status')::integer not between 400 and 599
                               or jsonb_typeof(pg_temp.json_or_null(m[1]) -> 'headers') <> 'object', true) $$,
  'should give every PGRST refusal an HTTP error status and a headers object');

select * from finish();
rollback;
