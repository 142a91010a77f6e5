-- Device cookies (000008): a lockout caused by someone else's guesses does not
-- keep the owner's known device out; wrong passwords from a known device count
-- against that device only.
begin;
select plan(23);

select tests.create_user('owner@example.com') as owner \gset
select tests.create_user('other@example.com') as other \gset

-- The owner signs in once from their phone and keeps the device cookie.
create temp table s1 as select * from app.authenticate('owner@example.com', 'correct horse battery staple', '192.0.2.70', 'Phone');
select app.issue_device_cookie(:'owner', (select session_id from s1)) as cookie \gset
select is((select count(*)::int from app_private.device_cookies where user_id = :'owner' and token_hash = app_private.token_hash(:'cookie')), 1,
  'should keep only the hash of an issued device cookie');
select tests.throws_api(format('select app.issue_device_cookie(%L, %L)', :'other', (select session_id from s1)), 401, null,
  'should issue a device cookie only for the user of the session');

-- Signing in again with it keeps it (one row per device); a new device gets a new one.
create temp table s1b as select * from app.authenticate('owner@example.com', 'correct horse battery staple', '192.0.2.70', 'Phone', null, null, now(), :'cookie');
select is(app.issue_device_cookie(:'owner', (select session_id from s1b), :'cookie'), :'cookie',
  'should keep a valid device cookie the client presented');
select is((select count(*)::int from app_private.device_cookies where user_id = :'owner'), 1, 'should not add a row for a known device');
insert into app_private.device_cookies (token_hash, user_id, created_at, expires_at)
values (extensions.digest('old-1', 'sha256'), :'owner', now() - interval '200 days', now() - interval '20 days');
select isnt(app.issue_device_cookie(:'owner', (select session_id from s1b), 'not a cookie of this account at all'), :'cookie',
  'should issue a new cookie when the presented one is not valid');
select is((select count(*)::int from app_private.device_cookies where user_id = :'owner' and expires_at <= now()), 0,
  'should delete the account''s expired device cookies when it issues one');

-- An attacker who knows the address locks the account.
select app.authenticate('owner@example.com', 'attacker guess number 1', '203.0.113.66', 'curl') from generate_series(1, 5);
select is((select status from app.authenticate('owner@example.com', 'correct horse battery staple', '203.0.113.66', 'curl')), 'locked',
  'should keep the account locked for a client without a device cookie');
select is((select status from app.authenticate('owner@example.com', 'correct horse battery staple', '192.0.2.70', 'Phone', null, null, now(), :'cookie')),
  'ok', 'should let the owner''s known device sign in while the account is locked');
select ok(exists (select from audit.audit_log where event_type = 'auth.login.lock_bypassed_by_device' and subject_user_id = :'owner'),
  'should record that a known device signed in past the lock');

-- A cookie counts only for its own account, and not once revoked.
select tests.create_user('third@example.com') as third \gset
select app.authenticate('third@example.com', 'attacker guess number 1') from generate_series(1, 5);
select is((select status from app.authenticate('third@example.com', 'correct horse battery staple', null, null, null, null, now(), :'cookie')),
  'locked', 'should not honour another account''s device cookie');

-- Wrong passwords from the known device count against the device, not the account.
select failed_login_attempts as before_failures from app.users where id = :'owner' \gset
select app.authenticate('owner@example.com', 'fat-fingered password', '192.0.2.70', 'Phone', null, null, now(), :'cookie') from generate_series(1, 4);
select is((select failed_login_attempts from app.users where id = :'owner'), :before_failures,
  'should not count a known device''s wrong passwords against the account');
select is((select failed_attempts from app_private.device_cookies where token_hash = app_private.token_hash(:'cookie')), 4,
  'should count them against the device cookie');
select app.authenticate('owner@example.com', 'fat-fingered password', '192.0.2.70', 'Phone', null, null, now(), :'cookie');
select is((select status from app.authenticate('owner@example.com', 'correct horse battery staple', '192.0.2.70', 'Phone', null, null, now(), :'cookie')),
  'locked', 'should lock the device cookie after 5 wrong passwords from it');
select ok((select locked_until > now() + interval '50 seconds' from app_private.device_cookies where token_hash = app_private.token_hash(:'cookie')),
  'should lock it for a minute at first, like the account');

