-- Issue 15 (findings 5, 6, 11, 12): sign-up throttle, sign-up that answers a
-- registered address as a new one, the locked sign-in path, and races.
begin;
select plan(24);

select tests.create_user('taken@example.com') as taken \gset

-- Finding 6: a registered address is validated exactly like a new one.
select tests.throws_api($$ select app.signup('taken@example.com', 'correct horse battery staple', 'not-a-phone') $$,
  400, 'A profile field is not valid.', 'should refuse a bad phone for a registered address as for a new one');
select tests.throws_api($$ select app.signup('fresh-1@example.com', 'correct horse battery staple', 'not-a-phone') $$,
  400, 'A profile field is not valid.', 'should refuse a bad phone for a new address');
select tests.throws_api($$ select app.signup('taken@example.com', 'correct horse battery staple', null, 'ZZ') $$,
  400, 'A profile field is not valid.', 'should refuse an unknown country for a registered address (a foreign key, checked at the end of the insert)');
select tests.throws_api($$ select app.signup('taken@example.com', 'correct horse battery staple', null, null, repeat('x', 101)) $$,
  400, 'A profile field is not valid.', 'should refuse a too-long name for a registered address');
select tests.throws_api($$ select app.signup('taken@example.com', 'correct horse battery staple', null, null, e'a\u0001b') $$,
  400, 'A profile field is not valid.', 'should refuse control characters in a name for a registered address');
select isnt(app.signup('TAKEN@example.com', 'correct horse battery staple', '+4915112345678', 'DE', 'Ada', 'L'), :'taken'::uuid,
  'should answer a valid sign-up of a registered address with some other id');
select is((select count(*)::int from app.users where email like 'signup-probe-%'), 0,
  'should leave no trace of the row that checked a registered address''s profile');
select is((select count(*)::int from app.users where email = 'taken@example.com'), 1, 'should keep one account per address');

-- Finding 5: sign-ups are counted per client; past the limit, 429 with Retry-After.
select set_config('dwaybank.signup_ip_limit', '2', true);
select lives_ok($$ select app.signup('a1@example.com', 'correct horse battery staple', ip => '198.51.100.20') $$,
  'should accept a first sign-up from a client');
select lives_ok($$ select app.signup('taken@example.com', 'correct horse battery staple', ip => '198.51.100.20') $$,
  'should accept (and count) a sign-up of a registered address');
select throws_ok($$ select app.signup('a3@example.com', 'correct horse battery staple', ip => '198.51.100.20') $$,
  'PGRST', '{"code":"TOO_MANY_REQUESTS","message":"Too many sign-ups from this network.","hint":"Wait for the time in Retry-After before trying again."}',
  'should refuse a client''s sign-up past dwaybank.signup_ip_limit with TOO_MANY_REQUESTS');
create function pg_temp.signup_error_detail(ip inet) returns jsonb language plpgsql as $$
declare v_detail text;
begin
  perform app.signup('a4@example.com', 'correct horse battery staple', ip => ip);
  return null;
exception when sqlstate 'PGRST' then
  get stacked diagnostics v_detail = pg_exception_detail;
  return v_detail::jsonb;
end $$;
select is((select d ->> 'status' from pg_temp.signup_error_detail('198.51.100.20') d), '429', 'should answer the refusal with status 429');
select ok((select (d -> 'headers' ->> 'Retry-After')::int between 1 and 3600 from pg_temp.signup_error_detail('198.51.100.20') d),
  'should say in Retry-After when the client may sign up again');
select is((select count(*)::int from app.users where email in ('a3@example.com', 'a4@example.com')), 0, 'should create no account past the limit');
select lives_ok($$ select app.signup('b1@example.com', 'correct horse battery staple', ip => '198.51.100.21') $$,
  'should not refuse another client');
select set_config('dwaybank.signup_ip_limit', '1', true);
select tests.throws_api($$ select app.signup('bad@example.com', 'correct horse battery staple', 'nope', ip => '198.51.100.22') $$,
  400, null, 'should refuse an invalid sign-up before it costs a hash');
