-- Account lifecycle: e-mail verification, forgotten password, password and
-- e-mail change, account recovery (four eyes, waiting period), passkeys.
begin;
select plan(72);

select set_config('dwaybank.mfa_max_attempts', '50', true);
select tests.create_user('victor@example.com') as vic \gset
select tests.create_user('olivia@example.com') as oli \gset
select tests.create_user('officer-a@example.com', role => 'compliance_officer') as offa \gset
select tests.create_user('officer-b@example.com', role => 'admin') as offb \gset

------------------------------------------------------------------------------
-- E-mail verification
------------------------------------------------------------------------------
select is((select count(*)::int from app_private.outbox where user_id = :'vic' and template = 'email_verification'), 1,
  'should queue a verification e-mail at sign-up');
select (select payload ->> 'token' from app_private.outbox where user_id = :'vic' and template = 'email_verification') as vtoken \gset
select ok(length(:'vtoken') >= 43, 'should make the verification token 256 random bits');
select is((select count(*)::int from app_private.account_tokens where user_id = :'vic' and purpose = 'email_verification'
             and token_hash = app_private.token_hash(:'vtoken')), 1, 'should store only the token''s hash');
select ok((select expires_at between now() + interval '23 hours 59 minutes' and now() + interval '24 hours 1 minute'
             from app_private.account_tokens where user_id = :'vic' and purpose = 'email_verification'),
  'should let a verification token live 24 hours');
select is((select status from app.verify_email(:'vtoken', now => now() + interval '25 hours')), 'expired',
  'should refuse an expired verification token');
select is((select status from app.verify_email('not-a-token')), 'invalid', 'should refuse an unknown token');
select is((select status from app.verify_email(:'vtoken')), 'ok', 'should verify with the token');
select isnt((select email_verified_at from app.users where id = :'vic'), null, 'should set email_verified_at');
select is((select status from app.verify_email(:'vtoken')), 'used', 'should accept a verification token only once');

-- Unverified: no KYC, no SMS/e-mail factor, but sign-in works
select is((select status from app.authenticate('olivia@example.com', 'correct horse battery staple', '192.0.2.60', 'pgtap')), 'ok',
  'should let an unverified account sign in');
select tests.throws_api(format($$ select app_private.kyc_precondition(%L) $$, :'oli'), 403, 'Verify your e-mail address first.',
  'should refuse KYC before the address is verified (EMAIL_NOT_VERIFIED)');
select lives_ok(format($$ select app_private.kyc_precondition(%L) $$, :'vic'), 'should allow KYC once the address is verified');
create temp table os as select * from app.authenticate('olivia@example.com', 'correct horse battery staple', '192.0.2.60', 'pgtap');
select tests.throws_api(format($$ select * from app.begin_otp_enrollment(%L, %L, 'email', '123456', 'sealed-ciphertext') $$, :'oli', (select session_id from os)),
  403, 'Verify your e-mail address first.', 'should refuse e-mail codes as a factor before the address is verified');

-- Resend: rate limited, and a new link replaces the old one
select (select payload ->> 'token' from app_private.outbox where user_id = :'oli' and template = 'email_verification' order by id limit 1) as otoken1 \gset
select is((select status from app.resend_email_verification(:'oli', (select session_id from os))), 'ok', 'should resend the verification e-mail');
select is((select status from app.verify_email(:'otoken1')), 'superseded', 'should invalidate the older link when resending');
select is((select status from app.resend_email_verification(:'oli', (select session_id from os))), 'ok', 'should resend a second time');
select is((select status from app.resend_email_verification(:'oli', (select session_id from os))), 'rate_limited',
  'should rate limit resending (3 e-mails an hour)');

------------------------------------------------------------------------------
-- Forgotten password
------------------------------------------------------------------------------
select set_config('dwaybank.password_reset_address_limit', '10', true);
create temp table vs as select * from app.authenticate('victor@example.com', 'correct horse battery staple', '192.0.2.61', 'pgtap', 'fp-v');
select app_private.trust_device(:'vic', 'fp-v', 'Laptop', '192.0.2.61', now()) as devtoken \gset
select is((select status from app.resend_email_verification(:'vic', (select session_id from vs))), 'already_verified',
  'should not resend to a verified address');
