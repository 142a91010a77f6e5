--! Previous: sha1:88e32176f81b515485f635ec517c1b103d8e9b57
--! Hash: sha1:659dbd6e49d9ad4aef0f029e45e41761b221925e
--! Message: The compliance back office: customer lookup and overview with an audited reason, suspend and reinstate, the whole KYC case, the review queue in keyset pages, account recoveries to decide

--! split: 1-current.sql
-- The migration being written. Add N-topic.sql files here (idempotent: they are
-- re-run on every save by `npm run migrate:watch`), then commit them with
-- `npm run migrate:commit -- --message "what it does"`. Committed files in
-- migrations/committed/ are never edited.

--! split: 4-backoffice.sql
-- The compliance back office (issue 20): what its screens need that api did not have yet. A customer lookup and
-- a customer's overview that require and audit the officer's reason; suspending and reinstating an account with a
-- reason; the whole case of one verification (submitted data, documents, screening matches beside their watchlist
-- entries, risk reasons, four eyes, history); the review queue in keyset pages; the account recoveries to decide.
-- Every one is callable by any staff client over /rpc, at aal2 (app.check_request).

------------------------------------------------------------------------------
-- Shared checks
------------------------------------------------------------------------------
create or replace function app_private.assert_backoffice_staff(reason text) returns uuid
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') or app.current_user_id() is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may look up customers.","hint":"Ask a compliance officer or an admin."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if reason is null or length(btrim(reason)) not between 5 and 500 then
    raise sqlstate 'PGRST' using
      message = '{"code":"STAFF_REASON_REQUIRED","message":"Say why you need this customer''s data.","hint":"Give a reason of 5 to 500 characters, such as a case or ticket number; it goes into the audit trail."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  return app.current_user_id();
end
$$;
comment on function app_private.assert_backoffice_staff(text) is
  'Raises FORBIDDEN unless the caller is staff, STAFF_REASON_REQUIRED unless the reason has 5 to 500 characters; returns the staff member''s id.';
revoke all on function app_private.assert_backoffice_staff(text) from public;

