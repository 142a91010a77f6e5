-- Account flows as an attacker who knows the password tries them (issue 15,
-- findings 13-16 and the password-change half of 5): pending e-mail changes die
-- with a password reset/change or "sign out everywhere" and with the session
-- that asked for them; nobody removes another person's factor outside the
-- four-eyes recovery; "sign out everywhere" needs a step-up and keeps only the
-- caller's own session; the recovery wait starts at the second approval and is
-- cancelled with an e-mailed link, not with the password; wrong current
-- passwords lock like failed sign-ins.
begin;
select plan(45);

select tests.create_user('h1-ann@example.com') as ann \gset
select tests.create_user('h1-bob@example.com') as bob \gset
select tests.create_user('h1-carl@example.com') as carl \gset
select tests.create_user('h1-dan@example.com') as dan \gset
select tests.create_user('h1-eve@example.com') as eve \gset
select tests.create_user('h1-fay@example.com') as fay \gset
select tests.create_user('h1-gus@example.com') as gus \gset
select tests.create_user('h1-hal@example.com') as hal \gset
select tests.create_user('h1-ivy@example.com') as ivy \gset
select tests.create_user('h1-jack@example.com') as jack \gset
select tests.create_user('h1-admin@example.com', role => 'admin') as adm \gset
select tests.create_user('h1-officer@example.com', role => 'compliance_officer') as off \gset
update app.users set email_verified_at = now() where id in (:'gus', :'hal', :'ivy');

-- Sessions as the gateway opens them (no factor yet: a password sign-in is a session).
create temp table s as
  select u.tag, (select session_id from app.authenticate(u.email, 'correct horse battery staple', '192.0.2.71', 'pgtap'))
  from (values ('ann1', 'h1-ann@example.com'), ('bob1', 'h1-bob@example.com'), ('bob2', 'h1-bob@example.com'),
               ('carl1', 'h1-carl@example.com'), ('carl2', 'h1-carl@example.com'), ('dan1', 'h1-dan@example.com'),
               ('dan2', 'h1-dan@example.com'), ('fay1', 'h1-fay@example.com'), ('fay2', 'h1-fay@example.com'),
               ('adm1', 'h1-admin@example.com'), ('eve1', 'h1-eve@example.com'), ('ivy1', 'h1-ivy@example.com'), ('jack1', 'h1-jack@example.com')) u(tag, email);
grant select on s to public;
create function pg_temp.sid(tag text) returns uuid language sql as $$ select session_id from s where s.tag = sid.tag $$;
create function pg_temp.mail(user_id uuid, template text) returns jsonb language sql as $$
  select payload from app_private.outbox o where o.user_id = mail.user_id and o.template = mail.template order by id desc limit 1 $$;

------------------------------------------------------------------------------
-- 13: a pending e-mail change does not outlive a password reset or change,
-- "sign out everywhere", or the session that asked for it
------------------------------------------------------------------------------
select is((select status from app.request_email_change(:'ann', pg_temp.sid('ann1'), 'h1-attacker-1@example.com')), 'ok',
  'should start an e-mail change from a session that knows the password');
select is((select session_id from app_private.account_tokens where purpose = 'email_change' and user_id = :'ann'), pg_temp.sid('ann1'),
  'should record on the token the session that asked for the e-mail change');
select app.request_password_reset('h1-ann@example.com', '192.0.2.71');
select is((select status from app.reset_password(pg_temp.mail(:'ann', 'password_reset') ->> 'token', 'the owner took it back 1')), 'ok',
  'should let the owner reset the password');
select is((select status from app.confirm_email_change(pg_temp.mail(:'ann', 'email_change_confirm') ->> 'token')), 'superseded',
  'should refuse an e-mail change asked for before a password reset');
select is((select email::text from app.users where id = :'ann'), 'h1-ann@example.com', 'should keep the owner''s address after the reset');

select app.request_email_change(:'bob', pg_temp.sid('bob1'), 'h1-attacker-2@example.com');
select app.request_password_reset('h1-bob@example.com', '192.0.2.72');
select is((select status from app.change_password(:'bob', pg_temp.sid('bob2'), 'correct horse battery staple', 'the owner changed it 2')), 'ok',
  'should let the owner change the password');
select is((select status from app.confirm_email_change(pg_temp.mail(:'bob', 'email_change_confirm') ->> 'token')), 'superseded',
  'should refuse an e-mail change asked for before a password change');
select is((select status from app.reset_password(pg_temp.mail(:'bob', 'password_reset') ->> 'token', 'an attacker reset it 3')), 'superseded',
  'should refuse a reset link sent before a password change');

select app.request_email_change(:'carl', pg_temp.sid('carl1'), 'h1-attacker-3@example.com');
select app.set_request_context(null, null, null, null);
select tests.authenticate_as(:'carl', pg_temp.sid('carl2'));
select is(api.revoke_user_sessions(:'carl', 'signed_out_everywhere', pg_temp.sid('carl2')::text), 1,
  'should sign out everywhere else');