select is((select status from app.request_password_reset('nobody@example.com', '192.0.2.61')), 'accepted',
  'should answer accepted for an unknown address');
select is((select status from app.request_password_reset('victor@example.com', '192.0.2.61')), 'accepted',
  'should answer the same for a known address');
select is((select count(*)::int from app_private.account_tokens where purpose = 'password_reset' and user_id = :'vic'), 1,
  'should issue a reset token only for the known address');
select (select payload ->> 'token' from app_private.outbox where user_id = :'vic' and template = 'password_reset' order by id desc limit 1) as rtoken1 \gset
select ok((select expires_at <= now() + interval '30 minutes' from app_private.account_tokens
            where token_hash = app_private.token_hash(:'rtoken1')), 'should let a reset token live 30 minutes');
select app.request_password_reset('victor@example.com', '192.0.2.61');
select (select payload ->> 'token' from app_private.outbox where user_id = :'vic' and template = 'password_reset' order by id desc limit 1) as rtoken \gset
select is((select status from app.reset_password(:'rtoken1', 'a brand new passphrase 1')), 'superseded',
  'should invalidate a reset token by a newer request');
select is((select status from app.reset_password(:'rtoken', 'a brand new passphrase 2', now => now() + interval '31 minutes')), 'expired',
  'should refuse a reset token after 30 minutes');
select tests.throws_api(format($$ select * from app.reset_password(%L, 'short') $$, :'rtoken'), 400, 'WEAK_PASSWORD',
  'should enforce the password policy on reset (WEAK_PASSWORD)');
select is((select status from app.reset_password(:'rtoken', 'a brand new passphrase 3')), 'ok', 'should reset the password with the token');
select is((select count(*)::int from app.user_sessions where user_id = :'vic' and revoked_at is null), 0, 'should revoke every session');
select is((select count(*)::int from app.trusted_devices where user_id = :'vic' and revoked_at is null), 0, 'should revoke every trusted device');
select is((select count(*)::int from app_private.outbox where user_id = :'vic' and template = 'password_changed'), 1, 'should notify the user');
select is((select status from app.reset_password(:'rtoken', 'yet another passphrase 4')), 'used', 'should accept a reset token only once');
select is((select status from app.authenticate('victor@example.com', 'a brand new passphrase 3', '192.0.2.61', 'pgtap')), 'ok',
  'should sign in with the new password');
select set_config('dwaybank.password_reset_address_limit', '', true);
select app.request_password_reset('ghost@example.com', '192.0.2.62') from generate_series(1, 3);
select is((select status from app.request_password_reset('ghost@example.com', '192.0.2.62')), 'rate_limited',
  'should rate limit reset requests per address (unknown ones too)');
select set_config('dwaybank.password_reset_ip_limit', '2', true);
select is((select status from app.request_password_reset('someone-else@example.com', '192.0.2.62')), 'rate_limited',
  'should rate limit reset requests per client address');
select set_config('dwaybank.password_reset_ip_limit', '', true);

------------------------------------------------------------------------------
-- Password change: step-up, revokes the other sessions
------------------------------------------------------------------------------
create temp table v1 as select * from app.authenticate('victor@example.com', 'a brand new passphrase 3', '192.0.2.61', 'pgtap');
create temp table v2 as select * from app.authenticate('victor@example.com', 'a brand new passphrase 3', '192.0.2.61', 'pgtap');
select tests.throws_api(format($$ select * from app.change_password(%L, %L, 'a brand new passphrase 3', 'changed passphrase 5', now => now() + interval '11 minutes') $$,
                        :'vic', (select session_id from v2)),
  403, 'STEP_UP_REQUIRED', 'should refuse a password change without a recent sign-in or step-up (STEP_UP_REQUIRED)');
select is((select status from app.change_password(:'vic', (select session_id from v2), 'wrong password here', 'changed passphrase 5')),
  'invalid_password', 'should refuse a wrong current password');
select is((select status from app.change_password(:'vic', (select session_id from v2), 'a brand new passphrase 3', 'changed passphrase 5')),
  'ok', 'should change the password after a recent sign-in');
select ok((select revoked_at is not null from app.user_sessions where id = (select session_id from v1)), 'should revoke the other sessions');
select ok((select revoked_at is null from app.user_sessions where id = (select session_id from v2)), 'should keep the current session');

