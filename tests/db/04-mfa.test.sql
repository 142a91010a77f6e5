-- MFA: TOTP enrolment and replay, backup codes, rate limit, SMS/e-mail codes,
-- the outbox, step-up, trusted devices, disabling factors, audit.
begin;
select plan(60);

select tests.create_user('mallory@example.com') as mal \gset
select tests.create_user('trent@example.com') as trent \gset
select tests.create_user('staff@example.com', role => 'admin') as staff \gset
update app.users set phone = '+4915112345678' where id = :'trent';
-- SMS and e-mail codes need a verified address (000006-create-account-lifecycle.sql).
update app.users set email_verified_at = now() where id = :'trent';
select app_private.totp_step(now()) as step \gset
-- The rate limit has its own section; until then failures must not trip it.
select set_config('dwaybank.mfa_max_attempts', '50', true);

-- Enrolment needs a recent sign-in
create temp table s1 as select * from app.authenticate('mallory@example.com', 'correct horse battery staple', '192.0.2.30', 'Firefox', 'fp-m', 'Laptop');
select is((select status from s1), 'ok', 'should sign in without MFA before enrolment');
select tests.throws_api(format($$ select app.begin_totp_enrollment(%L, %L, 'v1.ciphertext-abcdefgh', 'k1', now => now() + interval '11 minutes') $$,
                        :'mal', (select session_id from s1)),
  403, 'STEP_UP_REQUIRED', 'should refuse enrolment on a sign-in older than 10 minutes (STEP_UP_REQUIRED)');
select app.begin_totp_enrollment(:'mal', (select session_id from s1), 'v1.ciphertext-abcdefgh', 'k1', 'Phone', 'fp-m') as cfg \gset
select is((select status from app.mfa_configs where id = :'cfg'), 'pending', 'should create a pending TOTP factor');
select is((select ciphertext from app_private.mfa_secrets where config_id = :'cfg'), 'v1.ciphertext-abcdefgh',
  'should keep only the gateway''s ciphertext in app_private');
select is((select status from app.authenticate('mallory@example.com', 'correct horse battery staple', '192.0.2.30', 'Firefox', 'fp-m')), 'ok',
  'should not ask for a factor that is still pending');

-- Confirmation
select is((select status from app.confirm_totp_enrollment(:'mal', (select session_id from s1), :'cfg', null, '192.0.2.30')),
  'invalid_code', 'should refuse a confirmation whose code matched no step');
create temp table c1 as select * from app.confirm_totp_enrollment(:'mal', (select session_id from s1), :'cfg', :'step'::bigint, '192.0.2.30');
select is((select status from c1), 'ok', 'should confirm with a code at the current step');
select is((select cardinality(backup_codes) from c1), 10, 'should return 10 backup codes');
select ok((select bool_and(c ~ '^[A-Z2-7]{5}-[A-Z2-7]{5}$') from c1, unnest(backup_codes) c), 'should make backup codes of 10 base32 characters');
select is((select count(*)::int from app_private.mfa_backup_codes b, c1, unnest(c1.backup_codes) c
           where b.code_hash = app_private.backup_code_hash(c) and b.user_id = :'mal'), 10, 'should store backup codes as SHA-256 hashes');
select is((select status from app.mfa_configs where id = :'cfg'), 'active', 'should activate the factor');
select tests.throws_api(format($$ select app.begin_totp_enrollment(%L, %L, 'v1.ciphertext-abcdefgh', 'k1') $$, :'mal', (select session_id from s1)),
  403, null, 'should need aal2 to change factors once one is active');

-- Sign-in now demands the second factor
select count(*) as sessions_before from app.user_sessions where user_id = :'mal' \gset
create temp table l1 as select * from app.authenticate('mallory@example.com', 'correct horse battery staple', '192.0.2.30', 'Firefox', 'fp-m', 'Laptop');
select is((select status from l1), 'mfa_required', 'should demand MFA after a correct password');
select is((select mfa_methods from l1), array['backup_codes', 'totp'], 'should name the available factors');
select is((select count(*) from app.user_sessions where user_id = :'mal'), :'sessions_before'::bigint, 'should not open a session before the second factor');
select ok((select expires_at <= now() + interval '5 minutes' from l1), 'should let the pending sign-in live at most 5 minutes');

