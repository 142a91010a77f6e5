-- Sessions: creation, refresh rotation and reuse, revocation, risk, expiry, pre-request.
begin;
select plan(41);

select tests.create_user('carol@example.com') as carol \gset
select tests.create_user('dave@example.com') as dave \gset

create temp table s1 as
  select * from app.authenticate('carol@example.com', 'correct horse battery staple', '192.0.2.10', 'Firefox', 'fp-laptop', 'Laptop');
select is((select status from s1), 'ok', 'should sign in and open a session');
select is((select length(refresh_token) from s1), 43, 'should issue a 256-bit base64url refresh token');
select is((select count(*)::int from app_private.refresh_tokens t join s1 on t.session_id = s1.session_id
            where t.token_hash = extensions.digest(s1.refresh_token, 'sha256')), 1,
  'should store only the SHA-256 hash of the refresh token');
select is((select aal from app.user_sessions where id = (select session_id from s1)), 'aal1', 'should record the assurance level');

-- Rotation
create temp table r1 as select * from app.refresh_session((select refresh_token from s1), '192.0.2.10', 'Firefox');
select is((select status from r1), 'ok', 'should rotate a current refresh token');
select isnt((select refresh_token from r1), (select refresh_token from s1), 'should issue a new refresh token');
select is((select rotation_counter from app.user_sessions where id = (select session_id from s1)), 1, 'should count rotations');
create temp table r1b as select * from app.refresh_session((select refresh_token from s1), '192.0.2.10', 'Firefox');
select is((select refresh_token from r1b), (select refresh_token from r1),
  'should give a concurrent refresh inside the grace window the same successor, not a second live token');
create temp table r2 as select * from app.refresh_session((select refresh_token from r1), '192.0.2.10', 'Firefox');
select is((select status from r2), 'ok', 'should rotate the successor');
select is((select status from app.refresh_session((select refresh_token from s1), '192.0.2.10', 'Firefox')), 'reused',
  'should treat a token two generations old as reuse');
select is((select revoked_reason from app.user_sessions where id = (select session_id from s1)), 'refresh_token_reuse',
  'should revoke the whole session on reuse');
select is((select status from app.refresh_session((select refresh_token from r2))), 'revoked',
  'should refuse the newest token of a revoked session');
select ok(exists (select from audit.audit_log where event_type = 'session.refresh_token_reused' and subject_user_id = :'carol'),
  'should record refresh-token reuse as a security event');
select is((select status from app.refresh_session('not-a-token')), 'invalid', 'should refuse an unknown token');

-- Grace window is short
create temp table s2 as select * from app.authenticate('carol@example.com', 'correct horse battery staple', '192.0.2.10', 'Firefox', 'fp-laptop');
create temp table r3 as select * from app.refresh_session((select refresh_token from s2), now => now());
select is((select status from app.refresh_session((select refresh_token from s2), now => now() + interval '11 seconds')), 'reused',
  'should treat a replay after the grace window as reuse');

-- Expiry and cleanup (time is a parameter)
create temp table s3 as select * from app.authenticate('dave@example.com', 'correct horse battery staple', '192.0.2.20', 'Safari', 'fp-phone');
select is((select status from app.refresh_session((select refresh_token from s3), now => now() + interval '31 minutes')), 'expired',
  'should expire a session idle for longer than 30 minutes');
select ok(app.cleanup_expired_sessions(now() + interval '13 hours') >= 1, 'should end sessions past their absolute expiry');
select is((select revoked_reason from app.user_sessions where id = (select session_id from s3)), 'expired', 'should mark them expired');
select is((select count(*)::int from app_private.refresh_tokens where session_id = (select session_id from s3)), 0,
  'should drop token hashes of ended sessions');

-- Revocation
create temp table s4 as select * from app.authenticate('dave@example.com', 'correct horse battery staple', '192.0.2.20', 'Safari', 'fp-phone');
create temp table s5 as select * from app.authenticate('dave@example.com', 'correct horse battery staple', '192.0.2.20', 'Safari', 'fp-phone');
select is(api.revoke_user_sessions(:'dave', 'password_changed', (select session_id::text from s5)), 1,
  'should revoke all sessions but the one to keep');
select is((select revoked_at is null from app.user_sessions where id = (select session_id from s5)), true, 'should keep the named session');
select tests.authenticate_as(:'carol');
select tests.throws_api(format('select api.revoke_user_sessions(%L)', :'dave'), 403, null,
  'should not let a customer revoke another user''s sessions');
select tests.clear_authentication();

-- Risk signals
select is((select reasons from app.detect_suspicious_session(:'dave', '198.51.100.1', 'curl/8', 'fp-new')),
  array['new_device', 'new_network', 'new_user_agent'], 'should name a new device, network and user agent');
select is((select score from app.detect_suspicious_session(:'dave', '192.0.2.99', 'Safari', 'fp-phone')), 0,
  'should not flag a known device on a known network');

