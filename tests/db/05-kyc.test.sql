-- KYC/AML: lifecycle, screening of name variants, four-eyes approval, expiry and
-- renewal, and what customers may (not) read or write.
begin;
select plan(69);

select tests.create_user('carol@example.com') as carol \gset
select tests.create_user('dave@example.com') as dave \gset
select tests.create_user('erin@example.com') as erin \gset
select tests.create_user('officer1@example.com', role => 'compliance_officer') as off1 \gset
select tests.create_user('officer2@example.com', role => 'compliance_officer') as off2 \gset
-- (Verification may require a verified e-mail address: app_private.kyc_precondition.)
update app.users set email_verified_at = now() where email::text like any (array['carol@%', 'dave@%', 'erin@%', 'officer_@%']);

-- A sanctions list with a name customers will vary
select app.begin_watchlist_load('test-sanctions', 'v1', 'pgtap') as list1 \gset
select app.add_watchlist_entries(:'list1', '[
  {"id": "ts-1", "kind": "sanctions", "schema": "Person", "name": "Viktor Maledon", "aliases": ["Maledon, Viktor Ivanovich"],
   "birth_date": "1961-03", "countries": ["ru"], "program": "TEST-1"},
  {"id": "ts-2", "kind": "pep", "schema": "Person", "name": "José Ñandú Ferreira", "aliases": [], "birth_date": "1958",
   "countries": ["br"], "program": "Minister"}]'::jsonb);
select is(app.finish_watchlist_load(:'list1'), 0, 'should load a list version (nobody to re-screen yet)');
select is(app.begin_watchlist_load('test-sanctions', 'v1'), null, 'should make re-loading a loaded version a no-op');

-- Name normalisation
select is(app.normalize_name('Ñandú-Ferreira, José'), 'ferreira jose nandu', 'should ignore case, accents, punctuation and word order');
select is(app.normalize_name('MALEDON viktor'), app.normalize_name('Viktor Maledon'), 'should give a reordered name the same form');

------------------------------------------------------------------------------
-- 1-3: a clean customer is verified and approved
------------------------------------------------------------------------------
select tests.authenticate_as(:'carol');
select (api.initiate_kyc_verification('standard', 'Carol', 'Clearwater', '1990-05-01', 'DE', 'Hauptstr. 1', 'Berlin', '10115',
                                      'DE', 'passport', 'C01X00T47')).id as carol_kyc \gset
select is((select status from api.my_kyc_verifications where id = :'carol_kyc'), 'pending', 'should start a verification as pending');
select tests.throws_api($$ select api.initiate_kyc_verification('standard', 'Carol', 'Clearwater', '1990-05-01', 'DE', 'Hauptstr. 1',
                                                         'Berlin', '10115', 'DE', 'passport', 'C01X00T47') $$,
  409, 'KYC_IN_PROGRESS', 'should refuse a second verification while one is in progress (KYC_IN_PROGRESS)');
select tests.throws_api($$ select api.initiate_kyc_verification('standard', 'Kid', 'Clearwater', (now() - interval '10 years')::date, 'DE',
                                                         'Hauptstr. 1', 'Berlin', '10115', 'DE', 'passport', 'C01X00T48') $$,
  400, 'KYC_INVALID_DATA', 'should refuse a minor (KYC_INVALID_DATA)');
select is((select status from api.get_user_latest_kyc()), 'pending', 'should show the customer their latest status');
select is((select risk_level from api.get_user_latest_kyc()), null, 'should not show a customer their risk level');
select tests.throws_api($$ select api.submit_kyc_verification((select id from api.my_kyc_verifications limit 1)) $$,
  409, 'KYC_DOCUMENTS_MISSING', 'should refuse to submit a standard verification without an identity document (KYC_DOCUMENTS_MISSING)');
select tests.clear_authentication();

select is((select count(*)::int from app.kyc_compliance_checks where kyc_record_id = :'carol_kyc' and status = 'clear'), 2,
  'should screen a new verification against sanctions and PEP lists');
select is((select list_version from app.kyc_compliance_checks where kyc_record_id = :'carol_kyc' and check_type = 'sanctions'),
  'test-sanctions@v1', 'should record the list version screened against');

-- Documents need an aal2 session
select s.session_id as carol_aal1 from app_private.create_session(:'carol', 'aal1', '{pwd}', '192.0.2.1', 'pgtap', null, null) s \gset
select s.session_id as carol_aal2 from app_private.create_session(:'carol', 'aal2', '{pwd,otp}', '192.0.2.1', 'pgtap', null, null) s \gset
select tests.throws_api(format($$ select app.register_kyc_document(%L, %L, %L, 'passport', 'image/jpeg', 1000, '\x%s',
                                                          'v1.k.storage-ref-ciphertext', 'k1', 'DE', 'C01X00T47', '2031-01-01') $$,
                        :'carol', :'carol_aal1', :'carol_kyc', repeat('ab', 32)),
  403, 'STEP_UP_REQUIRED', 'should refuse a document upload from an aal1 session (STEP_UP_REQUIRED)');