-- TOTP replay
select is((select status from app.verify_mfa_login((select login_id from l1), 'totp', null, :'step'::bigint, ip => '192.0.2.30')), 'replayed',
  'should refuse the step already used for confirmation');
select is((select status from app.verify_mfa_login((select login_id from l1), 'totp', null, :'step'::bigint - 2, ip => '192.0.2.30')), 'failed',
  'should refuse a code two steps old');
create temp table v1 as select * from app.verify_mfa_login((select login_id from l1), 'totp', null, :'step'::bigint + 1,
  ip => '192.0.2.30', now => now() + interval '30 seconds');
select is((select status from v1), 'ok', 'should accept the next step');
select is((select aal from v1), 'aal2', 'should open an aal2 session');
select is((select amr from v1), array['pwd', 'otp'], 'should list the methods used in amr');
select is((select aal from app.user_sessions where id = (select session_id from v1)), 'aal2', 'should store aal2 on the session');
select is((select status from app.verify_mfa_login((select login_id from l1), 'totp', null, :'step'::bigint + 2,
  now => now() + interval '60 seconds')), 'token_used', 'should accept an mfa_token only once');
create temp table l2 as select * from app.authenticate('mallory@example.com', 'correct horse battery staple', '192.0.2.30', 'Firefox', 'fp-m');
select is((select status from app.verify_mfa_login((select login_id from l2), 'totp', null, :'step'::bigint + 1,
  now => now() + interval '30 seconds')), 'replayed', 'should refuse the same code a second time');

-- Backup codes
select is((select status from app.verify_mfa_login((select login_id from l2), 'backup_codes', lower((select backup_codes[1] from c1)))), 'ok',
  'should accept a backup code (case and separators ignored)');
create temp table l3 as select * from app.authenticate('mallory@example.com', 'correct horse battery staple', '192.0.2.30', 'Firefox', 'fp-m');
select is((select status from app.verify_mfa_login((select login_id from l3), 'backup_codes', (select backup_codes[1] from c1))), 'failed',
  'should accept a backup code only once');
select tests.throws_api(format($$ select app.regenerate_backup_codes(%L, %L) $$, :'mal', (select session_id from s1)), 403, null,
  'should need aal2 to regenerate backup codes');
create temp table rc as select app.regenerate_backup_codes(:'mal', (select session_id from v1)) as codes;
select is((select status from app.verify_mfa_login((select login_id from l3), 'backup_codes', (select backup_codes[2] from c1))), 'failed',
  'should invalidate the old set when regenerating');
select is((select status from app.verify_mfa_login((select login_id from l3), 'backup_codes', (select codes[1] from rc))), 'ok',
  'should accept a code of the new set');

-- Rate limit: five failures in the window, then refusal with a retry time
select set_config('dwaybank.mfa_max_attempts', '', true);
select tests.create_user('peggy@example.com') as peg \gset
create temp table p1 as select * from app.authenticate('peggy@example.com', 'correct horse battery staple', '192.0.2.40', 'Firefox', 'fp-p');
select app.confirm_totp_enrollment(:'peg', (select session_id from p1),
  app.begin_totp_enrollment(:'peg', (select session_id from p1), 'v1.ciphertext-peggy000', 'k1'), :'step'::bigint);
create temp table l4 as select * from app.authenticate('peggy@example.com', 'correct horse battery staple', '192.0.2.40', 'Firefox', 'fp-p');
select app.verify_mfa_login((select login_id from l4), 'totp', null, null, ip => '192.0.2.40') from generate_series(1, 5);
create temp table v6 as select * from app.verify_mfa_login((select login_id from l4), 'totp', null, :'step'::bigint + 1, ip => '192.0.2.40',
  now => now() + interval '30 seconds');