------------------------------------------------------------------------------
-- Customers
------------------------------------------------------------------------------
create or replace function api.find_customer(query text, reason text)
  returns table (id uuid, email text, phone text, first_name text, last_name text, role text, status text,
                 created_at timestamptz, last_login_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_query text := btrim(coalesce(find_customer.query, ''));
  v_by text;
  v_found uuid[];
begin
  perform app_private.assert_backoffice_staff(find_customer.reason);
  v_by := case when v_query ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then 'id'
               when v_query ~ '^[^@[:space:]]+@[^@[:space:]]+$' then 'email'
               when v_query ~ '^\+[1-9][0-9]{6,14}$' then 'phone' end;
  if v_by is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"CUSTOMER_QUERY_INVALID","message":"Search by a whole e-mail address, a phone number or an account id.","hint":"For example ada@example.com, +4915112345678 or the account''s UUID."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  select array_agg(u.id order by u.created_at) into v_found from app.users u
   where case v_by when 'id' then u.id = v_query::uuid
                   when 'email' then u.email operator(extensions.=) v_query::extensions.citext
                   else u.phone = v_query end;
  -- One event per lookup, found or not: who searched, how, why, and whom it found (never the search text itself).
  perform audit.log_event('staff.customer_lookup', case when cardinality(v_found) = 1 then v_found[1] end,
    jsonb_build_object('by', v_by, 'reason', btrim(find_customer.reason), 'found', coalesce(v_found, '{}')), 'info');
  return query select u.id, u.email::text, u.phone, u.first_name, u.last_name, u.role, u.status, u.created_at, u.last_login_at
                 from app.users u where u.id = any (coalesce(v_found, '{}')) order by u.created_at;
end
$$;
comment on function api.find_customer(text, text) is
  'Staff: finds accounts by a whole e-mail address, phone number or id; every lookup is audited with the reason given.
Raises STAFF_REASON_REQUIRED, CUSTOMER_QUERY_INVALID, FORBIDDEN. Definer: reads any account and writes the audit event.';
revoke all on function api.find_customer(text, text) from public;
grant execute on function api.find_customer(text, text) to compliance_officer, admin;

create or replace function api.customer_overview(user_id uuid, reason text) returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user app.users;
  v_result jsonb;
begin
  perform app_private.assert_backoffice_staff(customer_overview.reason);
  select * into v_user from app.users u where u.id = customer_overview.user_id;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"USER_NOT_FOUND","message":"No account has this id.","hint":"Find the customer by e-mail or phone first."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  perform audit.log_event('staff.customer_viewed', v_user.id, jsonb_build_object('reason', btrim(customer_overview.reason)), 'info');
  -- Kinds and dates only: no hash, secret, code, token or credential leaves here.
  select jsonb_build_object(
    'profile', jsonb_build_object('id', v_user.id, 'email', v_user.email, 'phone', v_user.phone, 'first_name', v_user.first_name,
      'last_name', v_user.last_name, 'role', v_user.role, 'status', v_user.status, 'email_verified_at', v_user.email_verified_at,
      'created_at', v_user.created_at, 'last_login_at', v_user.last_login_at, 'locked_until', v_user.locked_until,
      'failed_login_attempts', v_user.failed_login_attempts, 'mfa_required', v_user.mfa_required),
    'sessions', coalesce((select jsonb_agg(jsonb_build_object('id', s.id, 'device_name', s.device_name, 'ip', s.ip,
        'user_agent', s.user_agent, 'aal', s.aal, 'amr', s.amr, 'created_at', s.created_at, 'last_activity_at', s.last_activity_at,
        'expires_at', s.expires_at, 'revoked_at', s.revoked_at, 'revoked_reason', s.revoked_reason,
        'is_suspicious', s.is_suspicious, 'suspicious_reasons', s.suspicious_reasons) order by s.created_at desc)
      from (select * from app.user_sessions s where s.user_id = v_user.id order by s.created_at desc limit 50) s), '[]'),
    'devices', coalesce((select jsonb_agg(jsonb_build_object('id', d.id, 'device_name', d.device_name, 'ip', d.ip,
        'created_at', d.created_at, 'last_used_at', d.last_used_at, 'expires_at', d.expires_at, 'revoked_at', d.revoked_at)
        order by d.created_at desc) from app.trusted_devices d where d.user_id = v_user.id), '[]'),
    'factors', coalesce((select jsonb_agg(jsonb_build_object('method', m.method, 'status', m.status, 'label', m.label,
        'created_at', m.created_at, 'last_used_at', m.last_used_at) order by m.created_at)
      from app.mfa_configs m where m.user_id = v_user.id), '[]'),
    'kyc', coalesce((select jsonb_agg(jsonb_build_object('id', k.id, 'level', k.level, 'status', k.status, 'risk_level', k.risk_level,
        'submitted_at', k.submitted_at, 'decided_at', k.decided_at, 'expires_at', k.expires_at) order by k.created_at desc)
      from app.kyc_records k where k.user_id = v_user.id), '[]'),
    'events', coalesce((select jsonb_agg(jsonb_build_object('id', e.id, 'occurred_at', e.occurred_at, 'event_type', e.event_type,
        'severity', e.severity, 'ip', e.ip, 'user_agent', e.user_agent) order by e.id desc)
      from (select * from audit.audit_log a where a.subject_user_id = v_user.id and a.kind = 'event'
             order by a.id desc limit 50) e), '[]'))
    into v_result;
  return v_result;
end
$$;
comment on function api.customer_overview(uuid, text) is
  'Staff: one customer''s profile, sessions, remembered devices, kinds of second factor, KYC history and recent security events
(never a hash, code, token or secret); audited with the reason given. Raises STAFF_REASON_REQUIRED, USER_NOT_FOUND, FORBIDDEN.
Definer: reads another person''s account and writes the audit event.';
revoke all on function api.customer_overview(uuid, text) from public;
grant execute on function api.customer_overview(uuid, text) to compliance_officer, admin;

create or replace function app_private.set_customer_status(user_id uuid, reason text, from_status text, to_status text)
  returns text
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_user app.users;
begin
  perform app_private.assert_backoffice_staff(reason);
  select * into v_user from app.users u where u.id = set_customer_status.user_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"USER_NOT_FOUND","message":"No account has this id.","hint":"Find the customer by e-mail or phone first."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_user.role <> 'customer' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Staff accounts are not suspended here.","hint":"Change a staff member''s role with npm run user:role."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if v_user.status <> from_status then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'ACCOUNT_STATUS_CONFLICT', 'message', format('The account is %s.', v_user.status),
                                  'hint', format('Only an account that is %s can be made %s.', from_status, to_status))::text,
      detail = '{"status":409,"headers":{}}';
  end if;
  update app.users u set status = to_status where u.id = v_user.id;
  if to_status = 'suspended' then
    perform app_private.revoke_sessions(v_user.id, 'suspended', null, pg_catalog.now());
  end if;
  perform audit.log_event(case to_status when 'suspended' then 'account.suspended' else 'account.reinstated' end, v_user.id,
    jsonb_build_object('reason', btrim(reason)), 'warning');
  return to_status;