-- A password change ends every device cookie of the account.
update app.users set password_changed_at = now() + interval '1 second' where id = :'owner';
select ok((select revoked_at is not null from app_private.device_cookies where token_hash = app_private.token_hash(:'cookie')),
  'should revoke device cookies when the password changes');
select app.authenticate('owner@example.com', 'attacker guess number 2', '203.0.113.66', 'curl') from generate_series(1, 5);
select is((select status from app.authenticate('owner@example.com', 'correct horse battery staple', '192.0.2.70', 'Phone', null, null, now(), :'cookie')),
  'locked', 'should treat a revoked device cookie like none (the account lock applies to it)');

-- An account keeps its 20 most recently used device cookies, however many browsers it signs in from.
select tests.create_user('many@example.com') as many \gset
create temp table s9 as select * from app.authenticate('many@example.com', 'correct horse battery staple', '192.0.2.80', 'Laptop');
select app.issue_device_cookie(:'many', (select session_id from s9), null, now()) as kept \gset
select count(app.issue_device_cookie(:'many', (select session_id from s9), null, now() + make_interval(secs => i))) from generate_series(1, 9) i;
select app.issue_device_cookie(:'many', (select session_id from s9), :'kept', now() + interval '10 seconds');
select count(app.issue_device_cookie(:'many', (select session_id from s9), null, now() + make_interval(secs => i))) from generate_series(11, 25) i;
select is((select count(*)::int from app_private.device_cookies where user_id = :'many'), 20,
  'should keep at most 20 device cookies per account');
select is((select count(*)::int from app_private.device_cookies where user_id = :'many' and token_hash = app_private.token_hash(:'kept')), 1,
  'should keep the most recently used ones (an old cookie used again stays)');

-- The daily retention job deletes expired and revoked device cookies of accounts that do not sign in again.
insert into app_private.device_cookies (token_hash, user_id, created_at, expires_at, revoked_at) values
  (extensions.digest('retention-expired', 'sha256'), :'many', now() - interval '200 days', now() - interval '1 day', null),
  (extensions.digest('retention-revoked', 'sha256'), :'many', now() - interval '10 days', now() + interval '100 days', now() - interval '1 day');
select ok((app_private.apply_retention(now()) ->> 'device_cookies')::int >= 2, 'should delete expired and revoked device cookies in the retention job');
select is((select count(*)::int from app_private.device_cookies where user_id = :'many'), 20, 'should keep the live ones');

-- Each fact of a sign-in is recorded once (000018). A new device: the account's row, the
-- sign-in event, the session and its first refresh token, the new device cookie.
select tests.create_user('once@example.com') as once \gset
select now() + interval '1 minute' as t1, now() + interval '2 minutes' as t2 \gset
create temp table s10 as select * from app.authenticate('once@example.com', 'correct horse battery staple', '192.0.2.90', 'Tablet',
  null, null, app.begin_request('t11-new-device') + interval '1 minute');
select app.issue_device_cookie(:'once', (select session_id from s10), null, :'t1') as once_cookie \gset
select is(array(select coalesce(a.table_name, a.event_type) || ' ' || a.operation from audit.audit_log a
                 where a.request_id = 't11-new-device' order by a.id),
  array['app.users UPDATE', 'auth.login.succeeded EVENT', 'app.user_sessions INSERT', 'app_private.refresh_tokens INSERT',
        'app_private.device_cookies INSERT'],
  'should record a sign-in from a new device in five entries, each fact once');
-- A known device: its cookie is updated once (its sliding expiry), not also by the sign-in.
create temp table s11 as select * from app.authenticate('once@example.com', 'correct horse battery staple', '192.0.2.91', 'Tablet',
  null, null, app.begin_request('t11-known-device') + interval '2 minutes', :'once_cookie');
select is(app.issue_device_cookie(:'once', (select session_id from s11), :'once_cookie', :'t2'), :'once_cookie',
  'should keep the known device''s cookie');
select is(array(select coalesce(a.table_name, a.event_type) || ' ' || a.operation from audit.audit_log a
                 where a.request_id = 't11-known-device' order by a.id),
  array['app.users UPDATE', 'auth.login.succeeded EVENT', 'app.user_sessions INSERT', 'app_private.refresh_tokens INSERT',
        'app_private.device_cookies UPDATE'],
  'should record a sign-in from a known device with one update of its cookie');

select * from finish();
rollback;