select lives_ok($$ select app.signup('good@example.com', 'correct horse battery staple', ip => '198.51.100.22') $$,
  'should not count an invalid sign-up against the client');
select lives_ok($$ select app.signup('v6a@example.com', 'correct horse battery staple', ip => '2001:db8:1:2::1') $$,
  'should accept a first sign-up from an IPv6 client');
select throws_ok($$ select app.signup('v6b@example.com', 'correct horse battery staple', ip => '2001:db8:1:2:ffff::9') $$,
  'PGRST', null, 'should count an IPv6 client by its /64');

-- Finding 11: a locked address, registered or not, costs one bcrypt and counts against the client.
select set_config('dwaybank.signup_ip_limit', '100000', true);
select tests.create_user('locked@example.com') as locked \gset
update app.users set locked_until = now() + interval '10 minutes', failed_login_attempts = 5 where id = :'locked';
insert into app_private.unknown_login_attempts (email_fingerprint, failed_login_attempts, last_failed_login_at, locked_until)
values (app_private.fingerprint('nobody-locked@example.com'), 5, now(), now() + interval '10 minutes');
set local track_functions = 'all';
create function pg_temp.calls(f regprocedure) returns bigint language sql as $$ select coalesce(pg_stat_get_xact_function_calls(f), 0) $$;
create function pg_temp.locked_attempt(email text) returns jsonb language plpgsql as $$
declare
  v_crypt0 bigint := pg_temp.calls('extensions.crypt(text, text)');
  v_fail0 bigint := pg_temp.calls('app.handle_failed_login(extensions.citext, timestamptz)');
  v_ip0 bigint := (select coalesce(sum(failures), 0) from app_private.ip_login_failures where ip = '203.0.113.150');
  v_status text;
begin
  select a.status into v_status from app.authenticate(email, 'a wrong password guess', '203.0.113.150', 'pgtap') a;
  return jsonb_build_object('status', v_status,
    'bcrypt', pg_temp.calls('extensions.crypt(text, text)') - v_crypt0,
    'failure_recorded', pg_temp.calls('app.handle_failed_login(extensions.citext, timestamptz)') - v_fail0,
    'ip_counted', (select coalesce(sum(failures), 0) from app_private.ip_login_failures where ip = '203.0.113.150') - v_ip0);
end $$;
select is(pg_temp.locked_attempt('locked@example.com'), '{"status": "locked", "bcrypt": 1, "failure_recorded": 1, "ip_counted": 1}'::jsonb,
  'should do one bcrypt, record the failure and count the client for a locked registered address');
select is(pg_temp.locked_attempt('nobody-locked@example.com'), '{"status": "locked", "bcrypt": 1, "failure_recorded": 1, "ip_counted": 1}'::jsonb,
  'should do exactly the same for a locked unknown address');
select set_config('dwaybank.ip_failure_limit', '3', true);
select pg_temp.locked_attempt('locked@example.com');
select is((select status from app.authenticate('someone-else@example.com', 'a wrong password guess', '203.0.113.150', 'pgtap')), 'throttled',
  'should throttle a client whose guesses went only to locked addresses');

-- Finding 12: the TOTP enrolment locks the user's row before it looks for an earlier one.
select ok(pg_get_functiondef('app.begin_totp_enrollment(uuid, uuid, text, text, text, text, inet, text, timestamptz)'::regprocedure)
          ~ 'from app\.users u where u\.id = begin_totp_enrollment\.user_id for no key update',
  'should serialise TOTP enrolments of one user on the user''s row');

select ok((select p.provolatile = 'v' and p.prosrc ~ 'from app\.users u where u\.id = assert_may_manage_mfa\.user_id for no key update'
             from pg_proc p where p.oid = 'app_private.assert_may_manage_mfa(uuid, timestamptz)'::regprocedure),
  'should serialise every change to one user''s second factors on the user''s row (the check every MFA change starts with)');

select * from finish();
rollback;