end
$$;
comment on function app_private.set_customer_status(uuid, text, text, text) is
  'Moves a customer account between active and suspended (suspension ends every session), audited with the reason.';
revoke all on function app_private.set_customer_status(uuid, text, text, text) from public;

create or replace function api.suspend_customer(user_id uuid, reason text) returns text
  language sql volatile security definer
  set search_path = ''
  begin atomic
    select app_private.set_customer_status(suspend_customer.user_id, suspend_customer.reason, 'active', 'suspended');
  end;
comment on function api.suspend_customer(uuid, text) is
  'Staff: suspends a customer''s account (sign-in refused, every session ended), with a reason for the audit trail.
Raises STAFF_REASON_REQUIRED, USER_NOT_FOUND, ACCOUNT_STATUS_CONFLICT, FORBIDDEN (staff accounts). Definer: writes the status no API role may write.';
revoke all on function api.suspend_customer(uuid, text) from public;
grant execute on function api.suspend_customer(uuid, text) to compliance_officer, admin;

create or replace function api.reinstate_customer(user_id uuid, reason text) returns text
  language sql volatile security definer
  set search_path = ''
  begin atomic
    select app_private.set_customer_status(reinstate_customer.user_id, reinstate_customer.reason, 'suspended', 'active');
  end;
comment on function api.reinstate_customer(uuid, text) is
  'Staff: reinstates a suspended customer account, with a reason for the audit trail.
Raises STAFF_REASON_REQUIRED, USER_NOT_FOUND, ACCOUNT_STATUS_CONFLICT, FORBIDDEN. Definer: writes the status no API role may write.';
revoke all on function api.reinstate_customer(uuid, text) from public;
grant execute on function api.reinstate_customer(uuid, text) to compliance_officer, admin;

------------------------------------------------------------------------------
-- KYC cases
------------------------------------------------------------------------------
-- Keyset paging: the queue's order (highest risk, then longest waiting, then id) as one ascending key.
create index if not exists kyc_records_queue_keyset_idx on app.kyc_records
  ((-coalesce(risk_score, -1)), (coalesce(submitted_at, created_at)), id) where status in ('pending', 'in_review');