select tests.throws_api(format($$ select app.register_kyc_document(%L, %L, %L, 'passport', 'image/jpeg', 20000000, '\x%s',
                                                          'v1.k.storage-ref-ciphertext', 'k1', 'DE', 'C01X00T47', '2031-01-01') $$,
                        :'carol', :'carol_aal2', :'carol_kyc', repeat('ab', 32)),
  413, null, 'should refuse a document over 10 MiB');
select tests.throws_api(format($$ select app.register_kyc_document(%L, %L, %L, 'passport', 'image/jpeg', 1000, '\x%s',
                                                          'v1.k.storage-ref-ciphertext', 'k1', 'DE', 'C01X00T47', '2020-01-01') $$,
                        :'carol', :'carol_aal2', :'carol_kyc', repeat('ab', 32)),
  400, 'KYC_DOCUMENT_EXPIRED', 'should refuse an expired identity document (KYC_DOCUMENT_EXPIRED)');
select app.register_kyc_document(:'carol', :'carol_aal2', :'carol_kyc', 'passport', 'image/jpeg', 1000, ('\x' || repeat('ab', 32))::bytea,
                                 'v1.k.storage-ref-ciphertext', 'k1', 'DE', 'C01X00T47', '2031-01-01') as carol_doc1 \gset
select app.register_kyc_document(:'carol', :'carol_aal2', :'carol_kyc', 'proof_of_address', 'application/pdf', 2000,
                                 ('\x' || repeat('cd', 32))::bytea, 'v1.k.storage-ref-ciphertext-2', 'k1') as carol_doc2 \gset
select is((select storage_ref from app_private.kyc_document_objects where document_id = :'carol_doc1'), 'v1.k.storage-ref-ciphertext',
  'should keep the (encrypted) storage location in app_private');
select is((select count(*)::int from app.kyc_document_for_download(:'carol_doc1', :'off1', null)), 1,
  'should let a compliance officer fetch a document');
select tests.throws_api(format($$ select * from app.kyc_document_for_download(%L, %L, null) $$, :'carol_doc1', :'dave'),
  404, null, 'should not let another customer fetch a document');
select app.report_kyc_document_integrity_failure(:'carol_doc2', :'carol', null, 'hash_mismatch');
select is((select status from app.kyc_documents where id = :'carol_doc2'), 'integrity_failed', 'should mark a tampered document');
select is((select severity from audit.audit_log where event_type = 'kyc.document_integrity_failed' and subject_user_id = :'carol'), 'critical',
  'should log a critical event for a tampered document');
update app.kyc_documents set status = 'uploaded' where id = :'carol_doc2';

select tests.authenticate_as(:'carol');
select is((select status from api.submit_kyc_verification(:'carol_kyc')), 'in_review', 'should submit for review with the documents');
select is((select count(*)::int from api.my_kyc_documents), 2, 'should show the customer their documents');
select tests.clear_authentication();

select tests.authenticate_as(:'off1');
select ok(exists (select from api.kyc_review_queue where id = :'carol_kyc'), 'should put the verification in the officers'' queue');
select is((select risk_level from api.kyc_review_queue where id = :'carol_kyc'), 'low', 'should score a clean, documented customer low');
select is((api.complete_kyc_verification(:'carol_kyc', 'approved')).status, 'approved', 'should let an officer approve');
select ok((select expires_at between now() + interval '3 years' - interval '1 minute' and now() + interval '3 years' + interval '1 minute'
             from app.kyc_records where id = :'carol_kyc'), 'should make a low-risk approval valid 3 years');
select is((select status from api.get_user_latest_kyc(:'carol')), 'approved', 'should let staff read anyone''s status');
select tests.clear_authentication();

select tests.authenticate_as(:'carol');
select ok((select verified from api.get_user_latest_kyc()), 'should report the customer verified after approval');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- 4: a variant of a sanctioned name is held for review
------------------------------------------------------------------------------
select tests.authenticate_as(:'dave');
select (api.initiate_kyc_verification('basic', 'MALEDÓN', 'viktor', '1961-03-14', 'RU', 'Tverskaya 1', 'Moskva', '125009',
                                      'RU', 'passport', 'RU1234567')).id as dave_kyc \gset
select (api.submit_kyc_verification(:'dave_kyc')).status;
select throws_ok($$ select * from app.kyc_compliance_checks $$, '42501', null, 'should never show customers screening results');
select tests.clear_authentication();

