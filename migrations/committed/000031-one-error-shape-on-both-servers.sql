--! Previous: sha1:18a3d84a01f1b7ac732e01efdad9ad4ac15a7464
--! Hash: sha1:71098f0b10b173825c5febb6b5ab9dc8eec5aba1
--! Message: One error shape on both servers: SQL refusals raise PostgREST's custom error, the pre-request answers privilege refusals; outbox retries with backoff and dead letters

--! split: 1-current.sql
-- The migration being written. Add N-topic.sql files here (idempotent: they are
-- re-run on every save by `npm run migrate:watch`), then commit them with
-- `npm run migrate:commit -- --message "what it does"`. Committed files in
-- migrations/committed/ are never edited.

--! split: 2-error-shape.sql
-- One error shape on both servers (issue 19): every refusal raised by SQL is PostgREST's custom error,
-- sqlstate PGRST with {code, message, hint} as JSON in MESSAGE and {status, headers} in DETAIL, so PostgREST
-- answers {code, message, hint, details: null} with the product's code (never PT400 and the code in "details")
-- and the gateway, which already understands PGRST, answers the same. Only the raise statements change;
-- each function below is otherwise as it was (generated from the migrated schema, reviewed by hand).

-- One definition of an e-mail address, for sign-up, e-mail change and the column's check: a dot-atom local
-- part and a domain of letter-digit-hyphen labels. Before, anything without a space or a second @ passed, a
-- comma included ("a@x.test,b@y.test"), which a mail library reads as two recipients.
create or replace function app.is_email_address(address text)
  returns boolean
  language sql
  immutable
  parallel safe
  set search_path to ''
  as $$
  select length(address) <= 254
     and address ~ '^[[:alnum:]!#$%&''*+/=?^_`{|}~-]+(\.[[:alnum:]!#$%&''*+/=?^_`{|}~-]+)*@[[:alnum:]]([[:alnum:]-]{0,61}[[:alnum:]])?(\.[[:alnum:]]([[:alnum:]-]{0,61}[[:alnum:]])?)+$'
$$;
comment on function app.is_email_address(text) is 'Whether a text is an e-mail address the product accepts (dot-atom local part, LDH domain labels, 254 characters at most).';
-- The column's check runs as whoever writes the row (update_my_profile runs as the caller): every role that may.
revoke all on function app.is_email_address(text) from public;
grant execute on function app.is_email_address(text) to authenticated, compliance_officer, admin, dwaybank_gateway;

-- New and changed rows are checked at once; existing rows once none breaks the rule. A database that already holds
-- such an address keeps the constraint NOT VALID and says so: an operator reviews those accounts
-- (select id, email from app.users where not app.is_email_address(email::text)), then validates it.
alter table app.users drop constraint if exists users_email_format_chk;
alter table app.users add constraint users_email_format_chk check (app.is_email_address(email::text)) not valid;
do $$
declare
  v_bad integer := (select count(*) from app.users u where not app.is_email_address(u.email::text));
begin
  if v_bad = 0 then
    alter table app.users validate constraint users_email_format_chk;
  else
    raise warning '% account(s) have an e-mail address the new rule refuses; users_email_format_chk stays NOT VALID until they are reviewed', v_bad;
  end if;
end
$$;

CREATE OR REPLACE FUNCTION api.approve_account_recovery(recovery_id uuid)
 RETURNS app.account_recoveries
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_staff uuid := app_private.assert_recovery_staff();
  v_recovery app.account_recoveries;
begin
  select * into v_recovery from app.account_recoveries r where r.id = approve_account_recovery.recovery_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"RECOVERY_NOT_FOUND","message":"No account recovery has this id.","hint":"Check the recovery''s id."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_recovery.user_id = v_staff then
    raise sqlstate 'PGRST' using
      message = '{"code":"FOUR_EYES_REQUIRED","message":"Nobody may approve the recovery of their own account.","hint":"Two other staff members must approve it."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if v_recovery.status <> 'pending' then
    raise sqlstate 'PGRST' using
      message = '{"code":"RECOVERY_NOT_PENDING","message":"This recovery is not waiting for approval.","hint":"Only pending recoveries can be approved."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  if v_recovery.first_approver is null then
    update app.account_recoveries r set first_approver = v_staff, first_approved_at = pg_catalog.now() where r.id = v_recovery.id
    returning * into v_recovery;
  elsif v_recovery.first_approver = v_staff then
    raise sqlstate 'PGRST' using
      message = '{"code":"FOUR_EYES_REQUIRED","message":"A second, different staff member must approve.","hint":"Ask a colleague to approve this recovery."}',
      detail = '{"status":409,"headers":{}}';
  else
    -- The waiting period starts now, so the customer always has it to cancel.
    update app.account_recoveries r
       set second_approver = v_staff, second_approved_at = pg_catalog.now(), status = 'approved',
           not_before = pg_catalog.now() + make_interval(hours => app.setting('recovery_wait_hours')::integer)
     where r.id = v_recovery.id
    returning * into v_recovery;
    perform app_private.queue_email(v_recovery.user_id, 'account_recovery_approved',
      jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before)
        || app_private.recovery_cancel_link(v_recovery.user_id, pg_catalog.now()), pg_catalog.now());
  end if;
  perform audit.log_event('account.recovery.approved', v_recovery.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'approval', case when v_recovery.second_approver is null then 1 else 2 end,
                       'not_before', v_recovery.not_before), 'warning');
  return v_recovery;
end
$function$;

CREATE OR REPLACE FUNCTION api.audit_checkpoints(max_rows integer DEFAULT 50)
 RETURNS TABLE(id bigint, created_at timestamp with time zone, head_seq bigint, head_hash text, signature text, gateway_signature text, gateway_key_id text, gateway_signed_at timestamp with time zone)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may list audit checkpoints.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return query select c.id, c.created_at, c.head_seq, encode(c.head_hash, 'hex'), encode(c.signature, 'hex'),
                      c.gateway_signature, c.gateway_key_id, c.gateway_signed_at
               from audit.checkpoints c order by c.id desc limit least(greatest(max_rows, 1), 1000);
end
$function$;

CREATE OR REPLACE FUNCTION api.cancel_account_recovery()
 RETURNS app.account_recoveries
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_id uuid;
begin
  -- A session opened with a stolen password must step up first.
  perform app.assert_step_up();
  select r.id into v_id from app.account_recoveries r
   where r.user_id = app.current_user_id() and r.status in ('pending', 'approved');
  if v_id is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"RECOVERY_NOT_FOUND","message":"Your account has no open recovery.","hint":"Nothing to cancel."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  return app_private.close_recovery(v_id, 'cancelled', app.current_user_id(), 'cancelled by the customer', pg_catalog.now());
end
$function$;

CREATE OR REPLACE FUNCTION api.complete_kyc_verification(kyc_id uuid, decision text, reason text DEFAULT NULL::text)
 RETURNS app.kyc_decision
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_role text := app.caller_role();
  v_officer uuid := app.current_user_id();
  v_automated boolean := app.caller_role() not in ('anon', 'authenticated', 'compliance_officer', 'admin', 'dwaybank_gateway');
  v_now timestamptz := pg_catalog.now();
  v_rec app.kyc_records;
  v_level text;
begin
  perform app_private.assert_kyc_writable();
  if not v_automated and v_role <> 'compliance_officer' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only a compliance officer can decide a verification.","hint":"Ask a compliance officer to review it."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if v_automated then
    v_officer := null;
  end if;
  if decision is null or decision not in ('approved', 'rejected', 'requires_resubmission') then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_DECISION","message":"The decision is not known.","hint":"Decide approved, rejected or requires_resubmission."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if decision <> 'approved' and (reason is null or length(btrim(reason)) < 3) then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_REASON_REQUIRED","message":"A rejection or a request for resubmission needs a reason.","hint":"Say what is wrong or missing (3 to 1000 characters)."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  select * into v_rec from app.kyc_records r where r.id = complete_kyc_verification.kyc_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_NOT_FOUND","message":"No verification has this id.","hint":"See /kyc_review_queue."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_rec.user_id = v_officer then
    perform audit.log_event('kyc.self_decision_refused', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id), 'critical');
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Nobody can decide their own verification.","hint":"Another compliance officer must review it."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if not (v_rec.status = 'in_review' or (v_rec.status = 'pending' and decision <> 'approved')) then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_TRANSITION","message":"This verification is not in review.","hint":"Only a verification in review can be approved; a pending one can be rejected or sent back."}',
      detail = '{"status":409,"headers":{}}';
  end if;

  if decision = 'approved' then
    if exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id and c.status = 'potential_match') then
      raise sqlstate 'PGRST' using
        message = '{"code":"KYC_CHECKS_UNRESOLVED","message":"A screening check is not resolved yet.","hint":"Resolve every potential match (resolve_kyc_check) as false_positive or confirmed_match first."}',
        detail = '{"status":409,"headers":{}}';
    end if;
    if exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id and c.check_type = 'sanctions'
                 and c.status = 'confirmed_match') then
      raise sqlstate 'PGRST' using
        message = '{"code":"KYC_SANCTIONS_MATCH","message":"A confirmed sanctions match cannot be approved.","hint":"Reject the verification and follow the sanctions procedure."}',
        detail = '{"status":409,"headers":{}}';
    end if;
    v_level := app_private.refresh_kyc_risk(v_rec.id, v_now);
    -- Four eyes for high and critical risk, and for any record a screening hit was cleared on: otherwise one
    -- officer could resolve a sanctions or PEP match as a false positive and then approve alone.
    if v_level in ('high', 'critical')
       or exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id
                    and c.status in ('false_positive', 'confirmed_match')) then
      if v_automated then
        raise sqlstate 'PGRST' using
          message = '{"code":"KYC_OFFICER_REQUIRED","message":"High-risk verifications need two compliance officers.","hint":"Leave it in the review queue."}',
          detail = '{"status":409,"headers":{}}';
      end if;
      if v_rec.first_approver_id is null then
        update app.kyc_records r set first_approver_id = v_officer, first_approved_at = v_now where r.id = v_rec.id;
        perform audit.log_event('kyc.first_approval', v_rec.user_id,
          jsonb_build_object('kyc_id', v_rec.id, 'risk_level', v_level), 'info');
        return row('pending_second_approval', v_rec.id, 'in_review', v_level, null)::app.kyc_decision;
      elsif v_rec.first_approver_id = v_officer then
        raise sqlstate 'PGRST' using
          message = '{"code":"KYC_SECOND_APPROVER_REQUIRED","message":"A second, different officer must approve a high-risk verification.","hint":"Ask another compliance officer to approve it."}',
          detail = '{"status":409,"headers":{}}';
      end if;
    elsif v_automated and v_level <> 'low' then
      raise sqlstate 'PGRST' using
        message = '{"code":"KYC_OFFICER_REQUIRED","message":"Only low-risk verifications are approved automatically.","hint":"Leave it in the review queue."}',
        detail = '{"status":409,"headers":{}}';
    end if;
    -- A renewal replaces the approval it renews.
    update app.kyc_records r set status = 'expired', decision_reason = coalesce(r.decision_reason, 'superseded by renewal')
     where r.user_id = v_rec.user_id and r.status = 'approved' and r.id <> v_rec.id;
    update app.kyc_records r
       set status = 'approved', reviewer_id = v_officer, automated_decision = v_automated,
           -- (a first approval given while the risk was high does not count twice for the same officer)
           first_approver_id = case when r.first_approver_id is distinct from v_officer then r.first_approver_id end,
           first_approved_at = case when r.first_approver_id is distinct from v_officer then r.first_approved_at end,
           decision_reason = nullif(btrim(complete_kyc_verification.reason), ''), decided_at = v_now,
           expires_at = v_now + app_private.kyc_validity(v_level)
     where r.id = v_rec.id
    returning r.* into v_rec;
  else
    update app.kyc_records r
       set status = complete_kyc_verification.decision, reviewer_id = v_officer, automated_decision = v_automated,
           decision_reason = btrim(complete_kyc_verification.reason), decided_at = v_now,
           first_approver_id = null, first_approved_at = null
     where r.id = v_rec.id
    returning r.* into v_rec;
  end if;
  perform audit.log_event('kyc.' || v_rec.status, v_rec.user_id,
    jsonb_build_object('kyc_id', v_rec.id, 'risk_level', v_rec.risk_level, 'automated', v_automated,
                       'four_eyes', v_rec.first_approver_id is not null), case when v_rec.status = 'approved' then 'info' else 'warning' end);
  return row(v_rec.status, v_rec.id, v_rec.status, v_rec.risk_level, v_rec.expires_at)::app.kyc_decision;