select is((select status from v6), 'rate_limited', 'should refuse the sixth code after five failures in the window, even a valid one');
select ok((select retry_after_seconds between 1 and 900 from v6), 'should say when to try again');
select is((select array_agg(outcome order by id) from app.mfa_verification_attempts where user_id = :'peg' and purpose = 'login'),
  array['failed', 'failed', 'failed', 'failed', 'failed', 'rate_limited'], 'should record every failed and refused attempt');
create temp table l4b as select * from app.authenticate('peggy@example.com', 'correct horse battery staple', '192.0.2.40', 'Firefox', 'fp-p',
  now => now() + interval '16 minutes');
select is((select status from app.verify_mfa_login((select login_id from l4b), 'totp', null, :'step'::bigint + 32,
  now => now() + interval '16 minutes')), 'ok', 'should accept a valid code once the window has passed');
select is((select failed_login_attempts from app.users where id = :'peg'), 0, 'should keep MFA failures apart from password failures');
select set_config('dwaybank.mfa_max_attempts', '50', true);

-- SMS codes: hashed, single use, expiring, locked after 5 tries
create temp table ts as select * from app.authenticate('trent@example.com', 'correct horse battery staple');
create temp table otp as select * from app.begin_otp_enrollment(:'trent', (select session_id from ts), 'sms', '123456', 'sealed-ciphertext');
select is((select status from otp), 'ok', 'should queue an enrolment code by SMS');
select ok(exists (select from app_private.outbox where user_id = :'trent' and channel = 'sms' and template = 'mfa_code'
                    and payload ->> 'sealed' = 'sealed-ciphertext'), 'should put the sealed message in the outbox');
select is((select count(*)::int from app_private.mfa_challenges c where c.user_id = :'trent' and c.code_hash = app_private.mfa_code_hash('123456')), 1,
  'should store the code as a keyed hash');
select is((select status from app.confirm_otp_enrollment(:'trent', (select session_id from ts), (select config_id from otp), '123456')), 'ok',
  'should activate SMS with the code sent');
create temp table t1 as select * from app.authenticate('trent@example.com', 'correct horse battery staple');
select is((select status from app.create_mfa_challenge(:'trent', 'sms', '654321', 'sealed-2', (select login_id from t1),
  now => now() - interval '11 minutes')), 'ok', 'should send a code for a pending sign-in');
select is((select status from app.verify_mfa_login((select login_id from t1), 'sms', '654321')), 'expired',
  'should refuse a code older than 10 minutes');
select app.create_mfa_challenge(:'trent', 'sms', '111111', 'sealed-3', (select login_id from t1));
select app.verify_mfa_login((select login_id from t1), 'sms', '000000') from generate_series(1, 4);
select is((select status from app.verify_mfa_login((select login_id from t1), 'sms', '000000')), 'locked', 'should lock a code after 5 wrong tries');
select is((select status from app.verify_mfa_login((select login_id from t1), 'sms', '111111')), 'locked',
  'should refuse even the right code once it is locked');

-- Outbox delivery drops the sealed content
create temp table ob as select * from app.claim_outbox(100);
select ok((select count(*) from ob where user_id = :'trent') >= 3, 'should claim unsent messages with their destination');
select is((select distinct destination from ob where user_id = :'trent' and channel = 'sms'), '+4915112345678', 'should address SMS to the phone number');
select app.complete_outbox(id) from ob;
select is((select count(*)::int from app_private.outbox where payload ? 'sealed' and sent_at is not null), 0,
  'should remove the sealed content once a message is sent');

-- Trusted devices
create temp table l5 as select * from app.authenticate('mallory@example.com', 'correct horse battery staple', '192.0.2.32', 'Firefox', 'fp-m');
create temp table v5 as select * from app.verify_mfa_login((select login_id from l5), 'backup_codes', (select codes[3] from rc),
  remember_device => true, device_fingerprint => 'fp-m');
