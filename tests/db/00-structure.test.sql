-- Structure and privileges: the rules every table and function must follow.
begin;
select plan(20);

select has_schema('api', 'should have schema api');
select has_schema('app', 'should have schema app');
select has_schema('app_private', 'should have schema app_private');
select has_schema('audit', 'should have schema audit');

select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('app', 'app_private') and c.relkind in ('r', 'p')
    and not (c.relrowsecurity and c.relforcerowsecurity)
    and n.nspname = 'app'
$$, 'should have RLS enabled and forced on every table in app');

select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'api' and c.relkind not in ('v')
    and c.relkind in ('r', 'p', 'm', 'f', 'S')
$$, 'should hold only functions and views in api');

select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'api' and c.relkind = 'v'
    and not coalesce('security_invoker=true' = any (c.reloptions), false)
$$, 'should make every api view security_invoker');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit') and p.prosecdef
    and not exists (select from unnest(p.proconfig) c
                    where c like 'search_path=%'
                      and (c = 'search_path=""' or c like '%pg_temp')
                      and c not like '%public%' and c not like '%$user%')
$$, 'should pin search_path (empty, or ending in pg_temp, never public) on every security definer function');

-- A function with neither a pinned search_path nor a SQL-standard body would
-- resolve its names with the caller's search_path (an operator or type of the
-- caller's choosing could stand in).
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit')
    and p.prosqlbody is null
    and not exists (select from unnest(p.proconfig) c where c like 'search_path=%')
$$, 'should resolve the names in every function independently of the caller (search_path pinned, or a SQL-standard body)');

-- The identity helpers run several times per request: the planner inlines them
-- (a function call with its own search_path cost 5 times the expression).
select is_empty($$
  select f from unnest(array['app.jwt_claims()', 'app.current_user_id()', 'app.current_session_id()', 'app.current_aal()',
                             'app.caller_role()', 'app.setting(''session_idle_minutes'')', 'app.clock(null)']) f
  where tests.plan_text('select ' || f) like '%' || split_part(f, '(', 1) || '(%'
$$, 'should inline the identity helpers into the query that calls them');

-- So are the helpers of sign-in, refresh and MFA: SQL functions with their own
-- search_path were parsed and planned again in every transaction that called them.
select is_empty($$
  select f from unnest(array['app_private.password_input(''x'')', 'app_private.bcrypt_cost()', 'app_private.hash_password(''x'')',
                             'app_private.token_hash(''x'')', 'app_private.new_token()', 'app_private.successor_token(''x'')',
                             'app_private.lockout_seconds(7)', 'app_private.totp_step(now())', 'app_private.request_session_id()',
                             'app_private.mfa_code_hash(''x'')', 'app_private.backup_code_hash(''x'')', 'app_private.fingerprint(''x'')']) f
  where tests.plan_text('select ' || f) like '%' || split_part(f, '(', 1) || '%'
$$, 'should inline the token, password, lockout and code helpers into the plans of the functions that call them');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit')
    and has_function_privilege('public', p.oid, 'execute')
$$, 'should let PUBLIC execute no function');

select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit') and c.relkind in ('r','p','v','m')
    and pg_get_userbyid(c.relowner) = 'authenticator'
  union all
  select p.oid::regprocedure::text from pg_proc p where pg_get_userbyid(p.proowner) = 'authenticator'
$$, 'should let authenticator own nothing');

select is_empty($$
  select c.oid::regclass::text || ':' || r.rolname from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    cross join (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('dwaybank_gateway'), ('authenticator')) r(rolname)
  where n.nspname in ('app_private', 'audit') and c.relkind in ('r', 'p')
    and (has_table_privilege(r.rolname, c.oid, 'select') or has_table_privilege(r.rolname, c.oid, 'insert')
         or has_table_privilege(r.rolname, c.oid, 'update') or has_table_privilege(r.rolname, c.oid, 'delete'))
$$, 'should let no API or gateway role touch app_private or audit tables');

select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'app' and c.relkind in ('r','p')
    and (has_table_privilege('dwaybank_gateway', c.oid, 'select') or has_table_privilege('dwaybank_gateway', c.oid, 'insert')
      or has_table_privilege('dwaybank_gateway', c.oid, 'update') or has_table_privilege('dwaybank_gateway', c.oid, 'delete'))
$$, 'should give the gateway role no table privileges, only functions');

select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('app', 'app_private') and c.relkind in ('r')
    and not exists (select from pg_trigger t where t.tgrelid = c.oid and t.tgname = '_900_audit')
    and c.oid not in ('app.countries'::regclass, 'app_private.keys'::regclass,
                      'app_private.unknown_login_attempts'::regclass, 'app_private.ip_login_failures'::regclass,
                      'app_private.signup_attempts'::regclass,
                      'app.watchlist_entries'::regclass, 'app.watchlist_names'::regclass)
$$, 'should audit every table except reference data (countries, bulk-loaded watchlist entries), keys and throttle counters');

select ok(not exists (select from pg_roles where rolname = 'authenticator' and (rolinherit or rolsuper or rolcreaterole or rolcreatedb)),
  'should make authenticator NOINHERIT and unprivileged');

-- Names (db/CONVENTIONS.md): trigger functions tg_<table>__<task> (tg__<task> when shared), triggers _NNN_<name> (the order they fire in).
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('api', 'app', 'app_private', 'audit') and p.prorettype = 'trigger'::regtype
     and p.proname !~ '^tg_([a-z0-9]+(_[a-z0-9]+)*__[a-z0-9_]+|_[a-z0-9_]+|track(_truncate)?)$'
$$, 'should name every trigger function tg_<table>__<task>');
select is_empty($$
  select t.tgrelid::regclass::text || ' ' || t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
   where not t.tgisinternal and n.nspname in ('api', 'app', 'app_private', 'audit') and t.tgname !~ '^_[0-9]{3}_[a-z0-9_]+$'
$$, 'should name every trigger _NNN_<name>, NNN its place in the firing order');

-- Comments are the API docs: the first line of each becomes the OpenAPI summary.
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p where p.pronamespace = 'api'::regnamespace and obj_description(p.oid, 'pg_proc') is null
  union all
  select c.oid::regclass::text from pg_class c where c.relnamespace = 'api'::regnamespace and c.relkind = 'v'
     and obj_description(c.oid, 'pg_class') is null
$$, 'should comment every api function and view');

select * from finish();
rollback;
