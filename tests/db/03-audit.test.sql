-- Audit core: every change and security event recorded, nothing secret in it.
begin;
select plan(13);

select tests.create_user('erin@example.com', 'a very secret passphrase 42') as erin \gset
create temp table s as select * from app.authenticate('erin@example.com', 'a very secret passphrase 42', '192.0.2.50', 'Chrome');
select app.authenticate('erin@example.com', 'the wrong passphrase here', '192.0.2.50', 'Chrome');

select ok(exists (select from audit.audit_log where table_name = 'app.users' and operation = 'INSERT' and row_id = :'erin'),
  'should record the insert of a user');
select ok(exists (select from audit.audit_log where table_name = 'app_private.user_secrets' and subject_user_id = :'erin'),
  'should record that a password hash was written');
select ok(exists (select from audit.audit_log where table_name = 'app.user_sessions' and subject_user_id = :'erin' and operation = 'INSERT'),
  'should record the new session');
select ok(exists (select from audit.audit_log where event_type = 'auth.login.succeeded' and subject_user_id = :'erin' and ip = '192.0.2.50'),
  'should record a successful sign-in with its address');
select ok(exists (select from audit.audit_log where event_type = 'auth.login.failed' and subject_user_id = :'erin'),
  'should record a failed sign-in');

select tests.authenticate_as(:'erin');
select api.update_my_profile(first_name => 'Erina');
select tests.clear_authentication();
select is((select changed_columns from audit.audit_log where table_name = 'app.users' and row_id = :'erin' and operation = 'UPDATE'
           and 'first_name' = any (changed_columns) order by id desc limit 1), array['first_name', 'updated_at'],
  'should record which columns an update changed');
select is((select actor_id from audit.audit_log where table_name = 'app.users' and row_id = :'erin' and 'first_name' = any (changed_columns)
           order by id desc limit 1), :'erin'::uuid, 'should record the actor from the JWT');

select is((select count(*)::int from audit.audit_log a
           where a::text ~* 'erin@example|Erina|secret passphrase|\$2a\$'
              or a::text like '%' || (select encode(token_hash, 'hex') from app_private.refresh_tokens where session_id = (select session_id from s)) || '%'
              or a::text like '%' || (select refresh_token from s) || '%'), 0,
  'should keep e-mail, names, passwords, hashes and tokens out of the audit log');
select ok((select new_values ->> 'email' like 'fp:%' from audit.audit_log where table_name = 'app.users' and row_id = :'erin' and operation = 'INSERT'),
  'should replace PII with keyed fingerprints');

-- The row trigger (000007): only the changed columns, fingerprinted on both sides; a no-op update records nothing.
select is((select array(select jsonb_object_keys(a.new_values) order by 1) from audit.audit_log a
            where a.table_name = 'app.users' and a.row_id = :'erin' and 'first_name' = any (a.changed_columns) order by a.id desc limit 1),
  array['first_name', 'updated_at'], 'should store only the changed columns of an update');
select ok((select (old_values ->> 'first_name') like 'fp:%' and (new_values ->> 'first_name') like 'fp:%'
                  and old_values ->> 'first_name' <> new_values ->> 'first_name'
                  and not (new_values ? 'email') and actor_role = 'authenticated'
             from audit.audit_log where table_name = 'app.users' and row_id = :'erin' and 'first_name' = any (changed_columns)
            order by id desc limit 1),
  'should fingerprint a changed name on both sides, keep unchanged columns out, and record the caller''s role');
select count(*) as n from audit.audit_log where table_name = 'app_private.refresh_tokens' \gset before_
update app_private.refresh_tokens t set generation = t.generation
  from app.user_sessions s where s.id = t.session_id and s.user_id = :'erin';
select is((select count(*) from audit.audit_log where table_name = 'app_private.refresh_tokens'), :before_n::bigint,
  'should record nothing for an update that changes nothing');

select tests.authenticate_as(:'erin');
select throws_ok($$ select * from audit.audit_log $$, '42501', null, 'should not let a customer read the audit log directly');
select tests.clear_authentication();

select * from finish();
rollback;