end
$function$;

CREATE OR REPLACE FUNCTION api.confirm_phone_change(code text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user app.users;
  v_change app_private.phone_changes;
  v_max integer := app.setting('mfa_max_attempts')::integer;
begin
  perform app_private.assert_kyc_writable();
  select * into v_user from app.users u where u.id = app.current_user_id() for update;
  perform app_private.assert_live_session(v_user.id, app.current_session_id(), now());
  select * into v_change from app_private.phone_changes p
   where p.user_id = v_user.id and p.session_id = app.current_session_id()
     and p.consumed_at is null and p.revoked_at is null
   order by p.created_at desc limit 1
   for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"PHONE_CHANGE_NOT_FOUND","message":"This session has no phone number change waiting.","hint":"Start one with /rpc/request_phone_change (from this session)."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_change.expires_at <= now() then
    raise sqlstate 'PGRST' using
      message = '{"code":"PHONE_CODE_EXPIRED","message":"The code has expired.","hint":"Ask for a new code with /rpc/request_phone_change."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if confirm_phone_change.code is null or confirm_phone_change.code !~ '^[0-9]{6}$'
     or app_private.mfa_code_hash(confirm_phone_change.code) <> v_change.code_hash then
    update app_private.phone_changes p
       set attempts = p.attempts + 1, revoked_at = case when p.attempts + 1 >= v_max then now() end
     where p.id = v_change.id;
    perform audit.log_event('account.phone_change.code_failed', v_user.id,
      jsonb_build_object('attempts', v_change.attempts + 1), 'warning');
    return app_private.refuse_committed(400, 'PHONE_CODE_INVALID', 'The code is not correct.',
      case when v_change.attempts + 1 >= v_max then 'Too many wrong codes: ask for a new one with /rpc/request_phone_change.'
           else 'Check the code sent to the new number and try again.' end);
  end if;
  update app_private.phone_changes p set consumed_at = now() where p.id = v_change.id;
  update app.users u set phone = v_change.phone, phone_verified_at = now() where u.id = v_user.id;
  if v_user.phone is not null then
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_user.id, 'sms', 'phone_changed',
            jsonb_build_object('to', v_user.phone, 'new_phone', app_private.mask_phone(v_change.phone), 'at', now()), now());
  end if;
  perform app_private.queue_email(v_user.id, 'phone_changed',
    jsonb_build_object('new_phone', app_private.mask_phone(v_change.phone), 'at', now()), now());
  perform audit.log_event('account.phone_changed', v_user.id,
    jsonb_build_object('new_phone', app_private.fingerprint(v_change.phone),
                       'old_phone', app_private.fingerprint(v_user.phone)), 'warning');
  return jsonb_build_object('changed', true, 'phone', v_change.phone);
end
$function$;

CREATE OR REPLACE FUNCTION api.disable_mfa_method(user_id uuid, method character varying)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  -- Nobody removes another person's factor alone, staff included: that is the
  -- four-eyes account recovery (two approvers, a waiting period, notices).
  if disable_mfa_method.user_id is distinct from coalesce(app.current_user_id(),
       nullif(pg_catalog.current_setting('dwaybank.actor_id', true), '')::uuid) then
    raise sqlstate 'PGRST' using
      message = '{"code":"ACCOUNT_RECOVERY_REQUIRED","message":"You may only remove your own second factors.","hint":"A customer who lost every factor asks for account recovery (POST /auth/recovery); two staff members approve it."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  perform app_private.assert_recent_auth(true, pg_catalog.now());
  return app_private.disable_mfa_method(disable_mfa_method.user_id, disable_mfa_method.method, pg_catalog.now());
end
$function$;

CREATE OR REPLACE FUNCTION api.export_my_data()
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user uuid := app.current_user_id();
begin
  if v_user is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"UNAUTHENTICATED","message":"Sign in first.","hint":"Send an access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer"}}';
  end if;
  perform audit.log_event('gdpr.exported', v_user, jsonb_build_object('by', 'self'));
  return app_private.export_user_data(v_user);
end
$function$;

CREATE OR REPLACE FUNCTION api.export_user_data(user_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may export another user''s data.","hint":"Use /rpc/export_my_data for your own data."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if not exists (select from app.users u where u.id = export_user_data.user_id) then
    raise sqlstate 'PGRST' using
      message = '{"code":"USER_NOT_FOUND","message":"No account has this id.","hint":"Check the user id."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  perform audit.log_event('gdpr.exported', user_id, jsonb_build_object('by', app.current_user_id(), 'role', app.caller_role()), 'warning');
  return app_private.export_user_data(user_id);
end
$function$;

CREATE OR REPLACE FUNCTION api.get_user_latest_kyc(user_id uuid DEFAULT NULL::uuid)
 RETURNS TABLE(kyc_id uuid, status text, level text, risk_level text, decided_at timestamp with time zone, expires_at timestamp with time zone, verified boolean, verified_until timestamp with time zone)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user uuid := coalesce(get_user_latest_kyc.user_id, app.current_user_id());
  v_staff boolean := app.caller_role() not in ('anon', 'authenticated');
  v_until timestamptz;
begin
  if not v_staff and v_user is distinct from app.current_user_id() then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"You may only see your own verification.","hint":"Call it without user_id for your own status."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  select r.expires_at into v_until from app.kyc_records r
   where r.user_id = v_user and r.status = 'approved' and r.expires_at > pg_catalog.now();
  return query
    select r.id, r.status, r.level, case when v_staff then r.risk_level end, r.decided_at, r.expires_at,
           v_until is not null, v_until
      from app.kyc_records r
     where r.user_id = v_user
     order by r.created_at desc
     limit 1;
end
$function$;

CREATE OR REPLACE FUNCTION api.get_user_mfa_methods(user_id uuid DEFAULT NULL::uuid)
 RETURNS TABLE(id uuid, method text, status text, label text, device_fingerprint text, created_at timestamp with time zone, confirmed_at timestamp with time zone, last_used_at timestamp with time zone, backup_codes_left integer, mfa_required boolean)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user uuid := coalesce(get_user_mfa_methods.user_id, app.current_user_id());
begin
  if app.caller_role() not in ('compliance_officer', 'admin') and v_user is distinct from app.current_user_id() then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"You may only list your own second factors.","hint":"Staff (compliance officers, admins) may list other users'' factors."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return query
    select c.id, c.method, c.status, c.label, c.device_fingerprint, c.created_at, c.confirmed_at, c.last_used_at,
           case when c.method = 'backup_codes'
                then (select count(*)::integer from app_private.mfa_backup_codes b where b.config_id = c.id and b.used_at is null) end,
           app.mfa_policy_required(v_user)
    from app.mfa_configs c
    where c.user_id = v_user
    order by c.created_at;
end
$function$;

CREATE OR REPLACE FUNCTION api.initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text DEFAULT NULL::text)
 RETURNS app.kyc_summary
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user uuid := app.current_user_id();
  v_now timestamptz := pg_catalog.now();
  v_rec app.kyc_records;
begin
  perform app_private.assert_kyc_writable();
  if v_user is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"Sign in to start a verification.","hint":"Send an access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  perform app_private.kyc_precondition(v_user);
  if level is null or level not in ('basic', 'standard', 'enhanced') then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_DATA","message":"The verification level is not known.","hint":"Choose basic, standard or enhanced."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if date_of_birth is null or date_of_birth > (v_now - interval '18 years')::date then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_DATA","message":"Only adults can be verified.","hint":"Give the date of birth as YYYY-MM-DD; you must be at least 18."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  begin
    insert into app.kyc_records as r (user_id, level, legal_first_name, legal_last_name, date_of_birth, nationality,
                                      address_line1, address_line2, city, postal_code, residence_country, id_document_type,
                                      id_document_number, created_at)
    values (v_user, initiate_kyc_verification.level, btrim(legal_first_name), btrim(legal_last_name), date_of_birth,
            upper(nationality), btrim(address_line1), nullif(btrim(address_line2), ''), btrim(city), upper(btrim(postal_code)),
            upper(residence_country), id_document_type, upper(replace(btrim(id_document_number), ' ', '')), v_now)
    returning r.* into v_rec;
  exception
    when unique_violation then
      raise sqlstate 'PGRST' using
        message = '{"code":"KYC_IN_PROGRESS","message":"A verification is already in progress.","hint":"Finish the verification in progress (see get_user_latest_kyc) before starting another."}',
        detail = '{"status":409,"headers":{}}';
    when check_violation or foreign_key_violation or not_null_violation then
      raise sqlstate 'PGRST' using
        message = '{"code":"KYC_INVALID_DATA","message":"Some identity data is missing or not valid.","hint":"Names 1-100 characters without digits, countries ISO 3166-1 alpha-2 (DE), postal code 2-12 letters or digits, document number 4-30 letters, digits or dashes."}',
        detail = '{"status":400,"headers":{}}';
  end;
  perform audit.log_event('kyc.initiated', v_user, jsonb_build_object('kyc_id', v_rec.id, 'level', v_rec.level));
  perform app_private.screen_kyc_record(v_rec.id, array['sanctions', 'pep'], v_now);
  return row(v_rec.id, v_rec.level, v_rec.status, v_rec.submitted_at, v_rec.created_at)::app.kyc_summary;
end
$function$;

CREATE OR REPLACE FUNCTION api.legal_holds()
 RETURNS TABLE(id bigint, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone, reason text, placed_by uuid, placed_at timestamp with time zone, released_at timestamp with time zone)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may list legal holds.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return query select h.id, h.subject_user_id, lower(h.period), upper(h.period), h.reason, h.placed_by, h.placed_at, h.released_at
               from audit.legal_holds h order by h.placed_at desc;
end
$function$;