select tests.clear_authentication();
select is((select status from app.confirm_email_change(pg_temp.mail(:'carl', 'email_change_confirm') ->> 'token')), 'superseded',
  'should refuse an e-mail change asked for before signing out everywhere');

select app.request_email_change(:'dan', pg_temp.sid('dan1'), 'h1-attacker-4@example.com');
update app.user_sessions set revoked_at = now(), revoked_reason = 'expired' where id = pg_temp.sid('dan1');
select is((select status from app.confirm_email_change(pg_temp.mail(:'dan', 'email_change_confirm') ->> 'token')), 'session_ended',
  'should refuse an e-mail change whose requesting session has ended');
select is((select email::text from app.users where id = :'dan'), 'h1-dan@example.com', 'should keep the address when the session ended');
select app.request_email_change(:'dan', pg_temp.sid('dan2'), 'h1-attacker-5@example.com');
select app.logout(pg_temp.sid('dan2'));
select isnt((select status from app.confirm_email_change(pg_temp.mail(:'dan', 'email_change_confirm') ->> 'token')), 'ok',
  'should refuse an e-mail change once its session signed out');

------------------------------------------------------------------------------
-- 14: only the owner removes a factor (others go through four-eyes recovery);
-- removing one is told by e-mail; no `now` parameter
------------------------------------------------------------------------------
insert into app.mfa_configs (user_id, method, status, label, confirmed_at) values (:'eve', 'totp', 'active', 'Phone', now());
update app.user_sessions set aal = 'aal2' where id = pg_temp.sid('adm1');
select app.set_request_context(null, null, null, null);
select tests.authenticate_as(:'adm', pg_temp.sid('adm1'), 'aal2');
select tests.throws_api(format('select api.disable_mfa_method(%L, %L)', :'eve', 'totp'), 403, 'ACCOUNT_RECOVERY_REQUIRED',
  'should not let an admin at aal2 remove a customer''s factor (ACCOUNT_RECOVERY_REQUIRED)');
select tests.clear_authentication();
select is((select count(*)::int from app.mfa_configs where user_id = :'eve'), 1, 'should keep the customer''s factor');
update app.user_sessions set aal = 'aal2' where id = pg_temp.sid('eve1');
select app.set_request_context(null, null, null, null);
select tests.authenticate_as(:'eve', pg_temp.sid('eve1'), 'aal2');
select ok(api.disable_mfa_method(:'eve', 'totp'), 'should let the customer remove their own last factor after a step-up');
select tests.clear_authentication();
select is((select (payload ->> 'method') || ':' || (payload ->> 'last_factor') from app_private.outbox where user_id = :'eve' and template = 'mfa_disabled'),
  'totp:true', 'should tell the customer by e-mail that their last factor was removed');
select hasnt_function('api', 'disable_mfa_method', array['uuid', 'character varying', 'timestamp with time zone'],
  'should not let a caller of disable_mfa_method move the clock');
select has_function('api', 'disable_mfa_method', array['uuid', 'character varying'], 'should take only the user and the method');

------------------------------------------------------------------------------
-- 15: "sign out everywhere" needs a step-up, and only the caller's own session survives
------------------------------------------------------------------------------
update app.user_sessions set auth_time = now() - interval '20 minutes' where id = pg_temp.sid('fay1');
select app.set_request_context(null, null, null, null);
select tests.authenticate_as(:'fay', pg_temp.sid('fay1'));
select tests.throws_api(format('select api.revoke_user_sessions(%L, %L, %L)', :'fay', 'stolen', pg_temp.sid('fay1')), 403, 'STEP_UP_REQUIRED',
  'should refuse "sign out everywhere" without a step-up (STEP_UP_REQUIRED)');
select tests.clear_authentication();
update app.user_sessions set auth_time = now() where id = pg_temp.sid('fay1');
select tests.authenticate_as(:'fay', pg_temp.sid('fay1'));
select tests.throws_api(format('select api.revoke_user_sessions(%L, %L, %L)', :'fay', 'stolen', pg_temp.sid('fay2')), 400, 'INVALID_EXCEPT_SESSION',
  'should not let the caller keep a session other than its own (INVALID_EXCEPT_SESSION)');