create or replace function api.kyc_queue(status text default null, risk_level text default null, level text default null,
                                         country text default null, awaiting_second_approval boolean default null,
                                         after_risk_score integer default null, after_waiting_since timestamptz default null,
                                         after_id uuid default null, page_size integer default 50)
  returns setof api.kyc_review_queue
  language sql stable
  -- No SET clause: a SQL-standard body binds its names when created, and the planner inlines it into the caller's
  -- query, so the keyset condition reaches kyc_records_queue_keyset_idx.
  begin atomic
    -- The rows of api.kyc_review_queue, each branch read in the index's order and cut at the page size
    -- (the view itself sorts every waiting case before a LIMIT can apply).
    select r.id, r.user_id, r.level, r.status, r.risk_score, r.risk_level, r.risk_factors, r.legal_first_name, r.legal_last_name,
           r.date_of_birth, r.nationality, r.residence_country,
           (select count(*) from app.kyc_compliance_checks c where c.kyc_record_id = r.id and c.status = 'potential_match'),
           (select count(*) from app.kyc_documents d where d.kyc_record_id = r.id),
           -- (an approved case keeps its first approver: it waits for a second one only while undecided)
           r.first_approver_id, r.first_approver_id is not null and r.status in ('pending', 'in_review'), coalesce(r.submitted_at, r.created_at)
      from (
      (select w.* from app.kyc_records w
        where w.status in ('pending', 'in_review')
          and (kyc_queue.status is null or w.status = kyc_queue.status)
          and (kyc_queue.risk_level is null or w.risk_level = kyc_queue.risk_level)
          and (kyc_queue.level is null or w.level = kyc_queue.level)
          and (kyc_queue.country is null or w.nationality = upper(kyc_queue.country) or w.residence_country = upper(kyc_queue.country))
          and (kyc_queue.awaiting_second_approval is null or (w.first_approver_id is not null) = kyc_queue.awaiting_second_approval)
          and (kyc_queue.after_id is null
               or (-coalesce(w.risk_score, -1), coalesce(w.submitted_at, w.created_at), w.id)
                  > (-coalesce(kyc_queue.after_risk_score, -1), kyc_queue.after_waiting_since, kyc_queue.after_id))
        order by -coalesce(w.risk_score, -1), coalesce(w.submitted_at, w.created_at), w.id
        limit least(greatest(coalesce(kyc_queue.page_size, 50), 1), 200))
      union all
      (select m.* from app.kyc_records m
        where m.status = 'approved' and m.id in (select c.kyc_record_id from app.kyc_compliance_checks c where c.status = 'potential_match')
          and (kyc_queue.status is null or m.status = kyc_queue.status)
          and (kyc_queue.risk_level is null or m.risk_level = kyc_queue.risk_level)
          and (kyc_queue.level is null or m.level = kyc_queue.level)
          and (kyc_queue.country is null or m.nationality = upper(kyc_queue.country) or m.residence_country = upper(kyc_queue.country))
          and (kyc_queue.awaiting_second_approval is null or not kyc_queue.awaiting_second_approval)  -- decided: waits for nobody
          and (kyc_queue.after_id is null
               or (-coalesce(m.risk_score, -1), coalesce(m.submitted_at, m.created_at), m.id)
                  > (-coalesce(kyc_queue.after_risk_score, -1), kyc_queue.after_waiting_since, kyc_queue.after_id))
        order by -coalesce(m.risk_score, -1), coalesce(m.submitted_at, m.created_at), m.id
        limit least(greatest(coalesce(kyc_queue.page_size, 50), 1), 200))
      ) r
     order by -coalesce(r.risk_score, -1), coalesce(r.submitted_at, r.created_at), r.id
     limit least(greatest(coalesce(kyc_queue.page_size, 50), 1), 200);
  end;
comment on function api.kyc_queue(text, text, text, text, boolean, integer, timestamptz, uuid, integer) is
  'Compliance officers: one page of the review queue (highest risk first, then longest waiting), filtered by status, risk, level,
country (nationality or residence) and four eyes. The next page: after_risk_score, after_waiting_since and after_id of the last row.
Invoker (inlined): the caller''s own rights on the queue.';
revoke all on function api.kyc_queue(text, text, text, text, boolean, integer, timestamptz, uuid, integer) from public;
grant execute on function api.kyc_queue(text, text, text, text, boolean, integer, timestamptz, uuid, integer) to compliance_officer;

create or replace function api.kyc_case(kyc_id uuid) returns jsonb
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_rec app.kyc_records;
  v_me uuid := app.current_user_id();
