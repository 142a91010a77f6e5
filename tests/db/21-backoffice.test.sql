-- The back office's functions (migrations 000033 and 000035, issue 20): the customer lookup and overview
-- require and audit a reason and reveal no secret; suspension ends sessions; the review queue pages by keyset;
-- a case shows matches beside their watchlist entries and four eyes; customers reach none of it.
begin;
select plan(35);

select tests.create_user('bo-officer21@example.com', role => 'compliance_officer') as off1 \gset
select tests.create_user('bo-officer21b@example.com', role => 'compliance_officer') as off2 \gset
select tests.create_user('bo-admin21@example.com', role => 'admin') as adm \gset
select tests.create_user('bo-carol21@example.com') as carol \gset
update app.users set phone = '+4915112345021' where id = :'carol';
select s.session_id as carol_sid from app_private.create_session(:'carol', 'aal1', '{pwd}', '192.0.2.21', 'CarolAgent', null, null) s \gset
-- (Signing up states the new user as the transaction's actor; from here on the claims say who acts, as in a request.)
select set_config('dwaybank.actor_id', '', true), set_config('dwaybank.session_id', '', true);
create temp table pages (page int, pos int, id uuid);
grant insert, select on pages to compliance_officer;

-- Customers reach none of it
select tests.authenticate_as(:'carol', :'carol_sid');
select throws_ok($$ select * from api.find_customer('bo-carol21@example.com', 'just looking') $$, '42501', null,
  'should not let a customer look up accounts');
select throws_ok($$ select api.customer_overview(app.current_user_id(), 'just looking') $$, '42501', null,
  'should not let a customer open an overview, not even their own');
select throws_ok($$ select * from api.kyc_queue() $$, '42501', null, 'should not let a customer page the review queue');
select throws_ok($$ select api.suspend_customer(app.current_user_id(), 'just looking') $$, '42501', null, 'should not let a customer suspend');
select tests.clear_authentication();

-- Lookup
select tests.authenticate_as(:'off1', null, 'aal2');
select tests.throws_api($$ select * from api.find_customer('bo-carol21@example.com', 'hm') $$, 400, 'STAFF_REASON_REQUIRED',
  'should refuse a lookup without a real reason (STAFF_REASON_REQUIRED)');
select tests.throws_api($$ select * from api.find_customer('carol', 'Ticket 2101') $$, 400, 'CUSTOMER_QUERY_INVALID',
  'should refuse a partial search, which would enumerate accounts (CUSTOMER_QUERY_INVALID)');
select is((select array_agg(id) from api.find_customer('BO-Carol21@example.com', 'Ticket 2101: fraud alert')), array[:'carol'::uuid],
  'should find a customer by e-mail address, whatever its case');
select is((select array_agg(id) from api.find_customer('+4915112345021', 'Ticket 2101: fraud alert')), array[:'carol'::uuid],
  'should find a customer by phone number');
select is((select array_agg(id) from api.find_customer(:'carol', 'Ticket 2101: fraud alert')), array[:'carol'::uuid],
  'should find a customer by account id');
select is((select count(*)::int from api.find_customer('nobody21@example.com', 'Ticket 2101: fraud alert')), 0,
  'should find nobody for an unknown address');
select tests.clear_authentication();
select is((select count(*)::int from audit.audit_log where event_type = 'staff.customer_lookup' and actor_id = :'off1'
            and details ->> 'reason' = 'Ticket 2101: fraud alert'), 4, 'should audit every lookup with its reason, found or not');
select is((select details ->> 'by' from audit.audit_log where event_type = 'staff.customer_lookup' and actor_id = :'off1'
            and subject_user_id = :'carol' order by id limit 1), 'email', 'should audit how a customer was found and whom');
select ok(not exists (select from audit.audit_log where event_type = 'staff.customer_lookup' and details::text like '%carol21%'),
  'should not copy the searched address into the trail');

-- Overview: kinds and dates, never a secret
select tests.authenticate_as(:'off1', null, 'aal2');
select is(api.customer_overview(:'carol', 'Ticket 2101: fraud alert') #>> '{profile,email}', 'bo-carol21@example.com',
  'should show a customer''s profile');
select is(jsonb_array_length(api.customer_overview(:'carol', 'Ticket 2101: fraud alert') -> 'sessions'), 1, 'should list the customer''s sessions');
select ok(api.customer_overview(:'carol', 'Ticket 2101: fraud alert')::text !~* '(hash|secret|token|password|public_key|code)',
  'should reveal no hash, secret, token or code');
select tests.throws_api(format($$ select api.customer_overview(%L, 'Ticket 2101: fraud alert') $$, gen_random_uuid()), 404, 'USER_NOT_FOUND',
  'should say when no account has the id (USER_NOT_FOUND)');
-- Reviewed as an attacker would: staff are no customers to look up, and a reason has words.
select is((select count(*)::int from api.find_customer('bo-admin21@example.com', 'Ticket 2101: fraud alert')), 0,
  'should not find a staff account (an officer does not watch colleagues or admins)');
select tests.throws_api(format($$ select api.customer_overview(%L, 'Ticket 2101: fraud alert') $$, :'off2'), 404, 'USER_NOT_FOUND',
  'should not show a staff account''s sessions, addresses and factors');
select tests.throws_api($$ select * from api.find_customer('bo-carol21@example.com', '.....') $$, 400, 'STAFF_REASON_REQUIRED',
  'should refuse a reason without words');
select tests.throws_api(format($$ select * from api.find_customer('bo-carol21@example.com', %L) $$, 'x' || repeat(chr(8203), 6)), 400,
  'STAFF_REASON_REQUIRED', 'should refuse a reason made of invisible characters');

-- Suspend and reinstate
select is(api.suspend_customer(:'carol', 'Ticket 2102: account takeover'), 'suspended', 'should suspend a customer with a reason');
select tests.throws_api(format($$ select api.suspend_customer(%L, 'Ticket 2102: again') $$, :'carol'), 409, 'ACCOUNT_STATUS_CONFLICT',
  'should refuse to suspend a suspended account (ACCOUNT_STATUS_CONFLICT)');
select tests.throws_api(format($$ select api.suspend_customer(%L, 'Ticket 2102: colleague') $$, :'off2'), 403, 'FORBIDDEN',
  'should not suspend a staff account here (FORBIDDEN)');
select tests.clear_authentication();
select ok((select revoked_at is not null from app.user_sessions where id = :'carol_sid'), 'should end the suspended customer''s sessions');
select is((select details ->> 'reason' from audit.audit_log where event_type = 'account.suspended' and subject_user_id = :'carol'),
  'Ticket 2102: account takeover', 'should audit the suspension with its reason');
select tests.authenticate_as(:'adm', null, 'aal2');
select is(api.reinstate_customer(:'carol', 'Ticket 2102: resolved with the customer'), 'active', 'should let an admin reinstate the account');
select throws_ok($$ select * from api.kyc_queue() $$, '42501', null, 'should keep the review queue with compliance officers');
select tests.clear_authentication();

-- The queue in keyset pages: every case once, in the view's order
set local session_replication_role = replica;
insert into app.kyc_records (id, user_id, level, status, legal_first_name, legal_last_name, date_of_birth, nationality, address_line1, city,
                             postal_code, residence_country, id_document_type, id_document_number, risk_score, risk_level, submitted_at)
select md5('bo21-' || i)::uuid, md5('bo21-user-' || i)::uuid, 'standard', 'in_review', 'Page', 'Case', '1980-01-01', 'PE', 'Street 1', 'Lima', '15001', 'PE',
       'passport', 'X1234567', (i % 3) * 30, app_private.kyc_risk_level((i % 3) * 30), now() - make_interval(mins => i % 5)
from generate_series(1, 7) i;
set local session_replication_role = origin;
select tests.authenticate_as(:'off1', null, 'aal2');
do $$
declare
  v_score integer;
  v_since timestamptz;
  v_id uuid;
  v_rows integer;
begin
  for v_page in 1..5 loop
    insert into pages
      select v_page, row_number() over (), q.id
        from api.kyc_queue(country => 'pe', after_risk_score => v_score, after_waiting_since => v_since, after_id => v_id, page_size => 3) q;
    get diagnostics v_rows = row_count;
    exit when v_rows = 0;
    select q.risk_score, q.waiting_since, q.id into v_score, v_since, v_id
      from api.kyc_review_queue q where q.id = (select p.id from pages p where p.page = v_page order by p.pos desc limit 1);
  end loop;
end
$$;
select results_eq($$ select id from pages order by page, pos $$,
  $$ select id from api.kyc_review_queue where nationality = 'PE' order by -coalesce(risk_score, -1), waiting_since, id $$,
  'should page through the queue by keyset: every case once, highest risk and longest waiting first');
select is(api.kyc_case(md5('bo21-1')::uuid) #>> '{record,legal_last_name}', 'Case', 'should open a case with its submitted data');
select tests.clear_authentication();
select ok(exists (select from audit.audit_log where event_type = 'staff.kyc_case_viewed' and actor_id = :'off1'
                  and details ->> 'kyc_id' = md5('bo21-1')::uuid::text), 'should audit who opened a case');
select tests.authenticate_as(:'off1', null, 'aal2');
select is(api.kyc_case(md5('bo21-1')::uuid) -> 'first_approval', 'null'::jsonb, 'should show that no officer approved it yet');
select tests.throws_api($$ select api.kyc_case(gen_random_uuid()) $$, 404, 'KYC_NOT_FOUND', 'should say when no case has the id (KYC_NOT_FOUND)');
select tests.clear_authentication();
select tests.authenticate_as(:'adm', null, 'aal2');
select throws_ok($$ select api.kyc_case(md5('bo21-1')::uuid) $$, '42501', null, 'should keep cases with compliance officers');
select lives_ok($$ select * from api.account_recoveries() $$, 'should let an admin list account recoveries');
select tests.clear_authentication();

select * from finish();
rollback;