select is((select status from app.kyc_compliance_checks where kyc_record_id = :'dave_kyc' and check_type = 'sanctions'),
  'potential_match', 'should flag a name that differs from a listed one only in case, accents and order');
select is((select (matches -> 0 ->> 'external_id') from app.kyc_compliance_checks where kyc_record_id = :'dave_kyc' and check_type = 'sanctions'),
  'ts-1', 'should record which entry matched');
select ok((select (matches -> 0 ->> 'dob_match')::boolean and (matches -> 0 ->> 'country_match')::boolean
             from app.kyc_compliance_checks where kyc_record_id = :'dave_kyc' and check_type = 'sanctions'),
  'should corroborate the match with birth date and country');
select ok((select risk_factors @> '[{"factor": "sanctions"}]' from app.kyc_records where id = :'dave_kyc'),
  'should count an open sanctions match in the risk factors');

select tests.authenticate_as(:'off1');
select tests.throws_api(format($$ select api.complete_kyc_verification(%L, 'approved') $$, :'dave_kyc'),
  409, 'KYC_CHECKS_UNRESOLVED', 'should refuse approval while a match is unresolved (KYC_CHECKS_UNRESOLVED)');
select tests.throws_api(format($$ select api.resolve_kyc_check(%L, 'false_positive', '') $$,
                        (select id from api.kyc_checks where kyc_record_id = :'dave_kyc' and status = 'potential_match')),
  400, null, 'should need a note to resolve a match');
select is((api.resolve_kyc_check((select id from api.kyc_checks where kyc_record_id = :'dave_kyc' and status = 'potential_match'),
                                 'false_positive', 'Passport shows a different father''s name and birthplace')).status,
  'false_positive', 'should let an officer resolve a match as a false positive');
select is((api.complete_kyc_verification(:'dave_kyc', 'approved')).status, 'pending_second_approval',
  'should ask a second officer once a screening hit was cleared (nobody clears a match and approves alone)');
select tests.clear_authentication();
select tests.authenticate_as(:'off2');
select is((api.complete_kyc_verification(:'dave_kyc', 'approved')).status, 'approved',
  'should approve once every match is resolved and a second officer agrees');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- 5: four eyes for high risk
------------------------------------------------------------------------------
select tests.authenticate_as(:'erin');
select (api.initiate_kyc_verification('basic', 'Erin', 'Highland', '1985-07-07', 'KP', 'Seestr. 9', 'Hamburg', '20095',
                                      'DE', 'id_card', 'ID4455667')).id as erin_kyc \gset
select (api.submit_kyc_verification(:'erin_kyc')).status;
select tests.clear_authentication();
select is((select risk_level from app.kyc_records where id = :'erin_kyc'), 'high', 'should score a high-risk country high');
select ok((select risk_factors @> '[{"factor": "country", "points": 40}]' from app.kyc_records where id = :'erin_kyc'),
  'should explain the score with its factors');

select tests.authenticate_as(:'off1');
select is((api.complete_kyc_verification(:'erin_kyc', 'approved')).status, 'pending_second_approval',
  'should not approve a high-risk verification on one officer''s word');
select is((select status from app.kyc_records where id = :'erin_kyc'), 'in_review', 'should keep it in review after the first approval');
select tests.throws_api(format($$ select api.complete_kyc_verification(%L, 'approved') $$, :'erin_kyc'),
  409, 'KYC_SECOND_APPROVER_REQUIRED', 'should refuse the same officer approving twice (KYC_SECOND_APPROVER_REQUIRED)');
select tests.clear_authentication();
select tests.authenticate_as(:'off2');
select is((api.complete_kyc_verification(:'erin_kyc', 'approved')).status, 'approved',
  'should approve with a second, different officer');
select ok((select expires_at < now() + interval '1 year 1 minute' from app.kyc_records where id = :'erin_kyc'),
  'should make a high-risk approval valid 1 year, on the server''s clock whatever an officer passes');
select is((select risk_level from api.get_user_latest_kyc(:'erin')), 'high', 'should show staff the risk level');
select tests.clear_authentication();

-- Nobody decides their own verification
select tests.authenticate_as(:'off1');
select (api.initiate_kyc_verification('basic', 'Olga', 'Officer', '1980-01-01', 'DE', 'Amtsweg 2', 'Bonn', '53111',
                                      'DE', 'id_card', 'ID9988776')).id as off1_kyc \gset
select (api.submit_kyc_verification(:'off1_kyc')).status;
select tests.throws_api(format($$ select api.complete_kyc_verification(%L, 'approved') $$, :'off1_kyc'),
  403, null, 'should not let an officer approve their own verification');
select tests.clear_authentication();

