-- Settings and their defaults in one place: app.settings lists every dwaybank.*
-- setting a function reads, with its default; nothing repeats a default inline.
begin;
select plan(9);

select hasnt_function('app', 'setting', array['text', 'text'], 'should have no app.setting(name, default): defaults live in app.settings');
select is_empty($$
  select distinct m[1] from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   cross join lateral regexp_matches(pg_get_functiondef(p.oid), 'app\.setting\(''([a-z0-9_]+)''', 'g') m
   where n.nspname in ('api', 'app', 'app_private', 'audit') and p.prokind = 'f'
     and not exists (select from app.settings s where s.name = m[1])
$$, 'should read only settings the registry lists');
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('api', 'app', 'app_private', 'audit') and p.prokind = 'f' and pg_get_functiondef(p.oid) ~ 'app\.setting\([^()]*,'
$$, 'should pass no function a default to app.setting (whatever its arguments)');
select is((select count(*)::int from api.retention_policies() where value is null), 0, 'should answer every retention period from the registry');
select is(app.setting('session_idle_minutes'), '30', 'should answer the registry''s default when the database sets nothing');
select set_config('dwaybank.session_idle_minutes', '45', true);
select is(app.setting('session_idle_minutes'), '45', 'should answer the database''s value when it sets one');
select is((select value from app.effective_settings() where name = 'session_idle_minutes'), '45',
  'should give the gateway the values this database runs with');
select ok(has_function_privilege('dwaybank_gateway', 'app.effective_settings()', 'execute')
          and not has_function_privilege('authenticated', 'app.effective_settings()', 'execute'),
  'should let only the gateway list the effective settings');

insert into app.settings (name, default_value, description) values ('pgtap_example_limit', '7', 'A setting this test adds and rolls back.');
select is(app.setting('pgtap_example_limit'), '7', 'should read a setting as soon as the registry lists it (the reader is recompiled)');

select * from finish();
rollback;
