-- What the attacker's review of the hardened stack found (issue 15): a stolen
-- session ending the owner's other sessions one by one, a factor set up by a
-- password-only session that nobody was told about, and a screening hit that
-- one officer could clear and then approve alone.
begin;
select plan(10);

select tests.create_user('owner20@example.com') as owner \gset
update app.users set email_verified_at = now() where id = :'owner';
create temp table owner_s as select * from app_private.create_session(:'owner', 'aal1', '{pwd}', '192.0.2.60', 'OwnerAgent', null, null);
create temp table thief_s as select * from app_private.create_session(:'owner', 'aal1', '{pwd}', '203.0.113.60', 'ThiefAgent', null, null);
select session_id as owner_sid from owner_s \gset
select session_id as thief_sid from thief_s \gset
-- The thief's session is older than the step-up window (stolen a while ago).
update app.user_sessions set auth_time = now() - interval '1 hour' where id = :'thief_sid';

select tests.authenticate_as(:'owner', :'thief_sid');
select tests.throws_api(format($$ select api.revoke_my_session(%L) $$, :'owner_sid'), 403, 'STEP_UP_REQUIRED',
  'should refuse to end another session without a step-up (STEP_UP_REQUIRED)');
select tests.clear_authentication();
select tests.throws_api(format($$ select app.revoke_account_session(%L, %L, %L) $$, :'owner', :'thief_sid', :'owner_sid'), 403, 'STEP_UP_REQUIRED',
  'should refuse the same through the account page''s route (STEP_UP_REQUIRED)');
select is((select revoked_at from app.user_sessions where id = :'owner_sid'), null, 'should leave the owner''s session alive');
select ok(app.revoke_account_session(:'owner', :'thief_sid', :'thief_sid'), 'should let any session sign itself out');
select is((select revoked_reason from app.user_sessions where id = :'thief_sid'), 'revoked_by_user', 'should end the session that signed out');

-- A password-only session of an account without a factor may set up the first one: the owner is told.
select app_private.totp_step(now()) as step \gset
select app.begin_totp_enrollment(:'owner', :'owner_sid', 'v1.ciphertext-owner20', 'k1', 'Phone', null) as cfg \gset
select is((select status from app.confirm_totp_enrollment(:'owner', :'owner_sid', :'cfg', :'step'::bigint, '192.0.2.60')), 'ok',
  'should set up TOTP');
select is((select count(*)::int from app_private.outbox where user_id = :'owner' and template = 'mfa_enrolled' and channel = 'email'), 1,
  'should e-mail the owner that a second factor was set up');
insert into app.webauthn_credentials (user_id, config_id, credential_id, public_key, label)
values (:'owner', :'cfg', 'credential-owner20-aaaaaaaa', '\x00112233445566778899aabbccddeeff', 'Laptop');
select is((select count(*)::int from app_private.outbox where user_id = :'owner' and template = 'passkey_added'), 1,
  'should e-mail the owner that a passkey was added');

-- Nobody clears a screening hit and approves alone.
select tests.create_user('suspect20@example.com') as suspect \gset
select tests.create_user('officer20a@example.com', role => 'compliance_officer') as offa \gset
select tests.create_user('officer20b@example.com', role => 'compliance_officer') as offb \gset
insert into app.kyc_records (id, user_id, level, status, legal_first_name, legal_last_name, date_of_birth, nationality,
                             address_line1, city, postal_code, residence_country, id_document_type, id_document_number, submitted_at)
values ('01900000-0000-7000-8000-000000000020', :'suspect', 'basic', 'pending', 'Sam', 'Suspect', '1970-01-01', 'DE',
        'Weg 1', 'Berlin', '10115', 'DE', 'passport', 'C01X00T20', null);
update app.kyc_records set status = 'in_review', submitted_at = now() where id = '01900000-0000-7000-8000-000000000020';
-- Officer A cleared the record's sanctions hit as a false positive.
insert into app.kyc_compliance_checks (kyc_record_id, user_id, check_type, status, provider, matches, resolved_by, resolved_at, resolution_note)
values ('01900000-0000-7000-8000-000000000020', :'suspect', 'sanctions', 'false_positive', 'internal', '[]', :'offa', now(), 'Not the listed person');
select tests.authenticate_as(:'offa', aal => 'aal2');
select is((api.complete_kyc_verification('01900000-0000-7000-8000-000000000020', 'approved')).status, 'pending_second_approval',
  'should need a second officer to approve a record whose screening hit was cleared');
select tests.clear_authentication();
select tests.authenticate_as(:'offb', aal => 'aal2');
select is((api.complete_kyc_verification('01900000-0000-7000-8000-000000000020', 'approved')).status, 'approved',
  'should approve with a second, different officer');
select tests.clear_authentication();

select * from finish();
rollback;