------------------------------------------------------------------------------
-- 8: customers read only their own data and write no status or risk
------------------------------------------------------------------------------
select tests.authenticate_as(:'dave');
select is((select count(*)::int from app.kyc_records), 1, 'should let a customer see only their own verification');
select tests.throws_api(format($$ select * from api.get_user_latest_kyc(%L) $$, :'carol'), 403, null,
  'should not let a customer read another customer''s status');
select throws_ok($$ update app.kyc_records set risk_score = 0, risk_level = 'low' $$, '42501', null,
  'should not let a customer change their risk score');
select throws_ok($$ update app.kyc_records set status = 'approved' $$, '42501', null, 'should not let a customer change their status');
select throws_ok($$ select risk_score from app.kyc_records $$, '42501', null, 'should not let a customer read risk columns');
select throws_ok($$ select * from api.kyc_review_queue $$, '42501', null, 'should keep the review queue from customers');
select throws_ok(format($$ select api.complete_kyc_verification(%L, 'approved') $$, :'dave_kyc'), '42501', null,
  'should not let a customer record a decision');
select tests.clear_authentication();
select tests.authenticate_as(:'carol');
update api.my_kyc_verifications set city = 'Elsewhere' where id = :'dave_kyc';
select tests.clear_authentication();
select is((select city from app.kyc_records where id = :'dave_kyc'), 'Moskva', 'should not let a customer change another customer''s verification');

-- Transitions are enforced whoever writes
select tests.throws_api(format($$ update app.kyc_records set status = 'pending' where id = %L $$, :'carol_kyc'), 409, 'KYC_INVALID_TRANSITION',
  'should refuse a transition from approved back to pending (KYC_INVALID_TRANSITION)');

------------------------------------------------------------------------------
-- 7: expiry and renewal with time moved forward (the scheduler's clock)
------------------------------------------------------------------------------
select is((select row(expired, renewals_opened)::text from app.check_kyc_expiry(null, now() + interval '350 days')), '(0,1)',
  'should open a renewal 30 days before the high-risk approval expires');
select is((select count(*)::int from app_private.outbox where user_id = :'erin' and template = 'kyc.renewal_due'), 1,
  'should e-mail the customer about the renewal');
select is((select status from app.kyc_records where renewal_of = :'erin_kyc'), 'pending', 'should open the renewal as a pending verification');
select is((select renewals_opened from app.check_kyc_expiry(null, now() + interval '351 days')), 0, 'should open a renewal only once');
select is((select expired from app.check_kyc_expiry(:'erin', now() + interval '366 days')), 1, 'should expire an approval past its date');
select is((select status from app.kyc_records where id = :'erin_kyc'), 'expired', 'should mark the verification expired');
select is((select verified from api.get_user_latest_kyc(:'erin')), false,
  'should no longer report the customer verified');
select is((select count(*)::int from app_private.outbox where user_id = :'erin' and template = 'kyc.expired'), 1,
  'should e-mail the customer about the expiry');

------------------------------------------------------------------------------
-- A new list version re-screens approved customers
------------------------------------------------------------------------------
select app.begin_watchlist_load('test-sanctions', 'v2', 'pgtap') as list2 \gset
select app.add_watchlist_entries(:'list2', '[{"id": "ts-9", "kind": "sanctions", "name": "Clearwater Carol", "countries": ["de"]}]'::jsonb);
select cmp_ok(app.finish_watchlist_load(:'list2'), '>=', 1, 'should find new matches among approved customers');
select is((select status from app.kyc_compliance_checks where kyc_record_id = :'carol_kyc' and list_version = 'test-sanctions@v2'),
  'potential_match', 'should re-screen an approved customer against a new list version');
select tests.authenticate_as(:'off2');
select ok(exists (select from api.kyc_review_queue where id = :'carol_kyc'), 'should bring the approved customer back to the queue');
select tests.clear_authentication();

-- The status check reads only the covering index
create function pg_temp.plan(query text) returns setof text language plpgsql as $$ begin return query execute 'explain ' || query; end $$;
set local enable_seqscan = off;
select ok(exists (select from pg_temp.plan(format('select r.id, r.status, r.level, r.risk_level, r.decided_at, r.expires_at
                                                   from app.kyc_records r where r.user_id = %L order by r.created_at desc limit 1', :'carol')) p
                  where p like '%Index Only Scan using kyc_records_user_latest_idx%'),
  'should answer the status check from an index-only scan');
reset enable_seqscan;

-- GET /rpc/... runs read-only: a writing call says so instead of leaking the database's error
select set_config('transaction_read_only', 'on', true);
select tests.authenticate_as(:'dave');
select tests.throws_api(format($$ select api.submit_kyc_verification(%L) $$, :'dave_kyc'), 405, 'This call changes data.',
  'should answer a writing call in a read-only transaction with 405 (METHOD_NOT_ALLOWED)');
select tests.clear_authentication();

select * from finish();
rollback;