select is((select length(device_token) from v5), 43, 'should issue a device token when asked to remember the device');
create temp table l6 as select * from app.authenticate('mallory@example.com', 'correct horse battery staple', '192.0.2.32', 'Firefox', 'fp-m');
select is((select status from app.login_with_trusted_device((select login_id from l6), (select device_token from v5), 'fp-other')), 'untrusted',
  'should bind the device token to the device fingerprint');
create temp table td as select * from app.login_with_trusted_device((select login_id from l6), (select device_token from v5), 'fp-m');
select is((select array[status, aal] || amr from td), array['ok', 'aal1', 'pwd', 'trusted_device'],
  'should skip the prompt on a remembered device with an aal1 session (amr trusted_device)');

-- Step-up and disabling
select tests.authenticate_as(:'mal', (select session_id from td));
select tests.throws_api('select app.assert_step_up()', 403, 'This action needs a recent sign-in with your second factor.',
  'should ask an aal1 session to step up');
select tests.throws_api(format('select api.disable_mfa_method(%L, %L)', :'mal', 'totp'), 403, null, 'should need aal2 to disable a factor');
select tests.throws_api(format('select * from api.get_user_mfa_methods(%L)', :'trent'), 403, null, 'should not show another user''s factors');
select tests.clear_authentication();
select is((select status from app.step_up_session((select session_id from td), 'backup_codes', (select codes[4] from rc))), 'ok',
  'should raise a session to aal2 with a second factor');
select tests.authenticate_as(:'mal', (select session_id from td));
select lives_ok('select app.assert_step_up()', 'should pass the step-up check after stepping up');
select ok(api.disable_mfa_method(:'mal', 'totp'), 'should disable a factor in a fresh aal2 session');
select tests.clear_authentication();
select is((select count(*)::int from app.mfa_configs where user_id = :'mal'), 0, 'should remove backup codes with the last factor');
select is((select count(*)::int from app.trusted_devices where user_id = :'mal' and revoked_at is null), 0, 'should revoke trusted devices');

-- Staff see factors; their policy keeps the last one
create temp table st as select * from app.authenticate('staff@example.com', 'correct horse battery staple');
create temp table stc as select * from app.confirm_totp_enrollment(:'staff', (select session_id from st),
  app.begin_totp_enrollment(:'staff', (select session_id from st), 'v1.ciphertext-staff000', 'k1'), :'step'::bigint);
select app.step_up_session((select session_id from st), 'backup_codes', (select backup_codes[1] from stc));
select tests.authenticate_as(:'staff', (select session_id from st));
select is((select count(*)::int from api.get_user_mfa_methods(:'trent')), 2, 'should let staff list another user''s factors');
select tests.throws_api(format('select api.disable_mfa_method(%L, %L)', :'staff', 'totp'), 409, null,
  'should refuse to remove the last factor of an account whose policy requires MFA');
select tests.clear_authentication();

-- Audit: every event, no secret
select is((select array_agg(distinct event_type order by event_type) from audit.audit_log
           where event_type like 'mfa.%' and subject_user_id in (:'mal', :'trent')),
  array['mfa.backup_code.used', 'mfa.backup_codes.generated', 'mfa.backup_codes.regenerated', 'mfa.challenge.sent', 'mfa.confirmed',
        'mfa.device.trusted', 'mfa.disabled', 'mfa.enrolled', 'mfa.token.reused', 'mfa.trusted_devices.revoked',
        'mfa.verify.failed', 'mfa.verify.succeeded'],
  'should audit enrolment, confirmation, verification, challenges, backup codes, devices and disabling');
select is((select count(*)::int from audit.audit_log a, c1, unnest(c1.backup_codes || (select codes from rc)) c
           where a::text like '%' || c || '%' or a::text like '%' || replace(c, '-', '') || '%'
              or a::text ~ 'ciphertext-abcdefgh|sealed-|"123456"|654321|111111'
              or a::text like '%' || (select device_token from v5) || '%'), 0,
  'should keep secrets, codes, backup codes and device tokens out of the audit log');

select * from finish();
rollback;
