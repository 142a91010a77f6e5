-- The privilege matrix, generated from the catalog and compared with what we
-- mean to grant. For every table, view, foreign table and sequence in api,
-- app, app_private and audit, every role (anon, authenticated,
-- compliance_officer, admin, dwaybank_gateway, authenticator) and every
-- operation (select/insert/update/references per column; delete, truncate,
-- trigger per table; usage/select/update per sequence) the actual privilege
-- must be in the expected matrix below and vice versa. A new table, view or
-- column grant therefore fails this test until it is added here on purpose.
-- (Checks already in 00-structure are not repeated.)
begin;
select plan(12);

create temporary table expected_grants (obj text, role text, priv text, cols text[]) on commit drop;
-- `cols` null: every column of the object (whole-table grant). Role `authenticated+`
-- means authenticated and the staff roles that inherit it.
insert into expected_grants values
  -- reference data, readable by everyone
  ('app.countries', 'anon', 'select', null),
  ('app.countries', 'authenticated+', 'select', null),
  -- the settings registry (names, defaults, meanings; no values that are secret)
  ('app.settings', 'anon', 'select', null),
  ('app.settings', 'authenticated+', 'select', null),
  -- users: own row (RLS), staff see lockout columns; profile columns updatable
  ('app.users', 'authenticated+', 'select', '{id,email,phone,country_code,first_name,last_name,date_of_birth,role,status,email_verified_at,last_login_at,password_changed_at,referral_code,referred_by,created_at,updated_at,mfa_required}'),
  ('app.users', 'compliance_officer', 'select', '{failed_login_attempts,locked_until,last_failed_login_at,last_login_ip,deleted_at}'),
  ('app.users', 'admin', 'select', '{failed_login_attempts,locked_until,last_failed_login_at,last_login_ip,deleted_at}'),
  ('app.users', 'authenticated+', 'update', '{first_name,last_name,country_code,date_of_birth}'),
  -- sessions: never the token hashes
  ('app.user_sessions', 'authenticated+', 'select', '{id,user_id,rotation_counter,device_fingerprint,device_name,ip,user_agent,aal,amr,auth_time,created_at,last_activity_at,expires_at,idle_expires_at,revoked_at,revoked_reason,is_suspicious,suspicious_score,suspicious_reasons}'),
  -- MFA: never the secret ciphertext or code hashes
  ('app.mfa_configs', 'authenticated+', 'select', '{id,user_id,method,status,label,device_fingerprint,created_at,confirmed_at,last_used_at,updated_at}'),
  ('app.mfa_verification_attempts', 'authenticated+', 'select', null),
  ('app.trusted_devices', 'authenticated+', 'select', null),
  -- account lifecycle (000006-create-account-lifecycle.sql): the customer's own recoveries and passkeys (never key material)
  ('app.account_recoveries', 'authenticated+', 'select', null),
  ('app.webauthn_credentials', 'authenticated+', 'select', '{id,user_id,label,transports,device_type,backed_up,created_at,last_used_at}'),
  -- KYC: customers read their own verifications and documents (never risk, decisions or screening) and may
  -- correct the address of a pending one; compliance officers read everything KYC, reference data included
  ('app.kyc_records', 'authenticated+', 'select', '{id,user_id,level,status,legal_first_name,legal_last_name,date_of_birth,nationality,address_line1,address_line2,city,postal_code,residence_country,id_document_type,id_document_number,decided_at,expires_at,renewal_of,submitted_at,created_at,updated_at}'),
  ('app.kyc_records', 'compliance_officer', 'select', '{risk_score,risk_level,risk_factors,risk_assessed_at,first_approver_id,first_approved_at,reviewer_id,automated_decision,decision_reason,renewal_requested_at}'),
  ('app.kyc_records', 'authenticated+', 'update', '{address_line1,address_line2,city,postal_code}'),
  ('app.kyc_documents', 'authenticated+', 'select', '{id,kyc_record_id,user_id,document_type,issuing_country,document_number,expires_on,status,mime_type,size_bytes,created_at}'),
  ('app.kyc_documents', 'compliance_officer', 'select', '{quality_score,quality_notes,reviewed_by,reviewed_at,updated_at}'),
  ('app.kyc_compliance_checks', 'compliance_officer', 'select', null),
  ('app.kyc_country_risk', 'compliance_officer', 'select', null),
  ('app.watchlists', 'compliance_officer', 'select', null),
  ('app.watchlist_entries', 'compliance_officer', 'select', null),
  ('app.watchlist_names', 'compliance_officer', 'select', null),
  ('api.my_kyc_verifications', 'authenticated+', 'select', null),
  ('api.my_kyc_verifications', 'authenticated+', 'update', '{address_line1,address_line2,city,postal_code}'),
  ('api.my_kyc_documents', 'authenticated+', 'select', null),
  ('api.kyc_review_queue', 'compliance_officer', 'select', null),
  ('api.kyc_checks', 'compliance_officer', 'select', null),
  ('api.kyc_documents', 'compliance_officer', 'select', null);