CREATE OR REPLACE FUNCTION api.maintenance_jobs()
 RETURNS TABLE(job text, schedule text, description text, cron_job_id bigint, cron_active boolean, cron_last_status text, cron_last_run_at timestamp with time zone, last_run_at timestamp with time zone, last_status text, last_result jsonb, last_error text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_cron jsonb := '{}'::jsonb;
begin
  if app.caller_role() <> 'admin' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only admins may list maintenance jobs.","hint":"Ask an admin."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  -- pg_cron's own tables exist only where the extension is installed.
  if exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    execute format($q$
      select coalesce(jsonb_object_agg(substr(c.jobname, 10), jsonb_build_object('jobid', c.jobid, 'active', c.active,
               'status', d.status, 'start_time', d.start_time)), '{}'::jsonb)
      from %s c
      left join lateral (select x.status, x.start_time from %s x where x.jobid = c.jobid order by x.start_time desc limit 1) d on true
      where c.jobname like 'dwaybank:%%'$q$, 'cron.job', 'cron.job_run_details')
      into v_cron;
  end if;
  return query
    select j.job, j.schedule, j.description, (v_cron -> j.job ->> 'jobid')::bigint, (v_cron -> j.job ->> 'active')::boolean,
           v_cron -> j.job ->> 'status', (v_cron -> j.job ->> 'start_time')::timestamptz,
           r.started_at, r.status, r.result, r.error
    from app_private.maintenance_jobs() j
    left join lateral (select * from audit.job_runs x where x.job = j.job order by x.started_at desc limit 1) r on true
    order by j.job;
end
$function$;

CREATE OR REPLACE FUNCTION api.maintenance_runs(job_name text DEFAULT NULL::text, max_rows integer DEFAULT 100)
 RETURNS TABLE(id bigint, job text, source text, started_at timestamp with time zone, finished_at timestamp with time zone, status text, result jsonb, error text)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if app.caller_role() <> 'admin' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only admins may list maintenance runs.","hint":"Ask an admin."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return query select r.id, r.job, r.run_by, r.started_at, r.finished_at, r.status, r.result, r.error
    from audit.job_runs r where maintenance_runs.job_name is null or r.job = maintenance_runs.job_name
    order by r.started_at desc limit least(greatest(max_rows, 1), 1000);
end
$function$;

CREATE OR REPLACE FUNCTION api.place_legal_hold(reason text, subject_user_id uuid DEFAULT NULL::uuid, from_at timestamp with time zone DEFAULT NULL::timestamp with time zone, to_at timestamp with time zone DEFAULT NULL::timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_id bigint;
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may place a legal hold.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if reason is null or length(reason) not between 3 and 500 then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_REASON","message":"A legal hold needs a reason.","hint":"Give the case or order reference (3 to 500 characters)."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  insert into audit.legal_holds (subject_user_id, period, reason, placed_by)
  values (subject_user_id, tstzrange(from_at, to_at, '[)'), reason, app.current_user_id())
  returning id into v_id;
  perform audit.log_event('audit.legal_hold.placed', subject_user_id, jsonb_build_object('hold_id', v_id), 'warning');
  return v_id;
end
$function$;

CREATE OR REPLACE FUNCTION api.reject_account_recovery(recovery_id uuid, reason text DEFAULT NULL::text)
 RETURNS app.account_recoveries
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_staff uuid := app_private.assert_recovery_staff();
begin
  if exists (select from app.account_recoveries r where r.id = reject_account_recovery.recovery_id and r.user_id = v_staff) then
    raise sqlstate 'PGRST' using
      message = '{"code":"FOUR_EYES_REQUIRED","message":"Nobody may decide on the recovery of their own account.","hint":"Ask a colleague."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return app_private.close_recovery(recovery_id, 'rejected', v_staff, reason, pg_catalog.now());
end
$function$;

CREATE OR REPLACE FUNCTION api.release_legal_hold(hold_id bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_subject uuid;
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may release a legal hold.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  update audit.legal_holds h set released_at = now(), released_by = app.current_user_id()
   where h.id = hold_id and h.released_at is null
   returning h.subject_user_id into v_subject;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"HOLD_NOT_FOUND","message":"No active legal hold has this id.","hint":"List holds with /rpc/legal_holds."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  perform audit.log_event('audit.legal_hold.released', v_subject, jsonb_build_object('hold_id', hold_id), 'warning');
  return true;
end
$function$;

CREATE OR REPLACE FUNCTION api.remove_passkey(passkey_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if app.current_user_id() is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"Sign in first.","hint":"Send an access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  return app_private.remove_passkey(app.current_user_id(), passkey_id, pg_catalog.now());
end
$function$;

CREATE OR REPLACE FUNCTION api.request_account_deletion(confirm_email text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user uuid := app.current_user_id();
begin
  if v_user is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"UNAUTHENTICATED","message":"Sign in first.","hint":"Send an access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer"}}';
  end if;
  -- Deleting an account cannot be undone by the customer: they confirm it by typing their address.
  if not exists (select from app.users u where u.id = v_user and lower(u.email::text) = lower(confirm_email)) then
    raise sqlstate 'PGRST' using
      message = '{"code":"CONFIRMATION_REQUIRED","message":"Confirm the deletion with your e-mail address.","hint":"Send confirm_email with the address of this account."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  -- aal2 (a recent second-factor check) for users with MFA; a recent sign-in otherwise.
  perform app.assert_step_up();
  return app_private.request_account_deletion(v_user);
end
$function$;

CREATE OR REPLACE FUNCTION api.request_phone_change(phone text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user app.users;
  v_session uuid := app.current_session_id();
  v_code text := app_private.new_numeric_code();
  v_sent integer;
  v_oldest timestamptz;
  v_expires timestamptz := now() + make_interval(mins => app.setting('phone_change_minutes')::integer);
begin
  perform app_private.assert_kyc_writable();
  select * into v_user from app.users u where u.id = app.current_user_id() for update;
  if not found or v_session is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"Sign in to change your phone number.","hint":"Send an access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  perform app.assert_step_up(now());
  if request_phone_change.phone is null or request_phone_change.phone !~ '^\+[1-9][0-9]{6,14}$' then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_PHONE","message":"The phone number is not valid.","hint":"Give the number in E.164 form, e.g. +4915112345678."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if request_phone_change.phone = v_user.phone then
    raise sqlstate 'PGRST' using
      message = '{"code":"PHONE_UNCHANGED","message":"This is already the account''s phone number.","hint":"Give a different number."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  select count(*), min(p.created_at) into v_sent, v_oldest from app_private.phone_changes p
   where p.user_id = v_user.id and p.created_at > now() - interval '1 hour';
  if v_sent >= app.setting('phone_change_limit')::integer then
    perform audit.log_event('account.phone_change.throttled', v_user.id, jsonb_build_object('sent', v_sent), 'warning');
    raise sqlstate 'PGRST' using
      message = '{"code":"RATE_LIMITED","message":"Too many phone number changes.","hint":"Wait for the time in Retry-After before trying again."}',
      detail = format('{"status":429,"headers":{"Retry-After":"%s"}}',
                      greatest(1, ceil(extract(epoch from (v_oldest + interval '1 hour' - now()))))::integer);
  end if;
  -- A newer code makes the older ones useless.
  update app_private.phone_changes p set revoked_at = now()
   where p.user_id = v_user.id and p.consumed_at is null and p.revoked_at is null;
  insert into app_private.phone_changes (user_id, session_id, phone, code_hash, created_at, expires_at)
  values (v_user.id, v_session, request_phone_change.phone, app_private.mfa_code_hash(v_code), now(), v_expires);
  -- The code goes to the new number (the outbox forgets `token` once sent); the current contacts hear of it.
  insert into app_private.outbox (user_id, channel, template, payload, created_at)
  values (v_user.id, 'sms', 'phone_change_code',
          jsonb_build_object('to', request_phone_change.phone, 'token', v_code, 'expires_at', v_expires), now());
  perform app_private.queue_email(v_user.id, 'phone_change_requested',
    jsonb_build_object('new_phone', app_private.mask_phone(request_phone_change.phone), 'at', now()), now());
  perform audit.log_event('account.phone_change.requested', v_user.id,
    jsonb_build_object('new_phone', app_private.fingerprint(request_phone_change.phone), 'expires_at', v_expires), 'warning');
  return jsonb_build_object('expires_at', v_expires);
end
$function$;

CREATE OR REPLACE FUNCTION api.resolve_kyc_check(check_id uuid, resolution text, note text)
 RETURNS app.kyc_compliance_checks
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_check app.kyc_compliance_checks;
begin
  perform app_private.assert_kyc_writable();
  if app.caller_role() <> 'compliance_officer' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only a compliance officer can resolve a check.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if resolution is null or resolution not in ('false_positive', 'confirmed_match') then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_DECISION","message":"The resolution is not known.","hint":"Resolve as false_positive or confirmed_match."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if note is null or length(btrim(note)) not between 3 and 1000 then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_REASON_REQUIRED","message":"A resolution needs a note.","hint":"Say why (3 to 1000 characters): which identifiers differ or agree."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  select * into v_check from app.kyc_compliance_checks c where c.id = resolve_kyc_check.check_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_CHECK_NOT_FOUND","message":"No check has this id.","hint":"See /kyc_checks."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_check.user_id = app.current_user_id() then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Nobody can resolve their own screening.","hint":"Another compliance officer must resolve it."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if v_check.status <> 'potential_match' then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_CHECK_RESOLVED","message":"This check is not waiting for a resolution.","hint":"Only potential matches are resolved."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  update app.kyc_compliance_checks c
     set status = resolve_kyc_check.resolution, resolved_by = app.current_user_id(), resolved_at = now(),
         resolution_note = btrim(resolve_kyc_check.note)
   where c.id = v_check.id
  returning c.* into v_check;
  perform app_private.refresh_kyc_risk(v_check.kyc_record_id, now());
  perform audit.log_event('kyc.check_resolved', v_check.user_id,
    jsonb_build_object('check_id', v_check.id, 'kyc_id', v_check.kyc_record_id, 'check_type', v_check.check_type,
                       'resolution', v_check.status),
    case when v_check.status = 'confirmed_match' then 'critical' else 'info' end);
  return v_check;
end
$function$;

CREATE OR REPLACE FUNCTION api.review_kyc_document(document_id uuid, status text, quality_score integer, notes text DEFAULT NULL::text)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_doc app.kyc_documents;
begin
  perform app_private.assert_kyc_writable();
  if app.caller_role() <> 'compliance_officer' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only a compliance officer can assess a document.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if status is null or status not in ('accepted', 'rejected') or quality_score is null or quality_score not between 0 and 100 then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_DECISION","message":"The assessment is not valid.","hint":"Give status accepted or rejected and a quality score from 0 to 100."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  select * into v_doc from app.kyc_documents d where d.id = review_kyc_document.document_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_DOCUMENT_NOT_FOUND","message":"No document has this id.","hint":"See /kyc_review_queue."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_doc.user_id = app.current_user_id() then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Nobody can assess their own documents.","hint":"Another compliance officer must assess them."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  update app.kyc_documents d
     set status = review_kyc_document.status, quality_score = review_kyc_document.quality_score,
         quality_notes = nullif(btrim(review_kyc_document.notes), ''), reviewed_by = app.current_user_id(), reviewed_at = now()
   where d.id = v_doc.id;
  perform app_private.refresh_kyc_risk(v_doc.kyc_record_id, now());
  perform audit.log_event('kyc.document_reviewed', v_doc.user_id,
    jsonb_build_object('document_id', v_doc.id, 'status', status, 'quality_score', quality_score));
  return v_doc.id;
end
$function$;

CREATE OR REPLACE FUNCTION api.revoke_my_session(session_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_found boolean;
begin
  if revoke_my_session.session_id is distinct from app.current_session_id() then
    perform app.assert_step_up(pg_catalog.now());
  end if;
  update app.user_sessions s set revoked_at = pg_catalog.now(), revoked_reason = 'revoked_by_user'
   where s.id = revoke_my_session.session_id and s.user_id = app.current_user_id() and s.revoked_at is null;
  v_found := found;
  if not v_found then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_NOT_FOUND","message":"No live session of yours has this id.","hint":"List your sessions with /rpc/my_sessions."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  -- What the session asked for (an e-mail change) ends with it.
  update app_private.account_tokens t set revoked_at = pg_catalog.now()
   where t.session_id = revoke_my_session.session_id and t.consumed_at is null and t.revoked_at is null;
  perform audit.log_event('session.revoked', app.current_user_id(), jsonb_build_object('session_id', session_id));
  return true;
end
$function$;

CREATE OR REPLACE FUNCTION api.revoke_trusted_device(device_id uuid DEFAULT NULL::uuid)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_count integer;
begin
  if app.current_user_id() is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"Sign in first.","hint":"Send an access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  if device_id is null then
    return app_private.revoke_trusted_devices(app.current_user_id(), 'revoked_by_user');
  end if;
  update app.trusted_devices d set revoked_at = now(), revoked_reason = 'revoked_by_user'
   where d.id = revoke_trusted_device.device_id and d.user_id = app.current_user_id() and d.revoked_at is null;
  get diagnostics v_count = row_count;
  if v_count = 0 then
    raise sqlstate 'PGRST' using
      message = '{"code":"DEVICE_NOT_FOUND","message":"No remembered device of yours has this id.","hint":"List them with /rpc/my_trusted_devices."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  delete from app_private.trusted_device_tokens t where t.device_id = revoke_trusted_device.device_id;
  perform audit.log_event('mfa.trusted_devices.revoked', app.current_user_id(), jsonb_build_object('reason', 'revoked_by_user', 'count', 1));
  return v_count;
end
$function$;

CREATE OR REPLACE FUNCTION api.revoke_user_sessions(user_id uuid, reason character varying DEFAULT 'revoked'::character varying, except_session character varying DEFAULT NULL::character varying)
 RETURNS integer
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_role text := app.caller_role();
begin
  if v_role in ('anon', 'authenticated', 'compliance_officer', 'admin') then
    if revoke_user_sessions.user_id is distinct from app.current_user_id() then
      if v_role <> 'admin' then
        raise sqlstate 'PGRST' using
          message = '{"code":"FORBIDDEN","message":"You may only revoke your own sessions.","hint":"Staff revoke other users'' sessions with the admin role."}',
          detail = '{"status":403,"headers":{}}';
      end if;
    else
      -- A stolen session must not be able to end the owner's sessions.
      perform app.assert_step_up();
    end if;
    if except_session is not null and except_session is distinct from app.current_session_id()::text then
      raise sqlstate 'PGRST' using
        message = '{"code":"INVALID_EXCEPT_SESSION","message":"Only your current session can be kept.","hint":"Leave except_session empty, or give the id of the session this token belongs to (its sid claim)."}',
        detail = '{"status":400,"headers":{}}';
    end if;
  end if;
  if reason is null or length(reason) > 64 or reason !~ '^[a-z0-9_]+$' then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_REASON","message":"The reason must be a short snake_case word.","hint":"For example: logout, password_changed, compromised."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  return app_private.revoke_sessions(revoke_user_sessions.user_id, reason, except_session::uuid, pg_catalog.now());
end
$function$;

CREATE OR REPLACE FUNCTION api.run_maintenance(job text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  if app.caller_role() <> 'admin' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only admins may run maintenance jobs.","hint":"Ask an admin."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  perform audit.log_event('maintenance.run_by_hand', app.current_user_id(), jsonb_build_object('job', job), 'warning');
  return app_private.run_job(job);
end
$function$;

CREATE OR REPLACE FUNCTION api.submit_kyc_verification(kyc_id uuid)
 RETURNS app.kyc_summary
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_rec app.kyc_records;
begin
  perform app_private.assert_kyc_writable();
  select * into v_rec from app.kyc_records r
   where r.id = submit_kyc_verification.kyc_id and r.user_id = app.current_user_id() for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_NOT_FOUND","message":"No verification of yours has this id.","hint":"See your verifications at /my_kyc_verifications."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_rec.status not in ('pending', 'requires_resubmission') then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_TRANSITION","message":"This verification is not waiting for you.","hint":"Only a pending verification, or one that needs resubmission, can be submitted."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  if v_rec.level <> 'basic' and not exists (select from app.kyc_documents d where d.kyc_record_id = v_rec.id
       and d.document_type in ('passport', 'id_card', 'driving_licence') and d.status in ('uploaded', 'accepted')) then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_DOCUMENTS_MISSING","message":"Upload an identity document first.","hint":"Upload a passport, identity card or driving licence with POST /kyc/documents."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  if v_rec.level = 'enhanced' and not exists (select from app.kyc_documents d where d.kyc_record_id = v_rec.id
       and d.document_type = 'proof_of_address' and d.status in ('uploaded', 'accepted')) then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_DOCUMENTS_MISSING","message":"Upload a proof of address first.","hint":"Enhanced verification needs a proof of address (utility bill, bank statement) as well."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  update app.kyc_records r set status = 'in_review', submitted_at = now() where r.id = v_rec.id;
  perform app_private.refresh_kyc_risk(v_rec.id, now());
  perform audit.log_event('kyc.submitted', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id));
  select * into v_rec from app.kyc_records r where r.id = v_rec.id;
  return row(v_rec.id, v_rec.level, v_rec.status, v_rec.submitted_at, v_rec.created_at)::app.kyc_summary;
end
$function$;

CREATE OR REPLACE FUNCTION api.update_my_profile(first_name text DEFAULT NULL::text, last_name text DEFAULT NULL::text, phone text DEFAULT NULL::text, country_code text DEFAULT NULL::text, date_of_birth date DEFAULT NULL::date)
 RETURNS app.profile
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if date_of_birth > current_date then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_PROFILE","message":"The date of birth is in the future.","hint":"Give the date of birth as YYYY-MM-DD."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if update_my_profile.phone is not null
     and update_my_profile.phone is distinct from (select u.phone from app.users u where u.id = app.current_user_id()) then
    raise sqlstate 'PGRST' using
      message = '{"code":"PHONE_CHANGE_NEEDS_VERIFICATION","message":"A new phone number must be confirmed with a code sent to it.","hint":"Call /rpc/request_phone_change with the number (needs a recent sign-in with your second factor), then /rpc/confirm_phone_change with the code."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  update app.users u
     set first_name = coalesce(update_my_profile.first_name, u.first_name),
         last_name = coalesce(update_my_profile.last_name, u.last_name),
         country_code = coalesce(upper(update_my_profile.country_code), u.country_code),
         date_of_birth = coalesce(update_my_profile.date_of_birth, u.date_of_birth)
   where u.id = app.current_user_id();
  return api.me();
exception
  when check_violation or foreign_key_violation then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_PROFILE","message":"A profile field is not valid.","hint":"Countries ISO 3166-1 alpha-2 (DE), names 1 to 100 characters without control characters."}',
      detail = '{"status":400,"headers":{}}';
end
$function$;

CREATE OR REPLACE FUNCTION api.verify_audit_chain(from_at timestamp with time zone DEFAULT '-infinity'::timestamp with time zone, to_at timestamp with time zone DEFAULT 'infinity'::timestamp with time zone)
 RETURNS audit.chain_report
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_report audit.chain_report;
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may verify the audit trail.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  v_report := audit.verify_chain(from_at, to_at);
  perform audit.log_event('audit.chain.verified', null,
    jsonb_build_object('ok', v_report.ok, 'checked', v_report.checked, 'reason', v_report.reason), case when v_report.ok then 'info' else 'critical' end);
  return v_report;
end
$function$;

CREATE OR REPLACE FUNCTION app.assert_password_policy(password text)
 RETURNS void
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO ''
AS $function$
begin
  if password is null or char_length(normalize(password, nfkc)) < 12 then
    raise sqlstate 'PGRST' using
      message = '{"code":"WEAK_PASSWORD","message":"The password is too short.","hint":"Use at least 12 characters; a few unrelated words make a strong password."}',
      detail = '{"status":400,"headers":{}}';
  elsif char_length(password) > 256 then
    raise sqlstate 'PGRST' using
      message = '{"code":"WEAK_PASSWORD","message":"The password is too long.","hint":"Use at most 256 characters."}',
      detail = '{"status":400,"headers":{}}';
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION app.begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS TABLE(status text, config_id uuid, expires_at timestamp with time zone, retry_after_seconds integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_config app.mfa_configs;
  v_user app.users;
  v_challenge record;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_user from app.users u where u.id = begin_otp_enrollment.user_id;
  if method not in ('sms', 'email') or (method = 'sms' and v_user.phone is null) then
    raise sqlstate 'PGRST' using
      message = '{"code":"MFA_METHOD_NOT_AVAILABLE","message":"SMS needs a phone number on the profile; the method must be sms or email.","hint":"Add a phone number (request_phone_change) or use e-mail."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  insert into app.mfa_configs as c (user_id, method, status, label, phone, created_at)
  values (begin_otp_enrollment.user_id, method, 'pending', case method when 'sms' then 'Text message' else 'E-mail' end,
          case when method = 'sms' then v_user.phone end, now)
  on conflict on constraint mfa_configs_user_method_key do update
    set updated_at = now, phone = case when c.status = 'pending' then excluded.phone else c.phone end
  returning * into v_config;
  if v_config.status = 'active' then
    raise sqlstate 'PGRST' using
      message = '{"code":"MFA_ALREADY_ENROLLED","message":"This second factor is already set up.","hint":"Remove it first to set it up again."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  select * into v_challenge from app_private.create_challenge(v_config, null, code, sealed, now);
  if v_challenge.status = 'ok' then
    perform audit.log_event('mfa.enrolled', user_id, jsonb_build_object('method', method, 'config_id', v_config.id));
  end if;
  return query select v_challenge.status, v_config.id, v_challenge.expires_at, v_challenge.retry_after_seconds;
end
$function$;

CREATE OR REPLACE FUNCTION app.begin_passkey_authentication(purpose text, login_id uuid DEFAULT NULL::uuid, user_id uuid DEFAULT NULL::uuid, session_id uuid DEFAULT NULL::uuid, challenge text DEFAULT NULL::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS TABLE(status text, allow_credentials jsonb, expires_at timestamp with time zone)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_user uuid;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  if purpose = 'login' then
    select l.user_id into v_user from app_private.mfa_logins l
     where l.id = begin_passkey_authentication.login_id and l.consumed_at is null and l.expires_at > now;
    if v_user is null then
      return query select 'invalid_token', null::jsonb, null::timestamptz;
      return;
    end if;
  elsif purpose = 'step_up' then
    perform app_private.assert_live_session(user_id, session_id, now);
    v_user := user_id;
  elsif purpose <> 'passwordless' then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_INPUT","message":"Unknown purpose.","hint":"login, step_up or passwordless."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if v_user is not null and not exists (select from app.webauthn_credentials w where w.user_id = v_user) then
    return query select 'method_not_available', null::jsonb, null::timestamptz;
    return;
  end if;
  return query select 'ok',
    coalesce((select jsonb_agg(jsonb_build_object('id', w.credential_id, 'transports', w.transports))
                from app.webauthn_credentials w where w.user_id = v_user), '[]'::jsonb),
    app_private.store_webauthn_challenge(challenge, purpose, v_user,
      case when purpose = 'login' then login_id end, case when purpose = 'step_up' then session_id end, now);
end
$function$;

CREATE OR REPLACE FUNCTION app.begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text, label text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_config app.mfa_configs;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  -- One enrolment of a user at a time: the select below finds nothing to lock when no row exists yet.
  perform from app.users u where u.id = begin_totp_enrollment.user_id for no key update;
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_config from app.mfa_configs c where c.user_id = begin_totp_enrollment.user_id and c.method = 'totp' for update;
  if v_config.status = 'active' then
    raise sqlstate 'PGRST' using
      message = '{"code":"MFA_ALREADY_ENROLLED","message":"An authenticator app is already set up.","hint":"Remove it first (disable_mfa_method) to set up a new one."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  -- A new enrolment replaces an unconfirmed one (and its secret).
  delete from app.mfa_configs c where c.id = v_config.id;
  begin
    insert into app.mfa_configs (user_id, method, status, label, device_fingerprint, created_at)
    values (begin_totp_enrollment.user_id, 'totp', 'pending', coalesce(nullif(label, ''), 'Authenticator app'),
            left(device_fingerprint, 256), now)
    returning * into v_config;
    insert into app_private.mfa_secrets (config_id, ciphertext, key_id) values (v_config.id, secret_ciphertext, key_id);
  exception when check_violation then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_INPUT","message":"The label or the encrypted secret is not valid.","hint":"Labels are 1 to 100 characters without control characters."}',
      detail = '{"status":400,"headers":{}}';
  end;
  perform audit.log_event('mfa.enrolled', user_id, jsonb_build_object('method', 'totp', 'config_id', v_config.id));
  return v_config.id;
end
$function$;

CREATE OR REPLACE FUNCTION app.begin_watchlist_load(name text, version text, source text DEFAULT NULL::text)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_list app.watchlists;
begin
  if not pg_catalog.pg_try_advisory_xact_lock(
       pg_catalog.hashtextextended('watchlist_load:' || begin_watchlist_load.name || E'\n' || begin_watchlist_load.version, 0)) then
    raise sqlstate 'PGRST' using
      message = '{"code":"WATCHLIST_LOAD_IN_PROGRESS","message":"Another load of this watchlist version is running.","hint":"Wait for it to finish: a version that is loaded is skipped when loaded again."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  select * into v_list from app.watchlists w where w.name = begin_watchlist_load.name and w.version = begin_watchlist_load.version for update;
  if found and v_list.status = 'loaded' then
    return null;
  elsif found then
    delete from app.watchlist_entries e where e.watchlist_id = v_list.id;
    return v_list.id;
  end if;
  insert into app.watchlists as w (name, version, source) values (begin_watchlist_load.name, begin_watchlist_load.version, left(source, 500))
  returning w.id into v_list.id;
  return v_list.id;
end
$function$;

CREATE OR REPLACE FUNCTION app.finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS TABLE(status text, passkey_id uuid, backup_codes text[])
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_config_id uuid;
  v_id uuid;
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  -- One passkey registration of a user at a time: two at once would each find no
  -- backup codes and each show a set, the first of which the second replaces.
  perform from app.users u where u.id = finish_passkey_registration.user_id for no key update;
  perform app_private.assert_live_session(user_id, session_id, now);
  perform app_private.assert_may_manage_mfa(user_id, now);
  if not app_private.take_webauthn_challenge(challenge, 'register', user_id, null, session_id, now) then
    perform audit.log_event('mfa.passkey.registration_failed', user_id, jsonb_build_object('reason', 'invalid_challenge'), 'warning');
    return query select 'invalid_challenge', null::uuid, null::text[];
    return;
  end if;
  if exists (select from app.webauthn_credentials w where w.credential_id = finish_passkey_registration.credential_id) then
    return query select 'already_registered', null::uuid, null::text[];
    return;
  end if;
  insert into app.mfa_configs as c (user_id, method, status, label, created_at, confirmed_at)
  values (user_id, 'webauthn', 'active', 'Passkeys', now, now)
  on conflict on constraint mfa_configs_user_method_key do update set updated_at = now
  returning c.id into v_config_id;
  begin
    insert into app.webauthn_credentials (user_id, config_id, credential_id, public_key, sign_count, transports, label,
                                          device_type, backed_up, created_at)
    values (user_id, v_config_id, credential_id, public_key, greatest(coalesce(sign_count, 0), 0), coalesce(transports, '{}'),
            coalesce(nullif(left(label, 100), ''), 'Passkey'), device_type, coalesce(backed_up, false), now)
    returning id into v_id;
  exception when unique_violation then
    -- The same credential registered at this very moment by another request: the
    -- gateway's answer for 'already_registered', raised so the factor row goes too.
    raise sqlstate 'PGRST' using
      message = '{"code":"PASSKEY_ALREADY_REGISTERED","message":"This passkey is already registered.","hint":"Use it to sign in, or register another one."}',
      detail = '{"status":400,"headers":{}}';
  when check_violation then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_INPUT","message":"The passkey''s data is not valid.","hint":"Labels are 1 to 100 characters without control characters."}',
      detail = '{"status":400,"headers":{}}';
  end;
  if not exists (select from app.mfa_configs c where c.user_id = finish_passkey_registration.user_id and c.method = 'backup_codes') then
    v_codes := app_private.issue_backup_codes(user_id, now);
    perform audit.log_event('mfa.backup_codes.generated', user_id, jsonb_build_object('count', 10));
  end if;
  perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  perform app.record_mfa_attempt(user_id, 'webauthn', 'success', 'enroll', v_config_id, ip, user_agent, null, now);
  perform audit.log_event('mfa.passkey.registered', user_id, jsonb_build_object('passkey_id', v_id, 'config_id', v_config_id));
  return query select 'ok', v_id, v_codes;
end
$function$;

CREATE OR REPLACE FUNCTION app.issue_device_cookie(user_id uuid, session_id uuid, presented text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS text
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_token text;
begin
  if not exists (select from app.user_sessions s
                  where s.id = issue_device_cookie.session_id and s.user_id = issue_device_cookie.user_id
                    and s.revoked_at is null and s.expires_at > now and s.created_at > now - interval '5 minutes') then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"No fresh session of this user has this id.","hint":"A device cookie is issued only right after a sign-in."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  if presented is not null and char_length(presented) between 16 and 128 then
    update app_private.device_cookies d
       set last_used_at = now, expires_at = now + make_interval(days => app.setting('device_cookie_days')::integer)
     where d.token_hash = app_private.token_hash(presented) and d.user_id = issue_device_cookie.user_id
       and d.revoked_at is null and d.expires_at > now;
    if found then
      return presented;
    end if;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('device_cookies:' || issue_device_cookie.user_id::text, 0));
  -- Expired and revoked cookies go, and live ones beyond the newest (limit - 1),
  -- to make room for the new one.
  delete from app_private.device_cookies d
   where d.user_id = issue_device_cookie.user_id
     and (d.expires_at <= now or d.revoked_at is not null
          or d.token_hash in (select k.token_hash from app_private.device_cookies k
                               where k.user_id = issue_device_cookie.user_id and k.expires_at > now and k.revoked_at is null
                               order by coalesce(k.last_used_at, k.created_at) desc
                              offset greatest(app.setting('device_cookies_per_user')::integer - 1, 0)));
  v_token := app_private.new_token();
  insert into app_private.device_cookies (token_hash, user_id, created_at, expires_at)
  values (app_private.token_hash(v_token), issue_device_cookie.user_id, now,
          now + make_interval(days => app.setting('device_cookie_days')::integer));
  return v_token;
end
$function$;

CREATE OR REPLACE FUNCTION app.kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text)
 RETURNS TABLE(id uuid, user_id uuid, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_doc app.kyc_documents;
  v_officer boolean;
begin
  perform app.set_request_context(actor_id, session_id, ip, user_agent);
  select * into v_doc from app.kyc_documents d where d.id = kyc_document_for_download.document_id;
  select u.role = 'compliance_officer' into v_officer from app.users u
   where u.id = kyc_document_for_download.actor_id and u.status = 'active' and u.deleted_at is null;
  if v_doc.id is null or not (v_doc.user_id = actor_id or coalesce(v_officer, false)) then
    if v_doc.id is not null then
      perform audit.log_event('kyc.document_access_denied', v_doc.user_id, jsonb_build_object('document_id', v_doc.id), 'warning');
    end if;
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_DOCUMENT_NOT_FOUND","message":"No document you may see has this id.","hint":"Documents are shown to their owner and to compliance officers."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  perform audit.log_event('kyc.document_read', v_doc.user_id,
    jsonb_build_object('document_id', v_doc.id, 'by_officer', v_doc.user_id <> actor_id));
  return query select v_doc.id, v_doc.user_id, v_doc.mime_type, v_doc.size_bytes, v_doc.sha256, o.storage_ref, o.key_id
                 from app_private.kyc_document_objects o where o.document_id = v_doc.id;
end
$function$;

CREATE OR REPLACE FUNCTION app.regenerate_backup_codes(user_id uuid, session_id uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS text[]
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_recent_auth(true, now);
  if app_private.request_session_id() is null
     or (select s.user_id from app.user_sessions s where s.id = app_private.request_session_id()) is distinct from user_id then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"You may only manage your own second factors.","hint":"Sign in as the account owner."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if not exists (select from app.mfa_configs c where c.user_id = regenerate_backup_codes.user_id and c.status = 'active'
                   and c.method <> 'backup_codes') then
    raise sqlstate 'PGRST' using
      message = '{"code":"MFA_NOT_ENROLLED","message":"Backup codes need another second factor.","hint":"Set up an authenticator app first."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  v_codes := app_private.issue_backup_codes(user_id, now);
  perform audit.log_event('mfa.backup_codes.regenerated', user_id, jsonb_build_object('count', 10), 'warning');
  return v_codes;
end
$function$;

CREATE OR REPLACE FUNCTION app.register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text, issuing_country text DEFAULT NULL::text, document_number text DEFAULT NULL::text, expires_on date DEFAULT NULL::date, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
declare
  v_rec app.kyc_records;
  v_id uuid;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  if not exists (select from app.user_sessions s where s.id = register_kyc_document.session_id
                   and s.user_id = register_kyc_document.user_id and s.aal = 'aal2' and s.revoked_at is null
                   and s.expires_at > register_kyc_document.now) then
    raise sqlstate 'PGRST' using
      message = '{"code":"STEP_UP_REQUIRED","message":"Uploading documents needs a session confirmed with your second factor.","hint":"Set up a second factor and sign in with it (or step up with POST /auth/mfa/step-up)."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  select * into v_rec from app.kyc_records r
   where r.id = register_kyc_document.kyc_id and r.user_id = register_kyc_document.user_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_NOT_FOUND","message":"No verification of yours has this id.","hint":"Start a verification first (initiate_kyc_verification)."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_rec.status not in ('pending', 'requires_resubmission') then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_TRANSITION","message":"This verification takes no more documents.","hint":"Documents are uploaded while a verification is pending or needs resubmission."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  if size_bytes is null or size_bytes > app.setting('kyc_max_document_bytes')::integer then
    raise sqlstate 'PGRST' using
      message = '{"code":"PAYLOAD_TOO_LARGE","message":"The document is too large.","hint":"Upload at most 10 MiB."}',
      detail = '{"status":413,"headers":{}}';
  end if;
  if (select count(*) from app.kyc_documents d where d.kyc_record_id = v_rec.id)
       >= app.setting('kyc_max_documents_per_verification')::integer
     or (select count(*) from app.kyc_documents d where d.user_id = register_kyc_document.user_id)
       >= app.setting('kyc_max_documents_per_user')::integer then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_DOCUMENT_LIMIT","message":"Too many documents.","hint":"A verification takes at most 10 documents; contact support if you need more."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  if expires_on is not null and expires_on <= now::date then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_DOCUMENT_EXPIRED","message":"The document has expired.","hint":"Upload a document that is still valid."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  begin
    insert into app.kyc_documents as d (kyc_record_id, user_id, document_type, issuing_country, document_number, expires_on,
                                        mime_type, size_bytes, sha256)
    values (v_rec.id, register_kyc_document.user_id, document_type, upper(issuing_country),
            upper(replace(btrim(document_number), ' ', '')), expires_on, mime_type, size_bytes, sha256)
    returning d.id into v_id;
  exception when check_violation or foreign_key_violation or not_null_violation then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_DATA","message":"Some document data is missing or not valid.","hint":"Identity documents need issuing_country (ISO alpha-2), document_number and expires_on; files are PDF, JPEG or PNG."}',
      detail = '{"status":400,"headers":{}}';
  end;
  insert into app_private.kyc_document_objects (document_id, storage_ref, key_id) values (v_id, storage_ref, key_id);
  perform app_private.refresh_kyc_risk(v_rec.id, now);
  perform audit.log_event('kyc.document_uploaded', register_kyc_document.user_id,
    jsonb_build_object('kyc_id', v_rec.id, 'document_id', v_id, 'document_type', document_type, 'mime_type', mime_type,
                       'size_bytes', size_bytes));
  return v_id;
end
$function$;

CREATE OR REPLACE FUNCTION app.request_email_change(user_id uuid, session_id uuid, new_email text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS TABLE(status text, expires_at timestamp with time zone, retry_after_seconds integer)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
AS $function$
declare
  v_user app.users;
  v_token record;
  v_sent integer;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_own_session(user_id, session_id);
  perform app_private.assert_live_session(user_id, session_id, now);
  perform app.assert_step_up(now);
  if not coalesce(app.is_email_address(new_email), false) then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_EMAIL","message":"The e-mail address is not valid.","hint":"Give an address like name@example.com."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  select * into v_user from app.users u where u.id = request_email_change.user_id for update;
  if v_user.email = new_email::extensions.citext then
    raise sqlstate 'PGRST' using
      message = '{"code":"EMAIL_UNCHANGED","message":"This is already the account''s address.","hint":"Give a different address."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  select count(*) into v_sent from app_private.account_tokens t
   where t.user_id = request_email_change.user_id and t.purpose = 'email_change' and t.created_at > now - interval '1 hour';
  if v_sent >= app.setting('email_change_limit')::integer then
    perform audit.log_event('account.email_change.throttled', user_id, jsonb_build_object('sent', v_sent), 'warning');
    return query select 'rate_limited', null::timestamptz, 3600;
    return;
  end if;
  select * into v_token from app_private.issue_account_token(user_id, 'email_change', new_email,
    make_interval(hours => app.setting('email_change_hours')::integer), now, session_id);
  if exists (select from app.users u where u.email = new_email::extensions.citext and u.deleted_at is null) then
    -- Same answer, but nothing is sent: the change could never be confirmed.
    update app_private.account_tokens t set revoked_at = now where t.token_hash = app_private.token_hash(v_token.token);
    perform audit.log_event('account.email_change.address_taken', user_id,
      jsonb_build_object('new_email', app_private.fingerprint(new_email)), 'warning');
    return query select 'ok', v_token.expires_at, null::integer;
    return;
  end if;
  perform app_private.queue_email(user_id, 'email_change_confirm',
    jsonb_build_object('to', new_email, 'token', v_token.token, 'expires_at', v_token.expires_at), now);
  perform app_private.queue_email(user_id, 'email_change_requested',
    jsonb_build_object('new_email', regexp_replace(new_email, '^(.).*(@.*)$', '\1***\2'), 'at', now), now);
  perform audit.log_event('account.email_change.requested', user_id,
    jsonb_build_object('new_email', app_private.fingerprint(new_email), 'expires_at', v_token.expires_at), 'warning');
  return query select 'ok', v_token.expires_at, null::integer;
end
$function$;

CREATE OR REPLACE FUNCTION app.revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now())
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO ''
AS $function$
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_live_session(user_id, session_id, now);
  if target is distinct from session_id then
    perform app.assert_step_up(now);
  end if;
  update app.user_sessions s set revoked_at = now, revoked_reason = 'revoked_by_user'
   where s.id = revoke_account_session.target and s.user_id = revoke_account_session.user_id and s.revoked_at is null;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_NOT_FOUND","message":"No live session of yours has this id.","hint":"List your sessions with GET /auth/sessions."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  update app_private.account_tokens t set revoked_at = now
   where t.session_id = revoke_account_session.target and t.consumed_at is null and t.revoked_at is null;
  perform audit.log_event('session.revoked', user_id, jsonb_build_object('session_id', target));
  return true;
end
$function$;

CREATE OR REPLACE FUNCTION app.set_user_role(email text, role text)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
AS $function$
declare
  v_user_id uuid;
begin
  update app.users u set role = set_user_role.role
   where u.email = set_user_role.email::extensions.citext and u.deleted_at is null
   returning u.id into v_user_id;
  if v_user_id is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"USER_NOT_FOUND","message":"No account has this e-mail address.","hint":"Check the address; the account must exist and not be deleted."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  perform audit.log_event('user.role_changed', v_user_id, jsonb_build_object('role', role, 'by', session_user), 'warning');
  -- Tokens carry the role: end the sessions so the new one applies from the next sign-in.
  perform api.revoke_user_sessions(v_user_id, 'role_changed');
  return v_user_id;
end
$function$;

CREATE OR REPLACE FUNCTION app.signup(email text, password text, phone text DEFAULT NULL::text, country_code text DEFAULT NULL::text, first_name text DEFAULT NULL::text, last_name text DEFAULT NULL::text, referral_code text DEFAULT NULL::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text)
 RETURNS uuid
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
AS $function$
declare
  v_user_id uuid;
  v_referrer uuid;
  v_hash text;
  v_registered boolean;
  v_retry integer;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  perform app.assert_password_policy(password);
  if not coalesce(app.is_email_address(signup.email), false) then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_EMAIL","message":"The e-mail address is not valid.","hint":"Give an address like name@example.com."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  if signup.referral_code is not null then
    select u.id into v_referrer from app.users u
     where u.referral_code = upper(signup.referral_code) and u.deleted_at is null;
    if v_referrer is null then
      raise sqlstate 'PGRST' using
        message = '{"code":"INVALID_REFERRAL_CODE","message":"The referral code is not known.","hint":"Check the code, or sign up without one."}',
        detail = '{"status":400,"headers":{}}';
    end if;
  end if;

  -- One sign-up of an address at a time: the look-up below and the insert after it hold.
  perform pg_advisory_xact_lock(hashtextextended('app.signup:' || lower(signup.email), 0));
  v_registered := exists (select from app.users u where u.email = signup.email::extensions.citext and u.deleted_at is null);
  begin
    insert into app.users (email, phone, country_code, first_name, last_name, referred_by)
    values (case when v_registered then 'signup-probe-' || gen_random_uuid() || '@signup.invalid' else signup.email end,
            nullif(signup.phone, ''), upper(nullif(signup.country_code, '')), nullif(signup.first_name, ''),
            nullif(signup.last_name, ''), v_referrer)
    returning id into v_user_id;
    if v_registered then
      -- The profile passed every constraint: undo the throwaway row (and what its triggers wrote).
      raise exception using errcode = 'DWB01';
    end if;
  exception
    when sqlstate 'DWB01' then
      v_user_id := null;
    when check_violation or foreign_key_violation or string_data_right_truncation or not_null_violation then
      raise sqlstate 'PGRST' using
        message = '{"code":"INVALID_PROFILE","message":"A profile field is not valid.","hint":"Phone numbers are E.164 (+4915112345678), countries ISO 3166-1 alpha-2 (DE), names 1 to 100 characters."}',
        detail = '{"status":400,"headers":{}}';
  end;

  -- Valid: now it costs a bcrypt hash, so it counts against the client's sign-up limit.
  if ip is not null then
    v_retry := app_private.count_signup(ip, now());
    if v_retry > 0 then
      raise sqlstate 'PGRST' using
        message = '{"code":"TOO_MANY_REQUESTS","message":"Too many sign-ups from this network.","hint":"Wait for the time in Retry-After before trying again."}',
        detail = format('{"status":429,"headers":{"Retry-After":"%s"}}', v_retry);
    end if;
  end if;
  v_hash := app_private.hash_password(password);
  if v_registered then
    -- Same answer, same work as a new account: sign-up never reveals that an address is registered.
    perform audit.log_event('auth.signup.duplicate', null, jsonb_build_object('email', app_private.fingerprint(signup.email)), 'info');
    return gen_random_uuid();
  end if;
  perform app.set_request_context(v_user_id, null, ip, user_agent);
  insert into app_private.user_secrets (user_id, password_hash) values (v_user_id, v_hash);
  update app.users set password_changed_at = now() where id = v_user_id;
  perform audit.log_event('auth.signup', v_user_id, jsonb_build_object('referred', v_referrer is not null));
  return v_user_id;
end
$function$;

CREATE OR REPLACE FUNCTION app.tg__read_only_view()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise sqlstate 'PGRST' using
    message = '{"code":"READ_ONLY_VIEW","message":"This view is read-only.","hint":"Use the functions of the API to change data."}',
    detail = '{"status":403,"headers":{}}';
end
$function$;

CREATE OR REPLACE FUNCTION app.tg_kyc_records__transition()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  if tg_op = 'INSERT' then
    if new.status <> 'pending' then
      raise sqlstate 'PGRST' using
        message = '{"code":"KYC_INVALID_TRANSITION","message":"A verification starts as pending.","hint":"Start a verification with initiate_kyc_verification."}',
        detail = '{"status":409,"headers":{}}';
    end if;
    return new;
  end if;
  if new.user_id <> old.user_id or new.level <> old.level or new.created_at <> old.created_at then
    raise sqlstate 'PGRST' using
      message = '{"code":"KYC_INVALID_TRANSITION","message":"The owner, level and creation time of a verification never change.","hint":"Start a new verification instead."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  if new.status <> old.status and not (
       (old.status = 'pending' and new.status in ('in_review', 'rejected', 'requires_resubmission', 'expired'))
    or (old.status = 'in_review' and new.status in ('approved', 'rejected', 'requires_resubmission'))
    or (old.status = 'requires_resubmission' and new.status in ('pending', 'in_review', 'rejected', 'expired'))
    or (old.status = 'approved' and new.status = 'expired')) then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'KYC_INVALID_TRANSITION', 'message', format('A verification cannot go from %s to %s.', old.status, new.status), 'hint', 'Approved verifications can only expire; rejected and expired ones are final.')::text,
      detail = '{"status":409,"headers":{}}';
  end if;
  return new;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_email_verified(user_id uuid, action text)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if not exists (select from app.users u where u.id = assert_email_verified.user_id and u.email_verified_at is not null) then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'EMAIL_NOT_VERIFIED', 'message', 'Verify your e-mail address first.', 'hint', format('Open the link in the verification e-mail (or request a new one: POST /auth/email/resend), then %s.', action))::text,
      detail = '{"status":403,"headers":{}}';
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_kyc_writable()
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if pg_catalog.current_setting('transaction_read_only') = 'on' then
    raise sqlstate 'PGRST' using
      message = '{"code":"METHOD_NOT_ALLOWED","message":"This call changes data.","hint":"Use POST."}',
      detail = '{"status":405,"headers":{}}';
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_live_session(user_id uuid, session_id uuid, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if not exists (select from app.user_sessions s
                  where s.id = assert_live_session.session_id and s.user_id = assert_live_session.user_id
                    and s.revoked_at is null and s.expires_at > now and s.idle_expires_at > now) then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_ENDED","message":"The session of this token has ended.","hint":"Sign in again."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_may_manage_mfa(user_id uuid, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_session_user uuid;
begin
  perform from app.users u where u.id = assert_may_manage_mfa.user_id for no key update;
  v_session_user := app_private.assert_recent_auth(
    exists (select from app.mfa_configs c where c.user_id = assert_may_manage_mfa.user_id and c.status = 'active'), now);
  if v_session_user is distinct from user_id then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"You may only manage your own second factors.","hint":"Sign in as the account owner."}',
      detail = '{"status":403,"headers":{}}';
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_own_session(user_id uuid, session_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if session_id is null or (select s.user_id from app.user_sessions s where s.id = assert_own_session.session_id) is distinct from user_id then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"You may only change your own account.","hint":"Sign in as the account owner."}',
      detail = '{"status":403,"headers":{}}';
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_recent_auth(require_aal2 boolean, now timestamp with time zone)
 RETURNS uuid
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_session app.user_sessions;
begin
  now := app.clock(now);  -- API roles cannot move the step-up clock
  select * into v_session from app.user_sessions s where s.id = app_private.request_session_id();
  if not found or v_session.revoked_at is not null or v_session.expires_at <= now or v_session.idle_expires_at <= now then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_ENDED","message":"The session of this token has ended.","hint":"Sign in again."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  if v_session.auth_time < now - make_interval(mins => app.setting('step_up_minutes')::integer)
     or (require_aal2 and v_session.aal <> 'aal2') then
    raise sqlstate 'PGRST' using
      message = '{"code":"STEP_UP_REQUIRED","message":"This action needs a recent sign-in with your second factor.","hint":"Confirm with a code (POST /auth/mfa/step-up), or sign in again, then retry within 10 minutes."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return v_session.user_id;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_recovery_staff()
 RETURNS uuid
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') or app.current_user_id() is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only compliance officers and admins handle account recoveries.","hint":"Ask a staff member."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  if app.current_aal() <> 'aal2' then
    raise sqlstate 'PGRST' using
      message = '{"code":"STEP_UP_REQUIRED","message":"This action needs a recent sign-in with your second factor.","hint":"Sign in with your second factor (or POST /auth/mfa/step-up), then retry."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return app.current_user_id();
end
$function$;

CREATE OR REPLACE FUNCTION app_private.assert_staff()
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Reports are for staff.","hint":"Ask a compliance officer or an admin."}',
      detail = '{"status":403,"headers":{}}';
  end if;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.close_recovery(recovery_id uuid, status text, by_user uuid, reason text, now timestamp with time zone)
 RETURNS app.account_recoveries
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_recovery app.account_recoveries;
begin
  update app.account_recoveries r
     set status = close_recovery.status, closed_at = now, closed_by = by_user, closed_reason = left(close_recovery.reason, 500)
   where r.id = close_recovery.recovery_id and r.status in ('pending', 'approved')
  returning * into v_recovery;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"RECOVERY_NOT_PENDING","message":"This recovery is not open.","hint":"It was already completed, cancelled or rejected."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = v_recovery.user_id and t.purpose = 'recovery_cancel' and t.consumed_at is null and t.revoked_at is null;
  perform app_private.queue_email(v_recovery.user_id, 'account_recovery_' || close_recovery.status,
    jsonb_build_object('recovery_id', v_recovery.id), now);
  perform audit.log_event('account.recovery.' || close_recovery.status, v_recovery.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'by', by_user), 'warning');
  return v_recovery;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.complete_recovery(recovery_id uuid, by_user uuid, now timestamp with time zone)
 RETURNS app.account_recoveries
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_recovery app.account_recoveries;
  v_factors integer;
begin
  select * into v_recovery from app.account_recoveries r where r.id = complete_recovery.recovery_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"RECOVERY_NOT_FOUND","message":"No account recovery has this id.","hint":"Check the id."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if v_recovery.status <> 'approved' or v_recovery.second_approved_at is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"RECOVERY_NOT_APPROVED","message":"This recovery has not been approved by two staff members.","hint":"Two different staff members must approve it first."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  -- not_before is set by the second approval (approval + the waiting period).
  if v_recovery.not_before > now then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'RECOVERY_WAITING', 'message', 'The waiting period of this recovery has not ended.', 'hint', format('Complete it after %s.', v_recovery.not_before))::text,
      detail = '{"status":409,"headers":{}}';
  end if;
  -- Secrets, backup codes, challenges and passkeys go with their factor (on delete cascade).
  delete from app.mfa_configs c where c.user_id = v_recovery.user_id;
  get diagnostics v_factors = row_count;
  perform app_private.revoke_trusted_devices(v_recovery.user_id, 'account_recovery');
  -- Internal revocation: whoever completes it (officer, admin, the scheduler) may end the customer's sessions.
  perform app_private.revoke_sessions(v_recovery.user_id, 'account_recovery', null, now);
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = v_recovery.user_id and t.purpose = 'recovery_cancel' and t.consumed_at is null and t.revoked_at is null;
  update app_private.mfa_logins l set consumed_at = now where l.user_id = v_recovery.user_id and l.consumed_at is null;
  update app.account_recoveries r set status = 'completed', closed_at = now, closed_by = by_user
   where r.id = v_recovery.id
  returning * into v_recovery;
  perform app_private.queue_email(v_recovery.user_id, 'account_recovery_completed', jsonb_build_object('recovery_id', v_recovery.id), now);
  perform audit.log_event('account.recovery.completed', v_recovery.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'factors_removed', v_factors, 'by', by_user), 'critical');
  return v_recovery;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamp with time zone)
 RETURNS TABLE(status text, challenge_id uuid, expires_at timestamp with time zone, retry_after_seconds integer)
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_window integer := app.setting('mfa_window_seconds')::integer;
  v_sent integer;
  v_oldest timestamptz;
  v_id uuid;
  v_expires timestamptz := now + make_interval(mins => app.setting('mfa_code_minutes')::integer);