begin
  if app.caller_role() <> 'compliance_officer' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only compliance officers open KYC cases.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  select * into v_rec from app.kyc_records r where r.id = kyc_case.kyc_id;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_NOT_FOUND","message":"No verification has this id.","hint":"Pick a case from the review queue."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  return jsonb_build_object(
    'record', to_jsonb(v_rec) - 'first_approver_id' - 'reviewer_id',
    'customer', (select jsonb_build_object('id', u.id, 'email', u.email, 'status', u.status) from app.users u where u.id = v_rec.user_id),
    'own_case', v_rec.user_id = v_me,
    'first_approval', case when v_rec.first_approver_id is not null then jsonb_build_object(
        'by_me', v_rec.first_approver_id = v_me, 'at', v_rec.first_approved_at,
        'by', (select u.email from app.users u where u.id = v_rec.first_approver_id)) end,
    'reviewer', (select u.email from app.users u where u.id = v_rec.reviewer_id),
    'documents', coalesce((select jsonb_agg(jsonb_build_object('id', d.id, 'document_type', d.document_type,
        'issuing_country', d.issuing_country, 'document_number', d.document_number, 'expires_on', d.expires_on, 'status', d.status,
        'quality_score', d.quality_score, 'quality_notes', d.quality_notes, 'reviewed_at', d.reviewed_at, 'mime_type', d.mime_type,
        'size_bytes', d.size_bytes, 'created_at', d.created_at) order by d.created_at)
      from app.kyc_documents d where d.kyc_record_id = v_rec.id), '[]'),
    -- Each candidate match beside the watchlist entry it matched.
    'checks', coalesce((select jsonb_agg(jsonb_build_object('id', c.id, 'check_type', c.check_type, 'status', c.status,
        'list_version', c.list_version, 'top_score', c.top_score, 'resolved_at', c.resolved_at, 'resolution_note', c.resolution_note,
        'resolved_by', (select u.email from app.users u where u.id = c.resolved_by),
        'matches', coalesce((select jsonb_agg(m.match || jsonb_build_object('birth_date', e.birth_date, 'countries', e.countries,
                                                                            'program', e.program, 'aliases', e.aliases) order by m.ord)
                               from jsonb_array_elements(c.matches) with ordinality m(match, ord)
                               left join app.watchlist_entries e on e.id = (m.match ->> 'entry_id')::bigint), '[]'))
        order by c.check_type)
      from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id), '[]'),
    'history', coalesce((select jsonb_agg(jsonb_build_object('occurred_at', a.occurred_at, 'event_type', a.event_type,
        'severity', a.severity, 'operation', a.operation, 'table', a.table_name, 'changed_columns', a.changed_columns,
        'actor', (select u.email from app.users u where u.id = a.actor_id), 'actor_role', a.actor_role) order by a.id)
      from (select * from audit.audit_log a where a.subject_user_id = v_rec.user_id
              and (a.row_id = v_rec.id::text or a.details ->> 'kyc_id' = v_rec.id::text
                   or a.row_id in (select d.id::text from app.kyc_documents d where d.kyc_record_id = v_rec.id)
                   or a.row_id in (select c.id::text from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id))
            order by a.id desc limit 200) a), '[]'));
end
$$;
comment on function api.kyc_case(uuid) is
  'Compliance officers: one verification as a case: the submitted data, risk score and its reasons, documents, screening matches
beside their watchlist entries, who approved first (four eyes) and the case''s audit history. Raises KYC_NOT_FOUND, FORBIDDEN.
Definer: joins the watchlist entries and the audit trail, which officers cannot read directly.';
revoke all on function api.kyc_case(uuid) from public;
grant execute on function api.kyc_case(uuid) to compliance_officer;

------------------------------------------------------------------------------
-- Account recoveries
------------------------------------------------------------------------------
drop function if exists api.account_recoveries(text);
create or replace function api.account_recoveries(only_status text default null)
  returns table (id uuid, user_id uuid, email text, status text, reason text, requested_at timestamptz, not_before timestamptz,
                 first_approver text, first_approved_at timestamptz, first_approved_by_me boolean, second_approver text,
                 second_approved_at timestamptz, closed_at timestamptz, closed_reason text)
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_me uuid := app_private.assert_recovery_staff();
begin
  return query
    select r.id, r.user_id, u.email::text, r.status, r.reason, r.requested_at, r.not_before,
           (select f.email::text from app.users f where f.id = r.first_approver), r.first_approved_at, r.first_approver = v_me,
           (select s.email::text from app.users s where s.id = r.second_approver), r.second_approved_at, r.closed_at, r.closed_reason
      from app.account_recoveries r join app.users u on u.id = r.user_id
     where account_recoveries.only_status is null or r.status = account_recoveries.only_status
     order by r.status in ('pending', 'approved') desc, r.requested_at desc
     limit 200;
end
$$;
comment on function api.account_recoveries(text) is
  'Staff: account recoveries (open ones first), with their approvers and waiting period. Definer: joins the accounts for their e-mail.';
revoke all on function api.account_recoveries(text) from public;
grant execute on function api.account_recoveries(text) to compliance_officer, admin;