------------------------------------------------------------------------------
-- E-mail change: step-up, confirmed from the new address
------------------------------------------------------------------------------
select tests.throws_api(format($$ select * from app.request_email_change(%L, %L, 'victor.new@example.com', now => now() + interval '11 minutes') $$,
                        :'vic', (select session_id from v2)),
  403, null, 'should refuse an e-mail change without step-up');
select is((select status from app.request_email_change(:'vic', (select session_id from v2), 'victor.new@example.com')), 'ok',
  'should start an e-mail change after a recent sign-in');
select is((select payload ->> 'to' from app_private.outbox where user_id = :'vic' and template = 'email_change_confirm'),
  'victor.new@example.com', 'should send the confirmation to the new address');
select is((select destination from app.claim_outbox(100) where user_id = :'vic' and template = 'email_change_requested'),
  'victor@example.com', 'should notify the old address');
select is((select email::text from app.users where id = :'vic'), 'victor@example.com', 'should keep the old address until confirmed');
select (select payload ->> 'token' from app_private.outbox where user_id = :'vic' and template = 'email_change_confirm') as ctoken \gset
select is((select status from app.confirm_email_change(:'ctoken')), 'ok', 'should confirm the change with the token');
select is((select email::text from app.users where id = :'vic'), 'victor.new@example.com', 'should switch to the new address');
select is((select payload ->> 'to' from app_private.outbox where user_id = :'vic' and template = 'email_changed'),
  'victor@example.com', 'should tell the old address that it changed');
select is((select status from app.confirm_email_change(:'ctoken')), 'used', 'should accept a confirmation token only once');

------------------------------------------------------------------------------
-- Account recovery: four eyes, waiting period, cancel, factors reset
------------------------------------------------------------------------------
select app.begin_totp_enrollment(:'oli', (select session_id from os), 'v1.ciphertext-olivia', 'k1') as ocfg \gset
select status as totp_status from app.confirm_totp_enrollment(:'oli', (select session_id from os), :'ocfg', app_private.totp_step(now())) \gset
create temp table ol as select * from app.authenticate('olivia@example.com', 'correct horse battery staple', '192.0.2.60', 'pgtap');
create temp table rq as select * from app.request_account_recovery((select login_id from ol), 'lost my phone');
select recovery_id as rid from rq \gset
select is((select status from rq), 'ok', 'should start a recovery from a sign-in that passed the password');
select ok((select not_before >= now() + interval '72 hours' from rq), 'should set a 72-hour waiting period');
select is((select count(*)::int from app_private.outbox where user_id = :'oli' and template = 'account_recovery_requested'), 1,
  'should notify the customer');
select tests.authenticate_as(:'offa', null, 'aal2');
select lives_ok(format($$ select api.approve_account_recovery(%L) $$, :'rid'), 'should record a first approval');
select tests.throws_api(format($$ select api.approve_account_recovery(%L) $$, :'rid'), 409, 'FOUR_EYES_REQUIRED',
  'should refuse a second approval by the same person (FOUR_EYES_REQUIRED)');
select tests.throws_api(format($$ select api.complete_account_recovery(%L) $$, :'rid'), 409, null,
  'should not complete with one approval');
select tests.authenticate_as(:'offb', null, 'aal1');
select tests.throws_api(format($$ select api.approve_account_recovery(%L) $$, :'rid'), 403, null,
  'should need aal2 to approve');
select tests.authenticate_as(:'offb', null, 'aal2');
select is((select status from api.approve_account_recovery(:'rid')), 'approved',
  'should approve with a second, different staff member');
select tests.throws_api(format($$ select api.complete_account_recovery(%L) $$, :'rid'), 409, 'RECOVERY_WAITING',
  'should not complete during the waiting period (RECOVERY_WAITING)');
select tests.authenticate_as(:'oli', null, 'aal1');
select throws_ok(format($$ select api.approve_account_recovery(%L) $$, :'rid'), '42501', null,
  'should not let a customer approve');
select tests.clear_authentication();
select is(app.complete_due_account_recoveries(now() + interval '73 hours'), 1, 'should complete after the waiting period');
select is((select count(*)::int from app.mfa_configs where user_id = :'oli'), 0, 'should reset every MFA factor');
select is((select status from app.authenticate('olivia@example.com', 'correct horse battery staple', '192.0.2.60', 'pgtap')), 'ok',
  'should let the customer sign in with the password and enrol again');
