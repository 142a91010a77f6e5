-- Operations and erasure (issue 15, findings 7, 8 and 9): per-IP throttles key
-- IPv6 clients by /64; the audit trail takes the client address only from a
-- trusted proxy hop; GDPR erasure leaves no raw address or user agent in the
-- trail and the chain still verifies.
begin;
select plan(23);

------------------------------------------------------------------------------
-- Finding 7: one counter per IPv6 /64, one per IPv4 address
select set_config('dwaybank.ip_failure_limit', '3', true);
select app_private.count_ip_failure('2001:db8:16:1::1', now());
select app_private.count_ip_failure('2001:db8:16:1::2', now());
select app_private.count_ip_failure('2001:db8:16:1:ffff:ffff:ffff:fffe', now());
select cmp_ok(app_private.ip_retry_after('2001:db8:16:1::99', now()), '>', 0,
  'should count failures from two addresses of one IPv6 /64 against one counter');
select is(app_private.ip_retry_after('2001:db8:16:2::1', now()), 0,
  'should keep another IPv6 /64 on its own counter');
select app_private.count_ip_failure('198.51.100.161', now());
select app_private.count_ip_failure('198.51.100.161', now());
select app_private.count_ip_failure('198.51.100.162', now());
select is(app_private.ip_retry_after('198.51.100.163', now()), 0, 'should keep each IPv4 address on its own counter');
select is(app_private.ip_retry_after('198.51.100.161', now()), 0, 'should not lock an IPv4 address below the limit');
select app_private.count_ip_failure('198.51.100.161', now());
select cmp_ok(app_private.ip_retry_after('198.51.100.161', now()), '>', 0, 'should lock an IPv4 address at the limit');
select is(app_private.ip_retry_after('::ffff:198.51.100.161', now()), app_private.ip_retry_after('198.51.100.161', now()),
  'should count an IPv4-mapped IPv6 address as its IPv4 address');
select is(app_private.throttle_key('2001:db8:16:1:abcd::1'), '2001:db8:16:1::/64'::inet, 'should key an IPv6 address by its /64');
select is(app_private.throttle_key('198.51.100.7'), '198.51.100.7'::inet, 'should key an IPv4 address by itself');

------------------------------------------------------------------------------
-- Finding 8: the audit trail's client address for PostgREST requests
select set_config('dwaybank.ip', '', true);
select set_config('request.headers', '{"x-forwarded-for": "203.0.113.66, 10.16.0.5", "user-agent": "pgtap"}', true);
select set_config('dwaybank.trusted_proxy_hops', '', true);
select is((audit.request_context()).ip, null,
  'should record no address from X-Forwarded-For when no proxy hop is trusted (the default)');
select set_config('dwaybank.trusted_proxy_hops', '1', true);
select is((audit.request_context()).ip, '10.16.0.5'::inet,
  'should take the address our one proxy appended (the rightmost), not the forged leftmost entry');
select set_config('dwaybank.trusted_proxy_hops', '2', true);
select is((audit.request_context()).ip, '203.0.113.66'::inet, 'should take the n-th address from the right with n trusted hops');
select set_config('dwaybank.trusted_proxy_hops', '3', true);
select is((audit.request_context()).ip, null, 'should record no address when the header has fewer entries than trusted hops');
select set_config('dwaybank.trusted_proxy_hops', '', true);
select set_config('dwaybank.ip', '192.0.2.44', true);
select is((audit.request_context()).ip, '192.0.2.44'::inet, 'should keep the address the gateway states');
select set_config('dwaybank.ip', '', true);
select set_config('request.headers', '', true);

------------------------------------------------------------------------------
-- Finding 9: erasure leaves no raw address or user agent in the trail
select tests.create_user('erasure16@example.com') as gone \gset
select tests.create_user('witness16@example.com') as witness \gset
-- The user acts (sign-in context, a profile change, an event) and is the subject of others' entries.
select app.set_request_context(:'gone', null, '198.51.100.77', 'ErasureAgent/16.0 (raw user agent)');
update app.users set first_name = 'Erasa' where id = :'gone';
select audit.log_event('test16.acted', :'witness', '{}');
select app.set_request_context(:'witness', null, '2001:db8:16:9::7', 'ErasureAgent/16.0 (raw user agent)');
select audit.log_event('test16.about', :'gone', '{}');
select app.set_request_context(null, null, null, null);
select audit.seal();   -- some entries sealed before erasure, some (below) sealed after
select app.set_request_context(:'gone', null, '198.51.100.77', 'ErasureAgent/16.0 (raw user agent)');
select audit.log_event('test16.late', :'gone', '{}');
select app.set_request_context(null, null, null, null);
select set_config('dwaybank.trusted_proxy_hops', '', true);
insert into app_private.account_requests (kind, email_fingerprint, ip)
values ('password_reset', app_private.fingerprint('erasure16@example.com'), '198.51.100.77');
-- A password-reset request is recorded before the address is looked up (no actor yet): its entries share the request id.
select set_config('dwaybank.request_id', 'pgtap-erasure16-reset', true);
select app.request_password_reset('erasure16@example.com', '198.51.100.78', 'ResetAgent/16.0');
select set_config('dwaybank.request_id', '', true);
select app.set_request_context(null, null, null, null);
select cmp_ok((select count(*)::int from audit.audit_log a where (a.actor_id = :'gone' or a.subject_user_id = :'gone') and a.ip is not null),
  '>', 2, 'should have recorded the user''s addresses before erasure');

select app_private.request_account_deletion(:'gone');
select is(app_private.erase_user(:'gone') ->> 'status', 'erased', 'should erase the user');
select is_empty(format($$ select a.id from audit.audit_log a where (a.actor_id = %L or a.subject_user_id = %L)
                     and (a.ip is not null or a.user_agent is not null) $$, :'gone', :'gone'),
  'should leave no raw address or user agent in any audit entry of the erased user (actor or subject)');
select is((select count(*)::int from audit.audit_log a where a.details::text ~ '198\.51\.100\.7[78]|2001:db8:16:9::7|ErasureAgent|ResetAgent'
              or a.user_agent ~ 'ErasureAgent|ResetAgent' or host(a.ip) in ('198.51.100.77', '198.51.100.78', '2001:db8:16:9::7')), 0,
  'should leave the erased user''s addresses and user agent nowhere in the trail');
select cmp_ok((select count(*)::int from audit.audit_log a where a.ip_fingerprint = app_private.fingerprint('198.51.100.77')), '>', 1,
  'should keep the keyed fingerprint of each erased address, as the trail does for PII columns');
select is((select count(*)::int from app_private.account_requests r where r.ip = '198.51.100.77'), 0,
  'should leave the erased user''s addresses in no throttle table');
select is((select row(ok, reason)::text from audit.verify_chain()), '(t,)', 'should still verify the chain after erasure');
select audit.seal();
select is((select row(ok, reason)::text from audit.verify_chain()), '(t,)', 'should verify the chain after sealing the redacted entries');
select tests.throws_api($$ update audit.audit_log set ip = '203.0.113.1' where actor_id = '$$ || :'gone' || $$' $$, 403, null,
  'should refuse any other change to an audit entry (append-only)');
select tests.throws_api($$ update audit.audit_log set ip_fingerprint = 'fp:000000000000000000000000' where subject_user_id = '$$ || :'witness' || $$' and ip is not null $$,
  403, null, 'should refuse a redaction whose fingerprint is not the fingerprint of the value it replaces');

select * from finish();
rollback;