-- Expanded to one row per (object, role, privilege, column); '' for table-level privileges.
create temporary view expected_matrix as
  select e.obj, r.role, e.priv, a.attname::text as col
  from expected_grants e
  cross join lateral (select unnest(case when e.role = 'authenticated+'
                                         then array['authenticated', 'compliance_officer', 'admin'] else array[e.role] end) as role) r
  join pg_attribute a on a.attrelid = to_regclass(e.obj) and a.attnum > 0 and not a.attisdropped
  where e.priv in ('select', 'insert', 'update', 'references')
    and (e.cols is null or a.attname = any (e.cols))
  union
  select e.obj, r.role, e.priv, ''
  from expected_grants e
  cross join lateral (select unnest(case when e.role = 'authenticated+'
                                         then array['authenticated', 'compliance_officer', 'admin'] else array[e.role] end) as role) r
  where e.priv not in ('select', 'insert', 'update', 'references');

create temporary view actual_matrix as
  with roles(role) as (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('dwaybank_gateway'), ('authenticator')),
  objs as (
    select c.oid, c.oid::regclass::text as obj, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('api', 'app', 'app_private', 'audit') and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S'))
  select o.obj, r.role, p.priv, a.attname::text as col
  from objs o cross join roles r
  cross join (values ('select'), ('insert'), ('update'), ('references')) p(priv)
  join pg_attribute a on a.attrelid = o.oid and a.attnum > 0 and not a.attisdropped
  where o.relkind <> 'S' and has_column_privilege(r.role, o.oid, a.attnum, p.priv)
  union
  select o.obj, r.role, p.priv, ''
  from objs o cross join roles r
  cross join (values ('delete'), ('truncate'), ('trigger')) p(priv)
  where o.relkind <> 'S' and has_table_privilege(r.role, o.oid, p.priv)
  union
  select o.obj, r.role, p.priv, ''
  from objs o cross join roles r
  cross join (values ('usage'), ('select'), ('update')) p(priv)
  where o.relkind = 'S' and has_sequence_privilege(r.role, o.oid, p.priv);

select is_empty($$ select obj, role, priv, col from actual_matrix except select obj, role, priv, col from expected_matrix order by 1, 2, 3, 4 $$,
  'should grant no table, view, column or sequence privilege that is not in the expected matrix');
select is_empty($$ select obj, role, priv, col from expected_matrix except select obj, role, priv, col from actual_matrix order by 1, 2, 3, 4 $$,
  'should grant every privilege in the expected matrix (the matrix is not stale)');
select is_empty($$ select obj from expected_grants where to_regclass(obj) is null $$,
  'should name only existing objects in the expected matrix');

-- Schemas: API roles reach api and app (for RLS-guarded tables) and extensions; never app_private or audit.
select is_empty($$
  select n.nspname || ':' || r.role || ':' || p.priv
  from pg_namespace n
  cross join (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('dwaybank_gateway'), ('authenticator')) r(role)
  cross join (values ('usage'), ('create')) p(priv)
  where n.nspname in ('api', 'app', 'app_private', 'audit', 'extensions', 'public')
    and has_schema_privilege(r.role, n.oid, p.priv)
    and not (p.priv = 'usage' and (n.nspname = 'extensions'
             or (n.nspname in ('api', 'app') and r.role <> 'authenticator')))
$$, 'should let API roles use only api, app and extensions, and create in no schema');

-- anon is the open internet: it may run only the identity and setting helpers
-- that RLS policies and PostgREST's pre-request call.
select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit')
    and has_function_privilege('anon', p.oid, 'execute')
    and p.oid::regprocedure::text not in ('app.current_user_id()', 'app.current_session_id()', 'app.current_aal()',
      'app.caller_role()', 'app.jwt_claims()', 'app.setting(text)', 'app.check_request()',
      'app.clock(timestamp with time zone)')
$$, 'should let anon execute only the identity, clock and setting helpers');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit')
    and has_function_privilege('authenticator', p.oid, 'execute')