-- Pre-request check
select tests.authenticate_as(:'dave', (select session_id from s5));
select lives_ok('select app.check_request()', 'should accept an access token of a live session');
select is((select count(*)::int from api.my_sessions() where current), 1, 'should mark the current session');
select tests.clear_authentication();
select tests.authenticate_as(:'dave', (select session_id from s4));
select throws_ok('select app.check_request()', 'PGRST', null, 'should refuse a token whose session was revoked');
select tests.clear_authentication();
select set_config('request.jwt.claims', json_build_object('sub', :'dave', 'role', 'authenticated', 'sid', (select session_id from s5),
  'token_use', 'refresh', 'iss', 'https://auth.dwaybank.local', 'exp', 9999999999)::text, true);
select throws_ok('select app.check_request()', 'PGRST', null, 'should refuse a token that is not an access token');
select set_config('request.jwt.claims', json_build_object('sub', :'dave', 'role', 'authenticated', 'sid', (select session_id from s5),
  'token_use', 'access', 'iss', 'https://auth.dwaybank.local')::text, true);
select throws_ok('select app.check_request()', 'PGRST', null, 'should refuse a token without exp');
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select lives_ok('select app.check_request()', 'should let an anonymous request through (PostgREST sets only the anon role)');
select set_config('request.path', '/rpc/%72un_maintenance', true);
select tests.throws_api('select app.check_request()', 404, 'NOT_FOUND',
  'should refuse a function name PostgREST would decode (/rpc/%72un_maintenance), not let it past the privilege check');
select set_config('request.path', '', true);
select set_config('request.jwt.claims', '{"role":"anon","sub":"00000000-0000-4000-8000-000000000000"}', true);
select throws_ok('select app.check_request()', 'PGRST', null, 'should refuse an anon-role token that claims a subject');
select set_config('request.jwt.claims', json_build_object('sub', :'dave', 'role', 'authenticated', 'sid', 'not-a-uuid', 'token_use', 'access',
  'iss', 'https://auth.dwaybank.local', 'exp', extract(epoch from now() + interval '10 minutes')::bigint)::text, true);
select throws_like('select app.check_request()', '%INVALID_TOKEN%', 'should refuse a session id that is not a uuid as an invalid token');
select set_config('request.jwt.claims', json_build_object('sub', :'dave', 'role', 'authenticated', 'sid', (select session_id from s5),
  'token_use', 'access', 'iss', 'https://auth.dwaybank.local', 'exp', 'soon')::text, true);
select throws_like('select app.check_request()', '%INVALID_TOKEN%', 'should refuse an exp that is not a number as an invalid token');
select set_config('request.jwt.claims', '', true);
select tests.authenticate_as(:'carol', (select session_id from s5));
select throws_like('select app.check_request()', '%SESSION_ENDED%', 'should refuse a session of another user');
select tests.clear_authentication();
-- Marking the session as used: due after a minute, or at once when the user agent changed.
update app.user_sessions set last_activity_at = now() - interval '5 minutes' where id = (select session_id from s5);
select tests.authenticate_as(:'dave', (select session_id from s5));
select app.check_request();
select set_config('request.headers', '{"user-agent":"curl/8"}', true);
select app.check_request();
select set_config('request.headers', '', true);
select tests.clear_authentication();
select is((select last_activity_at from app.user_sessions where id = (select session_id from s5)), now(),
  'should mark a session as used when its last use was more than a minute ago');
select is((select 'user_agent_changed' = any (suspicious_reasons) from app.user_sessions where id = (select session_id from s5)), true,
  'should flag a session whose user agent changed');
select set_config('request.jwt.claims', '', true);

-- Session ids are time-ordered (version 7): new sessions extend the primary key at its end.
select is((select count(*)::int from app.user_sessions
           where user_id = :'dave' and substr(id::text, 15, 1) = '7' and substr(id::text, 20, 1) in ('8', '9', 'a', 'b')),
          (select count(*)::int from app.user_sessions where user_id = :'dave'),
  'should give sessions version 7 UUIDs (RFC 9562 version and variant bits)');
select is((select abs(extract(epoch from now()) * 1000 - ('x' || translate(left(id::text, 13), '-', ''))::bit(48)::bigint) < 60000
           from app.user_sessions where user_id = :'dave' order by created_at desc limit 1), true,
  'should start a session id with the time it was opened, in milliseconds');
select ok((select bool_and(a < b) from (select app_private.uuid_v7() a, pg_sleep(0.002), app_private.uuid_v7() b from generate_series(1, 3)) t),
  'should order version 7 UUIDs by the time they were made');

-- Customers see only their own sessions
select tests.authenticate_as(:'carol');
select is((select count(*)::int from app.user_sessions where user_id <> :'carol'), 0, 'should hide other users'' sessions');
select tests.clear_authentication();

select * from finish();
rollback;
