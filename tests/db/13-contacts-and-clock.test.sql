-- Contact changes and the clock (issue 15, findings 1 and 10): a phone number
-- changes only with a step-up and a code sent to the new number; SMS codes go
-- to the number the factor was enrolled with; no api function lets its caller
-- move the clock.
begin;
select plan(26);

select tests.create_user('pat@example.com') as pat \gset
update app.users set phone = '+4915100000001', email_verified_at = now() where id = :'pat';
create temp table ps as select * from app.authenticate('pat@example.com', 'correct horse battery staple', '192.0.2.40', 'pgtap');
select session_id as pat_sid from ps \gset

-- Enrol SMS at the profile's number: the factor keeps that number.
create temp table otp as select * from app.begin_otp_enrollment(:'pat', :'pat_sid', 'sms', '123456', 'sealed-enrol');
select is((select status from app.confirm_otp_enrollment(:'pat', :'pat_sid', (select config_id from otp), '123456')), 'ok',
  'should enrol SMS with the code sent to the profile''s number');
select is((select phone from app.mfa_configs where user_id = :'pat' and method = 'sms'), '+4915100000001',
  'should bind the SMS factor to the number its enrolment code was confirmed at');
select isnt((select phone_verified_at from app.users where id = :'pat'), null,
  'should mark the profile''s number verified by the SMS enrolment');

-- The attack: an aal1 session (password only, or a remembered device) changes the phone.
update app.user_sessions set aal = 'aal1' where id = :'pat_sid';
select tests.authenticate_as(:'pat', :'pat_sid');
select tests.throws_api($$ select api.update_my_profile(phone => '+4915199999999') $$, 409, 'PHONE_CHANGE_NEEDS_VERIFICATION',
  'should refuse a phone change through update_my_profile (PHONE_CHANGE_NEEDS_VERIFICATION)');
select is((api.update_my_profile(phone => '+4915100000001', first_name => 'Patricia')).first_name, 'Patricia',
  'should still update the profile when the same phone number is passed');
select tests.throws_api($$ select api.request_phone_change('+4915199999999') $$, 403, 'STEP_UP_REQUIRED',
  'should refuse a phone change from an aal1 session of an account with a factor (STEP_UP_REQUIRED)');
select tests.clear_authentication();
select is((select phone from app.users where id = :'pat'), '+4915100000001', 'should leave the phone number unchanged');
select ok(not has_column_privilege('authenticated', 'app.users', 'phone', 'update'),
  'should not grant customers the right to write the phone column');

-- With a step-up (aal2 within 10 minutes) the change starts, and goes nowhere until confirmed.
update app.user_sessions set aal = 'aal2', auth_time = now() where id = :'pat_sid';
select tests.authenticate_as(:'pat', :'pat_sid', 'aal2');
select tests.throws_api($$ select api.request_phone_change('0151 not a number') $$, 400, 'INVALID_PHONE', 'should refuse a number that is not E.164 (INVALID_PHONE)');
select tests.throws_api($$ select api.request_phone_change('+4915100000001') $$, 400, 'PHONE_UNCHANGED', 'should refuse the current number (PHONE_UNCHANGED)');
select ok((api.request_phone_change('+4915199999999')) ? 'expires_at', 'should start a phone change after a step-up');
select tests.clear_authentication();
select is((select phone from app.users where id = :'pat'), '+4915100000001', 'should not use the new number before it is confirmed');
select is((select payload ->> 'to' from app_private.outbox where user_id = :'pat' and template = 'phone_change_code'), '+4915199999999',
  'should send the confirmation code to the new number');
select is((select count(*)::int from app_private.outbox where user_id = :'pat' and template = 'phone_change_requested' and channel = 'email'), 1,
  'should tell the account''s e-mail address that a phone change was asked for');
select code_hash from app_private.phone_changes where user_id = :'pat' \gset

-- A code for the SMS factor meanwhile goes to the enrolled number.
create temp table sms1 as select * from app.create_mfa_challenge(:'pat', 'sms', '222222', 'sealed-sms', session_id => :'pat_sid');
select is((select payload ->> 'to' from app_private.outbox where user_id = :'pat' and template = 'mfa_code' order by id desc limit 1),
  '+4915100000001', 'should send SMS codes to the factor''s enrolled number');

-- Wrong codes are counted even though the request fails; another session cannot confirm.
create temp table other as select * from app_private.create_session(:'pat', 'aal2', '{pwd,sms}', '192.0.2.41', 'pgtap', null, null);
select tests.authenticate_as(:'pat', (select session_id from other), 'aal2');
select tests.throws_api($$ select api.confirm_phone_change('000000') $$, 404, 'PHONE_CHANGE_NOT_FOUND',
  'should let only the session that asked confirm the change (PHONE_CHANGE_NOT_FOUND)');
select tests.authenticate_as(:'pat', :'pat_sid', 'aal2');
select is(api.confirm_phone_change('000001') ->> 'code', 'PHONE_CODE_INVALID', 'should refuse a wrong code');
select is(current_setting('response.status', true), '400', 'should answer a wrong code with status 400, without rolling back');
select tests.clear_authentication();
select is((select attempts from app_private.phone_changes where user_id = :'pat'), 1, 'should count the wrong code');

-- The right code (known here only by its hash: swap in one we know) changes the number.
update app_private.phone_changes set code_hash = app_private.mfa_code_hash('424242') where user_id = :'pat';
select tests.authenticate_as(:'pat', :'pat_sid', 'aal2');
select is(api.confirm_phone_change('424242') ->> 'phone', '+4915199999999', 'should change the number with the right code');
select tests.clear_authentication();
select is((select phone from app.users where id = :'pat'), '+4915199999999', 'should now hold the new number');
select is((select payload ->> 'to' from app_private.outbox where user_id = :'pat' and template = 'phone_changed' and channel = 'sms'),
  '+4915100000001', 'should tell the old number that it was replaced');
select is((select count(*)::int from app_private.outbox where user_id = :'pat' and template = 'phone_changed' and channel = 'email'), 1,
  'should tell the e-mail address that the number changed');
create temp table sms2 as select * from app.create_mfa_challenge(:'pat', 'sms', '333333', 'sealed-sms2', session_id => :'pat_sid');
select is((select payload ->> 'to' from app_private.outbox where user_id = :'pat' and template = 'mfa_code' order by id desc limit 1),
  '+4915100000001', 'should keep sending SMS codes to the number the factor was enrolled with');

-- Five wrong codes end a change.
select tests.authenticate_as(:'pat', :'pat_sid', 'aal2');
select api.request_phone_change('+4915188888888');
select api.confirm_phone_change('000000') from generate_series(1, 5);
select tests.throws_api($$ select api.confirm_phone_change('000000') $$, 404, null, 'should end a change after 5 wrong codes');
select tests.clear_authentication();

-- Finding 10: time is a parameter of internal functions only.
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'api' and 'now' = any (p.proargnames)
$$, 'should give no api function a now parameter: API roles cannot move the clock');

select * from finish();
rollback;