-- A customer cancels a recovery they did not ask for
insert into app_private.mfa_logins (id, user_id, methods, expires_at)
values ('00000000-0000-4000-8000-00000000000a', :'vic', '{totp}', now() + interval '5 minutes');
select is((select status from app.request_account_recovery('00000000-0000-4000-8000-00000000000a')), 'ok', 'should start a second recovery');
select tests.authenticate_as(:'vic', (select session_id from v2), 'aal1');
select is((select status from api.cancel_account_recovery()), 'cancelled', 'should let the customer cancel during the waiting period (after a recent sign-in)');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- Passkeys: single-use challenges, sign counter
------------------------------------------------------------------------------
create temp table ps as select * from app.authenticate('olivia@example.com', 'correct horse battery staple', '192.0.2.60', 'pgtap');
select app.begin_passkey_registration(:'oli', (select session_id from ps), 'registration-challenge-0001');
select is((select status from app.finish_passkey_registration(:'oli', (select session_id from ps), 'registration-challenge-0001',
           'credential-olivia-0001', '\x0102030405060708090a0b0c0d0e0f10'::bytea, 5, '{internal}', 'Laptop', 'singleDevice', false)),
  'ok', 'should register a passkey with its challenge');
select tests.throws_api(format($$ select app.begin_passkey_registration(%L, %L, 'registration-challenge-0002') $$, :'oli', (select session_id from ps)),
  403, null, 'should need aal2 to add a passkey once a factor is active');
update app.user_sessions set aal = 'aal2' where id = (select session_id from ps);
select is((select status from app.finish_passkey_registration(:'oli', (select session_id from ps), 'registration-challenge-0001',
           'credential-olivia-0002', '\x0102030405060708090a0b0c0d0e0f10'::bytea, 0, '{}', 'Again', null, false)),
  'invalid_challenge', 'should accept a registration challenge only once');
create temp table pl as select * from app.authenticate('olivia@example.com', 'correct horse battery staple', '192.0.2.60', 'pgtap');
select is((select mfa_methods from pl), array['backup_codes', 'webauthn'], 'should ask for the passkey as a second factor');
select status as pa1 from app.begin_passkey_authentication('login', (select login_id from pl), challenge => 'login-challenge-000000001') \gset
select is((select status from app.finish_passkey_authentication('login', 'login-challenge-000000001', 'credential-olivia-0001', true, 5,
           (select login_id from pl))), 'counter_regressed', 'should refuse a sign counter that did not increase');
select is((select severity from audit.audit_log where event_type = 'mfa.passkey.counter_regressed' and subject_user_id = :'oli'), 'critical',
  'should record the counter regression as a critical security event');
select status as pa2 from app.begin_passkey_authentication('login', (select login_id from pl), challenge => 'login-challenge-000000002') \gset
create temp table pv as select * from app.finish_passkey_authentication('login', 'login-challenge-000000002', 'credential-olivia-0001', true, 6,
           (select login_id from pl));
select is((select aal || ':' || array_to_string(amr, ',') from pv), 'aal2:pwd,webauthn', 'should open an aal2 session with amr webauthn');
select is((select status from app.finish_passkey_authentication('login', 'login-challenge-000000002', 'credential-olivia-0001', true, 7,
           (select login_id from pl))), 'invalid_token', 'should not reuse the pending sign-in or the challenge');

------------------------------------------------------------------------------
-- Audit: every flow, no token
------------------------------------------------------------------------------
select ok((select count(distinct event_type) from audit.audit_log where event_type in (
  'account.email_verification.sent', 'account.email.verified', 'account.password_reset.requested', 'account.password.reset',
  'account.password.changed', 'account.email_change.requested', 'account.email.changed', 'account.recovery.requested',
  'account.recovery.approved', 'account.recovery.completed', 'mfa.passkey.registered')) = 11, 'should audit every flow');
select is((select count(*)::int from audit.audit_log a where a::text like any (array['%' || :'vtoken' || '%', '%' || :'rtoken' || '%',
                                                                                      '%' || :'ctoken' || '%'])), 0,
  'should keep tokens out of the audit log');
select * from finish();
rollback;
