-- Users: sign-up, password storage and policy, lockout, RLS.
begin;
select plan(36);

select tests.create_user('alice@example.com') as alice \gset
select tests.create_user('bob@example.com') as bob \gset

-- Sign-up and password storage
select isnt(:'alice'::uuid, null, 'should create an account');
select ok((select password_hash like '$2a$04$%' from app_private.user_secrets where user_id = :'alice'),
  'should store a bcrypt hash at the configured cost');
select is((select count(*)::int from app_private.user_secrets where password_hash like '%correct horse%'), 0,
  'should never store the password itself');
select tests.throws_api($$ select app.signup('short@example.com', 'short') $$, 400, 'The password is too short.',
  'should refuse a password under 12 characters');
select tests.throws_api($$ select app.signup('long@example.com', repeat('x', 257)) $$, 400, 'The password is too long.',
  'should refuse a password over 256 characters');
select lives_ok($$ select app.signup('unicode@example.com', 'пароль-密码-🔐-Passwort') $$,
  'should accept any Unicode password of the right length');
select tests.throws_api($$ select app.signup('not-an-email', 'correct horse battery staple') $$, 400, null,
  'should refuse a malformed e-mail address');
select tests.throws_api($$ select app.signup('a@example.com,b@evil.example', 'correct horse battery staple') $$, 400, 'INVALID_EMAIL',
  'should refuse an address a mail library would read as two recipients');
select tests.throws_api($$ select app.signup('"Ada" <ada@example.com>', 'correct horse battery staple') $$, 400, 'INVALID_EMAIL',
  'should refuse a display name with the address');
select throws_ok($$ update app.users set email = 'x@example.com;y@example.com' where email = 'alice@example.com' $$, '23514', null,
  'should keep an address that is not one out of the table, whoever writes it');
select ok(app.is_email_address('o''brien+tag@mail.example-bank.co.uk') and app.is_email_address('ÜMLAUT@bücher.example'),
  'should accept the addresses people have (plus tags, apostrophes, hyphenated and international domains)');
select ok(not app.is_email_address('a@-example.com') and not app.is_email_address('a..b@example.com')
          and not app.is_email_address('a@example') and not app.is_email_address(repeat('a', 250) || '@example.com'),
  'should refuse a hyphen-led label, a double dot, a bare host and an address over 254 characters');
select tests.throws_api($$ select app.signup('p@example.com', 'correct horse battery staple', '12345') $$, 400, null,
  'should refuse a phone number that is not E.164');
select tests.throws_api($$ select app.signup('c@example.com', 'correct horse battery staple', null, 'XX') $$, 400, null,
  'should refuse a country that is not ISO 3166-1 alpha-2');
select isnt(app.signup('ALICE@example.com', 'correct horse battery staple'), :'alice'::uuid,
  'should answer a duplicate sign-up without revealing the account');
select is((select count(*)::int from app.users where email = 'alice@example.com'), 1,
  'should keep one account per address (case-insensitive)');

-- 72-byte truncation: bcrypt alone would treat these as equal.
select tests.create_user('trunc@example.com', repeat('a', 72) || 'X') as trunc \gset
select is((select status from app.authenticate('trunc@example.com', repeat('a', 72) || 'Y')), 'invalid',
  'should distinguish passwords that differ only after byte 72');
select is((select status from app.authenticate('trunc@example.com', repeat('a', 72) || 'X')), 'ok',
  'should accept the exact long password');

-- Hash upgrade when the configured cost rises
select set_config('dwaybank.bcrypt_cost', '5', true);
select is((select status from app.authenticate('alice@example.com', 'correct horse battery staple')), 'ok', 'should sign in');
select ok((select password_hash like '$2a$05$%' from app_private.user_secrets where user_id = :'alice'),
  'should re-hash at the new cost after a successful sign-in');
select set_config('dwaybank.bcrypt_cost', '4', true);

-- Lockout with exponential backoff
select is(app_private.lockout_seconds(4), 0, 'should not lock before 5 failures');
select is(app_private.lockout_seconds(5), 60, 'should lock for 1 minute at 5 failures');
select is(app_private.lockout_seconds(6), 120, 'should double with each further failure');
select is(app_private.lockout_seconds(50), 3600, 'should cap the lock at 1 hour');

select app.authenticate('bob@example.com', 'wrong password guess', '198.51.100.7', 'pgtap') from generate_series(1, 4);
select is(api.is_account_locked(:'bob'), false, 'should not be locked after 4 failures');
select is((select status from app.authenticate('bob@example.com', 'wrong password guess')), 'invalid',
  'should answer the 5th failure as invalid credentials');
select is(api.is_account_locked(:'bob'), true, 'should be locked after 5 failures');
select is((select status from app.authenticate('bob@example.com', 'correct horse battery staple')), 'locked',
  'should refuse even the right password while locked');
select ok((select locked_until <= now() + interval '61 seconds' from app.users where id = :'bob'), 'should unlock after the backoff (a minute)');

-- Unknown addresses lock exactly like real ones
select app.authenticate('ghost@example.com', 'wrong password guess') from generate_series(1, 5);
select is((select status from app.authenticate('ghost@example.com', 'wrong password guess')), 'locked',
  'should lock an unknown address like a real one');

-- Successful sign-in resets the counters
update app.users set locked_until = null where id = :'bob';
select is((select status from app.authenticate('bob@example.com', 'correct horse battery staple', '198.51.100.7', 'ua')), 'ok',
  'should sign in once the lock has passed');
select is((select failed_login_attempts from app.users where id = :'bob'), 0, 'should reset the failure counter on success');

-- Per-IP throttle: one address cannot fail across many accounts
select set_config('dwaybank.ip_failure_limit', '3', true);
select app.authenticate('user' || i || '@example.com', 'wrong password guess', '203.0.113.9') from generate_series(1, 3) i;
select is((select status from app.authenticate('alice@example.com', 'wrong password guess', '203.0.113.9')), 'throttled',
  'should throttle an address after too many failures across accounts');
select is((select failed_login_attempts from app.users where id = :'alice'), 0,
  'should not count a throttled attempt against the account');

-- RLS: a customer sees only their own row
select tests.authenticate_as(:'alice');
select is((select count(*)::int from app.users), 1, 'should let a customer see only their own user row');
select throws_ok($$ update app.users set role = 'admin' $$, '42501', null, 'should not let a customer change their role');
select tests.clear_authentication();

select * from finish();
rollback;