begin
  if code !~ '^[0-9]{6}$' or sealed is null or length(sealed) > 2048 then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_INPUT","message":"The code must be 6 digits and sealed.","hint":"The gateway generates and seals the code."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('mfa_challenge:' || (config).user_id::text, 0));
  select count(*), min(c.created_at) into v_sent, v_oldest from app_private.mfa_challenges c
   where c.user_id = (config).user_id and c.created_at > now - make_interval(secs => v_window);
  if v_sent >= app.setting('mfa_challenge_limit')::integer then
    return query select 'rate_limited', null::uuid, null::timestamptz,
      greatest(1, ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now))))::integer;
    return;
  end if;
  -- A new code replaces any earlier live one for the same factor.
  update app_private.mfa_challenges c set consumed_at = now
   where c.config_id = (config).id and c.consumed_at is null and c.locked_at is null;
  insert into app_private.mfa_challenges (user_id, config_id, method, login_id, code_hash, created_at, expires_at)
  values ((config).user_id, (config).id, (config).method, login_id, app_private.mfa_code_hash(code), now, v_expires)
  returning id into v_id;
  -- An SMS code goes to the factor's own number, never to whatever the profile says now.
  insert into app_private.outbox (user_id, channel, template, payload, created_at)
  values ((config).user_id, (config).method, 'mfa_code',
          jsonb_build_object('challenge_id', v_id, 'expires_at', v_expires, 'sealed', sealed)
            || case when (config).method = 'sms' then jsonb_build_object('to', (config).phone) else '{}' end, now);
  perform audit.log_event('mfa.challenge.sent', (config).user_id,
    jsonb_build_object('method', (config).method, 'challenge_id', v_id, 'expires_at', v_expires));
  return query select 'ok', v_id, v_expires, null::integer;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.disable_mfa_method(user_id uuid, method text, now timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_config app.mfa_configs;
  v_others integer;
begin
  select * into v_config from app.mfa_configs c
   where c.user_id = disable_mfa_method.user_id and c.method = disable_mfa_method.method
   for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"MFA_METHOD_NOT_FOUND","message":"This second factor is not set up.","hint":"List the factors with /rpc/get_user_mfa_methods."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  select count(*) into v_others from app.mfa_configs c
   where c.user_id = disable_mfa_method.user_id and c.status = 'active' and c.id <> v_config.id and c.method <> 'backup_codes';
  if v_config.status = 'active' and v_config.method <> 'backup_codes' and v_others = 0
     and app.mfa_policy_required(disable_mfa_method.user_id) then
    raise sqlstate 'PGRST' using
      message = '{"code":"MFA_REQUIRED_BY_POLICY","message":"The account''s policy requires a second factor; this is the last one.","hint":"Set up another factor first, then remove this one."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  delete from app.mfa_configs c where c.id = v_config.id;
  -- Backup codes only back up another factor: they go with the last one.
  if v_others = 0 then
    delete from app.mfa_configs c where c.user_id = disable_mfa_method.user_id and c.method = 'backup_codes';
  end if;
  perform app_private.revoke_trusted_devices(disable_mfa_method.user_id, 'mfa_changed');
  if v_config.status = 'active' then
    perform app_private.queue_email(disable_mfa_method.user_id, 'mfa_disabled',
      jsonb_build_object('method', v_config.method, 'last_factor', v_others = 0 and v_config.method <> 'backup_codes', 'at', now), now);
  end if;
  perform audit.log_event('mfa.disabled', disable_mfa_method.user_id,
    jsonb_build_object('method', v_config.method, 'config_id', v_config.id, 'by', app.caller_role(), 'last_factor', v_others = 0), 'warning');
  return true;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.kyc_precondition(user_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
begin
  if not exists (select from app.users u where u.id = kyc_precondition.user_id and u.status = 'active' and u.deleted_at is null) then
    raise sqlstate 'PGRST' using
      message = '{"code":"ACCOUNT_NOT_ACTIVE","message":"Only an active account can be verified.","hint":"Contact support if your account is suspended."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  perform app_private.assert_email_verified(user_id, 'start the verification of your identity');
end
$function$;

CREATE OR REPLACE FUNCTION app_private.remove_passkey(user_id uuid, passkey_id uuid, now timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_cred app.webauthn_credentials;
begin
  perform app_private.assert_recent_auth(true, now);
  select * into v_cred from app.webauthn_credentials w
   where w.id = remove_passkey.passkey_id and w.user_id = remove_passkey.user_id for update;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"PASSKEY_NOT_FOUND","message":"No passkey of yours has this id.","hint":"List them with /rpc/my_passkeys."}',
      detail = '{"status":404,"headers":{}}';
  end if;
  if (select count(*) from app.webauthn_credentials w where w.config_id = v_cred.config_id) = 1 then
    perform app_private.disable_mfa_method(user_id, 'webauthn', now);
  else
    delete from app.webauthn_credentials w where w.id = v_cred.id;
    perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  end if;
  perform audit.log_event('mfa.passkey.removed', user_id, jsonb_build_object('passkey_id', v_cred.id), 'warning');
  return true;
end
$function$;

CREATE OR REPLACE FUNCTION app_private.request_account_deletion(user_id uuid, now timestamp with time zone DEFAULT now())
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_erase_after timestamptz := now + make_interval(days => app.setting('erasure_grace_days')::integer);
  v_sessions integer;
begin
  update app.users u set status = 'deleted', deleted_at = now
   where u.id = request_account_deletion.user_id and u.deleted_at is null;
  if not found then
    raise sqlstate 'PGRST' using
      message = '{"code":"ACCOUNT_DELETED","message":"This account is already deleted.","hint":"The account will be erased at the end of its grace period."}',
      detail = '{"status":409,"headers":{}}';
  end if;
  update app.user_sessions s set revoked_at = now, revoked_reason = 'account_deleted'
   where s.user_id = request_account_deletion.user_id and s.revoked_at is null;
  get diagnostics v_sessions = row_count;
  perform app_private.revoke_trusted_devices(user_id, 'account_deleted');
  insert into app_private.account_erasures (user_id, requested_at, erase_after, kyc_retained_until)
  values (user_id, now, v_erase_after, now + make_interval(years => app.setting('kyc_retention_years')::integer))
  on conflict on constraint account_erasures_pkey do update
    set requested_at = excluded.requested_at, erase_after = excluded.erase_after, erased_at = null,
        kyc_retained_until = excluded.kyc_retained_until;
  perform audit.log_event('gdpr.deletion_requested', user_id,
    jsonb_build_object('erase_after', v_erase_after, 'sessions_revoked', v_sessions), 'warning');
  return jsonb_build_object('status', 'deleted', 'erase_after', v_erase_after);
end
$function$;

CREATE OR REPLACE FUNCTION app_private.run_job(job text, now timestamp with time zone DEFAULT now())
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_run bigint;
  v_result jsonb;
  v_error text;
begin
  if not exists (select from app_private.maintenance_jobs() j where j.job = run_job.job) then
    raise sqlstate 'PGRST' using
      message = '{"code":"UNKNOWN_JOB","message":"There is no maintenance job with this name.","hint":"Jobs: seal, checkpoint, partitions, sessions, kyc_expiry, reports, retention, erasure, recoveries."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  insert into audit.job_runs (job, run_by) values (run_job.job, app.caller_role()) returning id into v_run;
  begin
    v_result := case run_job.job
      when 'seal' then jsonb_build_object('sealed', audit.seal())
      when 'checkpoint' then (select jsonb_build_object('checkpoint_id', c.id, 'head_seq', c.head_seq) from audit.checkpoint() c)
      when 'partitions' then jsonb_build_object('created', audit.create_partitions(3, now))
      when 'sessions' then jsonb_build_object('changed', app.cleanup_expired_sessions(now))
      when 'kyc_expiry' then app_private.run_kyc_expiry()
      when 'reports' then jsonb_build_object('refreshed', app_private.refresh_reports())
      when 'retention' then app_private.apply_retention(now)
      when 'erasure' then app_private.erase_due_accounts(now)
      when 'recoveries' then jsonb_build_object('completed', app.complete_due_account_recoveries(now))
    end;
    update audit.job_runs r set finished_at = clock_timestamp(), status = 'succeeded', result = v_result where r.id = v_run;
  exception when others then
    get stacked diagnostics v_error = message_text;
    update audit.job_runs r set finished_at = clock_timestamp(), status = 'failed', error = left(v_error, 1000) where r.id = v_run;
    perform audit.log_event('maintenance.job_failed', null, jsonb_build_object('job', run_job.job, 'run_id', v_run), 'critical');
    v_result := jsonb_build_object('error', left(v_error, 1000));
  end;
  return jsonb_build_object('job', run_job.job, 'run_id', v_run,
                            'status', (select r.status from audit.job_runs r where r.id = v_run)) || jsonb_build_object('result', v_result);
end
$function$;

CREATE OR REPLACE FUNCTION app_private.store_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid, now timestamp with time zone)
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_expires timestamptz := now + make_interval(mins => app.setting('webauthn_challenge_minutes')::integer);
begin
  if challenge is null or challenge !~ '^[A-Za-z0-9_-]{22,128}$' then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_INPUT","message":"The challenge is not valid.","hint":"The gateway generates the challenge."}',
      detail = '{"status":400,"headers":{}}';
  end if;
  delete from app_private.webauthn_challenges c where c.expires_at < now - interval '1 day';
  insert into app_private.webauthn_challenges (challenge_hash, purpose, user_id, login_id, session_id, created_at, expires_at)
  values (app_private.token_hash(challenge), purpose, user_id, login_id, session_id, now, v_expires);
  return v_expires;
end
$function$;

CREATE OR REPLACE FUNCTION audit.tg_audit_log__append_only()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  v_chain text[] := array['seq', 'prev_hash', 'hash', 'sealed_at'];
  v_redacted text[] := array['ip', 'user_agent', 'ip_fingerprint', 'user_agent_fingerprint'];
begin
  if tg_op = 'UPDATE' then
    -- Sealing: the chain columns of an unsealed entry are filled in.
    if old.seq is null and new.seq is not null
       and (to_jsonb(old) - v_chain) = (to_jsonb(new) - v_chain) then
      return new;
    end if;
    -- Erasure: a raw address or user agent is replaced by its own keyed fingerprint; nothing else changes.
    if old.hash_version = 2 and new.hash_version = 2
       and (to_jsonb(old) - v_redacted) = (to_jsonb(new) - v_redacted)
       and new.ip is null and new.user_agent is null
       and new.ip_fingerprint is not distinct from coalesce(app_private.fingerprint(host(old.ip)), old.ip_fingerprint)
       and new.user_agent_fingerprint is not distinct from coalesce(app_private.fingerprint(old.user_agent), old.user_agent_fingerprint) then
      return new;
    end if;
    -- The one-time move of entries written before hash version 2 (migration 6-operations-and-erasure).
    if old.hash_version is null and new.hash_version = 2 and (old.seq is null) = (new.seq is null)
       and (to_jsonb(old) - v_chain - 'hash_version') = (to_jsonb(new) - v_chain - 'hash_version') then
      return new;
    end if;
  end if;
  raise sqlstate 'PGRST' using
    message = '{"code":"AUDIT_APPEND_ONLY","message":"The audit log is append-only.","hint":"Entries are never changed or removed; the retention job drops whole partitions."}',
    detail = '{"status":403,"headers":{}}';
end
$function$;

CREATE OR REPLACE FUNCTION audit.tg_audit_log__no_truncate()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  raise sqlstate 'PGRST' using
    message = '{"code":"AUDIT_APPEND_ONLY","message":"The audit log cannot be truncated.","hint":"The retention job drops whole partitions past their retention."}',
    detail = '{"status":403,"headers":{}}';
end
$function$;

-- A call the role may not make answers in the one shape too: PostgreSQL's own "permission denied for function
-- ..." (SQLSTATE 42501, with the function's name) never reaches a client. The pre-request looks the route up once
-- (one catalog probe for /rpc and view paths) and refuses with UNAUTHENTICATED (no token) or FORBIDDEN before
-- PostgREST runs the call; the same probe answers GET of a function that changes data with 405, and a view
-- that does not exist with 404 NOT_FOUND (PostgREST 12.0.2 would pass on "relation api.x does not exist").
create or replace function app.check_request()
  returns void
  language plpgsql
  security definer
  set search_path to ''
  as $$
declare
  v_claims jsonb := app.jwt_claims();
  v_sid text := v_claims ->> 'sid';
  v_anonymous boolean := v_claims - 'role' = '{}'::jsonb and coalesce(v_claims ->> 'role', 'anon') = 'anon';
  v_role text := pg_catalog.current_setting('role');
  v_path text := pg_catalog.current_setting('request.path', true);
  v_method text := pg_catalog.current_setting('request.method', true);
  v_ua text;
  v_live boolean;
  v_due boolean;
  v_staff boolean;
  v_aal text;
  v_allowed boolean;
  v_volatile boolean;
begin
  -- Anonymous request: PostgREST sets no claims, or only {"role": "anon"}; it has no session to check.
  if not v_anonymous then
    -- The uuid and number tests come first, so the casts below cannot fail.
    if not coalesce(v_sid ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', false)
       or v_claims ->> 'sub' is null
       or jsonb_typeof(v_claims -> 'exp') is distinct from 'number'
       or v_claims ->> 'iss' is distinct from coalesce(nullif(current_setting('app.settings.jwt_issuer', true), ''), 'https://auth.dwaybank.local')
       or v_claims ->> 'token_use' is distinct from 'access'
       or (v_claims ->> 'exp')::numeric > extract(epoch from now()) + 900 + 60 then
      raise sqlstate 'PGRST' using
        message = '{"code":"INVALID_TOKEN","message":"The access token is not valid for this API.","hint":"Sign in again to get a new access token."}',
        detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
    end if;
    v_ua := left(nullif(current_setting('request.headers', true), '')::jsonb ->> 'user-agent', 512);
    select s.user_id::text = v_claims ->> 'sub' and s.revoked_at is null and s.expires_at > now() and s.idle_expires_at > now()
             and u.deleted_at is null and u.status = 'active',
           app.session_activity_due(s, v_ua),
           u.role in ('compliance_officer', 'admin'),
           s.aal
      into v_live, v_due, v_staff, v_aal
      from app.user_sessions s
      join app.users u on u.id = s.user_id
     where s.id = v_sid::uuid;
    if not coalesce(v_live, false) or (v_due and not app.update_session_activity(v_sid, v_ua)) then
      raise sqlstate 'PGRST' using
        message = '{"code":"SESSION_ENDED","message":"The session of this token has ended.","hint":"Sign in again."}',
        detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
    end if;
    -- Staff powers need a second factor (NIST AAL2): the session's own assurance, which step-up raises.
    if (v_staff or v_claims ->> 'role' in ('compliance_officer', 'admin')) and v_aal is distinct from 'aal2' then
      raise sqlstate 'PGRST' using
        message = '{"code":"AAL2_REQUIRED","message":"Staff accounts need a session confirmed with a second factor.","hint":"Enrol a second factor at /auth/mfa/totp/enroll (or /auth/passkeys/register/options), then sign in with it or step up with POST /auth/mfa/step-up."}',
        detail = '{"status":403,"headers":{}}';
    end if;
  end if;
  -- The route: a function (/rpc/<name>) or a view (/<name>) of schema api. Unknown names are PostgREST's to answer.
  if v_path like '/rpc/%' then
    -- request.path is the raw URL: /rpc/%72un_maintenance would match no name here, yet PostgREST decodes it and
    -- runs the function. No api function's name needs encoding, so a name that is not plain is no route.
    if substr(v_path, 6) !~ '^[a-z_][a-z0-9_]*$' then
      raise sqlstate 'PGRST' using
        message = '{"code":"NOT_FOUND","message":"There is no such function.","hint":"The functions are listed in the OpenAPI document at /."}',
        detail = '{"status":404,"headers":{}}';
    end if;
    select pg_catalog.has_function_privilege(v_role, p.oid, 'EXECUTE'), p.provolatile = 'v'
      into v_allowed, v_volatile
      from pg_catalog.pg_proc p
     where p.pronamespace = 'api'::regnamespace and p.proname = substr(v_path, 6);
  elsif v_path <> '' and v_path <> '/' then
    select case when v_method = 'DELETE' then pg_catalog.has_table_privilege(v_role, c.oid, 'DELETE')
                else pg_catalog.has_any_column_privilege(v_role, c.oid,
                       case v_method when 'POST' then 'INSERT' when 'PUT' then 'INSERT' when 'PATCH' then 'UPDATE' else 'SELECT' end)
           end
      into v_allowed
      from pg_catalog.pg_class c
     where c.relnamespace = 'api'::regnamespace and c.relkind = 'v' and c.relname = substr(v_path, 2);
    -- PostgREST 12.0.2 would answer PostgreSQL's "relation api.x does not exist" (42P01).
    if not found then
      raise sqlstate 'PGRST' using
        message = '{"code":"NOT_FOUND","message":"There is no such view.","hint":"The views and functions are listed in the OpenAPI document at /."}',
        detail = '{"status":404,"headers":{}}';
    end if;
  end if;
  if not coalesce(v_allowed, true) then
    if v_anonymous then
      raise sqlstate 'PGRST' using
        message = '{"code":"UNAUTHENTICATED","message":"Sign in first.","hint":"Send an access token from POST /auth/login as Authorization: Bearer."}',
        detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer"}}';
    end if;
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Your role may not make this call.","hint":"This call is for another role (staff or the account''s owner)."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  -- PostgREST runs GET in a read-only transaction: a function that changes data would fail half-way with a
  -- database error. Every volatile api function answers GET with one clear 405 instead.
  if v_method in ('GET', 'HEAD') and v_volatile then
    raise sqlstate 'PGRST' using
      message = '{"code":"METHOD_NOT_ALLOWED","message":"This call changes data.","hint":"Use POST."}',
      detail = '{"status":405,"headers":{"Allow":"POST"}}';
  end if;
end
$$;

comment on function app.check_request() is 'PostgREST db-pre-request: rejects tokens without exp, with a wrong iss or token type, or whose session ended (SESSION_ENDED), staff sessions below aal2 (AAL2_REQUIRED), calls the role may not make (UNAUTHENTICATED without a token, FORBIDDEN), and GET of a function that changes data (METHOD_NOT_ALLOWED).
Definer: reads sessions of any user to decide.';

--! split: 5-outbox-delivery.sql
-- Real delivery of the outbox (issue 19): a failed message is retried with exponential backoff
-- (outbox_retry_base_seconds, doubling per attempt, at most an hour apart) and after
-- outbox_max_attempts failures it is dead-lettered: dead_at set, its secrets dropped, a warning in
-- the audit trail, and monitoring sees it (app.metrics_outbox counts dead letters). A dead letter is
-- final: its code or link is gone, and the customer asks for a new one once delivery works again.

alter table app_private.outbox
  add column if not exists next_attempt_at timestamptz not null default now(),
  add column if not exists dead_at timestamptz;

comment on column app_private.outbox.next_attempt_at is 'Not claimed before this time: the backoff after a failed attempt.';
-- Before this, a message stopped being tried after 10 attempts: those are dead letters now.
update app_private.outbox o set dead_at = now() where o.sent_at is null and o.dead_at is null and o.attempts >= 10;

comment on column app_private.outbox.dead_at is 'Set when the message failed outbox_max_attempts times: no more attempts, its secrets dropped.';

-- The queue the gateway claims from: undelivered, alive, due.
drop index if exists app_private.outbox_pending_idx;
create index if not exists outbox_due_idx on app_private.outbox (next_attempt_at) where sent_at is null and dead_at is null;

insert into app.settings (name, default_value, description) values
  ('outbox_max_attempts', '8', 'Delivery attempts of an SMS or e-mail before it is dead-lettered (its secrets dropped, an alert raised).'),
  ('outbox_retry_base_seconds', '5', 'Wait before the second delivery attempt; it doubles with every failure, at most an hour.')
on conflict (name) do update set default_value = excluded.default_value, description = excluded.description;

create or replace function app.claim_outbox(batch integer default 10)
  returns table (id bigint, user_id uuid, channel text, template text, payload jsonb, destination text, attempts integer)
  language plpgsql
  security definer
  set search_path to ''
  as $$
begin
  return query
    with claimed as (
      select o.id from app_private.outbox o
       where o.sent_at is null and o.dead_at is null and o.next_attempt_at <= now()
       order by o.next_attempt_at
       limit least(greatest(batch, 1), 100)
       for update skip locked)
    update app_private.outbox o set attempts = o.attempts + 1
      from claimed
     where o.id = claimed.id
    returning o.id, o.user_id, o.channel, o.template, o.payload - 'to',
              coalesce(o.payload ->> 'to',
                       case o.channel
                         when 'sms' then (select c.phone from app.mfa_configs c
                                           where c.user_id = o.user_id and c.method = 'sms' and c.status = 'active')
                         else (select u.email::text from app.users u where u.id = o.user_id) end),
              o.attempts;
end
$$;

comment on function app.claim_outbox(integer) is 'Claims SMS/e-mail messages due for delivery (undelivered, not dead-lettered, past their backoff), with the destination address (the message''s own `to`, else the account''s). Definer: reads the outbox and contact details.';

create or replace function app.complete_outbox(id bigint, error text default null)
  returns void
  language plpgsql
  security definer
  set search_path to ''
  as $$
declare
  v_max integer := app.setting('outbox_max_attempts')::integer;
  v_msg app_private.outbox;
begin
  update app_private.outbox o
     set sent_at = case when complete_outbox.error is null then now() end,
         last_error = left(complete_outbox.error, 500),
         dead_at = case when complete_outbox.error is not null and o.attempts >= v_max then now() end,
         next_attempt_at = case when complete_outbox.error is null then o.next_attempt_at
                                else now() + least(interval '1 hour',
                                  make_interval(secs => app.setting('outbox_retry_base_seconds')::integer * 2 ^ least(o.attempts - 1, 20))) end
   where o.id = complete_outbox.id
  returning * into v_msg;
  if v_msg.dead_at is not null then
    perform audit.log_event('outbox.dead_letter', v_msg.user_id,
      jsonb_build_object('outbox_id', v_msg.id, 'channel', v_msg.channel, 'template', v_msg.template,
                         'attempts', v_msg.attempts, 'error', v_msg.last_error), 'warning');
  end if;
end
$$;

comment on function app.complete_outbox(bigint, text) is 'Marks a message sent, or records a failed attempt: the next one after a doubling backoff, or, after outbox_max_attempts, dead-lettered (an audit warning). Either end drops the message''s secrets (tg_outbox__forget_token). Definer: writes the outbox.';

-- A sent or dead message keeps no secret: the sealed code, a link's token, a recovery's cancel token.
create or replace function app_private.tg_outbox__forget_token()
  returns trigger
  language plpgsql
  set search_path to ''
  as $$
begin
  if new.sent_at is not null or new.dead_at is not null then
    new.payload := new.payload - array['sealed', 'token', 'cancel_token'];
  end if;
  return new;
end
$$;