select tests.clear_authentication();
select is((select count(*)::int from app.user_sessions where user_id = :'fay' and revoked_at is null), 2, 'should have revoked nothing then');
select tests.authenticate_as(:'fay', pg_temp.sid('fay1'));
select is(api.revoke_user_sessions(:'fay', 'signed_out_everywhere', pg_temp.sid('fay1')::text), 1, 'should keep only the caller''s own session');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- 16: the waiting period starts at the second approval; officers complete due
-- recoveries; a job does it; cancelling takes the e-mailed link, not the password
------------------------------------------------------------------------------
insert into app.mfa_configs (user_id, method, status, label, confirmed_at) values (:'gus', 'totp', 'active', 'Phone', now());
insert into app_private.mfa_logins (id, user_id, methods, expires_at) values ('00000000-0000-4000-8000-0000000000b1', :'gus', '{totp}', now() + interval '5 minutes');
create temp table rq as select * from app.request_account_recovery('00000000-0000-4000-8000-0000000000b1', 'lost phone', now => now() - interval '100 hours');
select recovery_id as rid from rq \gset
select is((select status from rq), 'ok', 'should start a recovery (100 hours ago)');
select ok(pg_temp.mail(:'gus', 'account_recovery_requested') ? 'cancel_token', 'should put a cancel link in the request notice');
select tests.authenticate_as(:'off', null, 'aal2');
select lives_ok(format('select api.approve_account_recovery(%L)', :'rid'), 'should record a first approval');
select tests.authenticate_as(:'adm', null, 'aal2');
select is((select status from api.approve_account_recovery(:'rid')), 'approved', 'should approve with a second staff member');
select tests.clear_authentication();
select ok((select not_before between now() + interval '72 hours' - interval '1 minute' and now() + interval '72 hours' + interval '1 minute'
             from app.account_recoveries where id = :'rid'), 'should start the 72-hour wait at the second approval, not at the request');
select is(app.complete_due_account_recoveries(now()), 0, 'should not complete a recovery right after its second approval');
select is((select status from app.account_recoveries where id = :'rid'), 'approved', 'should keep it open for the customer to cancel');
select ok((select payload ? 'cancel_token' and (payload ->> 'not_before')::timestamptz > now() + interval '71 hours'
             from app_private.outbox where user_id = :'gus' and template = 'account_recovery_approved'),
  'should tell the customer at the second approval when it completes and how to cancel');
update app.account_recoveries set not_before = now() - interval '1 minute' where id = :'rid';
select tests.authenticate_as(:'off', null, 'aal2');
select is((select status from api.complete_account_recovery(:'rid')), 'completed', 'should let a compliance officer complete a due recovery');
select tests.clear_authentication();
select is((select count(*)::int from app.mfa_configs where user_id = :'gus'), 0, 'should remove the factors on completion');
select case when exists (select from pg_extension where extname = 'pg_cron')
  then ok(exists (select from cron.job where jobname = 'dwaybank:recoveries' and command like '%run_job(''recoveries'')%'),
          'should schedule the completion of due recoveries in pg_cron')
  else skip('pg_cron is not installed in this database', 1) end;
select is(app_private.run_job('recoveries') ->> 'status', 'succeeded', 'should run the recovery job by name');

insert into app_private.mfa_logins (id, user_id, methods, expires_at) values ('00000000-0000-4000-8000-0000000000b2', :'hal', '{totp}', now() + interval '5 minutes');
select count(*) as requested from app.request_account_recovery('00000000-0000-4000-8000-0000000000b2');
select hasnt_function('app', 'cancel_account_recovery', array['uuid', 'inet', 'text', 'timestamp with time zone'],
  'should not cancel a recovery with a pending sign-in, which proves only the password');
select pg_temp.mail(:'hal', 'account_recovery_requested') ->> 'cancel_token' as hal_cancel \gset
select is(app.cancel_account_recovery(:'hal_cancel'), 'ok', 'should cancel the recovery with the e-mailed link');
select is((select status from app.account_recoveries where user_id = :'hal'), 'cancelled', 'should close the recovery as cancelled');
select is(app.cancel_account_recovery(:'hal_cancel'), 'used', 'should accept a cancel link only once');

insert into app_private.mfa_logins (id, user_id, methods, expires_at) values ('00000000-0000-4000-8000-0000000000b3', :'ivy', '{totp}', now() + interval '5 minutes');
select count(*) as requested from app.request_account_recovery('00000000-0000-4000-8000-0000000000b3');
update app.user_sessions set auth_time = now() - interval '20 minutes' where id = pg_temp.sid('ivy1');
select app.set_request_context(null, null, null, null);
select tests.authenticate_as(:'ivy', pg_temp.sid('ivy1'));
select tests.throws_api('select api.cancel_account_recovery()', 403, null, 'should need a step-up to cancel a recovery when signed in');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- 5: wrong current passwords count like failed sign-ins and lock
------------------------------------------------------------------------------
select count(*) from (select app.change_password(:'jack', pg_temp.sid('jack1'), 'not the password ' || i, 'a new passphrase for jack')
                        from generate_series(1, 5) i) x;
select is((select failed_login_attempts from app.users where id = :'jack'), 5, 'should count wrong current passwords as failed sign-ins');
select ok((select locked_until > now() from app.users where id = :'jack'), 'should lock the account after the sign-in limit');
select is((select status from app.change_password(:'jack', pg_temp.sid('jack1'), 'correct horse battery staple', 'a new passphrase for jack')),
  'locked', 'should refuse even the right current password while locked');
select ok((select retry_after_seconds > 0 from app.change_password(:'jack', pg_temp.sid('jack1'), 'correct horse battery staple', 'a new passphrase for jack')),
  'should say when to try again');
select is((select status from app.authenticate('h1-jack@example.com', 'correct horse battery staple', '192.0.2.74', 'pgtap')), 'locked',
  'should lock sign-in too');

select * from finish();
rollback;
