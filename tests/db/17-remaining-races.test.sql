-- Issue 15, finding 12: the remaining "look, then write" races. The races
-- themselves are staged over HTTP in tests/e2e/concurrency.test.ts ("remaining
-- races"); one session cannot race itself, so here: that each function takes
-- its lock before it looks, and the per-client password reset count by /64.
begin;
select plan(15);

-- Whether this transaction holds the advisory lock a function takes on `key`.
create function pg_temp.holds(key text) returns boolean
  language sql
  return exists (select from pg_locks l where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.objsubid = 1
                   and ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(key, 0));

------------------------------------------------------------------------------
-- Password reset requests: locks on the address and the client network, and
-- the per-client limit counts an IPv6 client by its /64.
------------------------------------------------------------------------------
select ok(not pg_temp.holds('password_reset:address:' || app_private.fingerprint('lock-probe@example.com')),
  'should hold no lock on an address before a reset request');
select is((select status from app.request_password_reset('lock-probe@example.com', '203.0.113.5')), 'accepted',
  'should accept a first reset request');
select ok(pg_temp.holds('password_reset:address:' || app_private.fingerprint('lock-probe@example.com')),
  'should count reset requests for an address under a lock on the address');
select ok(pg_temp.holds('password_reset:client:' || app_private.throttle_key('203.0.113.5')::text),
  'should count reset requests from a client under a lock on the client''s network');

select set_config('dwaybank.password_reset_ip_limit', '2', true);
select is((select status from app.request_password_reset('net-1@example.com', '2001:db8:7:1::1')), 'accepted',
  'should accept a first reset request from an IPv6 network');
select is((select status from app.request_password_reset('net-2@example.com', '2001:db8:7:1:ffff::2')), 'accepted',
  'should accept a second one from another address of the same /64');
select is((select status from app.request_password_reset('net-3@example.com', '2001:db8:7:1:abcd::9')), 'rate_limited',
  'should refuse a third from yet another address of the same /64 (the client picks its address within its /64)');
select is((select status from app.request_password_reset('net-4@example.com', '2001:db8:7:2::1')), 'accepted',
  'should count another /64 apart');
select is((select status from app.request_password_reset('net-5@example.com', '::ffff:198.51.100.9')), 'accepted',
  'should accept a request from an IPv4 client seen as IPv4-mapped IPv6');
select is((select status from app.request_password_reset('net-6@example.com', '198.51.100.9')), 'accepted',
  'should accept a second from the same IPv4 client');
select is((select status from app.request_password_reset('net-7@example.com', '198.51.100.9')), 'rate_limited',
  'should count the IPv4-mapped and the plain forms of one IPv4 client together');

------------------------------------------------------------------------------
-- MFA codes: counted under a per-user lock.
------------------------------------------------------------------------------
select tests.create_user('codes-lock@example.com') as codes_user \gset
update app.users set email_verified_at = now() where id = :'codes_user';
insert into app.mfa_configs (user_id, method, status, confirmed_at) values (:'codes_user', 'email', 'active', now());
select is((select c.status from app.mfa_configs m,
                  app_private.create_challenge(m, null, '123456', 'sealed-by-the-gateway', now()) c
            where m.user_id = :'codes_user' and m.method = 'email'), 'ok', 'should send a code');
select ok(pg_temp.holds('mfa_challenge:' || :'codes_user'),
  'should count a user''s codes under a lock on the user');

------------------------------------------------------------------------------
-- Device cookies: trimmed to the cap under a per-user lock.
------------------------------------------------------------------------------
select tests.create_user('cookie-lock@example.com') as cookie_user \gset
select session_id as cookie_session from app.authenticate('cookie-lock@example.com', 'correct horse battery staple') \gset
select isnt(app.issue_device_cookie(:'cookie_user', :'cookie_session'), null, 'should issue a device cookie after a sign-in');
select ok(pg_temp.holds('device_cookies:' || :'cookie_user'),
  'should trim and add device cookies under a lock on the user');

select * from finish();
rollback;