$$, 'should let authenticator (NOINHERIT) execute no function by itself');

select is_empty($$
  select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('app_private', 'audit') and p.proname not like 'tg%'
    and (has_function_privilege('authenticated', p.oid, 'execute') or has_function_privilege('anon', p.oid, 'execute'))
    and p.oid::regprocedure::text not like 'audit.%'
$$, 'should let no API role execute app_private functions');

-- Views anywhere in our schemas (not only api) run with the caller's rights.
select is_empty($$
  select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit') and c.relkind = 'v'
    and not coalesce('security_invoker=true' = any (c.reloptions), false)
    and exists (select from (values ('anon'), ('authenticated'), ('compliance_officer'), ('admin'), ('dwaybank_gateway')) r(role)
                where has_table_privilege(r.role, c.oid, 'select'))
$$, 'should make every view an API role can read security_invoker');

-- Roles: API roles cannot log in or bypass RLS; authenticator switches only to API roles.
select is_empty($$
  select rolname from pg_roles
  where rolname in ('anon', 'authenticated', 'compliance_officer', 'admin')
    and (rolcanlogin or rolbypassrls or rolsuper or rolcreaterole or rolcreatedb or rolreplication)
$$, 'should make API roles NOLOGIN without BYPASSRLS or other attributes');

select ok(not exists (select from pg_roles where rolname = 'dwaybank_gateway'
                        and (rolbypassrls or rolsuper or rolcreaterole or rolcreatedb or rolreplication))
          and not exists (select from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = 'dwaybank_gateway'),
  'should keep the gateway role unprivileged and a member of no role');

select set_eq($$
  select b.rolname::text from pg_auth_members m join pg_roles r on r.oid = m.member join pg_roles b on b.oid = m.roleid
  where r.rolname = 'authenticator'
$$, array['anon', 'authenticated', 'compliance_officer', 'admin'],
  'should let authenticator switch only to the API roles');

select is_empty($$
  select c.oid::regclass::text || ' owned by ' || pg_get_userbyid(c.relowner)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit')
    and pg_get_userbyid(c.relowner) in ('anon', 'authenticated', 'compliance_officer', 'admin', 'dwaybank_gateway', 'authenticator')
  union all
  select p.oid::regprocedure::text || ' owned by ' || pg_get_userbyid(p.proowner)
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('api', 'app', 'app_private', 'audit')
    and pg_get_userbyid(p.proowner) in ('anon', 'authenticated', 'compliance_officer', 'admin', 'dwaybank_gateway', 'authenticator')
$$, 'should let no API or login role own a table, view or function');

select * from finish();
rollback;
