--! Previous: sha1:85b6b23f75bf7fea7af10c0c1ed205b8f9ba3825
--! Hash: sha1:ab348dc4b31345f826271f3502b9198bbca5407c
--! Message: The back office reviewed as an attacker would: lookups reach customers only, opening a case is audited, a reason needs words

--! split: 1-current.sql
-- The migration being written. Add N-topic.sql files here (idempotent: they are
-- re-run on every save by `npm run migrate:watch`), then commit them with
-- `npm run migrate:commit -- --message "what it does"`. Committed files in
-- migrations/committed/ are never edited.

--! split: 2-backoffice-review.sql
-- The back office, reviewed as an attacker would (issue 20): an officer could look up and watch staff accounts
-- (their sessions, addresses and factors) through find_customer and customer_overview, open a KYC case (a person's
-- identity data) without leaving a trace, and give "....." as the audited reason. Customer lookups now find
-- customers only; opening a case is audited (and volatile, so GET answers 405); a reason needs words.

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
  -- A reason a person wrote: 5 to 500 characters, at least 3 of them letters or digits ("....." or invisible characters are none).
  if reason is null or length(btrim(reason)) not between 5 and 500
     or length(regexp_replace(reason, '[^[:alnum:]]', '', 'g')) < 3 then
    raise sqlstate 'PGRST' using
      message = '{"code":"STAFF_REASON_REQUIRED","message":"Say why you need this customer''s data.","hint":"Give a reason of 5 to 500 characters, such as a case or ticket number; it goes into the audit trail."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  return app.current_user_id();
end
$$;
comment on function app_private.assert_backoffice_staff(text) is
  'Raises FORBIDDEN unless the caller is staff, STAFF_REASON_REQUIRED unless the reason has 5 to 500 characters; returns the staff member''s id.';

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
  -- Customers only: staff accounts are not looked up here (their sessions and addresses are not an officer's business).
  select array_agg(u.id order by u.created_at) into v_found from app.users u
   where u.role = 'customer' and case v_by when 'id' then u.id = v_query::uuid
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
  'Staff: finds customer accounts (never staff) by a whole e-mail address, phone number or id; every lookup is audited with the reason given.
Raises STAFF_REASON_REQUIRED, CUSTOMER_QUERY_INVALID, FORBIDDEN. Definer: reads any account and writes the audit event.';

create or replace function api.customer_overview(user_id uuid, reason text) returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user app.users;
  v_result jsonb;
begin
  perform app_private.assert_backoffice_staff(customer_overview.reason);
  select * into v_user from app.users u where u.id = customer_overview.user_id and u.role = 'customer';
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"USER_NOT_FOUND","message":"No customer has this id.","hint":"Find the customer by e-mail or phone first."}',
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

create or replace function api.kyc_case(kyc_id uuid) returns jsonb
  language plpgsql volatile security definer
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
  -- Opening a case shows a person's identity data: it is audited like a customer lookup.
  perform audit.log_event('staff.kyc_case_viewed', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id), 'info');
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
