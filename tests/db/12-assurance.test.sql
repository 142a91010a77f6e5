-- Staff powers need aal2 (issue 15, finding 2): PostgREST's pre-request refuses a
-- staff session below aal2 for every call; the gateway's session check
-- (app.check_session, finding 3) tells live, role and aal.
begin;
select plan(16);

select tests.create_user('aa-officer@example.com', role => 'compliance_officer') as officer \gset
select tests.create_user('aa-admin@example.com', role => 'admin') as admin \gset
select tests.create_user('aa-customer@example.com') as customer \gset
select session_id as officer_aal1 from app_private.create_session(:'officer', 'aal1', array['pwd'], '192.0.2.1', 'pgtap', null, null) \gset
select session_id as officer_aal2 from app_private.create_session(:'officer', 'aal2', array['pwd', 'otp'], '192.0.2.1', 'pgtap', null, null) \gset
select session_id as admin_aal1 from app_private.create_session(:'admin', 'aal1', array['pwd', 'trusted_device'], '192.0.2.1', 'pgtap', null, null) \gset
select session_id as customer_aal1 from app_private.create_session(:'customer', 'aal1', array['pwd'], '192.0.2.1', 'pgtap', null, null) \gset

-- The pre-request, as PostgREST runs it
select tests.authenticate_as(:'officer', :'officer_aal1');
select throws_like('select app.check_request()', '%AAL2_REQUIRED%', 'should refuse a compliance officer''s aal1 session (AAL2_REQUIRED)');
select tests.clear_authentication();
select tests.authenticate_as(:'admin', :'admin_aal1');
select throws_like('select app.check_request()', '%AAL2_REQUIRED%', 'should refuse an admin''s remembered-device (aal1) session');
select tests.clear_authentication();
select tests.authenticate_as(:'admin', :'admin_aal1', aal => 'aal2');
select throws_like('select app.check_request()', '%AAL2_REQUIRED%', 'should read the assurance from the session, not from the token''s claim');
select tests.clear_authentication();
select tests.authenticate_as(:'officer', :'officer_aal2');
select lives_ok('select app.check_request()', 'should let a compliance officer''s aal2 session through');
select tests.clear_authentication();
select tests.authenticate_as(:'customer', :'customer_aal1');
select lives_ok('select app.check_request()', 'should let a customer''s aal1 session through');
select tests.clear_authentication();

-- Step-up raises the session itself: the token signed before it passes from then on.
update app.user_sessions set aal = 'aal2' where id = :'admin_aal1';
select tests.authenticate_as(:'admin', :'admin_aal1');
select lives_ok('select app.check_request()', 'should let a staff session through once step-up raised it to aal2');
select tests.clear_authentication();

-- A role granted while signed in counts at once (the database's role, not the token's).
update app.users set role = 'admin' where id = :'customer';
select set_config('request.jwt.claims', json_build_object('sub', :'customer', 'role', 'authenticated', 'sid', :'customer_aal1', 'aal', 'aal1',
  'token_use', 'access', 'iss', coalesce(nullif(current_setting('app.settings.jwt_issuer', true), ''), 'https://auth.dwaybank.local'),
  'exp', extract(epoch from now() + interval '15 minutes')::bigint)::text, true);
set local role authenticated;
select throws_like('select app.check_request()', '%AAL2_REQUIRED%', 'should refuse a session whose user became staff, until aal2');
select tests.clear_authentication();
update app.users set role = 'customer' where id = :'customer';

-- The gateway's session check
select is((select row(live, role, aal, staff)::text from app.check_session(:'officer', :'officer_aal1', 'pgtap')), '(f,,,)',
  'should not find a session under another user''s id');
select is((select row(live, role, aal, staff)::text from app.check_session(:'officer_aal1', :'officer', 'pgtap')),
  '(t,compliance_officer,aal1,t)', 'should tell the gateway a live staff session at aal1');
select is((select row(live, role, aal, staff)::text from app.check_session(:'customer_aal1', :'customer', 'pgtap')),
  '(t,authenticated,aal1,f)', 'should name a customer with the API role authenticated');
update app.user_sessions set revoked_at = now(), revoked_reason = 'logout' where id = :'customer_aal1';
select is((select live from app.check_session(:'customer_aal1', :'customer', 'pgtap')), false, 'should tell the gateway a signed-out session has ended');
select is((select live from app.check_session(:'officer_aal2', :'officer', 'pgtap', now() + interval '1 day')), false,
  'should tell the gateway an expired session has ended');
update app.users set status = 'suspended' where id = :'officer';
select is((select live from app.check_session(:'officer_aal2', :'officer', 'pgtap')), false, 'should end the sessions of a suspended user');
select ok(has_function_privilege('dwaybank_gateway', 'app.check_session(uuid, uuid, text, timestamptz)', 'execute'),
  'should let the gateway check sessions');
select ok(not has_function_privilege('authenticated', 'app.check_session(uuid, uuid, text, timestamptz)', 'execute')
  and not has_function_privilege('anon', 'app.check_session(uuid, uuid, text, timestamptz)', 'execute'),
  'should not let API roles call the gateway''s session check');
select ok(not has_function_privilege('admin', 'app.check_session(uuid, uuid, text, timestamptz)', 'execute'),
  'should not let staff call the gateway''s session check');

select * from finish();
rollback;
