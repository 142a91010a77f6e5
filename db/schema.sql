-- The current schema, written by scripts/dump-schema.mjs after the committed migrations
-- (graphile-migrate's afterAllMigrations hook). Do not edit: change migrations/current/ and commit it.
--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: api; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA api;


--
-- Name: SCHEMA api; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA api IS 'DwayBank Foundation API. Every endpoint is a function or a security_invoker view.';


--
-- Name: app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app;


--
-- Name: app_private; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app_private;


--
-- Name: audit; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA audit;


--
-- Name: extensions; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA extensions;


--
-- Name: public; Type: SCHEMA; Schema: -; Owner: -
--

-- *not* creating schema, since initdb creates it


--
-- Name: citext; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA extensions;


--
-- Name: EXTENSION citext; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION citext IS 'data type for case-insensitive character strings';


--
-- Name: hstore; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA extensions;


--
-- Name: EXTENSION hstore; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION hstore IS 'data type for storing sets of (key, value) pairs';


--
-- Name: pg_stat_statements; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;


--
-- Name: EXTENSION pg_stat_statements; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION pg_stat_statements IS 'track planning and execution statistics of all SQL statements executed';


--
-- Name: pg_trgm; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;


--
-- Name: EXTENSION pg_trgm; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';


--
-- Name: pgcrypto; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;


--
-- Name: EXTENSION pgcrypto; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';


--
-- Name: unaccent; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA extensions;


--
-- Name: EXTENSION unaccent; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION unaccent IS 'text search dictionary that removes accents';


--
-- Name: kyc_decision; Type: TYPE; Schema: app; Owner: -
--

CREATE TYPE app.kyc_decision AS (
	status text,
	kyc_id uuid,
	kyc_status text,
	risk_level text,
	expires_at timestamp with time zone
);


--
-- Name: kyc_summary; Type: TYPE; Schema: app; Owner: -
--

CREATE TYPE app.kyc_summary AS (
	id uuid,
	level text,
	status text,
	submitted_at timestamp with time zone,
	created_at timestamp with time zone
);


--
-- Name: lockout_state; Type: TYPE; Schema: app; Owner: -
--

CREATE TYPE app.lockout_state AS (
	failed_attempts integer,
	locked_until timestamp with time zone,
	retry_after_seconds integer
);


--
-- Name: profile; Type: TYPE; Schema: app; Owner: -
--

CREATE TYPE app.profile AS (
	id uuid,
	email text,
	phone text,
	country_code text,
	first_name text,
	last_name text,
	date_of_birth date,
	role text,
	status text,
	email_verified_at timestamp with time zone,
	referral_code text,
	created_at timestamp with time zone,
	last_login_at timestamp with time zone,
	password_changed_at timestamp with time zone
);


--
-- Name: chain_report; Type: TYPE; Schema: audit; Owner: -
--

CREATE TYPE audit.chain_report AS (
	ok boolean,
	checked bigint,
	first_bad_seq bigint,
	reason text,
	unsealed_count bigint,
	oldest_unsealed_at timestamp with time zone,
	head_seq bigint,
	checkpoint_seq bigint
);


--
-- Name: request_context; Type: TYPE; Schema: audit; Owner: -
--

CREATE TYPE audit.request_context AS (
	actor_id uuid,
	actor_role text,
	session_id uuid,
	ip inet,
	user_agent text,
	request_id text
);


--
-- Name: account_recoveries(text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.account_recoveries(only_status text DEFAULT NULL::text) RETURNS TABLE(id uuid, user_id uuid, email text, status text, reason text, requested_at timestamp with time zone, not_before timestamp with time zone, first_approver text, first_approved_at timestamp with time zone, first_approved_by_me boolean, second_approver text, second_approved_at timestamp with time zone, closed_at timestamp with time zone, closed_reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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


--
-- Name: FUNCTION account_recoveries(only_status text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.account_recoveries(only_status text) IS 'Staff: account recoveries (open ones first), with their approvers and waiting period. Definer: joins the accounts for their e-mail.';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: account_recoveries; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.account_recoveries (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    reason text,
    requested_at timestamp with time zone DEFAULT now() NOT NULL,
    not_before timestamp with time zone NOT NULL,
    first_approver uuid,
    first_approved_at timestamp with time zone,
    second_approver uuid,
    second_approved_at timestamp with time zone,
    closed_at timestamp with time zone,
    closed_by uuid,
    closed_reason text,
    CONSTRAINT account_recoveries_approved_chk CHECK (((status <> ALL (ARRAY['approved'::text, 'completed'::text])) OR (second_approver IS NOT NULL))),
    CONSTRAINT account_recoveries_closed_reason_chk CHECK ((length(closed_reason) <= 500)),
    CONSTRAINT account_recoveries_four_eyes_chk CHECK (((first_approver IS DISTINCT FROM second_approver) OR (second_approver IS NULL))),
    CONSTRAINT account_recoveries_not_self_chk CHECK (((first_approver IS DISTINCT FROM user_id) AND (second_approver IS DISTINCT FROM user_id))),
    CONSTRAINT account_recoveries_reason_chk CHECK ((length(reason) <= 500)),
    CONSTRAINT account_recoveries_status_chk CHECK ((status = ANY (ARRAY['pending'::text, 'approved'::text, 'completed'::text, 'cancelled'::text, 'rejected'::text])))
);

ALTER TABLE ONLY app.account_recoveries FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE account_recoveries; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.account_recoveries IS 'Recovery of an account whose every second factor is lost: requested by the customer, approved by two different staff members, completed after a waiting period (MFA factors reset).';


--
-- Name: approve_account_recovery(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.approve_account_recovery(recovery_id uuid) RETURNS app.account_recoveries
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION approve_account_recovery(recovery_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.approve_account_recovery(recovery_id uuid) IS 'Approves an account recovery (compliance officer or admin, at aal2). Two different staff members must approve, neither the customer; the second approval starts the waiting period (72 hours) and tells the customer when it completes and how to cancel.
Definer: writes recoveries, which no API role may write; the function checks the four-eyes rule itself.';


--
-- Name: audit_checkpoints(integer); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.audit_checkpoints(max_rows integer DEFAULT 50) RETURNS TABLE(id bigint, created_at timestamp with time zone, head_seq bigint, head_hash text, signature text, gateway_signature text, gateway_key_id text, gateway_signed_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION audit_checkpoints(max_rows integer); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.audit_checkpoints(max_rows integer) IS 'The newest signed checkpoints of the audit chain (keep copies outside the bank: they prove the trail''s length).
Definer: reads audit.checkpoints for staff.';


--
-- Name: cancel_account_recovery(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.cancel_account_recovery() RETURNS app.account_recoveries
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION cancel_account_recovery(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.cancel_account_recovery() IS 'Cancels the caller''s open account recovery (e.g. one they did not ask for). Needs a step-up (STEP_UP_REQUIRED).
Definer: writes recoveries, which no API role may write; acts only on the caller''s own.';


--
-- Name: complete_account_recovery(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.complete_account_recovery(recovery_id uuid) RETURNS app.account_recoveries
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_staff uuid := app_private.assert_recovery_staff();
begin
  return app_private.complete_recovery(recovery_id, v_staff, pg_catalog.now());
end
$$;


--
-- Name: FUNCTION complete_account_recovery(recovery_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.complete_account_recovery(recovery_id uuid) IS 'Completes an approved account recovery after its waiting period: removes every second factor, trusted device and session (the customer must enrol again).
Staff at aal2. Definer: deletes secret material in app_private.';


--
-- Name: complete_kyc_verification(uuid, text, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.complete_kyc_verification(kyc_id uuid, decision text, reason text DEFAULT NULL::text) RETURNS app.kyc_decision
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION complete_kyc_verification(kyc_id uuid, decision text, reason text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.complete_kyc_verification(kyc_id uuid, decision text, reason text) IS 'Records a compliance officer''s decision (approved, rejected, requires_resubmission) on a verification.
Approval needs every screening check resolved (KYC_CHECKS_UNRESOLVED); high and critical risk, and any record with a resolved screening hit, need a second, different officer
(the first approval answers pending_second_approval). Expiry: 3 years low, 2 medium, 1 high/critical risk.
Definer: writes status and decision columns no API role may write; the function checks the officer.';


--
-- Name: confirm_phone_change(text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.confirm_phone_change(code text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: FUNCTION confirm_phone_change(code text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.confirm_phone_change(code text) IS 'Confirms a phone number change with the code sent to the new number, from the session that asked for it; the old number and the e-mail address are told.
Raises PHONE_CHANGE_NOT_FOUND, PHONE_CODE_EXPIRED; a wrong code answers 400 PHONE_CODE_INVALID and is counted (5 end the change). Definer: reads the code''s HMAC and writes the profile''s number.';


--
-- Name: customer_overview(uuid, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.customer_overview(user_id uuid, reason text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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


--
-- Name: FUNCTION customer_overview(user_id uuid, reason text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.customer_overview(user_id uuid, reason text) IS 'Staff: one customer''s profile, sessions, remembered devices, kinds of second factor, KYC history and recent security events
(never a hash, code, token or secret); audited with the reason given. Raises STAFF_REASON_REQUIRED, USER_NOT_FOUND, FORBIDDEN.
Definer: reads another person''s account and writes the audit event.';


--
-- Name: disable_mfa_method(uuid, character varying); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.disable_mfa_method(user_id uuid, method character varying) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION disable_mfa_method(user_id uuid, method character varying); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.disable_mfa_method(user_id uuid, method character varying) IS 'Removes one of the caller''s own second factors. Needs a fresh aal2 session (auth_time within 10 minutes); refuses to remove the last factor when the account''s policy requires MFA; revokes trusted devices and tells the customer by e-mail.
Another person''s factor goes only through account recovery (ACCOUNT_RECOVERY_REQUIRED). Definer: deletes secret material in app_private.';


--
-- Name: export_my_data(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.export_my_data() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION export_my_data(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.export_my_data() IS 'Everything DwayBank holds about the caller, as JSON (GDPR access and portability): profile, sessions, second factors (no secrets), KYC data, referrals and audit entries.
Definer: gathers rows from tables the caller cannot read directly (audit trail, MFA attempts); only the caller''s own.';


--
-- Name: export_user_data(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.export_user_data(user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION export_user_data(user_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.export_user_data(user_id uuid) IS 'A user''s complete record as JSON, for staff answering a data-subject request (compliance officers, admins). The export is itself audited.
Definer: reads every table about the user; the function checks the caller is staff.';


--
-- Name: find_customer(text, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.find_customer(query text, reason text) RETURNS TABLE(id uuid, email text, phone text, first_name text, last_name text, role text, status text, created_at timestamp with time zone, last_login_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: FUNCTION find_customer(query text, reason text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.find_customer(query text, reason text) IS 'Staff: finds customer accounts (never staff) by a whole e-mail address, phone number or id; every lookup is audited with the reason given.
Raises STAFF_REASON_REQUIRED, CUSTOMER_QUERY_INVALID, FORBIDDEN. Definer: reads any account and writes the audit event.';


--
-- Name: get_user_latest_kyc(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.get_user_latest_kyc(user_id uuid DEFAULT NULL::uuid) RETURNS TABLE(kyc_id uuid, status text, level text, risk_level text, decided_at timestamp with time zone, expires_at timestamp with time zone, verified boolean, verified_until timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION get_user_latest_kyc(user_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.get_user_latest_kyc(user_id uuid) IS 'The KYC status check: a user''s latest verification and whether they are verified now (and until when), on the server''s clock.
Customers see only their own (without the risk level); staff anyone''s. Definer: reads the risk level, which customers may not select.';


--
-- Name: get_user_mfa_methods(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.get_user_mfa_methods(user_id uuid DEFAULT NULL::uuid) RETURNS TABLE(id uuid, method text, status text, label text, device_fingerprint text, created_at timestamp with time zone, confirmed_at timestamp with time zone, last_used_at timestamp with time zone, backup_codes_left integer, mfa_required boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION get_user_mfa_methods(user_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.get_user_mfa_methods(user_id uuid) IS 'A user''s second factors, without any secret: the caller''s own, or (staff) anyone''s.
Definer: counts unused backup codes in app_private; the function checks who may see which user.';


--
-- Name: initiate_kyc_verification(text, text, text, date, text, text, text, text, text, text, text, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text DEFAULT NULL::text) RETURNS app.kyc_summary
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text) IS 'Starts an identity verification for the caller at a level (basic, standard, enhanced) with their identity data.
Refuses while another is in progress (KYC_IN_PROGRESS); screens the name against sanctions and PEP lists and scores the risk.
Definer: writes the record, screening results and risk, none of which a customer may write.';


--
-- Name: is_account_locked(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.is_account_locked(user_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
    select coalesce((select u.locked_until > pg_catalog.now() from app.users u where u.id = is_account_locked.user_id), false)
  $$;


--
-- Name: FUNCTION is_account_locked(user_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.is_account_locked(user_id uuid) IS 'Whether an account is locked out now.
Definer: reads lockout columns that only staff may select; callers are limited by grant to staff and the gateway.';


--
-- Name: kyc_case(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.kyc_case(kyc_id uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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


--
-- Name: FUNCTION kyc_case(kyc_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.kyc_case(kyc_id uuid) IS 'Compliance officers: one verification as a case: the submitted data, risk score and its reasons, documents, screening matches
beside their watchlist entries, who approved first (four eyes) and the case''s audit history. Raises KYC_NOT_FOUND, FORBIDDEN.
Definer: joins the watchlist entries and the audit trail, which officers cannot read directly.';


--
-- Name: kyc_compliance_checks; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.kyc_compliance_checks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kyc_record_id uuid NOT NULL,
    user_id uuid NOT NULL,
    check_type text NOT NULL,
    provider text DEFAULT 'internal'::text NOT NULL,
    list_version text,
    matches jsonb DEFAULT '[]'::jsonb NOT NULL,
    top_score integer,
    status text NOT NULL,
    resolved_by uuid,
    resolved_at timestamp with time zone,
    resolution_note text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT kyc_compliance_checks_check_type_chk CHECK ((check_type = ANY (ARRAY['sanctions'::text, 'pep'::text, 'adverse_media'::text, 'document_authenticity'::text]))),
    CONSTRAINT kyc_compliance_checks_list_version_chk CHECK ((length(list_version) <= 1000)),
    CONSTRAINT kyc_compliance_checks_matches_chk CHECK ((jsonb_typeof(matches) = 'array'::text)),
    CONSTRAINT kyc_compliance_checks_not_own_chk CHECK ((resolved_by IS DISTINCT FROM user_id)),
    CONSTRAINT kyc_compliance_checks_provider_chk CHECK (((length(provider) >= 1) AND (length(provider) <= 100))),
    CONSTRAINT kyc_compliance_checks_resolution_note_chk CHECK (((length(resolution_note) >= 3) AND (length(resolution_note) <= 1000))),
    CONSTRAINT kyc_compliance_checks_resolved_chk CHECK (((status = ANY (ARRAY['confirmed_match'::text, 'false_positive'::text])) = ((resolved_by IS NOT NULL) AND (resolved_at IS NOT NULL) AND (resolution_note IS NOT NULL)))),
    CONSTRAINT kyc_compliance_checks_status_chk CHECK ((status = ANY (ARRAY['clear'::text, 'potential_match'::text, 'confirmed_match'::text, 'false_positive'::text]))),
    CONSTRAINT kyc_compliance_checks_top_score_chk CHECK (((top_score >= 0) AND (top_score <= 100)))
);

ALTER TABLE ONLY app.kyc_compliance_checks FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE kyc_compliance_checks; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.kyc_compliance_checks IS 'One screening result per row: the list version, the candidate matches with their scores, and its resolution by an officer.';


--
-- Name: kyc_documents; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.kyc_documents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    kyc_record_id uuid NOT NULL,
    user_id uuid NOT NULL,
    document_type text NOT NULL,
    issuing_country text,
    document_number text,
    expires_on date,
    status text DEFAULT 'uploaded'::text NOT NULL,
    quality_score integer,
    quality_notes text,
    reviewed_by uuid,
    reviewed_at timestamp with time zone,
    mime_type text NOT NULL,
    size_bytes integer NOT NULL,
    sha256 bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT kyc_documents_document_number_chk CHECK ((document_number ~ '^[A-Z0-9][A-Z0-9-]{3,29}$'::text)),
    CONSTRAINT kyc_documents_document_type_chk CHECK ((document_type = ANY (ARRAY['passport'::text, 'id_card'::text, 'driving_licence'::text, 'proof_of_address'::text, 'selfie'::text]))),
    CONSTRAINT kyc_documents_identity_chk CHECK (((document_type <> ALL (ARRAY['passport'::text, 'id_card'::text, 'driving_licence'::text])) OR ((issuing_country IS NOT NULL) AND (document_number IS NOT NULL) AND (expires_on IS NOT NULL)))),
    CONSTRAINT kyc_documents_mime_type_chk CHECK ((mime_type = ANY (ARRAY['application/pdf'::text, 'image/jpeg'::text, 'image/png'::text]))),
    CONSTRAINT kyc_documents_not_own_reviewer_chk CHECK ((reviewed_by IS DISTINCT FROM user_id)),
    CONSTRAINT kyc_documents_quality_notes_chk CHECK ((length(quality_notes) <= 1000)),
    CONSTRAINT kyc_documents_quality_score_chk CHECK (((quality_score >= 0) AND (quality_score <= 100))),
    CONSTRAINT kyc_documents_sha256_chk CHECK ((length(sha256) = 32)),
    CONSTRAINT kyc_documents_size_bytes_chk CHECK (((size_bytes >= 1) AND (size_bytes <= 52428800))),
    CONSTRAINT kyc_documents_status_chk CHECK ((status = ANY (ARRAY['uploaded'::text, 'accepted'::text, 'rejected'::text, 'integrity_failed'::text])))
);

ALTER TABLE ONLY app.kyc_documents FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE kyc_documents; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.kyc_documents IS 'Metadata of an uploaded document. The file is AES-256-GCM-encrypted by the gateway in its store; its location is in app_private.kyc_document_objects.';


--
-- Name: COLUMN kyc_documents.mime_type; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.kyc_documents.mime_type IS 'From the file''s magic bytes (PDF, JPEG, PNG), never from its name.';


--
-- Name: COLUMN kyc_documents.sha256; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.kyc_documents.sha256 IS 'SHA-256 of the file as uploaded; the gateway verifies it on every read.';


--
-- Name: kyc_records; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.kyc_records (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    level text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    legal_first_name text NOT NULL,
    legal_last_name text NOT NULL,
    date_of_birth date NOT NULL,
    nationality text NOT NULL,
    address_line1 text NOT NULL,
    address_line2 text,
    city text NOT NULL,
    postal_code text NOT NULL,
    residence_country text NOT NULL,
    id_document_type text NOT NULL,
    id_document_number text NOT NULL,
    risk_score integer,
    risk_level text,
    risk_factors jsonb DEFAULT '[]'::jsonb NOT NULL,
    risk_assessed_at timestamp with time zone,
    first_approver_id uuid,
    first_approved_at timestamp with time zone,
    reviewer_id uuid,
    automated_decision boolean DEFAULT false NOT NULL,
    decision_reason text,
    decided_at timestamp with time zone,
    expires_at timestamp with time zone,
    renewal_of uuid,
    renewal_requested_at timestamp with time zone,
    submitted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT kyc_records_address_line1_chk CHECK ((((length(address_line1) >= 1) AND (length(address_line1) <= 200)) AND (address_line1 !~ '[[:cntrl:]]'::text))),
    CONSTRAINT kyc_records_address_line2_chk CHECK ((((length(address_line2) >= 1) AND (length(address_line2) <= 200)) AND (address_line2 !~ '[[:cntrl:]]'::text))),
    CONSTRAINT kyc_records_approved_chk CHECK (((status <> 'approved'::text) OR ((decided_at IS NOT NULL) AND (expires_at > decided_at) AND (risk_level IS NOT NULL) AND ((reviewer_id IS NOT NULL) OR automated_decision)))),
    CONSTRAINT kyc_records_city_chk CHECK ((((length(city) >= 1) AND (length(city) <= 100)) AND (city !~ '[[:cntrl:]]'::text))),
    CONSTRAINT kyc_records_date_of_birth_chk CHECK (((date_of_birth >= '1900-01-01'::date) AND (date_of_birth <= '2100-01-01'::date))),
    CONSTRAINT kyc_records_decided_chk CHECK (((status <> ALL (ARRAY['approved'::text, 'rejected'::text, 'requires_resubmission'::text])) OR (decided_at IS NOT NULL))),
    CONSTRAINT kyc_records_decision_reason_chk CHECK (((length(decision_reason) >= 1) AND (length(decision_reason) <= 1000))),
    CONSTRAINT kyc_records_first_approval_chk CHECK (((first_approver_id IS NULL) = (first_approved_at IS NULL))),
    CONSTRAINT kyc_records_four_eyes_chk CHECK (((first_approver_id IS NULL) OR (reviewer_id IS DISTINCT FROM first_approver_id))),
    CONSTRAINT kyc_records_id_document_number_chk CHECK ((id_document_number ~ '^[A-Z0-9][A-Z0-9-]{3,29}$'::text)),
    CONSTRAINT kyc_records_id_document_type_chk CHECK ((id_document_type = ANY (ARRAY['passport'::text, 'id_card'::text, 'driving_licence'::text]))),
    CONSTRAINT kyc_records_legal_first_name_chk CHECK ((((length(legal_first_name) >= 1) AND (length(legal_first_name) <= 100)) AND (legal_first_name !~ '[[:cntrl:][:digit:]@<>{}]'::text))),
    CONSTRAINT kyc_records_legal_last_name_chk CHECK ((((length(legal_last_name) >= 1) AND (length(legal_last_name) <= 100)) AND (legal_last_name !~ '[[:cntrl:][:digit:]@<>{}]'::text))),
    CONSTRAINT kyc_records_level_chk CHECK ((level = ANY (ARRAY['basic'::text, 'standard'::text, 'enhanced'::text]))),
    CONSTRAINT kyc_records_not_own_reviewer_chk CHECK (((reviewer_id IS DISTINCT FROM user_id) AND (first_approver_id IS DISTINCT FROM user_id))),
    CONSTRAINT kyc_records_postal_code_chk CHECK ((postal_code ~ '^[A-Za-z0-9][A-Za-z0-9 -]{0,10}[A-Za-z0-9]$'::text)),
    CONSTRAINT kyc_records_risk_level_chk CHECK ((risk_level = ANY (ARRAY['low'::text, 'medium'::text, 'high'::text, 'critical'::text]))),
    CONSTRAINT kyc_records_risk_score_chk CHECK (((risk_score >= 0) AND (risk_score <= 100))),
    CONSTRAINT kyc_records_status_chk CHECK ((status = ANY (ARRAY['pending'::text, 'in_review'::text, 'approved'::text, 'rejected'::text, 'requires_resubmission'::text, 'expired'::text])))
);

ALTER TABLE ONLY app.kyc_records FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE kyc_records; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.kyc_records IS 'One identity verification per row. Status changes follow app.tg_kyc_records__transition; a customer has at most one in progress and one approved.';


--
-- Name: COLUMN kyc_records.risk_factors; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.kyc_records.risk_factors IS 'The factors behind risk_score: [{factor, points, ...}], see app.kyc_risk.';


--
-- Name: COLUMN kyc_records.first_approver_id; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.kyc_records.first_approver_id IS 'High/critical risk: the first officer''s approval, awaiting a second, different officer.';


--
-- Name: kyc_review_queue; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.kyc_review_queue WITH (security_invoker='true') AS
 SELECT r.id,
    r.user_id,
    r.level,
    r.status,
    r.risk_score,
    r.risk_level,
    r.risk_factors,
    r.legal_first_name,
    r.legal_last_name,
    r.date_of_birth,
    r.nationality,
    r.residence_country,
    ( SELECT count(*) AS count
           FROM app.kyc_compliance_checks c
          WHERE ((c.kyc_record_id = r.id) AND (c.status = 'potential_match'::text))) AS open_checks,
    ( SELECT count(*) AS count
           FROM app.kyc_documents d
          WHERE (d.kyc_record_id = r.id)) AS documents,
    r.first_approver_id,
    (r.first_approver_id IS NOT NULL) AS awaiting_second_approval,
    COALESCE(r.submitted_at, r.created_at) AS waiting_since
   FROM ( SELECT w.id,
            w.user_id,
            w.level,
            w.status,
            w.legal_first_name,
            w.legal_last_name,
            w.date_of_birth,
            w.nationality,
            w.address_line1,
            w.address_line2,
            w.city,
            w.postal_code,
            w.residence_country,
            w.id_document_type,
            w.id_document_number,
            w.risk_score,
            w.risk_level,
            w.risk_factors,
            w.risk_assessed_at,
            w.first_approver_id,
            w.first_approved_at,
            w.reviewer_id,
            w.automated_decision,
            w.decision_reason,
            w.decided_at,
            w.expires_at,
            w.renewal_of,
            w.renewal_requested_at,
            w.submitted_at,
            w.created_at,
            w.updated_at
           FROM app.kyc_records w
          WHERE (w.status = ANY (ARRAY['pending'::text, 'in_review'::text]))
        UNION ALL
         SELECT m.id,
            m.user_id,
            m.level,
            m.status,
            m.legal_first_name,
            m.legal_last_name,
            m.date_of_birth,
            m.nationality,
            m.address_line1,
            m.address_line2,
            m.city,
            m.postal_code,
            m.residence_country,
            m.id_document_type,
            m.id_document_number,
            m.risk_score,
            m.risk_level,
            m.risk_factors,
            m.risk_assessed_at,
            m.first_approver_id,
            m.first_approved_at,
            m.reviewer_id,
            m.automated_decision,
            m.decision_reason,
            m.decided_at,
            m.expires_at,
            m.renewal_of,
            m.renewal_requested_at,
            m.submitted_at,
            m.created_at,
            m.updated_at
           FROM app.kyc_records m
          WHERE ((m.status = 'approved'::text) AND (m.id IN ( SELECT c.kyc_record_id
                   FROM app.kyc_compliance_checks c
                  WHERE (c.status = 'potential_match'::text))))) r
  ORDER BY r.risk_score DESC, COALESCE(r.submitted_at, r.created_at);


--
-- Name: VIEW kyc_review_queue; Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON VIEW api.kyc_review_queue IS 'Compliance officers: verifications waiting for review (and approved ones with a new potential match), highest risk first, then oldest.
Identity and risk only; addresses, document numbers and files stay out of the queue.';


--
-- Name: kyc_queue(text, text, text, text, boolean, integer, timestamp with time zone, uuid, integer); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.kyc_queue(status text DEFAULT NULL::text, risk_level text DEFAULT NULL::text, level text DEFAULT NULL::text, country text DEFAULT NULL::text, awaiting_second_approval boolean DEFAULT NULL::boolean, after_risk_score integer DEFAULT NULL::integer, after_waiting_since timestamp with time zone DEFAULT NULL::timestamp with time zone, after_id uuid DEFAULT NULL::uuid, page_size integer DEFAULT 50) RETURNS SETOF api.kyc_review_queue
    LANGUAGE sql STABLE
    BEGIN ATOMIC
 SELECT r.id,
     r.user_id,
     r.level,
     r.status,
     r.risk_score,
     r.risk_level,
     r.risk_factors,
     r.legal_first_name,
     r.legal_last_name,
     r.date_of_birth,
     r.nationality,
     r.residence_country,
     ( SELECT count(*) AS count
            FROM app.kyc_compliance_checks c
           WHERE ((c.kyc_record_id = r.id) AND (c.status = 'potential_match'::text))) AS count,
     ( SELECT count(*) AS count
            FROM app.kyc_documents d
           WHERE (d.kyc_record_id = r.id)) AS count,
     r.first_approver_id,
     ((r.first_approver_id IS NOT NULL) AND (r.status = ANY (ARRAY['pending'::text, 'in_review'::text]))),
     COALESCE(r.submitted_at, r.created_at) AS "coalesce"
    FROM (( SELECT w.id,
             w.user_id,
             w.level,
             w.status,
             w.legal_first_name,
             w.legal_last_name,
             w.date_of_birth,
             w.nationality,
             w.address_line1,
             w.address_line2,
             w.city,
             w.postal_code,
             w.residence_country,
             w.id_document_type,
             w.id_document_number,
             w.risk_score,
             w.risk_level,
             w.risk_factors,
             w.risk_assessed_at,
             w.first_approver_id,
             w.first_approved_at,
             w.reviewer_id,
             w.automated_decision,
             w.decision_reason,
             w.decided_at,
             w.expires_at,
             w.renewal_of,
             w.renewal_requested_at,
             w.submitted_at,
             w.created_at,
             w.updated_at
            FROM app.kyc_records w
           WHERE ((w.status = ANY (ARRAY['pending'::text, 'in_review'::text])) AND ((kyc_queue.status IS NULL) OR (w.status = kyc_queue.status)) AND ((kyc_queue.risk_level IS NULL) OR (w.risk_level = kyc_queue.risk_level)) AND ((kyc_queue.level IS NULL) OR (w.level = kyc_queue.level)) AND ((kyc_queue.country IS NULL) OR (w.nationality = upper(kyc_queue.country)) OR (w.residence_country = upper(kyc_queue.country))) AND ((kyc_queue.awaiting_second_approval IS NULL) OR ((w.first_approver_id IS NOT NULL) = kyc_queue.awaiting_second_approval)) AND ((kyc_queue.after_id IS NULL) OR (ROW((- COALESCE(w.risk_score, '-1'::integer)), COALESCE(w.submitted_at, w.created_at), w.id) > ROW((- COALESCE(kyc_queue.after_risk_score, '-1'::integer)), kyc_queue.after_waiting_since, kyc_queue.after_id))))
           ORDER BY (- COALESCE(w.risk_score, '-1'::integer)), COALESCE(w.submitted_at, w.created_at), w.id
          LIMIT LEAST(GREATEST(COALESCE(kyc_queue.page_size, 50), 1), 200))
         UNION ALL
         ( SELECT m.id,
             m.user_id,
             m.level,
             m.status,
             m.legal_first_name,
             m.legal_last_name,
             m.date_of_birth,
             m.nationality,
             m.address_line1,
             m.address_line2,
             m.city,
             m.postal_code,
             m.residence_country,
             m.id_document_type,
             m.id_document_number,
             m.risk_score,
             m.risk_level,
             m.risk_factors,
             m.risk_assessed_at,
             m.first_approver_id,
             m.first_approved_at,
             m.reviewer_id,
             m.automated_decision,
             m.decision_reason,
             m.decided_at,
             m.expires_at,
             m.renewal_of,
             m.renewal_requested_at,
             m.submitted_at,
             m.created_at,
             m.updated_at
            FROM app.kyc_records m
           WHERE ((m.status = 'approved'::text) AND (m.id IN ( SELECT c.kyc_record_id
                    FROM app.kyc_compliance_checks c
                   WHERE (c.status = 'potential_match'::text))) AND ((kyc_queue.status IS NULL) OR (m.status = kyc_queue.status)) AND ((kyc_queue.risk_level IS NULL) OR (m.risk_level = kyc_queue.risk_level)) AND ((kyc_queue.level IS NULL) OR (m.level = kyc_queue.level)) AND ((kyc_queue.country IS NULL) OR (m.nationality = upper(kyc_queue.country)) OR (m.residence_country = upper(kyc_queue.country))) AND ((kyc_queue.awaiting_second_approval IS NULL) OR (NOT kyc_queue.awaiting_second_approval)) AND ((kyc_queue.after_id IS NULL) OR (ROW((- COALESCE(m.risk_score, '-1'::integer)), COALESCE(m.submitted_at, m.created_at), m.id) > ROW((- COALESCE(kyc_queue.after_risk_score, '-1'::integer)), kyc_queue.after_waiting_since, kyc_queue.after_id))))
           ORDER BY (- COALESCE(m.risk_score, '-1'::integer)), COALESCE(m.submitted_at, m.created_at), m.id
          LIMIT LEAST(GREATEST(COALESCE(kyc_queue.page_size, 50), 1), 200))) r
   ORDER BY (- COALESCE(r.risk_score, '-1'::integer)), COALESCE(r.submitted_at, r.created_at), r.id
  LIMIT LEAST(GREATEST(COALESCE(kyc_queue.page_size, 50), 1), 200);
END;


--
-- Name: FUNCTION kyc_queue(status text, risk_level text, level text, country text, awaiting_second_approval boolean, after_risk_score integer, after_waiting_since timestamp with time zone, after_id uuid, page_size integer); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.kyc_queue(status text, risk_level text, level text, country text, awaiting_second_approval boolean, after_risk_score integer, after_waiting_since timestamp with time zone, after_id uuid, page_size integer) IS 'Compliance officers: one page of the review queue (highest risk first, then longest waiting), filtered by status, risk, level,
country (nationality or residence) and four eyes. The next page: after_risk_score, after_waiting_since and after_id of the last row.
Invoker (inlined): the caller''s own rights on the queue.';


--
-- Name: legal_holds(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.legal_holds() RETURNS TABLE(id bigint, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone, reason text, placed_by uuid, placed_at timestamp with time zone, released_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only staff may list legal holds.","hint":"Ask a compliance officer."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  return query select h.id, h.subject_user_id, lower(h.period), upper(h.period), h.reason, h.placed_by, h.placed_at, h.released_at
               from audit.legal_holds h order by h.placed_at desc;
end
$$;


--
-- Name: FUNCTION legal_holds(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.legal_holds() IS 'Every legal hold, newest first. Definer: reads audit.legal_holds for staff.';


--
-- Name: maintenance_jobs(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.maintenance_jobs() RETURNS TABLE(job text, schedule text, description text, cron_job_id bigint, cron_active boolean, cron_last_status text, cron_last_run_at timestamp with time zone, last_run_at timestamp with time zone, last_status text, last_result jsonb, last_error text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: FUNCTION maintenance_jobs(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.maintenance_jobs() IS 'The scheduled maintenance jobs, whether pg_cron runs them, and the outcome of each job''s last run. Admins only.
Definer: reads audit.job_runs and cron.job; the function checks the caller is an admin.';


--
-- Name: maintenance_runs(text, integer); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.maintenance_runs(job_name text DEFAULT NULL::text, max_rows integer DEFAULT 100) RETURNS TABLE(id bigint, job text, source text, started_at timestamp with time zone, finished_at timestamp with time zone, status text, result jsonb, error text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION maintenance_runs(job_name text, max_rows integer); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.maintenance_runs(job_name text, max_rows integer) IS 'Recent maintenance job runs with their outcome (audit.job_runs; pg_cron''s own log is cron.job_run_details). Admins only.
Definer: reads audit.job_runs; the function checks the caller is an admin.';


--
-- Name: me(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.me() RETURNS app.profile
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return (select row(u.id, u.email::text, u.phone, u.country_code, u.first_name, u.last_name, u.date_of_birth, u.role, u.status,
                     u.email_verified_at, u.referral_code, u.created_at, u.last_login_at, u.password_changed_at)::app.profile
            from app.users u
           where u.id = app.current_user_id());
end
$$;


--
-- Name: FUNCTION me(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.me() IS 'The caller''s profile.
Security invoker: row-level security returns only the caller''s own row.';


--
-- Name: my_passkeys(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.my_passkeys() RETURNS TABLE(id uuid, label text, transports text[], device_type text, backed_up boolean, created_at timestamp with time zone, last_used_at timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select w.id, w.label, w.transports, w.device_type, w.backed_up, w.created_at, w.last_used_at
    from app.webauthn_credentials w
    where w.user_id = app.current_user_id()
    order by w.created_at
  $$;


--
-- Name: FUNCTION my_passkeys(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.my_passkeys() IS 'The caller''s passkeys (no key material).
Security invoker: row-level security returns only the caller''s passkeys.';


--
-- Name: my_sessions(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.my_sessions() RETURNS TABLE(id uuid, current boolean, device_name text, device_fingerprint text, ip inet, user_agent text, aal text, created_at timestamp with time zone, last_activity_at timestamp with time zone, expires_at timestamp with time zone, revoked_at timestamp with time zone, revoked_reason text, is_suspicious boolean, suspicious_reasons text[])
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select s.id, s.id = app.current_session_id(), s.device_name, s.device_fingerprint, s.ip, s.user_agent, s.aal,
           s.created_at, s.last_activity_at, s.expires_at, s.revoked_at, s.revoked_reason, s.is_suspicious, s.suspicious_reasons
    from app.user_sessions s
    where s.user_id = app.current_user_id()
    order by s.revoked_at is not null, s.last_activity_at desc
    limit 100
  $$;


--
-- Name: FUNCTION my_sessions(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.my_sessions() IS 'The caller''s sessions, newest first, with the current one marked.
Security invoker: row-level security returns only the caller''s sessions.';


--
-- Name: my_trusted_devices(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.my_trusted_devices() RETURNS TABLE(id uuid, device_name text, device_fingerprint text, created_at timestamp with time zone, last_used_at timestamp with time zone, expires_at timestamp with time zone, revoked_at timestamp with time zone, revoked_reason text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select d.id, d.device_name, d.device_fingerprint, d.created_at, d.last_used_at, d.expires_at, d.revoked_at, d.revoked_reason
    from app.trusted_devices d
    where d.user_id = app.current_user_id()
    order by d.revoked_at is not null, d.created_at desc
    limit 100
  $$;


--
-- Name: FUNCTION my_trusted_devices(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.my_trusted_devices() IS 'The caller''s remembered devices (skip the MFA prompt for 30 days), newest first.
Security invoker: row-level security returns only the caller''s devices.';


--
-- Name: place_legal_hold(text, uuid, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.place_legal_hold(reason text, subject_user_id uuid DEFAULT NULL::uuid, from_at timestamp with time zone DEFAULT NULL::timestamp with time zone, to_at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION place_legal_hold(reason text, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.place_legal_hold(reason text, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone) IS 'Places a legal hold: audit partitions overlapping [from_at, to_at) are kept past retention, and the user (if given) is not erased.
Definer: writes audit.legal_holds, which no API role may touch; the function checks the caller is staff.';


--
-- Name: set_customer_status(uuid, text, text, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.set_customer_status(user_id uuid, reason text, from_status text, to_status text) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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


--
-- Name: FUNCTION set_customer_status(user_id uuid, reason text, from_status text, to_status text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.set_customer_status(user_id uuid, reason text, from_status text, to_status text) IS 'Moves a customer account between active and suspended (suspension ends every session), audited with the reason.';


--
-- Name: reinstate_customer(uuid, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.reinstate_customer(user_id uuid, reason text) RETURNS text
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    BEGIN ATOMIC
 SELECT app_private.set_customer_status(user_id, reason, 'suspended'::text, 'active'::text) AS set_customer_status;
END;


--
-- Name: FUNCTION reinstate_customer(user_id uuid, reason text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.reinstate_customer(user_id uuid, reason text) IS 'Staff: reinstates a suspended customer account, with a reason for the audit trail.
Raises STAFF_REASON_REQUIRED, USER_NOT_FOUND, ACCOUNT_STATUS_CONFLICT, FORBIDDEN. Definer: writes the status no API role may write.';


--
-- Name: reject_account_recovery(uuid, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.reject_account_recovery(recovery_id uuid, reason text DEFAULT NULL::text) RETURNS app.account_recoveries
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION reject_account_recovery(recovery_id uuid, reason text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.reject_account_recovery(recovery_id uuid, reason text) IS 'Rejects an open account recovery (compliance officer or admin, at aal2); the customer is notified.
Definer: writes recoveries, which no API role may write.';


--
-- Name: release_legal_hold(bigint); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.release_legal_hold(hold_id bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION release_legal_hold(hold_id bigint); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.release_legal_hold(hold_id bigint) IS 'Releases a legal hold. Definer: writes audit.legal_holds; the function checks the caller is staff.';


--
-- Name: remove_passkey(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.remove_passkey(passkey_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if app.current_user_id() is null then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"Sign in first.","hint":"Send an access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  return app_private.remove_passkey(app.current_user_id(), passkey_id, pg_catalog.now());
end
$$;


--
-- Name: FUNCTION remove_passkey(passkey_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.remove_passkey(passkey_id uuid) IS 'Removes one of the caller''s passkeys. Needs a fresh aal2 session; the last passkey cannot go where the account''s policy requires MFA and no other factor exists.
Definer: deletes MFA rows; the function checks ownership itself.';


--
-- Name: report_daily_auth(date, date); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.report_daily_auth(from_day date DEFAULT NULL::date, to_day date DEFAULT NULL::date) RETURNS TABLE(day date, sign_ins bigint, failures bigint, lockouts bigint, users_signed_in bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_staff();
  return query select r.day, r.sign_ins, r.failures, r.lockouts, r.users_signed_in from app_private.report_daily_auth r
    where r.day >= coalesce(from_day, current_date - 30) and r.day <= coalesce(to_day, current_date) order by r.day;
end
$$;


--
-- Name: FUNCTION report_daily_auth(from_day date, to_day date); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.report_daily_auth(from_day date, to_day date) IS 'Sign-ins, failed sign-ins and lockouts per day (UTC; default: the last 30 days). Refreshed every 15 minutes.
Definer: reads a materialized view no API role may read; the function checks the caller is staff.';


--
-- Name: report_kyc_funnel(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.report_kyc_funnel() RETURNS TABLE(level text, status text, verifications bigint, users bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_staff();
  return query select r.level, r.status, r.verifications, r.users from app_private.report_kyc_funnel r order by r.level, r.status;
end
$$;


--
-- Name: FUNCTION report_kyc_funnel(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.report_kyc_funnel() IS 'KYC verifications by level and status (pending, in review, approved, rejected...). Definer: reads a materialized view for staff.';


--
-- Name: report_kyc_risk(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.report_kyc_risk() RETURNS TABLE(risk_level text, status text, verifications bigint, avg_score numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_staff();
  return query select r.risk_level, r.status, r.verifications, r.avg_score from app_private.report_kyc_risk r
    order by r.risk_level, r.status;
end
$$;


--
-- Name: FUNCTION report_kyc_risk(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.report_kyc_risk() IS 'KYC verifications by risk level and status, with the average risk score. Definer: reads a materialized view for staff.';


--
-- Name: report_mfa_adoption(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.report_mfa_adoption() RETURNS TABLE(method text, users bigint, percent_of_users numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_staff();
  return query select r.method, r.users, r.percent_of_users from app_private.report_mfa_adoption r order by r.users desc;
end
$$;


--
-- Name: FUNCTION report_mfa_adoption(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.report_mfa_adoption() IS 'Active users by second-factor method (''none'' for users without one). Definer: reads a materialized view for staff.';


--
-- Name: report_security_events(date, date); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.report_security_events(from_day date DEFAULT NULL::date, to_day date DEFAULT NULL::date) RETURNS TABLE(day date, event_type text, severity text, events bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_staff();
  return query select r.day, r.event_type, r.severity, r.events from app_private.report_security_events_daily r
    where r.day >= coalesce(from_day, current_date - 30) and r.day <= coalesce(to_day, current_date)
    order by r.day, r.events desc;
end
$$;


--
-- Name: FUNCTION report_security_events(from_day date, to_day date); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.report_security_events(from_day date, to_day date) IS 'Security events (warning and critical) per day and type. Definer: reads a materialized view for staff.';


--
-- Name: report_suspicious_sessions(date, date); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.report_suspicious_sessions(from_day date DEFAULT NULL::date, to_day date DEFAULT NULL::date) RETURNS TABLE(day date, sessions bigint, suspicious bigint, avg_score numeric, token_reuse_revocations bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_staff();
  return query select r.day, r.sessions, r.suspicious, r.avg_score, r.token_reuse_revocations
    from app_private.report_suspicious_sessions_daily r
    where r.day >= coalesce(from_day, current_date - 30) and r.day <= coalesce(to_day, current_date) order by r.day;
end
$$;


--
-- Name: FUNCTION report_suspicious_sessions(from_day date, to_day date); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.report_suspicious_sessions(from_day date, to_day date) IS 'New sessions per day, how many were flagged suspicious, and refresh-token reuse revocations. Definer: reads a materialized view for staff.';


--
-- Name: request_account_deletion(text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.request_account_deletion(confirm_email text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION request_account_deletion(confirm_email text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.request_account_deletion(confirm_email text) IS 'Deletes the caller''s account: signed out everywhere at once, personal data erased after a 30-day grace period.
Confirmed with the account''s e-mail address; needs a recent second-factor check (aal2, POST /auth/mfa/step-up). KYC evidence is kept, restricted, for the AML retention period.
Definer: soft-deletes the account and revokes sessions and trusted devices, which customers cannot write.';


--
-- Name: request_phone_change(text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.request_phone_change(phone text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: FUNCTION request_phone_change(phone text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.request_phone_change(phone text) IS 'Starts a phone number change: needs a step-up (aal2 within 10 minutes); sends a 6-digit code to the new number and a notice to the account''s e-mail address. The number changes only when this session confirms the code (confirm_phone_change).
Raises STEP_UP_REQUIRED, INVALID_PHONE, PHONE_UNCHANGED, RATE_LIMITED. Definer: writes the pending change, its code''s HMAC and the outbox.';


--
-- Name: resolve_kyc_check(uuid, text, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.resolve_kyc_check(check_id uuid, resolution text, note text) RETURNS app.kyc_compliance_checks
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION resolve_kyc_check(check_id uuid, resolution text, note text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.resolve_kyc_check(check_id uuid, resolution text, note text) IS 'Resolves a potential screening match as false_positive or confirmed_match, with a note, and re-scores the risk.
Definer: writes check and risk columns no API role may write; the function checks the officer.';


--
-- Name: retention_policies(); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.retention_policies() RETURNS TABLE(name text, value text, unit text, applies_to text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select p.name, app.setting(p.name), p.unit, p.applies_to
    from (values ('audit_retention_months', 'months', 'audit log partitions (whole months, unless under legal hold)'),
                 ('session_retention_days', 'days', 'ended sessions'),
                 ('mfa_attempt_retention_days', 'days', 'MFA verification attempts'),
                 ('mfa_challenge_retention_days', 'days', 'expired MFA challenges and pending MFA sign-ins'),
                 ('outbox_retention_days', 'days', 'delivered or abandoned SMS/e-mail messages'),
                 ('erasure_grace_days', 'days', 'grace period between a deletion request and erasure'),
                 ('kyc_retention_years', 'years', 'KYC evidence after the relationship ends (AML)')) p(name, unit, applies_to)
  $$;


--
-- Name: FUNCTION retention_policies(); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.retention_policies() IS 'The retention periods in force (dwaybank.* settings, with defaults).';


--
-- Name: review_kyc_document(uuid, text, integer, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.review_kyc_document(document_id uuid, status text, quality_score integer, notes text DEFAULT NULL::text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION review_kyc_document(document_id uuid, status text, quality_score integer, notes text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.review_kyc_document(document_id uuid, status text, quality_score integer, notes text) IS 'Records an officer''s quality assessment of a document (accepted/rejected, 0-100) and re-scores the risk.
Definer: writes assessment columns no API role may write.';


--
-- Name: revoke_my_session(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.revoke_my_session(session_id uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION revoke_my_session(session_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.revoke_my_session(session_id uuid) IS 'Signs out one of the caller''s sessions at once (and the e-mail change it asked for).
Another session than the current one needs a step-up (STEP_UP_REQUIRED): a stolen session must not end the owner''s.
Definer: customers cannot write revocation columns directly; the function checks ownership itself.';


--
-- Name: revoke_trusted_device(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.revoke_trusted_device(device_id uuid DEFAULT NULL::uuid) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION revoke_trusted_device(device_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.revoke_trusted_device(device_id uuid) IS 'Forgets one remembered device of the caller, or all of them when no id is given.
Definer: deletes token hashes in app_private; the function checks ownership itself.';


--
-- Name: revoke_user_sessions(uuid, character varying, character varying); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.revoke_user_sessions(user_id uuid, reason character varying DEFAULT 'revoked'::character varying, except_session character varying DEFAULT NULL::character varying) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: FUNCTION revoke_user_sessions(user_id uuid, reason character varying, except_session character varying); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.revoke_user_sessions(user_id uuid, reason character varying, except_session character varying) IS 'Revokes every live session of a user (and the pending e-mailed links: e-mail change, password reset), optionally keeping the caller''s current one.
Customers may revoke only their own, after a step-up; admins anyone''s. Raises STEP_UP_REQUIRED, INVALID_EXCEPT_SESSION, INVALID_REASON, FORBIDDEN.
Definer: writes revocation columns no API role may write.';


--
-- Name: run_maintenance(text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.run_maintenance(job text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if app.caller_role() <> 'admin' then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Only admins may run maintenance jobs.","hint":"Ask an admin."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  perform audit.log_event('maintenance.run_by_hand', app.current_user_id(), jsonb_build_object('job', job), 'warning');
  return app_private.run_job(job);
end
$$;


--
-- Name: FUNCTION run_maintenance(job text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.run_maintenance(job text) IS 'Runs a maintenance job now: seal, checkpoint, partitions, sessions, kyc_expiry, reports, retention or erasure. Admins only; the run is recorded.
Definer: maintenance writes tables of every user; the function checks the caller is an admin.';


--
-- Name: submit_kyc_verification(uuid); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.submit_kyc_verification(kyc_id uuid) RETURNS app.kyc_summary
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION submit_kyc_verification(kyc_id uuid); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.submit_kyc_verification(kyc_id uuid) IS 'Hands the caller''s verification over for review once its documents are uploaded (KYC_DOCUMENTS_MISSING otherwise).
Definer: changes the status, which no customer may write.';


--
-- Name: suspend_customer(uuid, text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.suspend_customer(user_id uuid, reason text) RETURNS text
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    BEGIN ATOMIC
 SELECT app_private.set_customer_status(user_id, reason, 'active'::text, 'suspended'::text) AS set_customer_status;
END;


--
-- Name: FUNCTION suspend_customer(user_id uuid, reason text); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.suspend_customer(user_id uuid, reason text) IS 'Staff: suspends a customer''s account (sign-in refused, every session ended), with a reason for the audit trail.
Raises STAFF_REASON_REQUIRED, USER_NOT_FOUND, ACCOUNT_STATUS_CONFLICT, FORBIDDEN (staff accounts). Definer: writes the status no API role may write.';


--
-- Name: update_my_profile(text, text, text, text, date); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.update_my_profile(first_name text DEFAULT NULL::text, last_name text DEFAULT NULL::text, phone text DEFAULT NULL::text, country_code text DEFAULT NULL::text, date_of_birth date DEFAULT NULL::date) RETURNS app.profile
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION update_my_profile(first_name text, last_name text, phone text, country_code text, date_of_birth date); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.update_my_profile(first_name text, last_name text, phone text, country_code text, date_of_birth date) IS 'Changes the caller''s name, country or date of birth; omitted fields keep their value.
The phone number is a contact SMS codes and notices go to: passing a different one raises PHONE_CHANGE_NEEDS_VERIFICATION (use request_phone_change).
Security invoker: column grants and row-level security allow only these columns of the caller''s own row.';


--
-- Name: verify_audit_chain(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.verify_audit_chain(from_at timestamp with time zone DEFAULT '-infinity'::timestamp with time zone, to_at timestamp with time zone DEFAULT 'infinity'::timestamp with time zone) RETURNS audit.chain_report
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION verify_audit_chain(from_at timestamp with time zone, to_at timestamp with time zone); Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON FUNCTION api.verify_audit_chain(from_at timestamp with time zone, to_at timestamp with time zone) IS 'Recomputes the audit hash chain for [from_at, to_at) and compares it with the signed checkpoints: ok, entries checked, first bad seq and reason.
Definer: reads the whole audit trail; the function checks the caller is staff.';


--
-- Name: account_passkeys(uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.account_passkeys(user_id uuid, session_id uuid, now timestamp with time zone DEFAULT now()) RETURNS TABLE(id uuid, label text, transports text[], device_type text, backed_up boolean, created_at timestamp with time zone, last_used_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_live_session(user_id, session_id, now);
  return query select w.id, w.label, w.transports, w.device_type, w.backed_up, w.created_at, w.last_used_at
    from app.webauthn_credentials w where w.user_id = account_passkeys.user_id order by w.created_at;
end
$$;


--
-- Name: FUNCTION account_passkeys(user_id uuid, session_id uuid, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.account_passkeys(user_id uuid, session_id uuid, now timestamp with time zone) IS 'The passkeys of the user of a live session, for the gateway. Definer: the gateway has no table privileges.';


--
-- Name: account_sessions(uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.account_sessions(user_id uuid, session_id uuid, now timestamp with time zone DEFAULT now()) RETURNS TABLE(id uuid, current boolean, device_name text, ip inet, user_agent text, aal text, amr text[], created_at timestamp with time zone, last_activity_at timestamp with time zone, expires_at timestamp with time zone, is_suspicious boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.assert_live_session(user_id, session_id, now);
  return query
    select s.id, s.id = account_sessions.session_id, s.device_name, s.ip, s.user_agent, s.aal, s.amr, s.created_at,
           s.last_activity_at, s.expires_at, s.is_suspicious
    from app.user_sessions s
    where s.user_id = account_sessions.user_id and s.revoked_at is null and s.expires_at > now and s.idle_expires_at > now
    order by s.last_activity_at desc
    limit 100;
end
$$;


--
-- Name: FUNCTION account_sessions(user_id uuid, session_id uuid, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.account_sessions(user_id uuid, session_id uuid, now timestamp with time zone) IS 'The live sessions of the user of a live session, the current one marked. Definer: the gateway has no table privileges.';


--
-- Name: add_watchlist_entries(uuid, jsonb); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.add_watchlist_entries(watchlist_id uuid, entries jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_count integer;
begin
  with ins as (
    insert into app.watchlist_entries as e (watchlist_id, kind, external_id, schema, name, aliases, birth_date, countries, program)
    select add_watchlist_entries.watchlist_id, x.kind, x.id, coalesce(nullif(x.schema, ''), 'Person'), x.name,
           coalesce(x.aliases, '{}'), nullif(x.birth_date, ''),
           coalesce(array(select upper(c) from unnest(x.countries) c where c <> ''), '{}'), nullif(x.program, '')
      from jsonb_to_recordset(entries) as x(id text, kind text, schema text, name text, aliases text[], birth_date text,
                                            countries text[], program text)
    on conflict on constraint watchlist_entries_list_external_id_key do nothing
    returning e.id, e.name, e.aliases
  ), names as (
    insert into app.watchlist_names (entry_id, name_norm)
    select distinct i.id, app.normalize_name(n)
      from ins i, unnest(i.aliases || i.name) n
     where app.normalize_name(n) is not null
    on conflict on constraint watchlist_names_pkey do nothing
    returning 1
  )
  select count(*) into v_count from ins;
  return v_count;
end
$$;


--
-- Name: FUNCTION add_watchlist_entries(watchlist_id uuid, entries jsonb); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.add_watchlist_entries(watchlist_id uuid, entries jsonb) IS 'Adds a batch of watchlist entries with their normalised names.';


--
-- Name: assert_password_policy(text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.assert_password_policy(password text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: assert_step_up(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.assert_step_up(now timestamp with time zone DEFAULT now()) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_session app.user_sessions;
begin
  select * into v_session from app.user_sessions s where s.id = app_private.request_session_id();
  -- A user without a second factor cannot reach aal2: a recent sign-in is the strongest proof there is.
  perform app_private.assert_recent_auth(
    exists (select from app.mfa_configs c where c.user_id = v_session.user_id and c.status = 'active'), now);
end
$$;


--
-- Name: FUNCTION assert_step_up(now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.assert_step_up(now timestamp with time zone) IS 'Raises STEP_UP_REQUIRED (403) unless the current session is aal2 with auth_time within 10 minutes (a recent sign-in for users with no second factor).
For sensitive actions: changing e-mail, phone or password, managing MFA, revoking all sessions.
Definer: reads the caller''s session and MFA configuration, which callers cannot read in full.';


--
-- Name: audit_checkpoints_to_sign(integer); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.audit_checkpoints_to_sign(max_rows integer DEFAULT 20) RETURNS TABLE(id bigint, payload text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
    select c.id, audit.checkpoint_payload(c.head_seq, c.head_hash, c.created_at)
    from audit.checkpoints c where c.gateway_signature is null order by c.id limit least(greatest(max_rows, 1), 100)
  $$;


--
-- Name: FUNCTION audit_checkpoints_to_sign(max_rows integer); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.audit_checkpoints_to_sign(max_rows integer) IS 'Checkpoints the gateway has not countersigned yet, with the text to sign. Definer: reads audit.checkpoints for the gateway.';


--
-- Name: authenticate(text, text, inet, text, text, text, timestamp with time zone, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.authenticate(email text, password text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, device_name text DEFAULT NULL::text, now timestamp with time zone DEFAULT now(), device_cookie text DEFAULT NULL::text) RETURNS TABLE(status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamp with time zone, login_id uuid, mfa_methods text[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $$
declare
  v_email extensions.citext := left(coalesce(authenticate.email, ''), 320);
  v_user app.users;
  v_hash text;
  v_retry integer;
  v_state app.lockout_state;
  v_role text;
  v_device app_private.device_cookies;
  v_locked boolean := false;
  v_ok boolean;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  if password is null or char_length(password) > 1024 then
    password := coalesce(left(password, 1024), '');
  end if;

  if ip is not null then
    v_retry := app_private.ip_retry_after(ip, now);
    if v_retry > 0 then
      perform audit.log_event('auth.ip.throttled', null, jsonb_build_object('ip', host(ip)), 'warning');
      return query select 'throttled', null::uuid, null::text, v_retry, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::uuid, null::text[];
      return;
    end if;
  end if;

  select * into v_user from app.users u where u.email = v_email and u.deleted_at is null;
  if found then
    perform app.set_request_context(v_user.id, null, ip, user_agent);
    -- A device cookie counts only for the account it was issued for, unexpired and not revoked.
    if authenticate.device_cookie is not null and char_length(authenticate.device_cookie) between 16 and 128 then
      select * into v_device from app_private.device_cookies d
       where d.token_hash = app_private.token_hash(authenticate.device_cookie) and d.user_id = v_user.id
         and d.revoked_at is null and d.expires_at > now
       for update;
    end if;
    if v_device.token_hash is not null then
      if v_device.locked_until > now then
        perform audit.log_event('auth.login.device_locked', v_user.id, '{}'::jsonb, 'warning');
        return query select 'locked', null::uuid, null::text, greatest(1, ceil(extract(epoch from (v_device.locked_until - now))))::integer,
                            null::uuid, null::text, null::text, null::text[], null::timestamptz, null::uuid, null::text[];
        return;
      end if;
      if v_user.locked_until > now then
        -- The account is locked (perhaps by someone else's guesses); this device is known: let it try.
        perform audit.log_event('auth.login.lock_bypassed_by_device', v_user.id, '{}'::jsonb, 'info');
      end if;
    else
      v_locked := coalesce(v_user.locked_until > now, false);
    end if;
  end if;
  -- The same reads for a registered and an unknown address (finding 11): its hash
  -- (none for an unknown one) and its unknown-address lock (none for a registered one).
  select s.password_hash into v_hash from app_private.user_secrets s where s.user_id = v_user.id;
  select a.locked_until into v_state.locked_until from app_private.unknown_login_attempts a
   where a.email_fingerprint = app_private.fingerprint(v_email::text);
  if v_user.id is null then
    v_locked := coalesce(v_state.locked_until > now, false);
  end if;

  -- One bcrypt for every request that gets this far, locked or not, registered or
  -- not: the same work, so timing tells none of these apart.
  if v_hash is null then
    perform extensions.crypt(app_private.password_input(password), extensions.gen_salt('bf', app_private.bcrypt_cost()));
    v_ok := false;
  else
    v_ok := extensions.crypt(app_private.password_input(password), v_hash) = v_hash;
  end if;

  if v_locked then
    -- A request to a locked address is a failure of this client as well: without
    -- this, guesses spread over locked addresses would never reach the per-IP limit.
    if ip is not null then
      perform app_private.count_ip_failure(ip, now);
    end if;
    v_state := app.handle_failed_login(v_email, now);
    return query select 'locked', null::uuid, null::text, greatest(1, v_state.retry_after_seconds), null::uuid, null::text,
                        null::text, null::text[], null::timestamptz, null::uuid, null::text[];
    return;
  end if;

  if v_ok then
    if v_user.status <> 'active' then
      perform audit.log_event('auth.login.refused', v_user.id, jsonb_build_object('status', v_user.status), 'warning');
      return query select 'suspended', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::uuid, null::text[];
      return;
    end if;
    -- The device's own failure counter starts again; its use is recorded once the
    -- sign-in completes (app.issue_device_cookie), not here as well.
    if v_device.failed_attempts > 0 or v_device.locked_until is not null then
      update app_private.device_cookies d set failed_attempts = 0, locked_until = null
       where d.token_hash = v_device.token_hash;
    end if;
    perform app.handle_successful_login(v_email, ip, user_agent, now);
    -- Upgrade the hash when the configured cost has risen since it was made.
    if substr(v_hash, 5, 2)::integer < app_private.bcrypt_cost() then
      update app_private.user_secrets s set password_hash = app_private.hash_password(password), updated_at = now
       where s.user_id = v_user.id;
      perform audit.log_event('auth.password.rehashed', v_user.id, jsonb_build_object('cost', app_private.bcrypt_cost()));
    end if;
    v_role := case v_user.role when 'customer' then 'authenticated' else v_user.role end;
    return query select f.status, v_user.id, v_role, null::integer, f.session_id, f.refresh_token, f.aal, f.amr,
                        f.expires_at, f.login_id, f.mfa_methods
                 from app_private.finish_password_login(v_user.id, ip, user_agent, device_fingerprint, device_name, now) f;
    return;
  end if;

  if ip is not null then
    perform app_private.count_ip_failure(ip, now);
  end if;
  if v_device.token_hash is not null then
    -- A wrong password from a known device counts against that device only, on the
    -- account's schedule (app_private.lockout_seconds: 5 lock it for a minute, doubling up to an hour).
    update app_private.device_cookies d
       set failed_attempts = d.failed_attempts + 1,
           locked_until = case when app_private.lockout_seconds(d.failed_attempts + 1) > 0
                               then now + make_interval(secs => app_private.lockout_seconds(d.failed_attempts + 1))
                               else d.locked_until end
     where d.token_hash = v_device.token_hash;
    perform audit.log_event('auth.login.failed', v_user.id, jsonb_build_object('reason', 'invalid_password', 'device_cookie', true), 'info');
  else
    v_state := app.handle_failed_login(v_email, now);
  end if;
  return query select 'invalid', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::uuid, null::text[];
end
$$;


--
-- Name: FUNCTION authenticate(email text, password text, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone, device_cookie text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.authenticate(email text, password text, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone, device_cookie text) IS 'Password sign-in: per-IP throttle, lockout (a valid device cookie is exempt from the account lock and has its own counter),
bcrypt check, session creation. Returns a status instead of raising so failures are committed.
Definer: reads password hashes in app_private.';


--
-- Name: begin_otp_enrollment(uuid, uuid, text, text, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, config_id uuid, expires_at timestamp with time zone, retry_after_seconds integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text, ip inet, user_agent text, now timestamp with time zone) IS 'Starts an SMS or e-mail factor and queues its first code. Definer: writes app_private.';


--
-- Name: begin_passkey_authentication(text, uuid, uuid, uuid, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.begin_passkey_authentication(purpose text, login_id uuid DEFAULT NULL::uuid, user_id uuid DEFAULT NULL::uuid, session_id uuid DEFAULT NULL::uuid, challenge text DEFAULT NULL::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, allow_credentials jsonb, expires_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION begin_passkey_authentication(purpose text, login_id uuid, user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.begin_passkey_authentication(purpose text, login_id uuid, user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone) IS 'Stores an authentication challenge (5 minutes, single use) for a pending sign-in, a step-up or a passwordless sign-in; returns the allowed credentials.
Definer: reads pending sign-ins and writes challenge hashes in app_private.';


--
-- Name: begin_passkey_registration(uuid, uuid, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.begin_passkey_registration(user_id uuid, session_id uuid, challenge text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(email text, display_name text, exclude_credentials jsonb, expires_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_expires timestamptz;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_live_session(user_id, session_id, now);
  perform app_private.assert_may_manage_mfa(user_id, now);
  v_expires := app_private.store_webauthn_challenge(challenge, 'register', user_id, null, session_id, now);
  return query
    select u.email::text, nullif(concat_ws(' ', u.first_name, u.last_name), ''),
           coalesce((select jsonb_agg(jsonb_build_object('id', w.credential_id, 'transports', w.transports))
                       from app.webauthn_credentials w where w.user_id = u.id), '[]'::jsonb),
           v_expires
    from app.users u where u.id = begin_passkey_registration.user_id;
end
$$;


--
-- Name: FUNCTION begin_passkey_registration(user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.begin_passkey_registration(user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone) IS 'Stores a registration challenge (5 minutes, single use) after the MFA management rules (recent sign-in; aal2 once a factor exists).
Definer: writes challenge hashes in app_private.';


--
-- Name: begin_request(text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.begin_request(request_id text) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform pg_catalog.set_config('dwaybank.request_id', coalesce(left(request_id, 128), ''), true);
  return pg_catalog.now();
end
$$;


--
-- Name: FUNCTION begin_request(request_id text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.begin_request(request_id text) IS 'Records the gateway request a statement serves (for the audit trail, until the transaction ends) and returns the time it is served at, now().
The gateway passes it as the `now` argument of the function a single statement calls: arguments are evaluated before the call, so every audit entry the call writes carries the request id.';


--
-- Name: begin_totp_enrollment(uuid, uuid, text, text, text, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text, label text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text, label text, device_fingerprint text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text, label text, device_fingerprint text, ip inet, user_agent text, now timestamp with time zone) IS 'Starts a TOTP enrolment with the gateway-encrypted secret (pending until confirmed). Needs a recent sign-in; aal2 if a factor exists.
Definer: writes the ciphertext into app_private.';


--
-- Name: begin_watchlist_load(text, text, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.begin_watchlist_load(name text, version text, source text DEFAULT NULL::text) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION begin_watchlist_load(name text, version text, source text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.begin_watchlist_load(name text, version text, source text) IS 'Starts loading a watchlist version; null if it is already loaded. Raises WATCHLIST_LOAD_IN_PROGRESS (PT409) while another transaction is loading the same version.';


--
-- Name: caller_role(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.caller_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE(NULLIF(current_setting('role'::text), 'none'::text), (SESSION_USER)::text);


--
-- Name: cancel_account_recovery(text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.cancel_account_recovery(token text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_token record;
  v_id uuid;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_token from app_private.take_account_token(token, 'recovery_cancel', now);
  if v_token.status <> 'ok' then
    perform audit.log_event('account.recovery.cancel_failed', v_token.user_id, jsonb_build_object('reason', v_token.status), 'warning');
    return v_token.status;
  end if;
  perform app.set_request_context(v_token.user_id, null, ip, user_agent);
  select r.id into v_id from app.account_recoveries r where r.user_id = v_token.user_id and r.status in ('pending', 'approved') for update;
  if v_id is null then
    return 'not_found';
  end if;
  perform app_private.close_recovery(v_id, 'cancelled', v_token.user_id, 'cancelled by the customer (e-mailed link)', now);
  return 'ok';
end
$$;


--
-- Name: FUNCTION cancel_account_recovery(token text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.cancel_account_recovery(token text, ip inet, user_agent text, now timestamp with time zone) IS 'Cancels the open account recovery with the single-use link e-mailed to the verified address (a password alone cannot).
Returns ok, not_found, invalid, used, superseded or expired. Definer: reads token hashes and writes recoveries.';


--
-- Name: change_password(uuid, uuid, text, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.change_password(user_id uuid, session_id uuid, current_password text, new_password text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, revoked_sessions integer, retry_after_seconds integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_user app.users;
  v_hash text;
  v_state app.lockout_state;
  v_revoked integer;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_own_session(user_id, session_id);
  perform app_private.assert_live_session(user_id, session_id, now);
  perform app.assert_step_up(now);
  select * into v_user from app.users u where u.id = change_password.user_id for update;
  -- Wrong current passwords count like failed sign-ins, on the same schedule:
  -- a session cannot guess the password without limit.
  if v_user.locked_until > now then
    perform audit.log_event('account.password.change_failed', user_id, jsonb_build_object('reason', 'locked'), 'warning');
    return query select 'locked', null::integer, greatest(1, ceil(extract(epoch from (v_user.locked_until - now))))::integer;
    return;
  end if;
  select s.password_hash into v_hash from app_private.user_secrets s where s.user_id = change_password.user_id;
  if v_hash is null or extensions.crypt(app_private.password_input(coalesce(left(current_password, 1024), '')), v_hash) <> v_hash then
    perform audit.log_event('account.password.change_failed', user_id, jsonb_build_object('reason', 'wrong_password'), 'warning');
    v_state := app.handle_failed_login(v_user.email, now);
    if v_state.locked_until > now then
      return query select 'locked', null::integer, greatest(1, v_state.retry_after_seconds);
    else
      return query select 'invalid_password', null::integer, null::integer;
    end if;
    return;
  end if;
  update app.users u set failed_login_attempts = 0, locked_until = null
   where u.id = change_password.user_id and (u.failed_login_attempts <> 0 or u.locked_until is not null);
  perform app_private.set_password(user_id, new_password, now);
  v_revoked := app_private.revoke_sessions(user_id, 'password_changed', session_id, now);
  perform app_private.queue_email(user_id, 'password_changed', jsonb_build_object('reason', 'change', 'at', now), now);
  perform audit.log_event('account.password.changed', user_id, jsonb_build_object('revoked_sessions', v_revoked), 'warning');
  return query select 'ok', v_revoked, null::integer;
end
$$;


--
-- Name: FUNCTION change_password(user_id uuid, session_id uuid, current_password text, new_password text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.change_password(user_id uuid, session_id uuid, current_password text, new_password text, ip inet, user_agent text, now timestamp with time zone) IS 'Changes the password: needs the current one and a step-up (aal2 within 10 minutes, or a recent sign-in without MFA); revokes the other sessions and every pending e-mailed link, and notifies the user.
A wrong current password counts as a failed sign-in (same lockout as app.authenticate). Returns ok, invalid_password or locked (with retry_after_seconds);
raises STEP_UP_REQUIRED, WEAK_PASSWORD. Definer: writes the password hash and lockout columns.';


--
-- Name: check_kyc_expiry(uuid, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.check_kyc_expiry(user_id uuid DEFAULT NULL::uuid, now timestamp with time zone DEFAULT now()) RETURNS TABLE(expired integer, renewals_opened integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_now timestamptz := app.clock(now);
  v_rec app.kyc_records;
  v_new uuid;
  v_expired integer := 0;
  v_opened integer := 0;
begin
  for v_rec in
    update app.kyc_records r set status = 'expired'
     where r.status = 'approved' and r.expires_at <= v_now
       and (check_kyc_expiry.user_id is null or r.user_id = check_kyc_expiry.user_id)
    returning r.*
  loop
    v_expired := v_expired + 1;
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_rec.user_id, 'email', 'kyc.expired', jsonb_build_object('kyc_id', v_rec.id, 'expired_at', v_rec.expires_at), v_now);
    perform audit.log_event('kyc.expired', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id, 'expires_at', v_rec.expires_at));
  end loop;

  for v_rec in
    select r.* from app.kyc_records r
     where r.status = 'approved' and r.renewal_requested_at is null
       and r.expires_at <= v_now + make_interval(days => app.setting('kyc_renewal_days')::integer)
       and (check_kyc_expiry.user_id is null or r.user_id = check_kyc_expiry.user_id)
     for update skip locked
  loop
    v_new := null;
    if not exists (select from app.kyc_records p where p.user_id = v_rec.user_id
                     and p.status in ('pending', 'in_review', 'requires_resubmission')) then
      -- A verification the customer started since the look above wins (no renewal record then).
      insert into app.kyc_records as r (user_id, level, legal_first_name, legal_last_name, date_of_birth, nationality,
                                        address_line1, address_line2, city, postal_code, residence_country,
                                        id_document_type, id_document_number, renewal_of, created_at)
      values (v_rec.user_id, v_rec.level, v_rec.legal_first_name, v_rec.legal_last_name, v_rec.date_of_birth, v_rec.nationality,
              v_rec.address_line1, v_rec.address_line2, v_rec.city, v_rec.postal_code, v_rec.residence_country,
              v_rec.id_document_type, v_rec.id_document_number, v_rec.id, v_now)
      on conflict do nothing  -- kyc_records_one_in_progress_idx, the only key a new pending record can meet
      returning r.id into v_new;
      if v_new is not null then
        perform app_private.screen_kyc_record(v_new, array['sanctions', 'pep'], v_now);
        v_opened := v_opened + 1;
      end if;
    end if;
    update app.kyc_records r set renewal_requested_at = v_now where r.id = v_rec.id;
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_rec.user_id, 'email', 'kyc.renewal_due',
            jsonb_build_object('kyc_id', v_rec.id, 'renewal_kyc_id', v_new, 'expires_at', v_rec.expires_at), v_now);
    perform audit.log_event('kyc.renewal_opened', v_rec.user_id,
      jsonb_build_object('kyc_id', v_rec.id, 'renewal_kyc_id', v_new, 'expires_at', v_rec.expires_at));
  end loop;
  return query select v_expired, v_opened;
end
$$;


--
-- Name: FUNCTION check_kyc_expiry(user_id uuid, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.check_kyc_expiry(user_id uuid, now timestamp with time zone) IS 'Expires approvals past expires_at and opens renewals (a pending verification and an e-mail) 30 days ahead; one user or all (null).
A verification the customer starts at the same moment wins over the renewal record (the notice still goes out): one customer''s race never aborts the run.
Definer: the scheduler writes every user''s verifications and the outbox.';


--
-- Name: check_mfa_rate_limit(uuid, inet, integer, integer, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer, now timestamp with time zone DEFAULT now()) RETURNS TABLE(limited boolean, retry_after_seconds integer, user_failures integer, ip_failures integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_since timestamptz := now - make_interval(secs => window_seconds);
  v_user_failures integer;
  v_user_oldest timestamptz;
  v_ip_failures integer := 0;
  v_ip_oldest timestamptz;
  v_ip_limit integer := app.setting('ip_failure_limit')::integer;
  v_key inet := app_private.throttle_key(check_mfa_rate_limit.ip);
  v_retry integer := 0;
begin
  -- Wrong, replayed, expired and locked codes count; refusals by the limit itself do not, so it cannot extend itself.
  select count(*)::integer, min(a.created_at) into v_user_failures, v_user_oldest
  from (select a.created_at from app.mfa_verification_attempts a
         where a.user_id = check_mfa_rate_limit.user_id and a.created_at > v_since
           and a.outcome in ('failed', 'replayed', 'expired', 'locked')
         order by a.created_at desc limit max_attempts) a;
  if v_user_failures >= max_attempts then
    v_retry := greatest(1, ceil(extract(epoch from (v_user_oldest + make_interval(secs => window_seconds) - now))))::integer;
  end if;
  if ip is not null then
    select count(*)::integer, min(a.created_at) into v_ip_failures, v_ip_oldest
    from (select a.created_at from app.mfa_verification_attempts a
           where a.ip <<= v_key and a.created_at > v_since
             and a.outcome in ('failed', 'replayed', 'expired', 'locked')
           order by a.created_at desc limit v_ip_limit) a;
    if v_ip_failures >= v_ip_limit then
      v_retry := greatest(v_retry, 1, ceil(extract(epoch from (v_ip_oldest + make_interval(secs => window_seconds) - now)))::integer);
    end if;
  end if;
  return query select v_retry > 0, v_retry, v_user_failures, v_ip_failures;
end
$$;


--
-- Name: FUNCTION check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer, now timestamp with time zone) IS 'Whether a user (max_attempts failures) or a client (dwaybank.ip_failure_limit failures from its IPv4 address or IPv6 /64) has failed too often in the window, and for how many seconds more.
Definer: counts attempts of every user from one address.';


--
-- Name: check_request(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.check_request() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: FUNCTION check_request(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.check_request() IS 'PostgREST db-pre-request: rejects tokens without exp, with a wrong iss or token type, or whose session ended (SESSION_ENDED), staff sessions below aal2 (AAL2_REQUIRED), calls the role may not make (UNAUTHENTICATED without a token, FORBIDDEN), and GET of a function that changes data (METHOD_NOT_ALLOWED).
Definer: reads sessions of any user to decide.';


--
-- Name: check_session(uuid, uuid, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.check_session(session_id uuid, user_id uuid, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(live boolean, role text, aal text, auth_time timestamp with time zone, staff boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_session app.user_sessions;
  v_user app.users;
begin
  select * into v_session from app.user_sessions s where s.id = check_session.session_id;
  select * into v_user from app.users u where u.id = v_session.user_id;
  if v_session.id is null or v_session.user_id is distinct from check_session.user_id
     or v_session.revoked_at is not null or v_session.expires_at <= check_session.now or v_session.idle_expires_at <= check_session.now
     or v_user.deleted_at is not null or v_user.status is distinct from 'active'
     or not app.update_session_activity(check_session.session_id::text, left(check_session.user_agent, 512)) then
    return query select false, null::text, null::text, null::timestamptz, null::boolean;
    return;
  end if;
  return query select true, case v_user.role when 'customer' then 'authenticated' else v_user.role end,
                      v_session.aal, v_session.auth_time, v_user.role in ('compliance_officer', 'admin');
end
$$;


--
-- Name: FUNCTION check_session(session_id uuid, user_id uuid, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.check_session(session_id uuid, user_id uuid, user_agent text, now timestamp with time zone) IS 'The gateway''s check of an access token''s session (as app.check_request is PostgREST''s): whether it is live, and the user''s current role, the session''s aal and auth_time. Records activity like a PostgREST call.
Definer: reads sessions and users of any user, which the gateway role cannot read.';


--
-- Name: claim_outbox(integer); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.claim_outbox(batch integer DEFAULT 10) RETURNS TABLE(id bigint, user_id uuid, channel text, template text, payload jsonb, destination text, attempts integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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


--
-- Name: FUNCTION claim_outbox(batch integer); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.claim_outbox(batch integer) IS 'Claims SMS/e-mail messages due for delivery (undelivered, not dead-lettered, past their backoff), with the destination address (the message''s own `to`, else the account''s). Definer: reads the outbox and contact details.';


--
-- Name: cleanup_expired_sessions(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.cleanup_expired_sessions(now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_ended integer;
  v_deleted integer;
begin
  update app.user_sessions s
     set revoked_at = least(s.expires_at, s.idle_expires_at), revoked_reason = 'expired'
   where s.revoked_at is null and (s.expires_at <= cleanup_expired_sessions.now or s.idle_expires_at <= cleanup_expired_sessions.now);
  get diagnostics v_ended = row_count;
  -- Hashes of ended sessions are of no further use.
  delete from app_private.refresh_tokens t using app.user_sessions s
   where t.session_id = s.id and s.revoked_at is not null;
  delete from app.user_sessions s
   where s.revoked_at < cleanup_expired_sessions.now - make_interval(days => app.setting('session_retention_days')::integer);
  get diagnostics v_deleted = row_count;
  perform audit.log_event('session.cleanup', null, jsonb_build_object('ended', v_ended, 'deleted', v_deleted));
  return v_ended + v_deleted;
end
$$;


--
-- Name: FUNCTION cleanup_expired_sessions(now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.cleanup_expired_sessions(now timestamp with time zone) IS 'Ends sessions past their idle or absolute expiry, drops their token hashes, and deletes sessions past retention.
Definer: run by the scheduler, writes every user''s sessions.';


--
-- Name: clock(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.clock(requested timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN ((app.caller_role() = ANY (ARRAY['anon'::text, 'authenticated'::text, 'compliance_officer'::text, 'admin'::text])) OR (requested IS NULL)) THEN now() ELSE requested END;


--
-- Name: FUNCTION clock(requested timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.clock(requested timestamp with time zone) IS 'The time a function may use: the requested time for trusted callers (scheduler, DBA, tests), the server clock for API roles.';


--
-- Name: complete_due_account_recoveries(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.complete_due_account_recoveries(now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_id uuid;
  v_count integer := 0;
begin
  for v_id in select r.id from app.account_recoveries r
               where r.status = 'approved' and r.not_before <= complete_due_account_recoveries.now order by r.not_before loop
    perform app_private.complete_recovery(v_id, null, now);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;


--
-- Name: FUNCTION complete_due_account_recoveries(now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.complete_due_account_recoveries(now timestamp with time zone) IS 'Completes every approved recovery whose waiting period (from the second approval) has ended. Run by pg_cron as maintenance job `recoveries`; granted to no API role.';


--
-- Name: complete_outbox(bigint, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.complete_outbox(id bigint, error text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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


--
-- Name: FUNCTION complete_outbox(id bigint, error text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.complete_outbox(id bigint, error text) IS 'Marks a message sent, or records a failed attempt: the next one after a doubling backoff, or, after outbox_max_attempts, dead-lettered (an audit warning). Either end drops the message''s secrets (tg_outbox__forget_token). Definer: writes the outbox.';


--
-- Name: confirm_email_change(text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.confirm_email_change(token text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, user_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $_$
declare
  v_token record;
  v_old text;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_token from app_private.take_account_token(token, 'email_change', now);
  if v_token.status = 'ok' then
    perform app.set_request_context(v_token.user_id, null, ip, user_agent);
    select u.email::text into v_old from app.users u where u.id = v_token.user_id and u.deleted_at is null and u.status = 'active' for update;
    if v_old is null then
      v_token.status := 'invalid';
    elsif not exists (select from app_private.account_tokens t join app.user_sessions s on s.id = t.session_id
                       where t.id = v_token.token_id and s.user_id = v_token.user_id
                         and s.revoked_at is null and s.expires_at > now and s.idle_expires_at > now) then
      -- The session that asked has ended (signed out, revoked, expired): so has its request.
      v_token.status := 'session_ended';
    elsif (select true from (select pg_advisory_xact_lock(hashtextextended('app.signup:' || lower(v_token.email::text), 0))) l)
          -- (the lock sign-up takes on an address: a sign-up of the same address waits, then finds it taken)
          and exists (select from app.users u where u.email = v_token.email::extensions.citext and u.id <> v_token.user_id and u.deleted_at is null) then
      v_token.status := 'email_taken';
    end if;
  end if;
  if v_token.status <> 'ok' then
    perform audit.log_event('account.email_change.failed', v_token.user_id, jsonb_build_object('reason', v_token.status), 'warning');
    return query select v_token.status, null::uuid;
    return;
  end if;
  begin
    update app.users u set email = v_token.email::extensions.citext, email_verified_at = now where u.id = v_token.user_id;
  exception when unique_violation then
    perform audit.log_event('account.email_change.failed', v_token.user_id, jsonb_build_object('reason', 'email_taken'), 'warning');
    return query select 'email_taken', null::uuid;
    return;
  end;
  -- Links sent to the old address (reset, verification) must not outlive it.
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = v_token.user_id and t.consumed_at is null and t.revoked_at is null and t.purpose <> 'recovery_cancel';
  perform app_private.queue_email(v_token.user_id, 'email_changed',
    jsonb_build_object('to', v_old, 'new_email', regexp_replace(v_token.email, '^(.).*(@.*)$', '\1***\2'), 'at', now), now);
  perform audit.log_event('account.email.changed', v_token.user_id,
    jsonb_build_object('old_email', app_private.fingerprint(v_old), 'new_email', app_private.fingerprint(v_token.email)), 'warning');
  return query select 'ok', v_token.user_id;
end
$_$;


--
-- Name: FUNCTION confirm_email_change(token text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.confirm_email_change(token text, ip inet, user_agent text, now timestamp with time zone) IS 'Completes an e-mail change with the token sent to the new address (which is then verified) and notifies the old address, if the session that asked is still alive.
Returns ok, invalid, used, superseded, expired, session_ended or email_taken. Definer: writes the account''s address and reads token hashes.';


--
-- Name: confirm_otp_enrollment(uuid, uuid, uuid, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.confirm_otp_enrollment(user_id uuid, session_id uuid, config_id uuid, code text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, retry_after_seconds integer, backup_codes text[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_config app.mfa_configs;
  v_limit record;
  v_outcome text;
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_config from app.mfa_configs c
   where c.id = confirm_otp_enrollment.config_id and c.user_id = confirm_otp_enrollment.user_id and c.method in ('sms', 'email')
   for update;
  if not found or v_config.status <> 'pending' then
    return query select 'not_found', null::integer, null::text[];
    return;
  end if;
  select * into v_limit from app.check_mfa_rate_limit(user_id, ip, app.setting('mfa_max_attempts')::integer,
                                                      app.setting('mfa_window_seconds')::integer, now);
  if v_limit.limited then
    perform app.record_mfa_attempt(user_id, v_config.method, 'rate_limited', 'enroll', v_config.id, ip, user_agent, null, now);
    return query select 'rate_limited', v_limit.retry_after_seconds, null::text[];
    return;
  end if;
  v_outcome := app_private.check_challenge(v_config.id, code, now);
  if v_outcome <> 'ok' then
    perform app.record_mfa_attempt(user_id, v_config.method, v_outcome, 'enroll', v_config.id, ip, user_agent, null, now);
    return query select case v_outcome when 'failed' then 'invalid_code' else v_outcome end, null::integer, null::text[];
    return;
  end if;
  update app.mfa_configs c set status = 'active', confirmed_at = now, last_used_at = now, updated_at = now where c.id = v_config.id;
  perform app.record_mfa_attempt(user_id, v_config.method, 'success', 'enroll', v_config.id, ip, user_agent, null, now);
  if not exists (select from app.mfa_configs c where c.user_id = confirm_otp_enrollment.user_id and c.method = 'backup_codes') then
    v_codes := app_private.issue_backup_codes(user_id, now);
    perform audit.log_event('mfa.backup_codes.generated', user_id, jsonb_build_object('count', 10));
  end if;
  perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  perform audit.log_event('mfa.confirmed', user_id, jsonb_build_object('method', v_config.method, 'config_id', v_config.id));
  return query select 'ok', null::integer, v_codes;
end
$$;


--
-- Name: FUNCTION confirm_otp_enrollment(user_id uuid, session_id uuid, config_id uuid, code text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.confirm_otp_enrollment(user_id uuid, session_id uuid, config_id uuid, code text, ip inet, user_agent text, now timestamp with time zone) IS 'Activates a pending SMS or e-mail factor with the code that was sent; returns backup codes if the user had none.
Returns a status instead of raising so failed attempts count. Definer: reads code hashes in app_private.';


--
-- Name: confirm_totp_enrollment(uuid, uuid, uuid, bigint, inet, text, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.confirm_totp_enrollment(user_id uuid, session_id uuid, config_id uuid, step bigint, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, retry_after_seconds integer, backup_codes text[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_config app.mfa_configs;
  v_limit record;
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_config from app.mfa_configs c
   where c.id = confirm_totp_enrollment.config_id and c.user_id = confirm_totp_enrollment.user_id and c.method = 'totp'
   for update;
  if not found or v_config.status <> 'pending' then
    return query select 'not_found', null::integer, null::text[];
    return;
  end if;
  select * into v_limit from app.check_mfa_rate_limit(user_id, ip, app.setting('mfa_max_attempts')::integer,
                                                      app.setting('mfa_window_seconds')::integer, now);
  if v_limit.limited then
    perform app.record_mfa_attempt(user_id, 'totp', 'rate_limited', 'enroll', v_config.id, ip, user_agent, device_fingerprint, now);
    return query select 'rate_limited', v_limit.retry_after_seconds, null::text[];
    return;
  end if;
  if not app_private.accept_totp_step(v_config.id, step, now) then
    perform app.record_mfa_attempt(user_id, 'totp', 'failed', 'enroll', v_config.id, ip, user_agent, device_fingerprint, now);
    return query select 'invalid_code', null::integer, null::text[];
    return;
  end if;
  update app.mfa_configs c set status = 'active', confirmed_at = now, updated_at = now where c.id = v_config.id;
  perform app.record_mfa_attempt(user_id, 'totp', 'success', 'enroll', v_config.id, ip, user_agent, device_fingerprint, now);
  v_codes := app_private.issue_backup_codes(user_id, now);
  perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  perform audit.log_event('mfa.confirmed', user_id, jsonb_build_object('method', 'totp', 'config_id', v_config.id));
  perform audit.log_event('mfa.backup_codes.generated', user_id, jsonb_build_object('count', 10));
  return query select 'ok', null::integer, v_codes;
end
$$;


--
-- Name: FUNCTION confirm_totp_enrollment(user_id uuid, session_id uuid, config_id uuid, step bigint, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.confirm_totp_enrollment(user_id uuid, session_id uuid, config_id uuid, step bigint, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) IS 'Activates a pending TOTP factor when the gateway found the code at `step`, and returns 10 backup codes (shown once; stored hashed).
Returns a status instead of raising so failed attempts count. Definer: writes app_private.';


--
-- Name: create_mfa_challenge(uuid, text, text, text, uuid, uuid, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.create_mfa_challenge(user_id uuid, method text, code text, sealed text, login_id uuid DEFAULT NULL::uuid, session_id uuid DEFAULT NULL::uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, challenge_id uuid, expires_at timestamp with time zone, retry_after_seconds integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_config app.mfa_configs;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  if login_id is not null then
    if not exists (select from app_private.mfa_logins l where l.id = create_mfa_challenge.login_id
                     and l.user_id = create_mfa_challenge.user_id and l.consumed_at is null and l.expires_at > now) then
      return query select 'invalid_token', null::uuid, null::timestamptz, null::integer;
      return;
    end if;
  elsif not exists (select from app.user_sessions s where s.id = create_mfa_challenge.session_id
                      and s.user_id = create_mfa_challenge.user_id and s.revoked_at is null and s.expires_at > now) then
    return query select 'invalid_token', null::uuid, null::timestamptz, null::integer;
    return;
  end if;
  select * into v_config from app.mfa_configs c
   where c.user_id = create_mfa_challenge.user_id and c.method = create_mfa_challenge.method and c.status = 'active';
  if not found then
    return query select 'method_not_available', null::uuid, null::timestamptz, null::integer;
    return;
  end if;
  return query select * from app_private.create_challenge(v_config, login_id, code, sealed, now);
end
$$;


--
-- Name: FUNCTION create_mfa_challenge(user_id uuid, method text, code text, sealed text, login_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.create_mfa_challenge(user_id uuid, method text, code text, sealed text, login_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) IS 'Queues a 6-digit code by SMS or e-mail for a pending sign-in or a step-up (stored as an HMAC, single use, 10 minutes, 5 tries).
Definer: writes code hashes and the outbox in app_private.';


--
-- Name: jwt_claims(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.jwt_claims() RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE((NULLIF(current_setting('request.jwt.claims'::text, true), ''::text))::jsonb, '{}'::jsonb);


--
-- Name: current_aal(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.current_aal() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE((app.jwt_claims() ->> 'aal'::text), 'aal1'::text);


--
-- Name: current_session_id(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.current_session_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (NULLIF((app.jwt_claims() ->> 'sid'::text), ''::text))::uuid;


--
-- Name: current_user_id(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (NULLIF((app.jwt_claims() ->> 'sub'::text), ''::text))::uuid;


--
-- Name: FUNCTION current_user_id(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.current_user_id() IS 'The signed-in user (JWT sub), or null.';


--
-- Name: detect_suspicious_session(uuid, inet, text, character varying, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.detect_suspicious_session(user_id uuid, ip inet, user_agent text, device_fingerprint character varying, now timestamp with time zone DEFAULT now()) RETURNS TABLE(score integer, reasons text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_reasons text[] := '{}'::text[];
  v_score integer := 0;
  v_burst integer := app.setting('session_burst_limit')::integer;
  v_prefix cidr := case when family(ip) = 4 then set_masklen(ip::cidr, 24) else set_masklen(ip::cidr, 48) end;
begin
  if not exists (select from app.user_sessions s where s.user_id = detect_suspicious_session.user_id) then
    return query select 0, '{}'::text[];  -- nothing to compare a first sign-in with
    return;
  end if;
  if device_fingerprint is null then
    v_score := v_score + 10; v_reasons := v_reasons || 'no_device_fingerprint'::text;
  elsif not exists (select from app.user_sessions s where s.user_id = detect_suspicious_session.user_id
                      and s.device_fingerprint = detect_suspicious_session.device_fingerprint) then
    v_score := v_score + 30; v_reasons := v_reasons || 'new_device'::text;
  end if;
  if ip is not null and not exists (select from app.user_sessions s where s.user_id = detect_suspicious_session.user_id
                                      and s.ip <<= v_prefix) then
    v_score := v_score + 25; v_reasons := v_reasons || 'new_network'::text;
  end if;
  if user_agent is not null and not exists (select from app.user_sessions s where s.user_id = detect_suspicious_session.user_id
                                              and s.user_agent = left(detect_suspicious_session.user_agent, 512)) then
    v_score := v_score + 10; v_reasons := v_reasons || 'new_user_agent'::text;
  end if;
  -- At most v_burst index entries are read, however many sessions there are.
  if (select count(*) from (select from app.user_sessions s where s.user_id = detect_suspicious_session.user_id
                              and s.created_at > now - interval '10 minutes' limit v_burst) recent) >= v_burst then
    v_score := v_score + 35; v_reasons := v_reasons || 'session_burst'::text;
  end if;
  return query select least(v_score, 100), v_reasons;
end
$$;


--
-- Name: FUNCTION detect_suspicious_session(user_id uuid, ip inet, user_agent text, device_fingerprint character varying, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.detect_suspicious_session(user_id uuid, ip inet, user_agent text, device_fingerprint character varying, now timestamp with time zone) IS 'Scores a new session 0-100 with its reasons: new device, new network prefix, new user agent, burst of sessions.
Definer: compares with all of the user''s sessions, including columns callers cannot read.';


--
-- Name: effective_settings(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.effective_settings() RETURNS TABLE(name text, value text, description text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$ select s.name, app.setting(s.name), s.description from app.settings s order by s.name $$;


--
-- Name: FUNCTION effective_settings(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.effective_settings() IS 'Every setting with the value this database runs with; the gateway reads it at start.
Definer: the gateway''s role has no table privileges.';


--
-- Name: finish_passkey_authentication(text, text, text, boolean, bigint, uuid, uuid, inet, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.finish_passkey_authentication(purpose text, challenge text, credential_id text, verified boolean, new_sign_count bigint, login_id uuid DEFAULT NULL::uuid, for_session_id uuid DEFAULT NULL::uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, device_name text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_cred app.webauthn_credentials;
  v_user app.users;
  v_expected uuid;
  v_login app_private.mfa_logins;
  v_limit record;
  v_session record;
  v_amr text[];
  v_sess app.user_sessions;
begin
  perform app.set_request_context(null, for_session_id, ip, user_agent);
  select * into v_cred from app.webauthn_credentials w where w.credential_id = finish_passkey_authentication.credential_id for update;
  if purpose = 'login' then
    select * into v_login from app_private.mfa_logins l where l.id = finish_passkey_authentication.login_id for update;
    if not found or v_login.consumed_at is not null or v_login.expires_at <= now then
      return query select 'invalid_token', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
      return;
    end if;
    v_expected := v_login.user_id;
  elsif purpose = 'step_up' then
    select s.user_id into v_expected from app.user_sessions s where s.id = finish_passkey_authentication.for_session_id
       and s.revoked_at is null and s.expires_at > now and s.idle_expires_at > now;
    if v_expected is null then
      return query select 'invalid_token', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
      return;
    end if;
  end if;
  perform app.set_request_context(coalesce(v_expected, v_cred.user_id), for_session_id, ip, user_agent);
  if not app_private.take_webauthn_challenge(challenge, purpose, v_expected,
                                            case when purpose = 'login' then login_id end,
                                            case when purpose = 'step_up' then for_session_id end, now) then
    perform audit.log_event('mfa.passkey.challenge_invalid', coalesce(v_expected, v_cred.user_id), jsonb_build_object('purpose', purpose), 'warning');
    return query select 'invalid_challenge', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  if v_cred.id is null or (v_expected is not null and v_cred.user_id <> v_expected) then
    if v_expected is not null then
      perform app.record_mfa_attempt(v_expected, 'webauthn', 'failed', purpose, null, ip, user_agent, device_fingerprint, now);
    else
      perform audit.log_event('mfa.passkey.unknown_credential', null, jsonb_build_object('purpose', purpose), 'warning');
    end if;
    return query select 'failed', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  select * into v_user from app.users u where u.id = v_cred.user_id and u.deleted_at is null;
  select * into v_limit from app.check_mfa_rate_limit(v_user.id, ip, app.setting('mfa_max_attempts')::integer,
                                                      app.setting('mfa_window_seconds')::integer, now);
  if v_limit.limited then
    perform app.record_mfa_attempt(v_user.id, 'webauthn', 'rate_limited', purpose, v_cred.config_id, ip, user_agent, device_fingerprint, now);
    return query select 'rate_limited', null::uuid, null::text, v_limit.retry_after_seconds, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  if not coalesce(verified, false) then
    perform app.record_mfa_attempt(v_user.id, 'webauthn', 'failed', purpose, v_cred.config_id, ip, user_agent, device_fingerprint, now);
    return query select 'failed', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  -- WebAuthn L2 6.1.1: a counter that does not increase may mean a cloned authenticator.
  if (coalesce(new_sign_count, 0) > 0 or v_cred.sign_count > 0) and coalesce(new_sign_count, 0) <= v_cred.sign_count then
    perform app.record_mfa_attempt(v_user.id, 'webauthn', 'replayed', purpose, v_cred.config_id, ip, user_agent, device_fingerprint, now);
    perform audit.log_event('mfa.passkey.counter_regressed', v_user.id,
      jsonb_build_object('passkey_id', v_cred.id, 'stored', v_cred.sign_count, 'received', new_sign_count), 'critical');
    return query select 'counter_regressed', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  if v_user.status is distinct from 'active' then
    perform audit.log_event('auth.login.refused', v_user.id, jsonb_build_object('status', v_user.status, 'method', 'webauthn'), 'warning');
    return query select 'suspended', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  update app.webauthn_credentials w set sign_count = greatest(coalesce(new_sign_count, 0), 0), last_used_at = now where w.id = v_cred.id;
  update app.mfa_configs c set last_used_at = now where c.id = v_cred.config_id;
  perform app.record_mfa_attempt(v_user.id, 'webauthn', 'success', purpose, v_cred.config_id, ip, user_agent, device_fingerprint, now);

  if purpose = 'step_up' then
    update app.user_sessions s
       set aal = 'aal2', auth_time = now, amr = (select array_agg(distinct a order by a) from unnest(s.amr || 'webauthn'::text) a)
     where s.id = finish_passkey_authentication.for_session_id
    returning * into v_sess;
    perform audit.log_event('mfa.verify.succeeded', v_user.id, jsonb_build_object('method', 'webauthn', 'purpose', 'step_up', 'session_id', v_sess.id));
    return query select 'ok', v_user.id, case v_user.role when 'customer' then 'authenticated' else v_user.role end, null::integer,
                        v_sess.id, null::text, 'aal2'::text, v_sess.amr, v_sess.expires_at;
    return;
  end if;

  if purpose = 'login' then
    update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
    v_amr := array['pwd', 'webauthn'];
  else
    if v_user.locked_until > now then
      return query select 'locked', null::uuid, null::text,
        greatest(1, ceil(extract(epoch from (v_user.locked_until - now))))::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
      return;
    end if;
    perform app.handle_successful_login(v_user.email, ip, user_agent, now);
    v_amr := array['webauthn'];
  end if;
  select * into v_session from app_private.create_session(v_user.id, 'aal2', v_amr, ip, user_agent,
    coalesce(device_fingerprint, v_login.device_fingerprint), coalesce(device_name, v_login.device_name), now);
  perform audit.log_event('mfa.verify.succeeded', v_user.id,
    jsonb_build_object('method', 'webauthn', 'purpose', purpose, 'session_id', v_session.session_id));
  return query select 'ok', v_user.id, case v_user.role when 'customer' then 'authenticated' else v_user.role end, null::integer,
                      v_session.session_id, v_session.refresh_token, 'aal2'::text, v_amr, v_session.expires_at;
end
$$;


--
-- Name: FUNCTION finish_passkey_authentication(purpose text, challenge text, credential_id text, verified boolean, new_sign_count bigint, login_id uuid, for_session_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.finish_passkey_authentication(purpose text, challenge text, credential_id text, verified boolean, new_sign_count bigint, login_id uuid, for_session_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) IS 'Completes a passkey sign-in (second factor or passwordless: an aal2 session, amr webauthn) or step-up after the gateway checked the signature.
Single-use challenge; refuses a sign counter that does not increase (security event). Returns a status so failures are recorded.
Definer: reads challenge hashes and writes sessions.';


--
-- Name: finish_passkey_registration(uuid, uuid, text, text, bytea, bigint, text[], text, text, boolean, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, passkey_id uuid, backup_codes text[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet, user_agent text, now timestamp with time zone) IS 'Stores a passkey the gateway verified, using up its challenge; activates the webauthn factor and returns backup codes if the user had none.
Definer: writes app_private and MFA tables.';


--
-- Name: finish_watchlist_load(uuid, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.finish_watchlist_load(watchlist_id uuid, now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_list app.watchlists;
  v_kinds text[];
  v_kyc uuid;
  v_hits integer := 0;
  v_screened integer := 0;
begin
  update app.watchlists w
     set status = 'loaded', loaded_at = now,
         entry_count = (select count(*) from app.watchlist_entries e where e.watchlist_id = w.id)
   where w.id = finish_watchlist_load.watchlist_id and w.status = 'loading'
  returning w.* into v_list;
  if not found then
    return 0;
  end if;
  select array_agg(distinct e.kind) into v_kinds from app.watchlist_entries e where e.watchlist_id = v_list.id;
  if v_kinds is not null then
    for v_kyc in select r.id from app.kyc_records r where r.status in ('approved', 'pending', 'in_review', 'requires_resubmission')
    loop
      v_hits := v_hits + app_private.screen_kyc_record(v_kyc, v_kinds, now);
      v_screened := v_screened + 1;
    end loop;
  end if;
  perform audit.log_event('kyc.watchlist.loaded', null,
    jsonb_build_object('list', v_list.name, 'version', v_list.version, 'entries', v_list.entry_count,
                       'rescreened', v_screened, 'potential_matches', v_hits),
    case when v_hits > 0 then 'warning' else 'info' end);
  return v_hits;
end
$$;


--
-- Name: FUNCTION finish_watchlist_load(watchlist_id uuid, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.finish_watchlist_load(watchlist_id uuid, now timestamp with time zone) IS 'Marks a watchlist version loaded and re-screens every approved or in-progress verification against it.';


--
-- Name: handle_failed_login(extensions.citext, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.handle_failed_login(email extensions.citext, now timestamp with time zone DEFAULT now()) RETURNS app.lockout_state
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $$
declare
  v_user app.users;
  v_attempts integer;
  v_locked_until timestamptz;
  v_fp text := app_private.fingerprint(email::text);
begin
  update app.users u
     set failed_login_attempts = u.failed_login_attempts + 1,
         last_failed_login_at = handle_failed_login.now,
         locked_until = case
           when u.locked_until > handle_failed_login.now then u.locked_until
           when app_private.lockout_seconds(u.failed_login_attempts + 1) > 0
             then handle_failed_login.now + make_interval(secs => app_private.lockout_seconds(u.failed_login_attempts + 1))
           else u.locked_until end
   where u.email = handle_failed_login.email and u.deleted_at is null
   returning u.* into v_user;

  if found then
    v_attempts := v_user.failed_login_attempts;
    v_locked_until := v_user.locked_until;
    perform audit.log_event('auth.login.failed', v_user.id, jsonb_build_object('failed_attempts', v_attempts), 'warning');
    if v_locked_until = handle_failed_login.now + make_interval(secs => app_private.lockout_seconds(v_attempts)) then
      perform audit.log_event('auth.account.locked', v_user.id,
        jsonb_build_object('failed_attempts', v_attempts, 'locked_until', v_locked_until), 'warning');
    end if;
  else
    insert into app_private.unknown_login_attempts as a (email_fingerprint, failed_login_attempts, last_failed_login_at, locked_until)
    values (v_fp, 1, handle_failed_login.now, null)
    on conflict (email_fingerprint) do update
      set failed_login_attempts = a.failed_login_attempts + 1,
          last_failed_login_at = excluded.last_failed_login_at,
          locked_until = case
            when a.locked_until > handle_failed_login.now then a.locked_until
            when app_private.lockout_seconds(a.failed_login_attempts + 1) > 0
              then handle_failed_login.now + make_interval(secs => app_private.lockout_seconds(a.failed_login_attempts + 1))
            else a.locked_until end
    returning a.failed_login_attempts, a.locked_until into v_attempts, v_locked_until;
    perform audit.log_event('auth.login.failed', null,
      jsonb_build_object('email', v_fp, 'failed_attempts', v_attempts, 'unknown_account', true), 'warning');
  end if;

  return row(v_attempts, v_locked_until,
             greatest(0, ceil(extract(epoch from (v_locked_until - handle_failed_login.now))))::integer)::app.lockout_state;
end
$$;


--
-- Name: FUNCTION handle_failed_login(email extensions.citext, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.handle_failed_login(email extensions.citext, now timestamp with time zone) IS 'Counts a failed sign-in and applies exponential backoff (5 failures: 1 min, doubling, max 1 h).
Definer: updates lockout columns no API role may write.';


--
-- Name: handle_successful_login(extensions.citext, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.handle_successful_login(email extensions.citext, ip inet, user_agent text, now timestamp with time zone DEFAULT now()) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $$
declare
  v_user_id uuid;
begin
  update app.users u
     set failed_login_attempts = 0,
         locked_until = null,
         last_login_at = handle_successful_login.now,
         last_login_ip = handle_successful_login.ip,
         last_login_user_agent = left(handle_successful_login.user_agent, 512)
   where u.email = handle_successful_login.email and u.deleted_at is null
   returning u.id into v_user_id;
  if v_user_id is not null then
    perform audit.log_event('auth.login.succeeded', v_user_id, '{}');
  end if;
  return v_user_id;
end
$$;


--
-- Name: FUNCTION handle_successful_login(email extensions.citext, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.handle_successful_login(email extensions.citext, ip inet, user_agent text, now timestamp with time zone) IS 'Resets the lockout counters and records the time, address and user agent of a sign-in.
Definer: writes columns no API role may write.';


--
-- Name: is_email_address(text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.is_email_address(address text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO ''
    AS $_$
  select length(address) <= 254
     and address ~ '^[[:alnum:]!#$%&''*+/=?^_`{|}~-]+(\.[[:alnum:]!#$%&''*+/=?^_`{|}~-]+)*@[[:alnum:]]([[:alnum:]-]{0,61}[[:alnum:]])?(\.[[:alnum:]]([[:alnum:]-]{0,61}[[:alnum:]])?)+$'
$_$;


--
-- Name: FUNCTION is_email_address(address text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.is_email_address(address text) IS 'Whether a text is an e-mail address the product accepts (dot-atom local part, LDH domain labels, 254 characters at most).';


--
-- Name: issue_device_cookie(uuid, uuid, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.issue_device_cookie(user_id uuid, session_id uuid, presented text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION issue_device_cookie(user_id uuid, session_id uuid, presented text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.issue_device_cookie(user_id uuid, session_id uuid, presented text, now timestamp with time zone) IS 'After a sign-in (a session opened in the last 5 minutes): keeps the device cookie the client presented if it is valid for
this user (sliding expiry), else issues a new one (returned once, stored hashed), deletes the account''s expired and revoked
ones, and keeps at most dwaybank.device_cookies_per_user (20) live ones, the most recently used (under a per-user lock, so parallel sign-ins keep the cap).
Definer: writes app_private.device_cookies, which no API role may touch.';


--
-- Name: kyc_document_for_download(uuid, uuid, uuid, inet, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text) RETURNS TABLE(id uuid, user_id uuid, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet, user_agent text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet, user_agent text) IS 'The hash and encrypted storage location of a document, for its owner or a compliance officer (logged).
Definer: reads app_private.';


--
-- Name: kyc_risk(uuid, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.kyc_risk(kyc_id uuid, now timestamp with time zone DEFAULT now()) RETURNS TABLE(score integer, level text, factors jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
declare
  v_rec app.kyc_records;
  v_factors jsonb := '[]'::jsonb;
  v_points integer;
  v_docs integer;
  v_quality numeric;
  v_total integer;
begin
  select * into v_rec from app.kyc_records r where r.id = kyc_risk.kyc_id;
  if not found then
    return;
  end if;
  select max(c.points) into v_points from app.kyc_country_risk c
   where c.country_code in (v_rec.nationality, v_rec.residence_country);
  if v_points > 0 then
    v_factors := v_factors || jsonb_build_object('factor', 'country', 'points', v_points,
      'countries', (select jsonb_agg(c.country_code order by c.country_code) from app.kyc_country_risk c
                     where c.country_code in (v_rec.nationality, v_rec.residence_country)));
  end if;
  select max(case c.status when 'confirmed_match' then 75 else 40 end) into v_points from app.kyc_compliance_checks c
   where c.kyc_record_id = v_rec.id and c.check_type = 'sanctions' and c.status in ('potential_match', 'confirmed_match');
  if v_points is not null then
    v_factors := v_factors || jsonb_build_object('factor', 'sanctions', 'points', v_points);
  end if;
  select max(case c.status when 'confirmed_match' then 35 else 25 end) into v_points from app.kyc_compliance_checks c
   where c.kyc_record_id = v_rec.id and c.check_type = 'pep' and c.status in ('potential_match', 'confirmed_match');
  if v_points is not null then
    v_factors := v_factors || jsonb_build_object('factor', 'pep', 'points', v_points);
  end if;
  select count(*), avg(d.quality_score) into v_docs, v_quality from app.kyc_documents d where d.kyc_record_id = v_rec.id;
  if exists (select from app.kyc_documents d where d.kyc_record_id = v_rec.id and d.status in ('rejected', 'integrity_failed')) then
    v_factors := v_factors || jsonb_build_object('factor', 'document_rejected', 'points', 15);
  end if;
  if v_quality < 60 then
    v_factors := v_factors || jsonb_build_object('factor', 'document_quality', 'points', 10, 'average_quality', round(v_quality));
  end if;
  if v_docs = 0 and v_rec.level <> 'basic' then
    v_factors := v_factors || jsonb_build_object('factor', 'no_documents', 'points', 5);
  end if;
  if v_rec.level = 'basic' then
    v_factors := v_factors || jsonb_build_object('factor', 'level', 'points', 10, 'level', 'basic');
  end if;
  if (select u.created_at from app.users u where u.id = v_rec.user_id) > kyc_risk.now - interval '7 days' then
    v_factors := v_factors || jsonb_build_object('factor', 'account_age', 'points', 10);
  end if;
  if (select count(*) from app.kyc_records r where r.user_id = v_rec.user_id and r.created_at > kyc_risk.now - interval '30 days') >= 3 then
    v_factors := v_factors || jsonb_build_object('factor', 'velocity', 'points', 10);
  end if;
  select least(100, coalesce(sum((f ->> 'points')::integer), 0))::integer into v_total from jsonb_array_elements(v_factors) f;
  return query select v_total, app_private.kyc_risk_level(v_total), v_factors;
end
$$;


--
-- Name: FUNCTION kyc_risk(kyc_id uuid, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.kyc_risk(kyc_id uuid, now timestamp with time zone) IS 'The explainable risk score of a verification (0-100), its band (low <25, medium <50, high <75, critical >=75) and its factors.';


--
-- Name: login_with_trusted_device(uuid, text, text, inet, text, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, device_name text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_login app_private.mfa_logins;
  v_device app.trusted_devices;
  v_user app.users;
  v_session record;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_login from app_private.mfa_logins l where l.id = login_with_trusted_device.login_id for update;
  if not found or v_login.expires_at <= now or v_login.consumed_at is not null then
    return query select 'invalid_token', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  perform app.set_request_context(v_login.user_id, null, ip, user_agent);
  -- Staff powers need aal2, which a remembered device (aal1) never gives: the pending sign-in stays open for the factor.
  if exists (select from app.users u where u.id = v_login.user_id and u.role in ('compliance_officer', 'admin')) then
    return query select 'factor_required', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  select d.* into v_device from app.trusted_devices d
    join app_private.trusted_device_tokens t on t.device_id = d.id
   where t.token_hash = app_private.token_hash(coalesce(device_token, ''))
     and d.user_id = v_login.user_id and d.device_fingerprint = login_with_trusted_device.device_fingerprint
     and d.revoked_at is null and d.expires_at > now;
  if not found then
    perform app.record_mfa_attempt(v_login.user_id, 'trusted_device', 'failed', 'login', null, ip, user_agent, device_fingerprint, now);
    return query select 'untrusted', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  select * into v_user from app.users u where u.id = v_login.user_id;
  update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
  update app.trusted_devices d set last_used_at = now where d.id = v_device.id;
  perform app.record_mfa_attempt(v_user.id, 'trusted_device', 'success', 'login', null, ip, user_agent, device_fingerprint, now);
  select * into v_session from app_private.create_session(v_user.id, 'aal1', array['pwd', 'trusted_device'], ip, user_agent,
                                                          device_fingerprint, coalesce(device_name, v_device.device_name), now);
  return query select 'ok', v_user.id, case v_user.role when 'customer' then 'authenticated' else v_user.role end, null::integer,
                      v_session.session_id, v_session.refresh_token, 'aal1'::text, array['pwd', 'trusted_device'], v_session.expires_at;
end
$$;


--
-- Name: FUNCTION login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text, ip inet, user_agent text, device_name text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text, ip inet, user_agent text, device_name text, now timestamp with time zone) IS 'Completes a pending sign-in from a remembered device (token hash, same user and device fingerprint, not expired or revoked): an aal1 session with amr {pwd,trusted_device}.
Staff accounts get factor_required (their powers need aal2) and the pending sign-in stays open for the second factor.
Definer: reads app_private (pending sign-ins, device token hashes) and opens the session.';


--
-- Name: logout(uuid, inet, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.logout(session_id uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_user_id uuid;
begin
  update app.user_sessions s set revoked_at = pg_catalog.now(), revoked_reason = 'logout'
   where s.id = logout.session_id and s.revoked_at is null
   returning s.user_id into v_user_id;
  if v_user_id is not null then
    perform app.set_request_context(v_user_id, logout.session_id, ip, user_agent);
    -- What the session asked for (an e-mail change) ends with it.
    update app_private.account_tokens t set revoked_at = pg_catalog.now()
     where t.session_id = logout.session_id and t.consumed_at is null and t.revoked_at is null;
    perform audit.log_event('auth.logout', v_user_id, jsonb_build_object('session_id', logout.session_id));
  end if;
  return v_user_id is not null;
end
$$;


--
-- Name: FUNCTION logout(session_id uuid, ip inet, user_agent text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.logout(session_id uuid, ip inet, user_agent text) IS 'Ends one session at once, and the e-mail change it asked for. Definer: writes revocation columns and token rows.';


--
-- Name: metrics_audit(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.metrics_audit(now timestamp with time zone DEFAULT now()) RETURNS TABLE(unsealed_entries bigint, oldest_unsealed_age_seconds double precision, head_seq bigint, last_checkpoint_age_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select (select count(*) from audit.audit_log a where a.seq is null),
         coalesce((select extract(epoch from metrics_audit.now - min(a.occurred_at)) from audit.audit_log a where a.seq is null), 0)::double precision,
         coalesce((select max(a.seq) from audit.audit_log a where a.seq is not null), 0),
         (select extract(epoch from metrics_audit.now - max(c.created_at)) from audit.checkpoints c)::double precision
$$;


--
-- Name: FUNCTION metrics_audit(now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.metrics_audit(now timestamp with time zone) IS 'Unsealed audit entries and the age of the oldest, the chain head and the age of the last checkpoint, for monitoring. Definer: counts audit.audit_log.';


--
-- Name: metrics_audit_chain(integer, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.metrics_audit_chain(window_minutes integer DEFAULT 60, now timestamp with time zone DEFAULT now()) RETURNS TABLE(ok integer, checked_entries bigint, last_recorded_ok integer, last_recorded_age_seconds double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_report audit.chain_report;
begin
  v_report := audit.verify_chain(metrics_audit_chain.now - make_interval(mins => greatest(window_minutes, 1)), 'infinity');
  return query
    select case when v_report.ok then 1 else 0 end, v_report.checked,
           (select case when (e.details ->> 'ok')::boolean then 1 else 0 end from audit.audit_log e
             where e.kind = 'event' and e.event_type = 'audit.chain.verified' order by e.occurred_at desc limit 1),
           (select extract(epoch from metrics_audit_chain.now - max(e.occurred_at)) from audit.audit_log e
             where e.kind = 'event' and e.event_type = 'audit.chain.verified')::double precision;
end
$$;


--
-- Name: FUNCTION metrics_audit_chain(window_minutes integer, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.metrics_audit_chain(window_minutes integer, now timestamp with time zone) IS 'The audit chain verified over the last window_minutes (1 ok, 0 broken) and the last recorded verification''s outcome, for monitoring. Definer: reads the whole audit trail.';


--
-- Name: metrics_jobs(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.metrics_jobs(now timestamp with time zone DEFAULT now()) RETURNS TABLE(job text, last_run_failed integer, failures_last_hour bigint, last_success_age_seconds double precision)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  v_cron jsonb := '{}'::jsonb;
begin
  if exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    execute format($q$
      select coalesce(jsonb_object_agg(substr(c.jobname, 10), jsonb_build_object(
               'last_failed', (select x.status = 'failed' from %2$s x where x.jobid = c.jobid and x.status in ('succeeded', 'failed')
                               order by x.start_time desc limit 1),
               'failures', (select count(*) from %2$s x where x.jobid = c.jobid and x.status = 'failed'
                            and x.start_time > $1 - interval '1 hour'))), '{}'::jsonb)
      from %1$s c where c.jobname like 'dwaybank:%%'$q$, 'cron.job', 'cron.job_run_details')
      into v_cron using metrics_jobs.now;
  end if;
  return query
    select j.job,
           case when coalesce((v_cron -> j.job ->> 'last_failed')::boolean, false) or last_run.status = 'failed' then 1 else 0 end,
           coalesce((v_cron -> j.job ->> 'failures')::bigint, 0)
             + (select count(*) from audit.job_runs r where r.job = j.job and r.status = 'failed'
                 and r.started_at > metrics_jobs.now - interval '1 hour'),
           (select extract(epoch from metrics_jobs.now - max(r.finished_at)) from audit.job_runs r
             where r.job = j.job and r.status = 'succeeded')::double precision
      from app_private.maintenance_jobs() j
      left join lateral (select r.status from audit.job_runs r where r.job = j.job and r.status <> 'running'
                          order by r.started_at desc limit 1) last_run on true
     order by j.job;
end
$_$;


--
-- Name: FUNCTION metrics_jobs(now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.metrics_jobs(now timestamp with time zone) IS 'Each maintenance job: last run failed (1/0), failures in the last hour (pg_cron and the job itself), seconds since its last success, for monitoring. Definer: reads audit.job_runs and cron.job_run_details.';


--
-- Name: metrics_kyc(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.metrics_kyc(now timestamp with time zone DEFAULT now()) RETURNS TABLE(expired_awaiting_renewal bigint, renewals_open bigint, approvals_past_expiry bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select (select count(distinct r.user_id) from app.kyc_records r
           where r.status = 'expired' and r.expires_at <= metrics_kyc.now
             and not exists (select from app.kyc_records a where a.user_id = r.user_id and a.status = 'approved'
                             and a.expires_at > metrics_kyc.now)),
         (select count(*) from app.kyc_records r where r.renewal_of is not null and r.status in ('pending', 'in_review', 'requires_resubmission')),
         (select count(*) from app.kyc_records r where r.status = 'approved' and r.expires_at <= metrics_kyc.now)
$$;


--
-- Name: FUNCTION metrics_kyc(now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.metrics_kyc(now timestamp with time zone) IS 'KYC: customers whose verification expired without a valid one since, renewals open, approvals past expiry not yet expired, for monitoring. Definer: counts app.kyc_records (RLS forced).';


--
-- Name: metrics_outbox(timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.metrics_outbox(now timestamp with time zone DEFAULT now()) RETURNS TABLE(backlog bigint, oldest_age_seconds double precision, failing bigint, dead_last_day bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
  select count(*) filter (where o.dead_at is null),
         coalesce(extract(epoch from metrics_outbox.now - min(o.created_at) filter (where o.dead_at is null)), 0)::double precision,
         count(*) filter (where o.dead_at is null and o.last_error is not null),
         count(*) filter (where o.dead_at > metrics_outbox.now - interval '1 day')
    from app_private.outbox o where o.sent_at is null
$$;


--
-- Name: FUNCTION metrics_outbox(now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.metrics_outbox(now timestamp with time zone) IS 'Undelivered SMS/e-mail messages still being tried, the age of the oldest, how many failed at least once, and how many were dead-lettered in the last day, for monitoring. Definer: counts app_private.outbox.';


--
-- Name: mfa_policy_required(uuid); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.mfa_policy_required(user_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
    select coalesce((select u.mfa_required or u.role in ('compliance_officer', 'admin')
                     from app.users u where u.id = mfa_policy_required.user_id), false)
  $$;


--
-- Name: FUNCTION mfa_policy_required(user_id uuid); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.mfa_policy_required(user_id uuid) IS 'Whether the account''s policy requires MFA. Definer: reads the role of any user for the policy decision.';


--
-- Name: mfa_totp_secret(uuid, uuid); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.mfa_totp_secret(user_id uuid, config_id uuid DEFAULT NULL::uuid) RETURNS TABLE(config_id uuid, status text, ciphertext text, key_id text, last_used_step bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
    select c.id, c.status, s.ciphertext, s.key_id, c.last_used_step
    from app.mfa_configs c join app_private.mfa_secrets s on s.config_id = c.id
    where c.user_id = mfa_totp_secret.user_id and c.method = 'totp'
      and (mfa_totp_secret.config_id is null or c.id = mfa_totp_secret.config_id)
  $$;


--
-- Name: FUNCTION mfa_totp_secret(user_id uuid, config_id uuid); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.mfa_totp_secret(user_id uuid, config_id uuid) IS 'The AES-GCM ciphertext of a user''s TOTP secret and its last accepted step. Definer: reads app_private.';


--
-- Name: normalize_name(text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.normalize_name(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO ''
    AS $$
    select nullif(array_to_string(array(
             select w from pg_catalog.regexp_split_to_table(
               pg_catalog.regexp_replace(pg_catalog.lower(extensions.unaccent('extensions.unaccent'::regdictionary, name)),
                                         '[^[:alnum:]]+', ' ', 'g'), ' ') w
             where w <> '' order by w), ' '), '')
  $$;


--
-- Name: FUNCTION normalize_name(name text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.normalize_name(name text) IS 'A name for screening: lower case, unaccented, punctuation removed, words sorted.';


--
-- Name: passkey_credential(text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.passkey_credential(credential_id text) RETURNS TABLE(user_id uuid, public_key bytea, sign_count bigint, transports text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO ''
    AS $$
    select w.user_id, w.public_key, w.sign_count, w.transports
    from app.webauthn_credentials w where w.credential_id = passkey_credential.credential_id
  $$;


--
-- Name: FUNCTION passkey_credential(credential_id text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.passkey_credential(credential_id text) IS 'A passkey''s public key and sign counter, for the gateway to verify an assertion. Definer: the gateway has no table privileges.';


--
-- Name: record_audit_checkpoint_signature(bigint, text, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.record_audit_checkpoint_signature(id bigint, signature text, key_id text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO ''
    AS $$
    update audit.checkpoints c set gateway_signature = record_audit_checkpoint_signature.signature,
           gateway_key_id = record_audit_checkpoint_signature.key_id, gateway_signed_at = now()
     where c.id = record_audit_checkpoint_signature.id and c.gateway_signature is null
       and length(record_audit_checkpoint_signature.signature) between 16 and 4096
    returning true
  $$;


--
-- Name: FUNCTION record_audit_checkpoint_signature(id bigint, signature text, key_id text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.record_audit_checkpoint_signature(id bigint, signature text, key_id text) IS 'Stores the gateway''s JWS over a checkpoint, once. Definer: writes audit.checkpoints for the gateway.';


--
-- Name: record_mfa_attempt(uuid, text, text, text, uuid, inet, text, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.record_mfa_attempt(user_id uuid, method text, outcome text, purpose text DEFAULT 'login'::text, config_id uuid DEFAULT NULL::uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_id bigint;
begin
  insert into app.mfa_verification_attempts (user_id, config_id, method, purpose, outcome, ip, user_agent, device_fingerprint, created_at)
  values (record_mfa_attempt.user_id, record_mfa_attempt.config_id, record_mfa_attempt.method, record_mfa_attempt.purpose,
          record_mfa_attempt.outcome, record_mfa_attempt.ip, left(record_mfa_attempt.user_agent, 512),
          left(record_mfa_attempt.device_fingerprint, 256), now)
  returning id into v_id;
  if outcome <> 'success' then
    perform audit.log_event('mfa.verify.failed', record_mfa_attempt.user_id,
      jsonb_build_object('method', method, 'purpose', purpose, 'outcome', outcome), 'warning');
  end if;
  return v_id;
end
$$;


--
-- Name: FUNCTION record_mfa_attempt(user_id uuid, method text, outcome text, purpose text, config_id uuid, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.record_mfa_attempt(user_id uuid, method text, outcome text, purpose text, config_id uuid, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) IS 'Records one MFA verification attempt with its security context (and a security event when it failed).
Definer: writes the attempts table, which no API role may write.';


--
-- Name: refresh_session(text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.refresh_session(token text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, session_id uuid, user_id uuid, role text, aal text, amr text[], auth_time timestamp with time zone, refresh_token text, expires_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_token app_private.refresh_tokens;
  v_session app.user_sessions;
  v_user app.users;
  v_next text;
  v_current integer;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_token from app_private.refresh_tokens t where t.token_hash = app_private.token_hash(refresh_session.token);
  if not found then
    return query select 'invalid', null::uuid, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::text, null::timestamptz;
    return;
  end if;
  -- Serialise concurrent refreshes of one session.
  select * into v_session from app.user_sessions s where s.id = v_token.session_id for update;
  -- Re-read under the lock: a concurrent refresh may have just superseded this token.
  select * into v_token from app_private.refresh_tokens t where t.token_hash = v_token.token_hash;
  select * into v_user from app.users u where u.id = v_session.user_id;
  perform app.set_request_context(v_user.id, v_session.id, ip, user_agent);
  select max(t.generation) into v_current from app_private.refresh_tokens t where t.session_id = v_session.id;

  if v_session.revoked_at is not null or v_user.deleted_at is not null or v_user.status <> 'active' then
    return query select 'revoked', null::uuid, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::text, null::timestamptz;
    return;
  end if;
  if v_session.expires_at <= now or v_session.idle_expires_at <= now then
    return query select 'expired', null::uuid, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::text, null::timestamptz;
    return;
  end if;

  if v_token.generation = v_current then
    v_next := app_private.successor_token(refresh_session.token);
    update app_private.refresh_tokens t set superseded_at = now where t.token_hash = v_token.token_hash;
    insert into app_private.refresh_tokens (token_hash, session_id, generation, created_at)
    values (app_private.token_hash(v_next), v_session.id, v_current + 1, now);
    update app.user_sessions s
       set rotation_counter = v_current + 1,
           last_activity_at = now,
           idle_expires_at = least(s.expires_at, now + make_interval(mins => app.setting('session_idle_minutes')::integer)),
           is_suspicious = s.is_suspicious or (refresh_session.user_agent is not null and s.user_agent is distinct from left(refresh_session.user_agent, 512)),
           suspicious_reasons = case when refresh_session.user_agent is not null and s.user_agent is distinct from left(refresh_session.user_agent, 512)
                                          and not ('user_agent_changed' = any (s.suspicious_reasons))
                                     then s.suspicious_reasons || 'user_agent_changed'::text else s.suspicious_reasons end,
           suspicious_score = case when refresh_session.user_agent is not null and s.user_agent is distinct from left(refresh_session.user_agent, 512)
                                   then least(100, s.suspicious_score + 50) else s.suspicious_score end
     where s.id = v_session.id
     returning * into v_session;
    if v_session.is_suspicious and 'user_agent_changed' = any (v_session.suspicious_reasons) then
      perform audit.log_event('session.suspicious', v_user.id,
        jsonb_build_object('session_id', v_session.id, 'risk_reasons', v_session.suspicious_reasons), 'warning');
    end if;
  elsif v_token.generation = v_current - 1
        and v_token.superseded_at > now - make_interval(secs => app.setting('refresh_grace_seconds')::integer) then
    v_next := app_private.successor_token(refresh_session.token);
  else
    update app.user_sessions s set revoked_at = now, revoked_reason = 'refresh_token_reuse' where s.id = v_session.id;
    perform audit.log_event('session.refresh_token_reused', v_user.id,
      jsonb_build_object('session_id', v_session.id, 'generation', v_token.generation, 'current_generation', v_current), 'critical');
    return query select 'reused', null::uuid, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::text, null::timestamptz;
    return;
  end if;

  return query select 'ok', v_session.id, v_user.id,
                      case v_user.role when 'customer' then 'authenticated' else v_user.role end,
                      v_session.aal, v_session.amr, v_session.auth_time, v_next, v_session.expires_at;
end
$$;


--
-- Name: FUNCTION refresh_session(token text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.refresh_session(token text, ip inet, user_agent text, now timestamp with time zone) IS 'Rotates a refresh token; a replayed old token revokes the session. Returns a status so the revocation is committed.
Definer: reads and writes token hashes in app_private.';


--
-- Name: regenerate_backup_codes(uuid, uuid, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.regenerate_backup_codes(user_id uuid, session_id uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS text[]
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION regenerate_backup_codes(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.regenerate_backup_codes(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) IS 'Replaces the backup codes with 10 new ones (the old set stops working). Needs a fresh aal2 session.
Definer: writes code hashes in app_private.';


--
-- Name: register_kyc_document(uuid, uuid, uuid, text, text, integer, bytea, text, text, text, text, date, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text, issuing_country text DEFAULT NULL::text, document_number text DEFAULT NULL::text, expires_on date DEFAULT NULL::date, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text, issuing_country text, document_number text, expires_on date, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text, issuing_country text, document_number text, expires_on date, ip inet, user_agent text, now timestamp with time zone) IS 'Registers an uploaded document (metadata, SHA-256, encrypted storage location) on the caller''s pending verification.
Needs an aal2 session (STEP_UP_REQUIRED); limits size and counts. Definer: writes app_private.';


--
-- Name: remove_passkey(uuid, uuid, uuid, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.remove_passkey(user_id uuid, session_id uuid, passkey_id uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_own_session(user_id, session_id);
  return app_private.remove_passkey(user_id, passkey_id, now);
end
$$;


--
-- Name: FUNCTION remove_passkey(user_id uuid, session_id uuid, passkey_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.remove_passkey(user_id uuid, session_id uuid, passkey_id uuid, ip inet, user_agent text, now timestamp with time zone) IS 'Removes a passkey for the gateway (DELETE /auth/passkeys/{id}), under the rules of api.remove_passkey. Definer: deletes MFA rows.';


--
-- Name: report_kyc_document_integrity_failure(uuid, uuid, uuid, text, inet, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.report_kyc_document_integrity_failure(document_id uuid, actor_id uuid, session_id uuid, reason text DEFAULT 'hash_mismatch'::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_doc app.kyc_documents;
begin
  perform app.set_request_context(actor_id, session_id, ip, user_agent);
  update app.kyc_documents d set status = 'integrity_failed'
   where d.id = report_kyc_document_integrity_failure.document_id
  returning d.* into v_doc;
  if v_doc.id is not null then
    perform app_private.refresh_kyc_risk(v_doc.kyc_record_id, now());
    perform audit.log_event('kyc.document_integrity_failed', v_doc.user_id,
      jsonb_build_object('document_id', v_doc.id, 'reason', left(reason, 64)), 'critical');
  end if;
end
$$;


--
-- Name: FUNCTION report_kyc_document_integrity_failure(document_id uuid, actor_id uuid, session_id uuid, reason text, ip inet, user_agent text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.report_kyc_document_integrity_failure(document_id uuid, actor_id uuid, session_id uuid, reason text, ip inet, user_agent text) IS 'Records that a stored document failed its integrity check (critical audit event, document marked integrity_failed).
Definer: writes the document status.';


--
-- Name: request_account_recovery(uuid, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.request_account_recovery(login_id uuid, reason text DEFAULT NULL::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, recovery_id uuid, not_before timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_login app_private.mfa_logins;
  v_recovery app.account_recoveries;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_login from app_private.mfa_logins l where l.id = request_account_recovery.login_id for update;
  if not found or v_login.consumed_at is not null or v_login.expires_at <= now then
    return query select 'invalid_token', null::uuid, null::timestamptz;
    return;
  end if;
  perform app.set_request_context(v_login.user_id, null, ip, user_agent);
  update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
  select * into v_recovery from app.account_recoveries r where r.user_id = v_login.user_id and r.status in ('pending', 'approved');
  if found then
    return query select 'already_requested', v_recovery.id, v_recovery.not_before;
    return;
  end if;
  begin
    -- not_before is the earliest completion; the second approval moves it to approval + the waiting period.
    insert into app.account_recoveries (user_id, reason, requested_at, not_before)
    values (v_login.user_id, left(nullif(reason, ''), 500), now,
            now + make_interval(hours => app.setting('recovery_wait_hours')::integer))
    returning * into v_recovery;
  exception when unique_violation then
    -- Another request opened one between our look and our insert (it has committed: the insert waited for it).
    select * into v_recovery from app.account_recoveries r where r.user_id = v_login.user_id and r.status in ('pending', 'approved');
    return query select 'already_requested', v_recovery.id, v_recovery.not_before;
    return;
  end;
  perform app_private.queue_email(v_login.user_id, 'account_recovery_requested',
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before)
      || app_private.recovery_cancel_link(v_login.user_id, now), now);
  perform audit.log_event('account.recovery.requested', v_login.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before), 'warning');
  return query select 'ok', v_recovery.id, v_recovery.not_before;
end
$$;


--
-- Name: FUNCTION request_account_recovery(login_id uuid, reason text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.request_account_recovery(login_id uuid, reason text, ip inet, user_agent text, now timestamp with time zone) IS 'Starts an account recovery for a customer who passed the password step (login_id = the mfa_token''s jti, consumed) but lost every factor; the notice to the verified address carries a cancel link.
not_before is the earliest completion: the waiting period runs from the second approval. Returns ok, already_requested (also to the loser of two requests at once) or invalid_token. Definer: reads pending sign-ins in app_private.';


--
-- Name: request_email_change(uuid, uuid, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.request_email_change(user_id uuid, session_id uuid, new_email text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, expires_at timestamp with time zone, retry_after_seconds integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $_$
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
$_$;


--
-- Name: FUNCTION request_email_change(user_id uuid, session_id uuid, new_email text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.request_email_change(user_id uuid, session_id uuid, new_email text, ip inet, user_agent text, now timestamp with time zone) IS 'Starts an e-mail change: needs a step-up; sends a confirmation link (24 hours, single use, valid only while the asking session lives) to the new address and a notice to the current one, which keeps working until the change is confirmed.
Raises STEP_UP_REQUIRED, INVALID_EMAIL, EMAIL_UNCHANGED. Definer: writes token hashes and the outbox.';


--
-- Name: request_password_reset(text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.request_password_reset(email text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, retry_after_seconds integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $$
declare
  v_fp text := app_private.fingerprint(left(coalesce(request_password_reset.email, ''), 320));
  v_window integer := app.setting('password_reset_window_seconds')::integer;
  v_since timestamptz := now - make_interval(secs => v_window);
  v_net inet := app_private.throttle_key(request_password_reset.ip);
  v_count integer;
  v_oldest timestamptz;
  v_retry integer := 0;
  v_user app.users;
  v_token record;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  perform pg_advisory_xact_lock(hashtextextended('password_reset:address:' || v_fp, 0));
  if v_net is not null then
    perform pg_advisory_xact_lock(hashtextextended('password_reset:client:' || v_net::text, 0));
  end if;
  select count(*), min(r.created_at) into v_count, v_oldest from app_private.account_requests r
   where r.kind = 'password_reset' and r.email_fingerprint = v_fp and r.created_at > v_since;
  if v_count >= app.setting('password_reset_address_limit')::integer then
    v_retry := ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now)))::integer;
  end if;
  if v_net is not null then
    select count(*), min(r.created_at) into v_count, v_oldest from app_private.account_requests r
     where r.kind = 'password_reset' and r.ip <<= v_net and r.created_at > v_since;
    -- Defaults to the sign-in throttle's limit (lifted for test traffic, which all comes from one address).
    if v_count >= coalesce(app.setting('password_reset_ip_limit'), app.setting('ip_failure_limit'))::integer then
      v_retry := greatest(v_retry, ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now)))::integer);
    end if;
  end if;
  if v_retry > 0 then
    perform audit.log_event('account.password_reset.throttled', null, jsonb_build_object('email', v_fp), 'warning');
    return query select 'rate_limited', greatest(1, v_retry);
    return;
  end if;
  -- Stored as the throttle counts it (an IPv6 client's /64, an IPv4-mapped address as IPv4), so every form of one client matches.
  insert into app_private.account_requests (kind, email_fingerprint, ip, created_at) values ('password_reset', v_fp, v_net, now);

  select * into v_user from app.users u
   where u.email = left(coalesce(request_password_reset.email, ''), 320)::extensions.citext and u.deleted_at is null;
  if not found or v_user.status <> 'active' then
    perform audit.log_event('account.password_reset.requested', v_user.id,
      jsonb_build_object('email', v_fp, 'unknown_account', v_user.id is null, 'sent', false));
  else
    perform app.set_request_context(v_user.id, null, ip, user_agent);
    select * into v_token from app_private.issue_account_token(v_user.id, 'password_reset', v_user.email::text,
      make_interval(mins => app.setting('password_reset_minutes')::integer), now);
    perform app_private.queue_email(v_user.id, 'password_reset',
      jsonb_build_object('token', v_token.token, 'expires_at', v_token.expires_at), now);
    perform audit.log_event('account.password_reset.requested', v_user.id,
      jsonb_build_object('email', v_fp, 'sent', true, 'expires_at', v_token.expires_at), 'warning');
  end if;
  return query select 'accepted', null::integer;
end
$$;


--
-- Name: FUNCTION request_password_reset(email text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.request_password_reset(email text, ip inet, user_agent text, now timestamp with time zone) IS 'Sends a password reset link (30 minutes, single use; a newer request invalidates the older link) if the address has an active account.
Answers `accepted` either way; `rate_limited` after 3 requests per address or 50 (dwaybank.ip_failure_limit) per client network (an IPv6 client by its /64) in an hour,
counted alike for unknown addresses, under a lock on the address and the network so that requests sent together cannot pass the limits.
Definer: writes token hashes and the outbox.';


--
-- Name: resend_email_verification(uuid, uuid, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.resend_email_verification(user_id uuid, session_id uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, expires_at timestamp with time zone, retry_after_seconds integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_user app.users;
  v_window integer := app.setting('email_verification_window_seconds')::integer;
  v_sent integer;
  v_oldest timestamptz;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_live_session(user_id, session_id, now);
  select * into v_user from app.users u where u.id = resend_email_verification.user_id for update;
  if v_user.email_verified_at is not null then
    return query select 'already_verified', null::timestamptz, null::integer;
    return;
  end if;
  select count(*), min(t.created_at) into v_sent, v_oldest from app_private.account_tokens t
   where t.user_id = resend_email_verification.user_id and t.purpose = 'email_verification'
     and t.created_at > now - make_interval(secs => v_window);
  if v_sent >= app.setting('email_verification_limit')::integer then
    perform audit.log_event('account.email_verification.throttled', user_id, jsonb_build_object('sent', v_sent), 'warning');
    return query select 'rate_limited', null::timestamptz,
      greatest(1, ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now))))::integer;
    return;
  end if;
  return query select 'ok', app_private.send_email_verification(user_id, v_user.email::text, 'resend', now), null::integer;
end
$$;


--
-- Name: FUNCTION resend_email_verification(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.resend_email_verification(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) IS 'Sends a new verification e-mail (the older link stops working); at most 3 per hour. Returns ok, already_verified or rate_limited.
Definer: writes token hashes and the outbox.';


--
-- Name: reset_password(text, text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.reset_password(token text, new_password text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, user_id uuid, revoked_sessions integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_token record;
  v_revoked integer;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_token from app_private.take_account_token(token, 'password_reset', now);
  if v_token.status = 'ok' and not exists (select from app.users u where u.id = v_token.user_id and u.deleted_at is null
                                             and u.status = 'active' and u.email = v_token.email::extensions.citext) then
    v_token.status := 'invalid';
  end if;
  if v_token.status <> 'ok' then
    perform audit.log_event('account.password_reset.failed', v_token.user_id, jsonb_build_object('reason', v_token.status), 'warning');
    return query select v_token.status, null::uuid, null::integer;
    return;
  end if;
  perform app.set_request_context(v_token.user_id, null, ip, user_agent);
  -- Raises WEAK_PASSWORD, which rolls back and keeps the token usable.
  perform app_private.set_password(v_token.user_id, new_password, now);
  -- Every session, remembered device and pending e-mailed link (an e-mail change
  -- above all) ends; the second factor stays, so the next sign-in still asks for it.
  v_revoked := app_private.revoke_sessions(v_token.user_id, 'password_reset', null, now);
  perform app_private.revoke_trusted_devices(v_token.user_id, 'password_reset');
  perform app_private.queue_email(v_token.user_id, 'password_changed', jsonb_build_object('reason', 'reset', 'at', now), now);
  perform audit.log_event('account.password.reset', v_token.user_id, jsonb_build_object('revoked_sessions', v_revoked), 'warning');
  return query select 'ok', v_token.user_id, v_revoked;
end
$$;


--
-- Name: FUNCTION reset_password(token text, new_password text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.reset_password(token text, new_password text, ip inet, user_agent text, now timestamp with time zone) IS 'Sets a new password with a reset token (single use), revokes every session, trusted device and pending e-mailed link (e-mail change, other reset links), and notifies the user. MFA is untouched.
Returns ok, invalid, used, superseded or expired; raises WEAK_PASSWORD. Definer: writes the password hash.';


--
-- Name: revoke_account_session(uuid, uuid, uuid, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet, user_agent text, now timestamp with time zone) IS 'Signs out one session of the caller (from the account page); another session than the current one needs a step-up. Definer: writes revocation columns.';


--
-- Name: uuid_v7(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.uuid_v7() RETURNS uuid
    LANGUAGE sql PARALLEL SAFE
    RETURN (encode(set_bit(set_bit(OVERLAY(uuid_send(gen_random_uuid()) PLACING SUBSTRING(int8send((floor((EXTRACT(epoch FROM clock_timestamp()) * (1000)::numeric)))::bigint) FROM 3) FROM 1 FOR 6), (52)::bigint, 1), (53)::bigint, 1), 'hex'::text))::uuid;


--
-- Name: FUNCTION uuid_v7(); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.uuid_v7() IS 'A version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, then random bits. For rows inserted at a high rate, so their primary key grows at one end.';


--
-- Name: user_sessions; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.user_sessions (
    id uuid DEFAULT app_private.uuid_v7() NOT NULL,
    user_id uuid NOT NULL,
    rotation_counter integer DEFAULT 0 NOT NULL,
    device_fingerprint text,
    device_name text,
    ip inet,
    user_agent text,
    aal text DEFAULT 'aal1'::text NOT NULL,
    amr text[] DEFAULT '{pwd}'::text[] NOT NULL,
    auth_time timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_activity_at timestamp with time zone DEFAULT now() NOT NULL,
    idle_expires_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    revoked_reason text,
    is_suspicious boolean DEFAULT false NOT NULL,
    suspicious_score integer DEFAULT 0 NOT NULL,
    suspicious_reasons text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT user_sessions_aal_chk CHECK ((aal = ANY (ARRAY['aal1'::text, 'aal2'::text]))),
    CONSTRAINT user_sessions_device_fingerprint_chk CHECK ((length(device_fingerprint) <= 256)),
    CONSTRAINT user_sessions_device_name_chk CHECK ((length(device_name) <= 200)),
    CONSTRAINT user_sessions_expiry_chk CHECK (((idle_expires_at <= expires_at) AND (expires_at > created_at))),
    CONSTRAINT user_sessions_revoked_chk CHECK (((revoked_at IS NULL) = (revoked_reason IS NULL))),
    CONSTRAINT user_sessions_revoked_reason_chk CHECK ((length(revoked_reason) <= 64)),
    CONSTRAINT user_sessions_rotation_counter_chk CHECK ((rotation_counter >= 0)),
    CONSTRAINT user_sessions_suspicious_score_chk CHECK (((suspicious_score >= 0) AND (suspicious_score <= 100))),
    CONSTRAINT user_sessions_user_agent_chk CHECK ((length(user_agent) <= 512))
);

ALTER TABLE ONLY app.user_sessions FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE user_sessions; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.user_sessions IS 'One row per sign-in. The refresh token itself is never stored; its hashes live in app_private.refresh_tokens.';


--
-- Name: session_user_agent_changed(app.user_sessions, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.session_user_agent_changed(session app.user_sessions, presented text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE(((presented IS NOT NULL) AND ((session).user_agent IS NOT NULL) AND ((session).user_agent <> "left"(presented, 512)) AND (NOT ('user_agent_changed'::text = ANY ((session).suspicious_reasons)))), false);


--
-- Name: FUNCTION session_user_agent_changed(session app.user_sessions, presented text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.session_user_agent_changed(session app.user_sessions, presented text) IS 'Whether a request''s user agent differs from its session''s (and the session is not flagged for it yet).';


--
-- Name: session_activity_due(app.user_sessions, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.session_activity_due(session app.user_sessions, presented text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN ((current_setting('transaction_read_only'::text) = 'off'::text) AND (((session).last_activity_at < (now() - '00:01:00'::interval)) OR app.session_user_agent_changed(session, presented)));


--
-- Name: FUNCTION session_activity_due(session app.user_sessions, presented text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.session_activity_due(session app.user_sessions, presented text) IS 'Whether app.update_session_activity would write: in a transaction that may write, last use more than a minute ago, or a changed user agent.';


--
-- Name: set_request_context(uuid, uuid, inet, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.set_request_context(actor_id uuid, session_id uuid, ip inet, user_agent text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform pg_catalog.set_config('dwaybank.actor_id', coalesce(actor_id::text, ''), true),
          pg_catalog.set_config('dwaybank.session_id', coalesce(session_id::text, ''), true),
          pg_catalog.set_config('dwaybank.ip', coalesce(host(ip), ''), true),
          pg_catalog.set_config('dwaybank.user_agent', coalesce(left(user_agent, 512), ''), true);
end
$$;


--
-- Name: set_user_role(text, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.set_user_role(email text, role text) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $$
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
$$;


--
-- Name: FUNCTION set_user_role(email text, role text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.set_user_role(email text, role text) IS 'Grants a role (customer, compliance_officer, admin) to an account. DBA use only.';


--
-- Name: setting(text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.setting(name text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE(NULLIF(current_setting(('dwaybank.'::text || name), true), ''::text), CASE name WHEN 'audit_backdate_tolerance_seconds'::text THEN '3600'::text WHEN 'audit_retention_months'::text THEN '84'::text WHEN 'bcrypt_cost'::text THEN '12'::text WHEN 'device_cookie_days'::text THEN '180'::text WHEN 'device_cookies_per_user'::text THEN '20'::text WHEN 'email_change_hours'::text THEN '24'::text WHEN 'email_change_limit'::text THEN '5'::text WHEN 'email_verification_hours'::text THEN '24'::text WHEN 'email_verification_limit'::text THEN '3'::text WHEN 'email_verification_window_seconds'::text THEN '3600'::text WHEN 'erasure_grace_days'::text THEN '30'::text WHEN 'ip_failure_limit'::text THEN '50'::text WHEN 'ip_failure_window_minutes'::text THEN '15'::text WHEN 'kyc_match_threshold'::text THEN '80'::text WHEN 'kyc_max_document_bytes'::text THEN '10485760'::text WHEN 'kyc_max_documents_per_user'::text THEN '30'::text WHEN 'kyc_max_documents_per_verification'::text THEN '10'::text WHEN 'kyc_name_similarity'::text THEN '0.45'::text WHEN 'kyc_renewal_days'::text THEN '30'::text WHEN 'kyc_retention_years'::text THEN '5'::text WHEN 'lockout_threshold'::text THEN '5'::text WHEN 'mfa_attempt_retention_days'::text THEN '365'::text WHEN 'mfa_challenge_limit'::text THEN '5'::text WHEN 'mfa_challenge_retention_days'::text THEN '7'::text WHEN 'mfa_code_max_tries'::text THEN '5'::text WHEN 'mfa_code_minutes'::text THEN '10'::text WHEN 'mfa_login_minutes'::text THEN '5'::text WHEN 'mfa_max_attempts'::text THEN '5'::text WHEN 'mfa_window_seconds'::text THEN '900'::text WHEN 'outbox_max_attempts'::text THEN '8'::text WHEN 'outbox_retention_days'::text THEN '30'::text WHEN 'outbox_retry_base_seconds'::text THEN '5'::text WHEN 'password_reset_address_limit'::text THEN '3'::text WHEN 'password_reset_minutes'::text THEN '30'::text WHEN 'password_reset_window_seconds'::text THEN '3600'::text WHEN 'phone_change_limit'::text THEN '5'::text WHEN 'phone_change_minutes'::text THEN '10'::text WHEN 'recovery_cancel_days'::text THEN '30'::text WHEN 'recovery_wait_hours'::text THEN '72'::text WHEN 'refresh_grace_seconds'::text THEN '10'::text WHEN 'session_absolute_hours'::text THEN '12'::text WHEN 'session_burst_limit'::text THEN '5'::text WHEN 'session_idle_minutes'::text THEN '30'::text WHEN 'session_retention_days'::text THEN '90'::text WHEN 'signup_ip_limit'::text THEN '10'::text WHEN 'signup_ip_window_minutes'::text THEN '60'::text WHEN 'step_up_minutes'::text THEN '10'::text WHEN 'suspicious_threshold'::text THEN '50'::text WHEN 'trusted_device_days'::text THEN '30'::text WHEN 'trusted_proxy_hops'::text THEN '0'::text WHEN 'webauthn_challenge_minutes'::text THEN '5'::text ELSE NULL::text END);


--
-- Name: FUNCTION setting(name text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.setting(name text) IS 'A dwaybank.* setting: the database''s value (ALTER DATABASE ... SET dwaybank.<name>) or its default in app.settings (this body is compiled from that table by app_private.compile_setting_reader). Null for a name without either.';


--
-- Name: signup(text, text, text, text, text, text, text, inet, text); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.signup(email text, password text, phone text DEFAULT NULL::text, country_code text DEFAULT NULL::text, first_name text DEFAULT NULL::text, last_name text DEFAULT NULL::text, referral_code text DEFAULT NULL::text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $$
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
$$;


--
-- Name: FUNCTION signup(email text, password text, phone text, country_code text, first_name text, last_name text, referral_code text, ip inet, user_agent text); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.signup(email text, password text, phone text, country_code text, first_name text, last_name text, referral_code text, ip inet, user_agent text) IS 'Creates an account. Answers a registered address exactly as a new one (same validation, same bcrypt, a random id); counts sign-ups per client (429 past dwaybank.signup_ip_limit).
Definer: writes the password hash into app_private.';


--
-- Name: step_up_session(uuid, text, text, bigint, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.step_up_session(session_id uuid, method text, code text DEFAULT NULL::text, step bigint DEFAULT NULL::bigint, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, retry_after_seconds integer, user_id uuid, role text, aal text, amr text[], auth_time timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_session app.user_sessions;
  v_user app.users;
  v_check record;
begin
  select * into v_session from app.user_sessions s where s.id = step_up_session.session_id for update;
  if not found or v_session.revoked_at is not null or v_session.expires_at <= now or v_session.idle_expires_at <= now then
    return query select 'invalid_token', null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  perform app.set_request_context(v_session.user_id, v_session.id, ip, user_agent);
  select * into v_user from app.users u where u.id = v_session.user_id;
  select * into v_check from app_private.check_factor(v_session.user_id, method, code, step, 'step_up', ip, user_agent,
                                                      v_session.device_fingerprint, now);
  if v_check.outcome <> 'ok' then
    return query select v_check.outcome, v_check.retry_after_seconds, v_session.user_id, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  update app.user_sessions s
     set aal = 'aal2', auth_time = now,
         amr = (select array_agg(distinct a order by a) from unnest(s.amr || v_check.amr) a)
   where s.id = v_session.id
   returning * into v_session;
  perform audit.log_event('mfa.verify.succeeded', v_session.user_id,
    jsonb_build_object('method', method, 'purpose', 'step_up', 'session_id', v_session.id));
  return query select 'ok', null::integer, v_session.user_id, case v_user.role when 'customer' then 'authenticated' else v_user.role end,
                      v_session.aal, v_session.amr, v_session.auth_time;
end
$$;


--
-- Name: FUNCTION step_up_session(session_id uuid, method text, code text, step bigint, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.step_up_session(session_id uuid, method text, code text, step bigint, ip inet, user_agent text, now timestamp with time zone) IS 'Raises a live session to aal2 with auth_time = now after a second factor. Returns a status instead of raising so failed attempts count.
Definer: writes session columns and reads code hashes.';


--
-- Name: tg__read_only_view(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.tg__read_only_view() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  raise sqlstate 'PGRST' using
    message = '{"code":"READ_ONLY_VIEW","message":"This view is read-only.","hint":"Use the functions of the API to change data."}',
    detail = '{"status":403,"headers":{}}';
end
$$;


--
-- Name: FUNCTION tg__read_only_view(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.tg__read_only_view() IS 'INSTEAD OF trigger of read-only views that are not automatically updatable.';


--
-- Name: tg__timestamps(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.tg__timestamps() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  new.created_at := case when tg_op = 'INSERT' then now() else old.created_at end;
  new.updated_at := case when tg_op = 'UPDATE' and old.updated_at >= now() then old.updated_at + interval '1 millisecond' else now() end;
  return new;
end
$$;


--
-- Name: tg_kyc_records__transition(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.tg_kyc_records__transition() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: tg_mfa_configs__require_verified_email(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.tg_mfa_configs__require_verified_email() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if new.method in ('sms', 'email') then
    perform app_private.assert_email_verified(new.user_id, 'set up SMS or e-mail codes');
  end if;
  return new;
end
$$;


--
-- Name: FUNCTION tg_mfa_configs__require_verified_email(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.tg_mfa_configs__require_verified_email() IS 'Refuses SMS and e-mail factors for an unverified address. Definer: reads the verification state of the account.';


--
-- Name: tg_users__password_changed(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.tg_users__password_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform app_private.revoke_trusted_devices(new.id, 'password_changed');
  perform app_private.revoke_device_cookies(new.id);
  return null;
end
$$;


--
-- Name: FUNCTION tg_users__password_changed(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.tg_users__password_changed() IS 'Revokes trusted devices and device cookies when the password changes. Definer: writes app_private whoever changes the password.';


--
-- Name: tg_users__send_email_verification(); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.tg_users__send_email_verification() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  if new.email_verified_at is null then
    perform app_private.send_email_verification(new.id, new.email::text, 'signup', now());
  end if;
  return null;
end
$$;


--
-- Name: FUNCTION tg_users__send_email_verification(); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.tg_users__send_email_verification() IS 'Queues the verification e-mail of a new account. Definer: writes token hashes and the outbox in app_private whoever creates the account.';


--
-- Name: update_session_activity(character varying, character varying); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.update_session_activity(session_id character varying, user_agent character varying DEFAULT NULL::character varying) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_session app.user_sessions;
  v_ua_changed boolean;
begin
  select * into v_session from app.user_sessions s where s.id = update_session_activity.session_id::uuid;
  if not found or v_session.revoked_at is not null or v_session.expires_at <= now() or v_session.idle_expires_at <= now() then
    return false;
  end if;
  v_ua_changed := app.session_user_agent_changed(v_session, update_session_activity.user_agent);
  if app.session_activity_due(v_session, update_session_activity.user_agent) and current_setting('transaction_read_only') = 'off' then
    update app.user_sessions s
       set last_activity_at = now(),
           idle_expires_at = least(s.expires_at, now() + make_interval(mins => app.setting('session_idle_minutes')::integer)),
           is_suspicious = s.is_suspicious or v_ua_changed,
           suspicious_score = case when v_ua_changed then least(100, s.suspicious_score + 50) else s.suspicious_score end,
           suspicious_reasons = case when v_ua_changed then s.suspicious_reasons || 'user_agent_changed'::text else s.suspicious_reasons end
     where s.id = v_session.id;
    if v_ua_changed then
      perform audit.log_event('session.suspicious', v_session.user_id,
        jsonb_build_object('session_id', v_session.id, 'risk_reasons', array['user_agent_changed']), 'warning');
    end if;
  end if;
  return true;
exception when invalid_text_representation then
  return false;
end
$$;


--
-- Name: FUNCTION update_session_activity(session_id character varying, user_agent character varying); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.update_session_activity(session_id character varying, user_agent character varying) IS 'Marks a session as used (at most once a minute), flags a user agent that changed within the session, and tells whether it is live.
Definer: writes session columns no API role may write.';


--
-- Name: verify_email(text, inet, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.verify_email(token text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, user_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'extensions', 'pg_temp'
    AS $$
declare
  v_token record;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_token from app_private.take_account_token(token, 'email_verification', now);
  if v_token.status = 'ok' then
    perform app.set_request_context(v_token.user_id, null, ip, user_agent);
    -- The token vouches for the address it was sent to, not for a later one.
    update app.users u set email_verified_at = coalesce(u.email_verified_at, verify_email.now)
     where u.id = v_token.user_id and u.email = v_token.email::extensions.citext and u.deleted_at is null;
    if not found then
      v_token.status := 'invalid';
    end if;
  end if;
  if v_token.status <> 'ok' then
    perform audit.log_event('account.email_verification.failed', v_token.user_id, jsonb_build_object('reason', v_token.status), 'warning');
    return query select v_token.status, null::uuid;
    return;
  end if;
  perform audit.log_event('account.email.verified', v_token.user_id, '{}');
  return query select 'ok', v_token.user_id;
end
$$;


--
-- Name: FUNCTION verify_email(token text, ip inet, user_agent text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.verify_email(token text, ip inet, user_agent text, now timestamp with time zone) IS 'Marks the address verified with the token from the verification e-mail (single use, 24 hours). Returns a status: ok, invalid, used, superseded, expired.
Definer: reads token hashes in app_private.';


--
-- Name: verify_mfa_login(uuid, text, text, bigint, boolean, inet, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: app; Owner: -
--

CREATE FUNCTION app.verify_mfa_login(login_id uuid, method text, code text DEFAULT NULL::text, step bigint DEFAULT NULL::bigint, remember_device boolean DEFAULT false, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, device_name text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamp with time zone, device_token text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_login app_private.mfa_logins;
  v_user app.users;
  v_check record;
  v_session record;
  v_amr text[];
  v_device_token text;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  -- Serialises concurrent verifications of one mfa_token.
  select * into v_login from app_private.mfa_logins l where l.id = verify_mfa_login.login_id for update;
  if not found or v_login.expires_at <= now then
    return query select 'invalid_token', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[],
                        null::timestamptz, null::text;
    return;
  end if;
  perform app.set_request_context(v_login.user_id, null, ip, user_agent);
  if v_login.consumed_at is not null then
    perform audit.log_event('mfa.token.reused', v_login.user_id, jsonb_build_object('login_id', v_login.id), 'warning');
    return query select 'token_used', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[],
                        null::timestamptz, null::text;
    return;
  end if;
  select * into v_user from app.users u where u.id = v_login.user_id and u.deleted_at is null;
  if v_user.status is distinct from 'active' then
    return query select 'suspended', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[],
                        null::timestamptz, null::text;
    return;
  end if;
  select * into v_check from app_private.check_factor(v_user.id, method, code, step, 'login', ip, user_agent,
                                                      coalesce(device_fingerprint, v_login.device_fingerprint), now);
  if v_check.outcome <> 'ok' then
    return query select v_check.outcome, v_user.id, null::text, v_check.retry_after_seconds, null::uuid, null::text, null::text,
                        null::text[], null::timestamptz, null::text;
    return;
  end if;
  update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
  v_amr := array['pwd', v_check.amr];
  select * into v_session from app_private.create_session(v_user.id, 'aal2', v_amr, ip, user_agent,
    coalesce(device_fingerprint, v_login.device_fingerprint), coalesce(device_name, v_login.device_name), now);
  if remember_device then
    v_device_token := app_private.trust_device(v_user.id, coalesce(device_fingerprint, v_login.device_fingerprint),
                                               coalesce(device_name, v_login.device_name), ip, now);
  end if;
  perform audit.log_event('mfa.verify.succeeded', v_user.id,
    jsonb_build_object('method', method, 'purpose', 'login', 'session_id', v_session.session_id));
  return query select 'ok', v_user.id, case v_user.role when 'customer' then 'authenticated' else v_user.role end, null::integer,
                      v_session.session_id, v_session.refresh_token, 'aal2'::text, v_amr, v_session.expires_at, v_device_token;
end
$$;


--
-- Name: FUNCTION verify_mfa_login(login_id uuid, method text, code text, step bigint, remember_device boolean, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone); Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON FUNCTION app.verify_mfa_login(login_id uuid, method text, code text, step bigint, remember_device boolean, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) IS 'Completes a sign-in that awaits its second factor (login_id = the mfa_token''s jti, single use) and opens an aal2 session.
Returns a status instead of raising so failed attempts count. Definer: reads code hashes and writes sessions.';


--
-- Name: accept_totp_step(uuid, bigint, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.accept_totp_step(config_id uuid, step bigint, now timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if step is null or abs(step - app_private.totp_step(now)) > 1 then
    return false;
  end if;
  update app.mfa_configs c set last_used_step = step, last_used_at = now, updated_at = now
   where c.id = accept_totp_step.config_id and (c.last_used_step is null or c.last_used_step < step);
  return found;
end
$$;


--
-- Name: apply_retention(timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.apply_retention(now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_attempts bigint;
  v_challenges bigint;
  v_logins bigint;
  v_outbox bigint;
  v_cookies bigint;
  v_partitions integer;
begin
  delete from app.mfa_verification_attempts a
   where a.created_at < now - make_interval(days => app.setting('mfa_attempt_retention_days')::integer);
  get diagnostics v_attempts = row_count;
  delete from app_private.mfa_challenges c
   where c.expires_at < now - make_interval(days => app.setting('mfa_challenge_retention_days')::integer);
  get diagnostics v_challenges = row_count;
  delete from app_private.mfa_logins l
   where l.expires_at < now - make_interval(days => app.setting('mfa_challenge_retention_days')::integer);
  get diagnostics v_logins = row_count;
  delete from app_private.outbox o
   where (o.sent_at is not null or o.attempts >= 10)
     and o.created_at < now - make_interval(days => app.setting('outbox_retention_days')::integer);
  get diagnostics v_outbox = row_count;
  delete from app_private.device_cookies d
   where d.expires_at <= now or d.revoked_at is not null;
  get diagnostics v_cookies = row_count;
  v_partitions := audit.drop_expired_partitions(now);
  return jsonb_build_object('mfa_attempts', v_attempts, 'mfa_challenges', v_challenges, 'mfa_logins', v_logins,
                            'outbox', v_outbox, 'device_cookies', v_cookies, 'audit_partitions', v_partitions);
end
$$;


--
-- Name: assert_backoffice_staff(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_backoffice_staff(reason text) RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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


--
-- Name: FUNCTION assert_backoffice_staff(reason text); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.assert_backoffice_staff(reason text) IS 'Raises FORBIDDEN unless the caller is staff, STAFF_REASON_REQUIRED unless the reason has 5 to 500 characters; returns the staff member''s id.';


--
-- Name: assert_email_verified(uuid, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_email_verified(user_id uuid, action text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if not exists (select from app.users u where u.id = assert_email_verified.user_id and u.email_verified_at is not null) then
    raise sqlstate 'PGRST' using
      message = json_build_object('code', 'EMAIL_NOT_VERIFIED', 'message', 'Verify your e-mail address first.', 'hint', format('Open the link in the verification e-mail (or request a new one: POST /auth/email/resend), then %s.', action))::text,
      detail = '{"status":403,"headers":{}}';
  end if;
end
$$;


--
-- Name: assert_kyc_writable(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_kyc_writable() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if pg_catalog.current_setting('transaction_read_only') = 'on' then
    raise sqlstate 'PGRST' using
      message = '{"code":"METHOD_NOT_ALLOWED","message":"This call changes data.","hint":"Use POST."}',
      detail = '{"status":405,"headers":{}}';
  end if;
end
$$;


--
-- Name: assert_live_session(uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_live_session(user_id uuid, session_id uuid, now timestamp with time zone) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if not exists (select from app.user_sessions s
                  where s.id = assert_live_session.session_id and s.user_id = assert_live_session.user_id
                    and s.revoked_at is null and s.expires_at > now and s.idle_expires_at > now) then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_ENDED","message":"The session of this token has ended.","hint":"Sign in again."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
end
$$;


--
-- Name: assert_may_manage_mfa(uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_may_manage_mfa(user_id uuid, now timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: assert_own_session(uuid, uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_own_session(user_id uuid, session_id uuid) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if session_id is null or (select s.user_id from app.user_sessions s where s.id = assert_own_session.session_id) is distinct from user_id then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"You may only change your own account.","hint":"Sign in as the account owner."}',
      detail = '{"status":403,"headers":{}}';
  end if;
end
$$;


--
-- Name: assert_recent_auth(boolean, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_recent_auth(require_aal2 boolean, now timestamp with time zone) RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: assert_recovery_staff(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_recovery_staff() RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: assert_staff(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.assert_staff() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise sqlstate 'PGRST' using
      message = '{"code":"FORBIDDEN","message":"Reports are for staff.","hint":"Ask a compliance officer or an admin."}',
      detail = '{"status":403,"headers":{}}';
  end if;
end
$$;


--
-- Name: backup_code_hash(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.backup_code_hash(code text) RETURNS bytea
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN extensions.digest(convert_to(upper(regexp_replace(code, '[^A-Za-z0-9]'::text, ''::text, 'g'::text)), 'UTF8'::name), 'sha256'::text);


--
-- Name: bcrypt_cost(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.bcrypt_cost() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN GREATEST(4, LEAST(31, (app.setting('bcrypt_cost'::text))::integer));


--
-- Name: check_challenge(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.check_challenge(config_id uuid, code text, now timestamp with time zone) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_challenge app_private.mfa_challenges;
  v_max integer := app.setting('mfa_code_max_tries')::integer;
begin
  select * into v_challenge from app_private.mfa_challenges c
   where c.config_id = check_challenge.config_id and c.consumed_at is null
   order by c.created_at desc limit 1
   for update;
  if not found or v_challenge.expires_at <= now then
    return 'expired';
  end if;
  if v_challenge.locked_at is not null then
    return 'locked';
  end if;
  if code is not null and app_private.mfa_code_hash(code) = v_challenge.code_hash then
    update app_private.mfa_challenges c set consumed_at = now, attempts = c.attempts + 1 where c.id = v_challenge.id;
    return 'ok';
  end if;
  update app_private.mfa_challenges c
     set attempts = c.attempts + 1,
         locked_at = case when c.attempts + 1 >= v_max then now end
   where c.id = v_challenge.id;
  return case when v_challenge.attempts + 1 >= v_max then 'locked' else 'failed' end;
end
$$;


--
-- Name: check_factor(uuid, text, text, bigint, text, inet, text, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.check_factor(user_id uuid, method text, code text, step bigint, purpose text, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) RETURNS TABLE(outcome text, retry_after_seconds integer, amr text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_config app.mfa_configs;
  v_limit record;
  v_outcome text;
  v_left integer;
begin
  -- One check of this user's factors at a time: the count of recent failures below holds until this one is recorded.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('mfa_factor:' || check_factor.user_id::text, 0));
  select * into v_limit from app.check_mfa_rate_limit(user_id, ip, app.setting('mfa_max_attempts')::integer,
                                                      app.setting('mfa_window_seconds')::integer, now);
  select * into v_config from app.mfa_configs c
   where c.user_id = check_factor.user_id and c.method = check_factor.method and c.status = 'active';
  if v_limit.limited then
    perform app.record_mfa_attempt(user_id, coalesce(v_config.method, 'totp'), 'rate_limited', purpose, v_config.id,
                                   ip, user_agent, device_fingerprint, now);
    return query select 'rate_limited', v_limit.retry_after_seconds, null::text;
    return;
  end if;
  if v_config.id is null then
    return query select 'method_not_available', null::integer, null::text;
    return;
  end if;
  if method = 'totp' then
    if step is null or abs(step - app_private.totp_step(now)) > 1 then
      v_outcome := 'failed';
    elsif app_private.accept_totp_step(v_config.id, step, now) then
      v_outcome := 'ok';
    else
      v_outcome := 'replayed';
    end if;
  elsif method = 'backup_codes' then
    update app_private.mfa_backup_codes b set used_at = now
     where b.config_id = v_config.id and b.code_hash = app_private.backup_code_hash(coalesce(code, '')) and b.used_at is null;
    v_outcome := case when found then 'ok' else 'failed' end;
    if v_outcome = 'ok' then
      select count(*) into v_left from app_private.mfa_backup_codes b where b.config_id = v_config.id and b.used_at is null;
      perform audit.log_event('mfa.backup_code.used', user_id, jsonb_build_object('remaining', v_left),
                              case when v_left <= 2 then 'warning' else 'info' end);
      update app.mfa_configs c set last_used_at = now where c.id = v_config.id;
    end if;
  else
    v_outcome := app_private.check_challenge(v_config.id, code, now);
    if v_outcome = 'ok' then
      update app.mfa_configs c set last_used_at = now where c.id = v_config.id;
    end if;
  end if;
  perform app.record_mfa_attempt(user_id, method, case v_outcome when 'ok' then 'success' else v_outcome end, purpose,
                                 v_config.id, ip, user_agent, device_fingerprint, now);
  return query select v_outcome, null::integer,
    case method when 'totp' then 'otp' when 'backup_codes' then 'backup_code' else method end;
end
$$;


--
-- Name: FUNCTION check_factor(user_id uuid, method text, code text, step bigint, purpose text, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.check_factor(user_id uuid, method text, code text, step bigint, purpose text, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) IS 'Checks a TOTP step, a backup code or a sent code for a sign-in or step-up, at most dwaybank.mfa_max_attempts failures per user (and per client network) in the window, counted under a per-user lock.';


--
-- Name: close_recovery(uuid, text, uuid, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.close_recovery(recovery_id uuid, status text, by_user uuid, reason text, now timestamp with time zone) RETURNS app.account_recoveries
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: compile_setting_reader(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.compile_setting_reader() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $_$
declare
  v_case text;
begin
  select coalesce(string_agg(format('when %L then %L', s.name, s.default_value), ' ' order by s.name), 'when null then null')
    into v_case from app.settings s where s.default_value is not null;
  execute format($sql$
    create or replace function app.setting(name text) returns text
      language sql stable parallel safe
      return coalesce(nullif(pg_catalog.current_setting('dwaybank.' operator(pg_catalog.||) name, true), ''),
                      case name %s end)
  $sql$, v_case);
  comment on function app.setting(text) is
    'A dwaybank.* setting: the database''s value (ALTER DATABASE ... SET dwaybank.<name>) or its default in app.settings (this body is compiled from that table by app_private.compile_setting_reader). Null for a name without either.';
  grant execute on function app.setting(text) to anon, authenticated;
end
$_$;


--
-- Name: FUNCTION compile_setting_reader(); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.compile_setting_reader() IS 'Rewrites app.setting(name) from the rows of app.settings. Definer: runs DDL as the schema owner when the registry changes.';


--
-- Name: complete_recovery(uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.complete_recovery(recovery_id uuid, by_user uuid, now timestamp with time zone) RETURNS app.account_recoveries
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: throttle_key(inet); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.throttle_key(ip inet) RETURNS inet
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN ((family(ip) = 6) AND (ip <<= '::ffff:0.0.0.0/96'::inet)) THEN ('0.0.0.0'::inet + ((host(ip))::inet - '::ffff:0.0.0.0'::inet)) WHEN (family(ip) = 6) THEN (network(set_masklen(ip, 64)))::inet ELSE set_masklen(ip, 32) END;


--
-- Name: FUNCTION throttle_key(ip inet); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.throttle_key(ip inet) IS 'The key a per-IP throttle counts under: the /64 network of an IPv6 address, the address itself for IPv4 (IPv4-mapped IPv6 counts as IPv4).';


--
-- Name: ip_login_failures; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.ip_login_failures (
    ip inet NOT NULL,
    bucket timestamp with time zone NOT NULL,
    failures integer DEFAULT 0 NOT NULL,
    accounts integer DEFAULT 0 NOT NULL
);


--
-- Name: count_ip_failure(inet, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.count_ip_failure(ip inet, now timestamp with time zone) RETURNS void
    LANGUAGE sql
    BEGIN ATOMIC
 INSERT INTO app_private.ip_login_failures AS f (ip, bucket, failures)
   VALUES (app_private.throttle_key(count_ip_failure.ip), date_trunc('minute'::text, count_ip_failure.now), 1) ON CONFLICT(ip, bucket) DO UPDATE SET failures = (f.failures + 1);
END;


--
-- Name: FUNCTION count_ip_failure(ip inet, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.count_ip_failure(ip inet, now timestamp with time zone) IS 'Counts one failed sign-in from a client (keyed by app_private.throttle_key: an IPv6 client by its /64).';


--
-- Name: count_signup(inet, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.count_signup(ip inet, now timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_key inet := app_private.throttle_key(ip);
  v_window interval := make_interval(mins => app.setting('signup_ip_window_minutes')::integer);
  v_count integer;
  v_oldest timestamptz;
begin
  -- One client network at a time, so parallel sign-ups cannot all read the count below the limit.
  perform pg_advisory_xact_lock(hashtextextended('app.count_signup:' || v_key::text, 0));
  delete from app_private.signup_attempts a where a.ip = v_key and a.bucket <= now - v_window;
  select coalesce(sum(a.attempts), 0), min(a.bucket) into v_count, v_oldest
    from app_private.signup_attempts a where a.ip = v_key and a.bucket > now - v_window;
  if v_count >= app.setting('signup_ip_limit')::integer then
    return greatest(1, ceil(extract(epoch from (v_oldest + v_window - now))))::integer;
  end if;
  insert into app_private.signup_attempts as a (ip, bucket, attempts) values (v_key, date_trunc('minute', now), 1)
  on conflict on constraint signup_attempts_pkey do update set attempts = a.attempts + 1;
  return 0;
end
$$;


--
-- Name: FUNCTION count_signup(ip inet, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.count_signup(ip inet, now timestamp with time zone) IS 'Counts one sign-up of a client and returns 0, or the seconds until it may sign up again (not counted) when it is over dwaybank.signup_ip_limit.';


--
-- Name: mfa_configs; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.mfa_configs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    method text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    label text,
    device_fingerprint text,
    last_used_step bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    confirmed_at timestamp with time zone,
    last_used_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    phone text,
    CONSTRAINT mfa_configs_confirmed_chk CHECK (((status = 'active'::text) = (confirmed_at IS NOT NULL))),
    CONSTRAINT mfa_configs_device_fingerprint_chk CHECK ((length(device_fingerprint) <= 256)),
    CONSTRAINT mfa_configs_label_chk CHECK ((((length(label) >= 1) AND (length(label) <= 100)) AND (label !~ '[[:cntrl:]]'::text))),
    CONSTRAINT mfa_configs_method_chk CHECK ((method = ANY (ARRAY['totp'::text, 'sms'::text, 'email'::text, 'backup_codes'::text, 'webauthn'::text]))),
    CONSTRAINT mfa_configs_phone_chk CHECK ((((method = 'sms'::text) = (phone IS NOT NULL)) AND (phone ~ '^\+[1-9][0-9]{6,14}$'::text))),
    CONSTRAINT mfa_configs_status_chk CHECK ((status = ANY (ARRAY['pending'::text, 'active'::text])))
);

ALTER TABLE ONLY app.mfa_configs FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE mfa_configs; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.mfa_configs IS 'One row per second factor of a user. Secret material lives in app_private (mfa_secrets, mfa_backup_codes).';


--
-- Name: COLUMN mfa_configs.device_fingerprint; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.mfa_configs.device_fingerprint IS 'Device binding: the device the factor was enrolled from.';


--
-- Name: COLUMN mfa_configs.last_used_step; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.mfa_configs.last_used_step IS 'TOTP: the last accepted 30-second time step; only later steps are accepted (no replay).';


--
-- Name: COLUMN mfa_configs.phone; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.mfa_configs.phone IS 'For an SMS factor: the number its enrolment code was sent to and confirmed at; codes go there, whatever the profile says later.';


--
-- Name: create_challenge(app.mfa_configs, uuid, text, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamp with time zone) RETURNS TABLE(status text, challenge_id uuid, expires_at timestamp with time zone, retry_after_seconds integer)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: FUNCTION create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamp with time zone) IS 'Sends a code for a factor, at most dwaybank.mfa_challenge_limit (5) per user in the window; a per-user transaction lock makes the count hold for requests sent together.';


--
-- Name: create_session(uuid, text, text[], inet, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.create_session(user_id uuid, aal text, amr text[], ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(session_id uuid, refresh_token text, expires_at timestamp with time zone)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_token text := app_private.new_token();
  v_risk record;
  v_session app.user_sessions;
begin
  select * into v_risk from app.detect_suspicious_session(user_id, ip, user_agent, device_fingerprint, now);
  insert into app.user_sessions (user_id, aal, amr, auth_time, ip, user_agent, device_fingerprint, device_name,
                                 created_at, last_activity_at, idle_expires_at, expires_at,
                                 is_suspicious, suspicious_score, suspicious_reasons)
  values (create_session.user_id, create_session.aal, create_session.amr, now, create_session.ip,
          left(create_session.user_agent, 512), left(create_session.device_fingerprint, 256), left(create_session.device_name, 200),
          now, now,
          now + make_interval(mins => app.setting('session_idle_minutes')::integer),
          now + make_interval(hours => app.setting('session_absolute_hours')::integer),
          v_risk.score >= app.setting('suspicious_threshold')::integer, v_risk.score, v_risk.reasons)
  returning * into v_session;
  insert into app_private.refresh_tokens (token_hash, session_id, generation, created_at)
  values (app_private.token_hash(v_token), v_session.id, 0, now);
  if v_session.is_suspicious then
    perform audit.log_event('session.suspicious', create_session.user_id,
      jsonb_build_object('session_id', v_session.id, 'risk_score', v_risk.score, 'risk_reasons', v_risk.reasons), 'warning');
  end if;
  return query select v_session.id, v_token, v_session.expires_at;
end
$$;


--
-- Name: disable_mfa_method(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.disable_mfa_method(user_id uuid, method text, now timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION disable_mfa_method(user_id uuid, method text, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.disable_mfa_method(user_id uuid, method text, now timestamp with time zone) IS 'Removes a factor of a user (backup codes go with the last one), forgets trusted devices and tells the user by e-mail. Callers check who may.';


--
-- Name: erase_due_accounts(timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.erase_due_accounts(now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_user uuid;
  v_erased integer := 0;
  v_purged integer := 0;
begin
  for v_user in select e.user_id from app_private.account_erasures e
                 where e.erased_at is null and e.erase_after <= erase_due_accounts.now order by e.erase_after loop
    if app_private.erase_user(v_user, now) ->> 'status' = 'erased' then
      v_erased := v_erased + 1;
    end if;
  end loop;
  -- AML retention over: the KYC evidence goes too.
  for v_user in select e.user_id from app_private.account_erasures e
                 where e.erased_at is not null and e.kyc_purged_at is null and e.kyc_retained_until <= erase_due_accounts.now
                   and not exists (select from audit.legal_holds h where h.subject_user_id = e.user_id and h.released_at is null) loop
    perform app_private.purge_kyc_evidence(v_user);
    update app_private.account_erasures e set kyc_purged_at = erase_due_accounts.now where e.user_id = v_user;
    perform audit.log_event('gdpr.kyc_purged', v_user, '{}', 'info');
    v_purged := v_purged + 1;
  end loop;
  return jsonb_build_object('erased', v_erased, 'kyc_purged', v_purged);
end
$$;


--
-- Name: erase_user(uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.erase_user(user_id uuid, now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_fk record;
  v_count bigint;
  v_removed jsonb := '{}'::jsonb;
  v_email_fp text;
begin
  if exists (select from audit.legal_holds h where h.subject_user_id = erase_user.user_id and h.released_at is null) then
    perform audit.log_event('gdpr.erasure.held', user_id, '{}', 'warning');
    return jsonb_build_object('status', 'held');
  end if;
  select app_private.fingerprint(u.email::text) into v_email_fp from app.users u where u.id = erase_user.user_id;
  for v_fk in
    select c.conrelid::regclass::text as tbl, a.attname::text as col
    from pg_constraint c
    join pg_class t on t.oid = c.conrelid
    join pg_namespace n on n.oid = t.relnamespace
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid = 'app.users'::regclass and array_length(c.conkey, 1) = 1
      and a.attname = 'user_id'  -- other references (referred_by, reviewer_id...) are someone else's record
      and n.nspname in ('app', 'app_private')
      and c.conrelid not in ('app.users'::regclass, 'app_private.account_erasures'::regclass)
      and t.relname !~ '^kyc'
    order by 1
  loop
    execute format('delete from %s where %I = $1', v_fk.tbl, v_fk.col) using user_id;
    get diagnostics v_count = row_count;
    if v_count > 0 then
      v_removed := v_removed || jsonb_build_object(v_fk.tbl, v_count);
    end if;
  end loop;
  -- Password-reset requests are kept by address fingerprint (no user id), with the client address.
  delete from app_private.account_requests r where r.email_fingerprint = v_email_fp;
  get diagnostics v_count = row_count;
  if v_count > 0 then
    v_removed := v_removed || jsonb_build_object('app_private.account_requests', v_count);
  end if;
  update app.users u
     set email = 'erased+' || u.id || '@erased.invalid', phone = null, first_name = null, last_name = null,
         date_of_birth = null, country_code = null, last_login_ip = null, last_login_user_agent = null,
         status = 'deleted', deleted_at = coalesce(u.deleted_at, erase_user.now)
   where u.id = erase_user.user_id;
  -- KYC evidence (app.kyc_records, kyc_documents, kyc_compliance_checks) stays for the AML retention period,
  -- readable only by compliance officers (the account can no longer sign in); then purge_kyc_evidence removes it.
  update app_private.account_erasures e set erased_at = erase_user.now where e.user_id = erase_user.user_id;
  perform audit.log_event('gdpr.erased', user_id, jsonb_build_object('removed', v_removed), 'warning');
  -- Last, so that it covers the entries above too: the trail keeps what happened, but of the addresses and
  -- user agents of entries where the person acted or was acted upon only keyed fingerprints (audit.entry_hash:
  -- the chain still verifies).
  update audit.audit_log a
     set ip_fingerprint = coalesce(app_private.fingerprint(host(a.ip)), a.ip_fingerprint), ip = null,
         user_agent_fingerprint = coalesce(app_private.fingerprint(a.user_agent), a.user_agent_fingerprint), user_agent = null
   where (a.actor_id = erase_user.user_id or a.subject_user_id = erase_user.user_id
          -- and entries written in the same request before the person was known (a password-reset request is
          -- recorded before the address is looked up): the request's other entries name the person
          or a.request_id in (select b.request_id from audit.audit_log b
                               where (b.actor_id = erase_user.user_id or b.subject_user_id = erase_user.user_id)
                                 and b.request_id is not null))
     and (a.ip is not null or a.user_agent is not null);
  get diagnostics v_count = row_count;
  return jsonb_build_object('status', 'erased', 'removed', v_removed, 'audit_entries_redacted', v_count);
end
$_$;


--
-- Name: FUNCTION erase_user(user_id uuid, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.erase_user(user_id uuid, now timestamp with time zone) IS 'GDPR erasure of one account: its rows removed, its profile blanked, its addresses and user agents in the audit trail replaced by keyed fingerprints; KYC evidence kept for the AML retention period.';


--
-- Name: export_user_data(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.export_user_data(user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v_result jsonb;
  v_kyc jsonb := '{}'::jsonb;
  v_tbl record;
  v_rows jsonb;
begin
  -- KYC tables by name: columns that hold ciphertext, hashes or storage keys are left out.
  for v_tbl in
    select c.oid::regclass::text as tbl from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'app' and c.relkind = 'r' and c.relname ~ '^kyc'
      and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped)
    order by 1
  loop
    execute format($q$select coalesce(jsonb_agg((select coalesce(jsonb_object_agg(e.key, e.value), '{}') from jsonb_each(to_jsonb(t)) e
                                                  where e.key !~ '(hash|cipher|encrypted|secret|storage_key|token)')), '[]')
                      from %s t where t.user_id = $1$q$, v_tbl.tbl)
      into v_rows using user_id;
    v_kyc := v_kyc || jsonb_build_object(v_tbl.tbl, v_rows);
  end loop;

  select jsonb_build_object(
    'exported_at', now(),
    'profile', (select jsonb_build_object('id', u.id, 'email', u.email, 'phone', u.phone, 'country_code', u.country_code,
                  'first_name', u.first_name, 'last_name', u.last_name, 'date_of_birth', u.date_of_birth, 'role', u.role,
                  'status', u.status, 'email_verified_at', u.email_verified_at, 'mfa_required', u.mfa_required,
                  'last_login_at', u.last_login_at, 'last_login_ip', u.last_login_ip, 'last_login_user_agent', u.last_login_user_agent,
                  'password_changed_at', u.password_changed_at, 'referral_code', u.referral_code, 'referred_by', u.referred_by,
                  'created_at', u.created_at, 'updated_at', u.updated_at, 'deleted_at', u.deleted_at)
                from app.users u where u.id = export_user_data.user_id),
    'sessions', (select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'device_name', s.device_name,
                   'device_fingerprint', s.device_fingerprint, 'ip', s.ip, 'user_agent', s.user_agent, 'aal', s.aal, 'amr', s.amr,
                   'created_at', s.created_at, 'last_activity_at', s.last_activity_at, 'expires_at', s.expires_at,
                   'revoked_at', s.revoked_at, 'revoked_reason', s.revoked_reason, 'is_suspicious', s.is_suspicious,
                   'suspicious_reasons', s.suspicious_reasons) order by s.created_at), '[]')
                 from app.user_sessions s where s.user_id = export_user_data.user_id),
    'mfa_methods', (select coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'method', c.method, 'status', c.status,
                      'label', c.label, 'device_fingerprint', c.device_fingerprint, 'created_at', c.created_at,
                      'confirmed_at', c.confirmed_at, 'last_used_at', c.last_used_at) order by c.created_at), '[]')
                    from app.mfa_configs c where c.user_id = export_user_data.user_id),
    'trusted_devices', (select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'device_name', d.device_name,
                          'device_fingerprint', d.device_fingerprint, 'ip', d.ip, 'created_at', d.created_at,
                          'last_used_at', d.last_used_at, 'expires_at', d.expires_at, 'revoked_at', d.revoked_at) order by d.created_at), '[]')
                        from app.trusted_devices d where d.user_id = export_user_data.user_id),
    'mfa_attempts', (select coalesce(jsonb_agg(jsonb_build_object('method', a.method, 'purpose', a.purpose, 'outcome', a.outcome,
                       'ip', a.ip, 'user_agent', a.user_agent, 'created_at', a.created_at) order by a.created_at), '[]')
                     from app.mfa_verification_attempts a where a.user_id = export_user_data.user_id),
    'kyc', v_kyc,
    'referrals', jsonb_build_object(
       'referred_by', (select u.referred_by from app.users u where u.id = export_user_data.user_id),
       'referred', (select coalesce(jsonb_agg(jsonb_build_object('joined_at', r.created_at) order by r.created_at), '[]')
                    from app.users r where r.referred_by = export_user_data.user_id)),
    'audit', (select coalesce(jsonb_agg(jsonb_build_object('occurred_at', a.occurred_at, 'event_type', a.event_type,
                'table', a.table_name, 'operation', a.operation, 'changed_columns', a.changed_columns, 'details', a.details,
                'ip', a.ip, 'user_agent', a.user_agent, 'request_id', a.request_id) order by a.occurred_at), '[]')
              from (select * from audit.audit_log l where l.subject_user_id = export_user_data.user_id
                    order by l.occurred_at desc limit 10000) a))
  into v_result;
  return v_result;
end
$_$;


--
-- Name: key(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.key(name text) RETURNS bytea
    LANGUAGE plpgsql STABLE STRICT
    SET search_path TO ''
    AS $$ begin return (select k.key from app_private.keys k where k.name = key.name); end $$;


--
-- Name: fingerprint(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.fingerprint(value text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN (value IS NULL) THEN NULL::text ELSE ('fp:'::text || "left"(encode(extensions.hmac(convert_to(lower(value), 'UTF8'::name), app_private.key('fingerprint'::text), 'sha256'::text), 'hex'::text), 24)) END;


--
-- Name: finish_password_login(uuid, inet, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.finish_password_login(user_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) RETURNS TABLE(status text, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamp with time zone, login_id uuid, mfa_methods text[])
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_methods text[];
  v_login app_private.mfa_logins;
begin
  select array_agg(c.method order by c.method) into v_methods
    from app.mfa_configs c where c.user_id = finish_password_login.user_id and c.status = 'active';
  if v_methods is not null then
    insert into app_private.mfa_logins (user_id, methods, ip, user_agent, device_fingerprint, device_name, created_at, expires_at)
    values (finish_password_login.user_id, v_methods, ip, left(user_agent, 512), left(device_fingerprint, 256),
            left(device_name, 200), now, now + make_interval(mins => app.setting('mfa_login_minutes')::integer))
    returning * into v_login;
    perform audit.log_event('auth.mfa_required', finish_password_login.user_id,
      jsonb_build_object('login_id', v_login.id, 'methods', v_methods));
    return query select 'mfa_required', null::uuid, null::text, 'aal1'::text, null::text[], v_login.expires_at,
                        v_login.id, v_methods;
    return;
  end if;
  return query select 'ok', s.session_id, s.refresh_token, 'aal1'::text, '{pwd}'::text[], s.expires_at, null::uuid, null::text[]
               from app_private.create_session(finish_password_login.user_id, 'aal1', '{pwd}', ip, user_agent,
                                               device_fingerprint, device_name, now) s;
end
$$;


--
-- Name: password_input(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.password_input(password text) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN encode(extensions.digest(convert_to(NORMALIZE(password, NFKC), 'UTF8'::name), 'sha384'::text), 'base64'::text);


--
-- Name: hash_password(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.hash_password(password text) RETURNS text
    LANGUAGE sql
    RETURN extensions.crypt(app_private.password_input(password), extensions.gen_salt('bf'::text, app_private.bcrypt_cost()));


--
-- Name: ip_retry_after(inet, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.ip_retry_after(ip inet, now timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  return (select case when coalesce(sum(f.failures), 0) >= app.setting('ip_failure_limit')::integer
                      then greatest(1, ceil(extract(epoch from (min(f.bucket) + make_interval(mins => app.setting('ip_failure_window_minutes')::integer) - now))))::integer
                      else 0 end
            from app_private.ip_login_failures f
           where f.ip = app_private.throttle_key(ip_retry_after.ip)
             and f.bucket > now - make_interval(mins => app.setting('ip_failure_window_minutes')::integer));
end
$$;


--
-- Name: FUNCTION ip_retry_after(ip inet, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.ip_retry_after(ip inet, now timestamp with time zone) IS 'Seconds until a client (keyed by app_private.throttle_key) may try again, 0 if not throttled.';


--
-- Name: issue_account_token(uuid, text, text, interval, timestamp with time zone, uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.issue_account_token(user_id uuid, purpose text, email text, lifetime interval, now timestamp with time zone, session_id uuid DEFAULT NULL::uuid) RETURNS TABLE(token text, expires_at timestamp with time zone)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_token text := app_private.new_token();
begin
  -- A newer token makes the older ones of the same purpose useless.
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = issue_account_token.user_id and t.purpose = issue_account_token.purpose
     and t.consumed_at is null and t.revoked_at is null;
  insert into app_private.account_tokens (user_id, purpose, token_hash, email, created_at, expires_at, session_id)
  values (issue_account_token.user_id, issue_account_token.purpose, app_private.token_hash(v_token),
          issue_account_token.email, now, now + lifetime, issue_account_token.session_id);
  return query select v_token, now + lifetime;
end
$$;


--
-- Name: FUNCTION issue_account_token(user_id uuid, purpose text, email text, lifetime interval, now timestamp with time zone, session_id uuid); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.issue_account_token(user_id uuid, purpose text, email text, lifetime interval, now timestamp with time zone, session_id uuid) IS 'Issues a single-use e-mailed token (only its hash is kept), revoking older ones of the same purpose; session_id records the session that asked.';


--
-- Name: issue_backup_codes(uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.issue_backup_codes(user_id uuid, now timestamp with time zone) RETURNS text[]
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_config_id uuid;
  v_codes text[];
begin
  insert into app.mfa_configs as c (user_id, method, status, label, created_at, confirmed_at)
  values (issue_backup_codes.user_id, 'backup_codes', 'active', 'Backup codes', now, now)
  on conflict on constraint mfa_configs_user_method_key do update set confirmed_at = now, status = 'active', updated_at = now
  returning c.id into v_config_id;
  delete from app_private.mfa_backup_codes b where b.config_id = v_config_id;
  select array_agg(app_private.new_backup_code()) into v_codes from generate_series(1, 10);
  insert into app_private.mfa_backup_codes (code_hash, config_id, user_id, created_at)
  select app_private.backup_code_hash(code), v_config_id, issue_backup_codes.user_id, now from unnest(v_codes) code;
  return v_codes;
end
$$;


--
-- Name: kyc_precondition(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.kyc_precondition(user_id uuid) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
begin
  if not exists (select from app.users u where u.id = kyc_precondition.user_id and u.status = 'active' and u.deleted_at is null) then
    raise sqlstate 'PGRST' using
      message = '{"code":"ACCOUNT_NOT_ACTIVE","message":"Only an active account can be verified.","hint":"Contact support if your account is suspended."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  perform app_private.assert_email_verified(user_id, 'start the verification of your identity');
end
$$;


--
-- Name: kyc_risk_level(integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.kyc_risk_level(score integer) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path TO ''
    AS $$ select case when score < 25 then 'low' when score < 50 then 'medium' when score < 75 then 'high' else 'critical' end $$;


--
-- Name: kyc_validity(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.kyc_validity(risk_level text) RETURNS interval
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path TO ''
    AS $$ select case risk_level when 'low' then interval '3 years' when 'medium' then interval '2 years' else interval '1 year' end $$;


--
-- Name: lockout_seconds(integer); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.lockout_seconds(failures integer) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN CASE WHEN (failures IS NULL) THEN NULL::integer WHEN (failures < (app.setting('lockout_threshold'::text))::integer) THEN 0 ELSE LEAST(3600, (60 * (power((2)::double precision, (LEAST((failures - (app.setting('lockout_threshold'::text))::integer), 12))::double precision))::integer)) END;


--
-- Name: maintenance_jobs(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.maintenance_jobs() RETURNS TABLE(job text, schedule text, description text)
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
    values ('seal', '* * * * *', 'Seal new audit entries into the hash chain'),
           ('checkpoint', '*/15 * * * *', 'Record a signed checkpoint of the audit chain head'),
           ('partitions', '17 3 * * *', 'Create audit partitions three months ahead'),
           ('sessions', '*/5 * * * *', 'End expired sessions, delete ended ones past retention'),
           ('kyc_expiry', '40 2 * * *', 'Flag KYC verifications due for renewal'),
           ('reports', '*/15 * * * *', 'Refresh the reporting materialized views'),
           ('retention', '30 3 * * *', 'Apply retention: MFA attempts, challenges, outbox, audit partitions'),
           ('erasure', '45 3 * * *', 'Erase accounts past their grace period; purge KYC evidence past AML retention'),
           ('recoveries', '*/5 * * * *', 'Complete approved account recoveries whose waiting period has ended')
  $$;


--
-- Name: mask_phone(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.mask_phone(phone text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path TO ''
    AS $$ select left(phone, 3) || repeat('*', greatest(length(phone) - 5, 0)) || right(phone, 2) $$;


--
-- Name: mfa_code_hash(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.mfa_code_hash(code text) RETURNS bytea
    LANGUAGE sql STABLE STRICT
    RETURN extensions.hmac(convert_to(code, 'UTF8'::name), app_private.key('mfa_code'::text), 'sha256'::text);


--
-- Name: new_backup_code(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.new_backup_code() RETURNS text
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_bytes bytea := extensions.gen_random_bytes(10);
  v_code text := '';
begin
  for i in 0..9 loop
    v_code := v_code || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', get_byte(v_bytes, i) % 32 + 1, 1);
  end loop;
  return substr(v_code, 1, 5) || '-' || substr(v_code, 6, 5);
end
$$;


--
-- Name: new_numeric_code(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.new_numeric_code() RETURNS text
    LANGUAGE sql
    SET search_path TO ''
    AS $$ select lpad(((('x' || encode(extensions.gen_random_bytes(4), 'hex'))::bit(32)::bigint) % 1000000)::text, 6, '0') $$;


--
-- Name: new_token(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.new_token() RETURNS text
    LANGUAGE sql
    RETURN translate(rtrim(encode(extensions.gen_random_bytes(32), 'base64'::text), '='::text), '+/'::text, '-_'::text);


--
-- Name: purge_kyc_evidence(uuid); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.purge_kyc_evidence(user_id uuid) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_objects bigint;
  v_checks bigint;
  v_documents bigint;
  v_records bigint;
begin
  delete from app_private.kyc_document_objects o using app.kyc_documents d
   where o.document_id = d.id and d.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_objects = row_count;
  delete from app.kyc_compliance_checks c where c.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_checks = row_count;
  delete from app.kyc_documents d where d.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_documents = row_count;
  delete from app.kyc_records r where r.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_records = row_count;
  return jsonb_build_object('document_objects', v_objects, 'compliance_checks', v_checks, 'documents', v_documents, 'records', v_records);
end
$$;


--
-- Name: FUNCTION purge_kyc_evidence(user_id uuid); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.purge_kyc_evidence(user_id uuid) IS 'Deletes a former customer''s KYC evidence once the AML retention period (kyc_retention_years after the relationship ended) is over.';


--
-- Name: queue_email(uuid, text, jsonb, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.queue_email(user_id uuid, template text, payload jsonb, now timestamp with time zone) RETURNS bigint
    LANGUAGE sql
    SET search_path TO ''
    AS $$
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (user_id, 'email', template, coalesce(payload, '{}'), now)
    returning id
  $$;


--
-- Name: recovery_cancel_link(uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.recovery_cancel_link(user_id uuid, now timestamp with time zone) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_email text;
  v_token record;
begin
  select u.email::text into v_email from app.users u where u.id = recovery_cancel_link.user_id and u.email_verified_at is not null;
  if v_email is null then
    return '{}'::jsonb;
  end if;
  select * into v_token from app_private.issue_account_token(user_id, 'recovery_cancel', v_email,
    make_interval(days => app.setting('recovery_cancel_days')::integer), now);
  return jsonb_build_object('to', v_email, 'cancel_token', v_token.token,
    'cancel', 'POST /auth/recovery/cancel with {"token": cancel_token}, or /rpc/cancel_account_recovery when signed in');
end
$$;


--
-- Name: FUNCTION recovery_cancel_link(user_id uuid, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.recovery_cancel_link(user_id uuid, now timestamp with time zone) IS 'Issues a single-use link that cancels the open recovery, for the recovery notices to the verified address.';


--
-- Name: refresh_kyc_risk(uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.refresh_kyc_risk(kyc_id uuid, now timestamp with time zone) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_risk record;
begin
  select * into v_risk from app.kyc_risk(kyc_id, now);
  update app.kyc_records r
     set risk_score = v_risk.score, risk_level = v_risk.level, risk_factors = v_risk.factors, risk_assessed_at = now
   where r.id = refresh_kyc_risk.kyc_id
     and (r.risk_score, r.risk_level, r.risk_factors) is distinct from (v_risk.score, v_risk.level, v_risk.factors);
  return v_risk.level;
end
$$;


--
-- Name: refresh_reports(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.refresh_reports() RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_view record;
  v_count integer := 0;
begin
  for v_view in select c.oid::regclass::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'app_private' and c.relkind = 'm' and c.relname ~ '^report_' order by 1 loop
    execute format('refresh materialized view concurrently %s', v_view.name);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;


--
-- Name: refuse_committed(integer, text, text, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.refuse_committed(status integer, code text, message text, hint text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform pg_catalog.set_config('response.status', status::text, true);
  return jsonb_build_object('code', code, 'message', message, 'hint', hint);
end
$$;


--
-- Name: remove_passkey(uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.remove_passkey(user_id uuid, passkey_id uuid, now timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: request_account_deletion(uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.request_account_deletion(user_id uuid, now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: request_session_id(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.request_session_id() RETURNS uuid
    LANGUAGE sql STABLE
    RETURN COALESCE((NULLIF(current_setting('dwaybank.session_id'::text, true), ''::text))::uuid, app.current_session_id());


--
-- Name: revoke_account_tokens(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.revoke_account_tokens(user_id uuid, reason text, now timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_count integer;
begin
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = revoke_account_tokens.user_id and t.consumed_at is null and t.revoked_at is null
     and t.purpose <> 'recovery_cancel';
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform audit.log_event('account.tokens.revoked', user_id, jsonb_build_object('reason', reason, 'count', v_count), 'warning');
  end if;
  return v_count;
end
$$;


--
-- Name: FUNCTION revoke_account_tokens(user_id uuid, reason text, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.revoke_account_tokens(user_id uuid, reason text, now timestamp with time zone) IS 'Revokes every pending e-mailed token of a user except recovery cancel links (after a password reset or change, or "sign out everywhere").';


--
-- Name: revoke_device_cookies(uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.revoke_device_cookies(user_id uuid, now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE sql
    SET search_path TO ''
    AS $$
    with r as (
      update app_private.device_cookies d set revoked_at = now
       where d.user_id = revoke_device_cookies.user_id and d.revoked_at is null
      returning 1)
    select count(*)::integer from r
  $$;


--
-- Name: revoke_sessions(uuid, text, uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.revoke_sessions(user_id uuid, reason text, except_session uuid, now timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_count integer;
begin
  update app.user_sessions s
     set revoked_at = now, revoked_reason = revoke_sessions.reason
   where s.user_id = revoke_sessions.user_id
     and s.revoked_at is null
     and s.id is distinct from revoke_sessions.except_session;
  get diagnostics v_count = row_count;
  perform audit.log_event('session.revoked_all', revoke_sessions.user_id,
    jsonb_build_object('reason', reason, 'count', v_count, 'kept', except_session));
  perform app_private.revoke_account_tokens(revoke_sessions.user_id, reason, now);
  return v_count;
end
$$;


--
-- Name: FUNCTION revoke_sessions(user_id uuid, reason text, except_session uuid, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.revoke_sessions(user_id uuid, reason text, except_session uuid, now timestamp with time zone) IS 'Ends every live session of a user but except_session, and revokes the pending e-mailed tokens (app_private.revoke_account_tokens). No role check: callers decide.';


--
-- Name: revoke_trusted_devices(uuid, text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.revoke_trusted_devices(user_id uuid, reason text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_count integer;
begin
  update app.trusted_devices d set revoked_at = now(), revoked_reason = reason
   where d.user_id = revoke_trusted_devices.user_id and d.revoked_at is null;
  get diagnostics v_count = row_count;
  delete from app_private.trusted_device_tokens t using app.trusted_devices d
   where t.device_id = d.id and d.user_id = revoke_trusted_devices.user_id;
  if v_count > 0 then
    perform audit.log_event('mfa.trusted_devices.revoked', user_id, jsonb_build_object('reason', reason, 'count', v_count));
  end if;
  return v_count;
end
$$;


--
-- Name: run_job(text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.run_job(job text, now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION run_job(job text, now timestamp with time zone); Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON FUNCTION app_private.run_job(job text, now timestamp with time zone) IS 'Runs one maintenance job by name and records the run in audit.job_runs (failures too).';


--
-- Name: run_kyc_expiry(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.run_kyc_expiry() RETURNS jsonb
    LANGUAGE sql
    SET search_path TO ''
    AS $$ select jsonb_build_object('expired', k.expired, 'renewals_opened', k.renewals_opened) from app.check_kyc_expiry(null) k $$;


--
-- Name: screen_kyc_record(uuid, text[], timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.screen_kyc_record(kyc_id uuid, kinds text[], now timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_rec app.kyc_records;
  v_name text;
  v_kind text;
  v_matches jsonb;
  v_top integer;
  v_lists text;
  v_hits integer := 0;
  v_threshold integer := app.setting('kyc_match_threshold')::integer;
begin
  select * into v_rec from app.kyc_records r where r.id = screen_kyc_record.kyc_id;
  v_name := app.normalize_name(v_rec.legal_first_name || ' ' || v_rec.legal_last_name);
  perform pg_catalog.set_config('pg_trgm.similarity_threshold', app.setting('kyc_name_similarity'), true);
  foreach v_kind in array kinds loop
    select string_agg(w.name || '@' || w.version, ',' order by w.name) into v_lists
      from app.watchlists w
     where w.status = 'loaded'
       and not exists (select from app.watchlists n where n.name = w.name and n.status = 'loaded' and n.seq > w.seq)
       and exists (select from app.watchlist_entries e where e.watchlist_id = w.id and e.kind = v_kind);
    with candidates as (
      select e.id as entry_id, w.name as list, w.version, e.external_id, e.name, e.birth_date, e.countries,
             max(extensions.similarity(n.name_norm, v_name)) as similarity
        from app.watchlist_names n
        join app.watchlist_entries e on e.id = n.entry_id
        join app.watchlists w on w.id = e.watchlist_id
       where n.name_norm operator(extensions.%) v_name
         and e.kind = v_kind
         and w.status = 'loaded'
         and not exists (select from app.watchlists x where x.name = w.name and x.status = 'loaded' and x.seq > w.seq)
       group by e.id, w.name, w.version, e.external_id, e.name, e.birth_date, e.countries
    ), scored as (
      select c.*,
             c.birth_date is not null and to_char(v_rec.date_of_birth, 'YYYY-MM-DD') like c.birth_date || '%' as dob_match,
             c.birth_date is not null and to_char(v_rec.date_of_birth, 'YYYY-MM-DD') not like c.birth_date || '%' as dob_mismatch,
             (upper(v_rec.nationality) = any (c.countries) or upper(v_rec.residence_country) = any (c.countries)) as country_match
        from candidates c
    ), final as (
      select s.*, greatest(0, least(100, round(s.similarity * 100)::integer
               + case when s.dob_match then 10 when s.dob_mismatch then -30 else 0 end
               + case when s.country_match then 10 else 0 end)) as score
        from scored s
    )
    select coalesce(jsonb_agg(jsonb_build_object('entry_id', f.entry_id, 'list', f.list, 'version', f.version,
                                                 'external_id', f.external_id, 'listed_name', f.name,
                                                 'name_similarity', round(f.similarity::numeric, 3), 'dob_match', f.dob_match,
                                                 'dob_mismatch', f.dob_mismatch, 'country_match', f.country_match, 'score', f.score)
                              order by f.score desc) filter (where f.rank <= 10), '[]'::jsonb),
           max(f.score)
      into v_matches, v_top
      from (select fi.*, row_number() over (order by fi.score desc) as rank from final fi) f;
    insert into app.kyc_compliance_checks (kyc_record_id, user_id, check_type, provider, list_version, matches, top_score, status)
    values (v_rec.id, v_rec.user_id, v_kind, 'internal-trgm', v_lists, v_matches, v_top,
            case when v_top >= v_threshold then 'potential_match' else 'clear' end);
    if v_top >= v_threshold then
      v_hits := v_hits + 1;
      perform audit.log_event('kyc.screening.potential_match', v_rec.user_id,
        jsonb_build_object('kyc_id', v_rec.id, 'check_type', v_kind, 'lists', v_lists, 'top_score', v_top), 'warning');
    end if;
  end loop;
  perform app_private.refresh_kyc_risk(v_rec.id, now);
  return v_hits;
end
$$;


--
-- Name: send_email_verification(uuid, text, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.send_email_verification(user_id uuid, email text, reason text, now timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_token record;
begin
  select * into v_token from app_private.issue_account_token(user_id, 'email_verification', email,
    make_interval(hours => app.setting('email_verification_hours')::integer), now);
  perform app_private.queue_email(user_id, 'email_verification',
    jsonb_build_object('token', v_token.token, 'expires_at', v_token.expires_at), now);
  perform audit.log_event('account.email_verification.sent', user_id,
    jsonb_build_object('reason', reason, 'expires_at', v_token.expires_at));
  return v_token.expires_at;
end
$$;


--
-- Name: set_password(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.set_password(user_id uuid, password text, now timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform app.assert_password_policy(password);
  update app_private.user_secrets s set password_hash = app_private.hash_password(password), updated_at = now
   where s.user_id = set_password.user_id;
  -- password_changed_at also revokes every trusted device (trigger in 3-mfa.sql).
  update app.users u set password_changed_at = now, failed_login_attempts = 0, locked_until = null
   where u.id = set_password.user_id;
  -- A sign-in waiting for its second factor was made with the old password.
  update app_private.mfa_logins l set consumed_at = now
   where l.user_id = set_password.user_id and l.consumed_at is null;
end
$$;


--
-- Name: store_webauthn_challenge(text, text, uuid, uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.store_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid, now timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
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
$_$;


--
-- Name: successor_token(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.successor_token(token text) RETURNS text
    LANGUAGE sql STABLE STRICT
    RETURN translate(rtrim(encode(extensions.hmac(convert_to(token, 'UTF8'::name), app_private.key('refresh_successor'::text), 'sha256'::text), 'base64'::text), '='::text), '+/'::text, '-_'::text);


--
-- Name: take_account_token(text, text, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.take_account_token(token text, purpose text, now timestamp with time zone) RETURNS TABLE(status text, token_id uuid, user_id uuid, email text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_token app_private.account_tokens;
begin
  select * into v_token from app_private.account_tokens t
   where t.token_hash = app_private.token_hash(coalesce(take_account_token.token, ''))
     and t.purpose = take_account_token.purpose
   for update;
  if not found then
    return query select 'invalid', null::uuid, null::uuid, null::text;
    return;
  end if;
  if v_token.consumed_at is not null then
    return query select 'used', v_token.id, v_token.user_id, v_token.email::text;
  elsif v_token.revoked_at is not null then
    return query select 'superseded', v_token.id, v_token.user_id, v_token.email::text;
  elsif v_token.expires_at <= now then
    return query select 'expired', v_token.id, v_token.user_id, v_token.email::text;
  else
    update app_private.account_tokens t set consumed_at = now where t.id = v_token.id;
    return query select 'ok', v_token.id, v_token.user_id, v_token.email::text;
  end if;
end
$$;


--
-- Name: take_webauthn_challenge(text, text, uuid, uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.take_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid, now timestamp with time zone) RETURNS boolean
    LANGUAGE sql
    SET search_path TO ''
    AS $$
    with taken as (
      update app_private.webauthn_challenges c set consumed_at = now
       where c.challenge_hash = app_private.token_hash(coalesce(challenge, ''))
         and c.purpose = take_webauthn_challenge.purpose and c.consumed_at is null and c.expires_at > now
         and (take_webauthn_challenge.user_id is null or c.user_id = take_webauthn_challenge.user_id)
         and c.login_id is not distinct from take_webauthn_challenge.login_id
         and c.session_id is not distinct from take_webauthn_challenge.session_id
      returning 1)
    select exists (select from taken)
  $$;


--
-- Name: tg_mfa_configs__notify_enrolled(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_mfa_configs__notify_enrolled() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform app_private.queue_email(new.user_id, 'mfa_enrolled',
    jsonb_build_object('method', new.method, 'label', new.label, 'at', new.confirmed_at), pg_catalog.now());
  return null;
end
$$;


--
-- Name: tg_mfa_configs__phone_verified(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_mfa_configs__phone_verified() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  update app.users u set phone_verified_at = new.confirmed_at
   where u.id = new.user_id and u.phone = new.phone and u.phone_verified_at is null;
  return null;
end
$$;


--
-- Name: tg_outbox__forget_token(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_outbox__forget_token() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  if new.sent_at is not null or new.dead_at is not null then
    new.payload := new.payload - array['sealed', 'token', 'cancel_token'];
  end if;
  return new;
end
$$;


--
-- Name: tg_settings__compile(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_settings__compile() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform app_private.compile_setting_reader();
  return null;
end
$$;


--
-- Name: tg_webauthn_credentials__notify_added(); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.tg_webauthn_credentials__notify_added() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  perform app_private.queue_email(new.user_id, 'passkey_added',
    jsonb_build_object('label', new.label, 'at', new.created_at), pg_catalog.now());
  return null;
end
$$;


--
-- Name: token_hash(text); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.token_hash(token text) RETURNS bytea
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN extensions.digest(convert_to(token, 'UTF8'::name), 'sha256'::text);


--
-- Name: totp_step(timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.totp_step(now timestamp with time zone) RETURNS bigint
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN (floor((EXTRACT(epoch FROM now) / (30)::numeric)))::bigint;


--
-- Name: trust_device(uuid, text, text, inet, timestamp with time zone); Type: FUNCTION; Schema: app_private; Owner: -
--

CREATE FUNCTION app_private.trust_device(user_id uuid, device_fingerprint text, device_name text, ip inet, now timestamp with time zone) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_token text := app_private.new_token();
  v_id uuid;
begin
  if device_fingerprint is null or device_fingerprint = '' then
    return null;  -- nothing to bind the token to
  end if;
  insert into app.trusted_devices (user_id, device_fingerprint, device_name, ip, created_at, expires_at)
  values (user_id, left(device_fingerprint, 256), left(device_name, 200), ip, now,
          now + make_interval(days => app.setting('trusted_device_days')::integer))
  returning id into v_id;
  insert into app_private.trusted_device_tokens (token_hash, device_id) values (app_private.token_hash(v_token), v_id);
  perform audit.log_event('mfa.device.trusted', user_id, jsonb_build_object('device_id', v_id));
  return v_token;
end
$$;


--
-- Name: chain_lock(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.chain_lock() RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$ select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('dwaybank.audit.chain')::bigint) $$;


--
-- Name: checkpoints; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.checkpoints (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    head_seq bigint NOT NULL,
    head_hash bytea NOT NULL,
    signature bytea NOT NULL,
    gateway_signature text,
    gateway_key_id text,
    gateway_signed_at timestamp with time zone
);


--
-- Name: TABLE checkpoints; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON TABLE audit.checkpoints IS 'Signed checkpoints of the audit chain head (HMAC in the database, JWS by the gateway).';


--
-- Name: checkpoint(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.checkpoint() RETURNS audit.checkpoints
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_cp audit.checkpoints;
  v_now timestamptz;
begin
  perform audit.seal();
  v_now := date_trunc('milliseconds', clock_timestamp());
  insert into audit.checkpoints (created_at, head_seq, head_hash, signature)
  select v_now, a.seq, a.hash, audit.checkpoint_signature(a.seq, a.hash, v_now)
  from audit.audit_log a where a.seq is not null order by a.seq desc limit 1
  returning * into v_cp;
  return v_cp;
end
$$;


--
-- Name: FUNCTION checkpoint(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.checkpoint() IS 'Seals and records an HMAC-signed checkpoint of the chain head (for the gateway to countersign).';


--
-- Name: checkpoint_payload(bigint, bytea, timestamp with time zone); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.checkpoint_payload(head_seq bigint, head_hash bytea, created_at timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO ''
    SET "TimeZone" TO 'UTC'
    AS $$ select 'dwaybank-audit-checkpoint:v1:' || head_seq || ':' || encode(head_hash, 'hex') || ':' || to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;


--
-- Name: FUNCTION checkpoint_payload(head_seq bigint, head_hash bytea, created_at timestamp with time zone); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.checkpoint_payload(head_seq bigint, head_hash bytea, created_at timestamp with time zone) IS 'The exact text a checkpoint signature covers.';


--
-- Name: checkpoint_signature(bigint, bytea, timestamp with time zone); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.checkpoint_signature(head_seq bigint, head_hash bytea, created_at timestamp with time zone) RETURNS bytea
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
    select extensions.hmac(convert_to(audit.checkpoint_payload(head_seq, head_hash, created_at), 'UTF8'),
                           app_private.key('audit_checkpoint'), 'sha256')
  $$;


--
-- Name: create_partitions(integer, timestamp with time zone); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.create_partitions(months_ahead integer DEFAULT 3, now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_month date;
  v_from timestamptz;
  v_to timestamptz;
  v_name text;
  v_created integer := 0;
begin
  for i in 0..months_ahead loop
    v_month := (date_trunc('month', now at time zone 'UTC') + make_interval(months => i))::date;
    v_name := 'audit_log_' || to_char(v_month, 'YYYY_MM');
    v_from := v_month::timestamp at time zone 'UTC';
    v_to := (v_month + interval '1 month')::timestamp at time zone 'UTC';
    if to_regclass('audit.' || v_name) is null then
      -- Entries already in the default partition for this month would make the
      -- new partition fail; they stay where they are (the chain does not care).
      if exists (select from audit.audit_log_default d where d.occurred_at >= v_from and d.occurred_at < v_to) then
        perform audit.log_event('audit.partition.skipped', null, jsonb_build_object('partition', v_name), 'warning');
        continue;
      end if;
      execute format('create table audit.%I partition of audit.audit_log for values from (%L) to (%L)', v_name, v_from, v_to);
      perform audit.protect_partition(('audit.' || v_name)::regclass);
      v_created := v_created + 1;
    end if;
  end loop;
  return v_created;
end
$$;


--
-- Name: FUNCTION create_partitions(months_ahead integer, now timestamp with time zone); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.create_partitions(months_ahead integer, now timestamp with time zone) IS 'Creates monthly audit partitions ahead of time so inserts never fall into the default partition. Definer: the partitions belong to the trail''s owner whoever asks, so later migrations can alter the trail.';


--
-- Name: disable_tracking(regclass); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.disable_tracking(table_oid regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  execute format('drop trigger if exists _900_audit on %s', table_oid);
  execute format('drop trigger if exists _901_audit_truncate on %s', table_oid);
  delete from audit.tracked_tables t where t.table_oid = disable_tracking.table_oid;
end
$$;


--
-- Name: FUNCTION disable_tracking(table_oid regclass); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.disable_tracking(table_oid regclass) IS 'Stops writing a table''s changes to audit.audit_log: drops its audit triggers and its audit.tracked_tables row (the inverse of audit.enable_tracking). Entries already written stay.';


--
-- Name: drop_expired_partitions(timestamp with time zone); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.drop_expired_partitions(now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $_$
declare
  v_part record;
  v_cutoff timestamptz := date_trunc('month', now at time zone 'UTC') at time zone 'UTC'
                          - make_interval(months => app.setting('audit_retention_months')::integer);
  v_from timestamptz;
  v_to timestamptz;
  v_entries bigint;
  v_unsealed bigint;
  v_min_seq bigint;
  v_max_seq bigint;
  v_last_hash bytea;
  v_dropped integer := 0;
begin
  for v_part in
    select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'audit.audit_log'::regclass and c.relname ~ '^audit_log_[0-9]{4}_[0-9]{2}$'
     order by c.relname
  loop
    v_from := to_date(substr(v_part.relname, 11), 'YYYY_MM')::timestamp at time zone 'UTC';
    v_to := v_from + interval '1 month';
    continue when v_to > v_cutoff;
    if audit.partition_under_hold(('audit.' || quote_ident(v_part.relname))::regclass, v_from, v_to) then
      perform audit.log_event('audit.partition.held', null, jsonb_build_object('partition', v_part.relname));
      continue;
    end if;
    execute format('select count(*), count(*) filter (where seq is null), min(seq), max(seq),
                           (array_agg(hash order by seq desc))[1] from audit.%I', v_part.relname)
      into v_entries, v_unsealed, v_min_seq, v_max_seq, v_last_hash;
    continue when v_unsealed > 0;  -- seal first, then drop
    insert into audit.pruned_partitions (partition_name, range_from, range_to, min_seq, max_seq, entries, last_hash, dropped_at)
    values (v_part.relname, v_from, v_to, v_min_seq, v_max_seq, v_entries, v_last_hash, now);
    execute format('drop table audit.%I', v_part.relname);
    perform audit.log_event('audit.partition.dropped', null,
      jsonb_build_object('partition', v_part.relname, 'entries', v_entries, 'min_seq', v_min_seq, 'max_seq', v_max_seq),
      'warning');
    v_dropped := v_dropped + 1;
  end loop;
  return v_dropped;
end
$_$;


--
-- Name: FUNCTION drop_expired_partitions(now timestamp with time zone); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.drop_expired_partitions(now timestamp with time zone) IS 'Drops whole audit partitions older than audit_retention_months, unless under legal hold or not fully sealed; records what was dropped.';


--
-- Name: enable_tracking(regclass, text, text[], text[]); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.enable_tracking(table_oid regclass, subject_column text DEFAULT NULL::text, pii_columns text[] DEFAULT '{}'::text[], secret_columns text[] DEFAULT '{}'::text[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  insert into audit.tracked_tables (table_oid, subject_column, pii_columns, secret_columns)
  values (table_oid, subject_column, pii_columns, secret_columns)
  on conflict on constraint tracked_tables_pkey do update
    set subject_column = excluded.subject_column, pii_columns = excluded.pii_columns, secret_columns = excluded.secret_columns;
  execute format('drop trigger if exists _900_audit on %s', table_oid);
  execute format('create trigger _900_audit after insert or update or delete on %s for each row execute function audit.tg_track(%L, %L, %L)',
                 table_oid, coalesce(subject_column, ''), coalesce(pii_columns, '{}'), coalesce(secret_columns, '{}'));
  execute format('drop trigger if exists _901_audit_truncate on %s', table_oid);
  execute format('create trigger _901_audit_truncate after truncate on %s for each statement execute function audit.tg_track_truncate()', table_oid);
end
$$;


--
-- Name: FUNCTION enable_tracking(table_oid regclass, subject_column text, pii_columns text[], secret_columns text[]); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.enable_tracking(table_oid regclass, subject_column text, pii_columns text[], secret_columns text[]) IS 'Starts writing every insert, update and delete of a table to audit.audit_log.';


--
-- Name: audit_log; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.audit_log (
    id bigint NOT NULL,
    occurred_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    kind text NOT NULL,
    event_type text NOT NULL,
    severity text DEFAULT 'info'::text NOT NULL,
    actor_id uuid,
    actor_role text,
    session_id uuid,
    subject_user_id uuid,
    table_name text,
    row_id text,
    operation text,
    changed_columns text[],
    old_values jsonb,
    new_values jsonb,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    ip inet,
    user_agent text,
    request_id text,
    txid bigint DEFAULT txid_current() NOT NULL,
    seq bigint,
    prev_hash bytea,
    hash bytea,
    sealed_at timestamp with time zone,
    hash_version smallint DEFAULT 2,
    ip_fingerprint text,
    user_agent_fingerprint text,
    CONSTRAINT audit_log_entry_chk CHECK (((kind = ANY (ARRAY['row'::text, 'event'::text])) AND (severity = ANY (ARRAY['info'::text, 'warning'::text, 'critical'::text])) AND (operation = ANY (ARRAY['INSERT'::text, 'UPDATE'::text, 'DELETE'::text, 'TRUNCATE'::text, 'EVENT'::text])) AND ((kind <> 'row'::text) OR ((table_name IS NOT NULL) AND (operation <> 'EVENT'::text))) AND ((seq IS NULL) = (hash IS NULL)) AND ((seq IS NULL) = (sealed_at IS NULL))))
)
PARTITION BY RANGE (occurred_at);


--
-- Name: TABLE audit_log; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON TABLE audit.audit_log IS 'Append-only audit trail: every row change on every table and every security event. Never holds secrets or raw PII.';


--
-- Name: COLUMN audit_log.seq; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.audit_log.seq IS 'Position in the hash chain, gap-free, assigned by audit.seal(); null until sealed.';


--
-- Name: COLUMN audit_log.hash; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.audit_log.hash IS 'SHA-256 over this entry''s content, its seq, sealed_at and prev_hash (see audit.entry_hash).';


--
-- Name: COLUMN audit_log.hash_version; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.audit_log.hash_version IS 'How audit.entry_hash hashes the entry: null = 1 (raw address and user agent), 2 = their keyed fingerprints (so that erasure can remove the raw values).';


--
-- Name: COLUMN audit_log.ip_fingerprint; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.audit_log.ip_fingerprint IS 'Once the person is erased: the keyed fingerprint of the client address, which is then null.';


--
-- Name: COLUMN audit_log.user_agent_fingerprint; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON COLUMN audit.audit_log.user_agent_fingerprint IS 'Once the person is erased: the keyed fingerprint of the user agent, which is then null.';


--
-- Name: CONSTRAINT audit_log_entry_chk ON audit_log; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON CONSTRAINT audit_log_entry_chk ON audit.audit_log IS 'Kind, severity and operation from their lists; row entries name their table; seq, hash and sealed_at together or not at all. One constraint, not five: the trail''s insert is the hottest statement, and PostgreSQL prepares each CHECK per statement.';


--
-- Name: entry_hash(audit.audit_log); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.entry_hash(e audit.audit_log) RETURNS bytea
    LANGUAGE sql STABLE
    SET search_path TO ''
    SET "TimeZone" TO 'UTC'
    AS $$
    select case when e.hash_version is null then
      extensions.digest(convert_to(jsonb_build_array(
        e.seq, encode(e.prev_hash, 'hex'), e.sealed_at, e.id, e.occurred_at, e.kind, e.event_type, e.severity, e.actor_id,
        e.actor_role, e.session_id, e.subject_user_id, e.table_name, e.row_id, e.operation, e.changed_columns, e.old_values,
        e.new_values, e.details, e.ip::text, e.user_agent, e.request_id, e.txid)::text, 'UTF8'), 'sha256')
    else
      extensions.digest(convert_to(jsonb_build_array(
        'v' || e.hash_version, e.seq, encode(e.prev_hash, 'hex'), e.sealed_at, e.id, e.occurred_at, e.kind, e.event_type,
        e.severity, e.actor_id, e.actor_role, e.session_id, e.subject_user_id, e.table_name, e.row_id, e.operation,
        e.changed_columns, e.old_values, e.new_values, e.details,
        case when e.ip is not null then app_private.fingerprint(host(e.ip)) else e.ip_fingerprint end,
        case when e.user_agent is not null then app_private.fingerprint(e.user_agent) else e.user_agent_fingerprint end,
        e.request_id, e.txid)::text, 'UTF8'), 'sha256')
    end
  $$;


--
-- Name: FUNCTION entry_hash(e audit.audit_log); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.entry_hash(e audit.audit_log) IS 'The chain hash of one audit entry. Version 2 covers the keyed fingerprints of the address and user agent, not the raw values, so that erasure (which keeps only the fingerprints) changes no hash.';


--
-- Name: log_event(text, uuid, jsonb, text); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.log_event(event_type text, subject_user_id uuid, details jsonb DEFAULT '{}'::jsonb, severity text DEFAULT 'info'::text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_ctx audit.request_context := audit.request_context();
begin
  insert into audit.audit_log (kind, event_type, severity, actor_id, actor_role, session_id, subject_user_id,
                               operation, details, ip, user_agent, request_id)
  values ('event', log_event.event_type, log_event.severity, v_ctx.actor_id, v_ctx.actor_role, v_ctx.session_id,
          log_event.subject_user_id, 'EVENT', coalesce(log_event.details, '{}'), v_ctx.ip, v_ctx.user_agent, v_ctx.request_id);
end
$$;


--
-- Name: FUNCTION log_event(event_type text, subject_user_id uuid, details jsonb, severity text); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.log_event(event_type text, subject_user_id uuid, details jsonb, severity text) IS 'Appends a security event with the request context; definer so callers can write events without any right on the trail.';


--
-- Name: partition_under_hold(regclass, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.partition_under_hold(partition regclass, range_from timestamp with time zone, range_to timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v_held boolean;
begin
  if exists (select from audit.legal_holds h where h.released_at is null and h.subject_user_id is null
               and h.period && tstzrange(range_from, range_to, '[)')) then
    return true;
  end if;
  execute format('select exists (select from %s a join audit.legal_holds h on h.subject_user_id = a.subject_user_id
                                 where h.released_at is null and h.period && tstzrange($1, $2, ''[)''))', partition)
    into v_held using range_from, range_to;
  return v_held;
end
$_$;


--
-- Name: protect_partition(regclass); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.protect_partition(partition regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  execute format('create or replace trigger _000_no_truncate before truncate on %s for each statement execute function audit.tg_audit_log__no_truncate()', partition);
  execute format('revoke all on %s from public, anon, authenticated, compliance_officer, admin', partition);
end
$$;


--
-- Name: request_context(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.request_context() RETURNS audit.request_context
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $_$
declare
  v_claims jsonb;
  v_headers jsonb;
  v_actor text := nullif(pg_catalog.current_setting('dwaybank.actor_id', true), '');
  v_session text := nullif(pg_catalog.current_setting('dwaybank.session_id', true), '');
  v_ip text := nullif(pg_catalog.current_setting('dwaybank.ip', true), '');
  v_user_agent text := nullif(pg_catalog.current_setting('dwaybank.user_agent', true), '');
  v_request text := nullif(pg_catalog.current_setting('dwaybank.request_id', true), '');
  v_hops_setting text := app.setting('trusted_proxy_hops');
  v_hops integer := case when v_hops_setting ~ '^\s*[0-9]{1,2}\s*$' then v_hops_setting::integer else 0 end;
  v_forwarded text[];
begin
  -- The gateway states the context (app.set_request_context, with the address it computed under its own
  -- TRUST_PROXY); PostgREST requests carry it in claims and headers.
  if v_actor is null or v_session is null or v_ip is null or v_user_agent is null or v_request is null then
    v_claims := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    v_headers := nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb;
    v_actor := coalesce(v_actor, v_claims ->> 'sub');
    v_session := coalesce(v_session, v_claims ->> 'sid');
    if v_ip is null and v_hops > 0 then
      v_forwarded := array(select btrim(h) from pg_catalog.regexp_split_to_table(coalesce(v_headers ->> 'x-forwarded-for', ''), ',') h
                            where btrim(h) <> '');
      if pg_catalog.cardinality(v_forwarded) >= v_hops then
        v_ip := v_forwarded[pg_catalog.cardinality(v_forwarded) - v_hops + 1];
      end if;
    end if;
    v_user_agent := coalesce(v_user_agent, v_headers ->> 'user-agent');
    v_request := coalesce(v_request, v_headers ->> 'x-request-id');
  end if;
  return row(nullif(v_actor, '')::uuid,
             coalesce(v_claims ->> 'role', nullif(pg_catalog.current_setting('role'), 'none'), session_user::text),
             nullif(v_session, '')::uuid,
             case when v_ip is not null then audit.safe_inet(v_ip) end,
             left(v_user_agent, 512), left(v_request, 128))::audit.request_context;
end
$_$;


--
-- Name: FUNCTION request_context(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.request_context() IS 'Who, from where, in which request: what the gateway stated (app.set_request_context), else the PostgREST claims and headers. The client address from X-Forwarded-For only at the n-th entry from the right, n = dwaybank.trusted_proxy_hops (default 0: none).';


--
-- Name: safe_inet(text); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.safe_inet(value text) RETURNS inet
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$ begin return value::inet; exception when others then return null; end $$;


--
-- Name: seal(integer); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.seal(max_rows integer DEFAULT 50000) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    SET "TimeZone" TO 'UTC'
    AS $$
declare
  v_seq bigint;
  v_prev bytea;
  v_now timestamptz := clock_timestamp();
  v_count integer := 0;
  r audit.audit_log;
begin
  perform audit.chain_lock();
  select a.seq, a.hash into v_seq, v_prev from audit.audit_log a where a.seq is not null order by a.seq desc limit 1;
  if v_seq is null then
    select p.max_seq, p.last_hash into v_seq, v_prev from audit.pruned_partitions p order by p.max_seq desc nulls last limit 1;
  end if;
  v_seq := coalesce(v_seq, 0);
  for r in select * from audit.audit_log a where a.seq is null order by a.id limit greatest(max_rows, 1) loop
    r.seq := v_seq + 1;
    r.prev_hash := v_prev;
    r.sealed_at := v_now;
    r.hash := audit.entry_hash(r);
    update audit.audit_log a set seq = r.seq, prev_hash = r.prev_hash, sealed_at = r.sealed_at, hash = r.hash
     where a.id = r.id and a.occurred_at = r.occurred_at;
    v_seq := r.seq;
    v_prev := r.hash;
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;


--
-- Name: FUNCTION seal(max_rows integer); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.seal(max_rows integer) IS 'Seals unsealed audit entries into the hash chain in id order (gap-free seq), under an advisory lock.';


--
-- Name: tg_audit_log__append_only(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg_audit_log__append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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
$$;


--
-- Name: FUNCTION tg_audit_log__append_only(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.tg_audit_log__append_only() IS 'Refuses every change to an audit entry but sealing it, and erasure replacing a raw address or user agent by its keyed fingerprint.';


--
-- Name: tg_audit_log__no_truncate(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg_audit_log__no_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  raise sqlstate 'PGRST' using
    message = '{"code":"AUDIT_APPEND_ONLY","message":"The audit log cannot be truncated.","hint":"The retention job drops whole partitions past their retention."}',
    detail = '{"status":403,"headers":{}}';
end
$$;


--
-- Name: tg_audit_log__notify(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg_audit_log__notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
declare
  v_payload jsonb := jsonb_build_object('id', new.id, 'occurred_at', new.occurred_at, 'event_type', new.event_type,
    'severity', new.severity, 'subject_user_id', new.subject_user_id, 'session_id', new.session_id, 'request_id', new.request_id);
begin
  if octet_length(new.details::text) <= 4000 then
    v_payload := v_payload || jsonb_build_object('details', new.details);
  end if;
  perform pg_notify('security_events', v_payload::text);
  return null;
end
$$;


--
-- Name: tg_track(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg_track() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
declare
  v_subject_column text := nullif(tg_argv[0], '');
  v_pii text[] := coalesce(tg_argv[1], '{}')::text[];
  v_secret text[] := coalesce(tg_argv[2], '{}')::text[];
  v_row jsonb;
  v_new_h extensions.hstore;
  v_changed text[];
  v_drop text[];
  v_old_values jsonb;
  v_new_values jsonb;
  v_key bytea;
  v_col text;
  v_ctx audit.request_context := audit.request_context();
begin
  if tg_op = 'UPDATE' then
    v_new_h := extensions.hstore(new);
    v_changed := extensions.akeys(v_new_h operator(extensions.-) extensions.hstore(old));
    if cardinality(v_changed) = 0 then
      return null;  -- nothing changed: nothing to record
    end if;
    -- Everything but the changed columns, and secrets always, leaves the stored values.
    v_drop := extensions.akeys(v_new_h operator(extensions.-) v_changed) || v_secret;
    v_row := to_jsonb(new);
    v_new_values := v_row operator(pg_catalog.-) v_drop;
    v_old_values := to_jsonb(old) operator(pg_catalog.-) v_drop;
  elsif tg_op = 'INSERT' then
    v_row := to_jsonb(new);
    v_changed := extensions.akeys(extensions.hstore(new));
    v_new_values := v_row operator(pg_catalog.-) v_secret;
  else
    v_row := to_jsonb(old);
    v_old_values := v_row operator(pg_catalog.-) v_secret;
  end if;

  -- Personal data is stored only as a keyed fingerprint (app_private.fingerprint).
  if v_pii && coalesce(v_changed, v_pii) then
    v_key := app_private.key('fingerprint');
    foreach v_col in array v_pii loop
      if v_new_values ? v_col and jsonb_typeof(v_new_values -> v_col) <> 'null' then
        v_new_values := jsonb_set(v_new_values, array[v_col], to_jsonb('fp:' || left(encode(
          extensions.hmac(convert_to(lower(v_new_values ->> v_col), 'UTF8'), v_key, 'sha256'), 'hex'), 24)));
      end if;
      if v_old_values ? v_col and jsonb_typeof(v_old_values -> v_col) <> 'null' then
        v_old_values := jsonb_set(v_old_values, array[v_col], to_jsonb('fp:' || left(encode(
          extensions.hmac(convert_to(lower(v_old_values ->> v_col), 'UTF8'), v_key, 'sha256'), 'hex'), 24)));
      end if;
    end loop;
  end if;

  insert into audit.audit_log (kind, event_type, actor_id, actor_role, session_id, subject_user_id, table_name, row_id,
                               operation, changed_columns, old_values, new_values, ip, user_agent, request_id)
  values ('row', lower(tg_op), v_ctx.actor_id, v_ctx.actor_role, v_ctx.session_id,
          case when v_subject_column is not null then nullif(v_row ->> v_subject_column, '')::uuid end,
          tg_table_schema || '.' || tg_table_name,
          coalesce(v_row ->> 'id', v_row ->> 'user_id', v_row ->> 'session_id'),
          tg_op, v_changed, v_old_values, v_new_values, v_ctx.ip, v_ctx.user_agent, v_ctx.request_id);
  return null;
end
$$;


--
-- Name: FUNCTION tg_track(); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.tg_track() IS 'Row trigger of every tracked table: one audit entry per changed row, PII fingerprinted, secrets never copied.
Arguments (written by audit.enable_tracking): subject column, PII columns, secret columns.
Definer: the trail is written whoever changes the row, and nobody who changes a row can touch the trail.';


--
-- Name: tg_track_truncate(); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.tg_track_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
begin
  perform audit.log_event('table.truncated', null, jsonb_build_object('table', tg_table_schema || '.' || tg_table_name), 'critical');
  return null;
end
$$;


--
-- Name: verify_chain(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: audit; Owner: -
--

CREATE FUNCTION audit.verify_chain(from_at timestamp with time zone DEFAULT '-infinity'::timestamp with time zone, to_at timestamp with time zone DEFAULT 'infinity'::timestamp with time zone) RETURNS audit.chain_report
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    SET "TimeZone" TO 'UTC'
    AS $$
declare
  v_lo bigint;
  v_hi bigint;
  v_expected bigint;
  v_prev bytea;
  v_max_at timestamptz;
  v_checked bigint := 0;
  v_bound interval := make_interval(secs => app.setting('audit_backdate_tolerance_seconds')::integer);
  v_unsealed bigint;
  v_oldest timestamptz;
  v_cp audit.checkpoints;
  v_hash bytea;
  v_max_seq bigint;
  v_link_known boolean := false;
  r audit.audit_log;
  v_report audit.chain_report;
begin
  select count(*), min(a.occurred_at) into v_unsealed, v_oldest
  from audit.audit_log a where a.seq is null and a.occurred_at >= from_at and a.occurred_at < to_at;
  select max(a.seq) into v_max_seq from audit.audit_log a where a.seq is not null;
  select * into v_cp from audit.checkpoints c order by c.head_seq desc, c.id desc limit 1;
  v_report := row(true, 0, null, null, v_unsealed, v_oldest, v_max_seq, v_cp.head_seq)::audit.chain_report;

  select min(a.seq), max(a.seq) into v_lo, v_hi
  from audit.audit_log a where a.seq is not null and a.occurred_at >= from_at and a.occurred_at < to_at;

  if v_lo is not null then
    -- The link into the window: the predecessor, unless retention removed it.
    if v_lo > 1 then
      select a.hash, a.occurred_at into v_prev, v_max_at from audit.audit_log a where a.seq = v_lo - 1 limit 1;
      v_link_known := found;
      if not found and not exists (select from audit.pruned_partitions p where v_lo - 1 between p.min_seq and p.max_seq) then
        v_report.ok := false; v_report.first_bad_seq := v_lo - 1; v_report.reason := 'missing_entry';
        return v_report;
      end if;
    end if;
    v_expected := v_lo;
    for r in select * from audit.audit_log a where a.seq between v_lo and v_hi order by a.seq, a.id loop
      if r.seq < v_expected then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'duplicate_seq';
      elsif r.seq > v_expected and exists (
              select from generate_series(v_expected, r.seq - 1) g(s)
              where not exists (select from audit.pruned_partitions p where g.s between p.min_seq and p.max_seq)) then
        v_report.ok := false; v_report.first_bad_seq := v_expected; v_report.reason := 'missing_entry';
      elsif r.seq = v_expected and v_link_known and r.prev_hash is distinct from v_prev then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'broken_link';
      elsif r.seq = 1 and r.prev_hash is not null then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'broken_link';
      elsif r.hash is distinct from audit.entry_hash(r) then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'hash_mismatch';
      elsif r.occurred_at < v_max_at - v_bound then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'backdated_entry';
      end if;
      if not v_report.ok then
        v_report.checked := v_checked;
        return v_report;
      end if;
      v_checked := v_checked + 1;
      v_expected := r.seq + 1;
      v_prev := r.hash;
      v_link_known := true;
      v_max_at := greatest(v_max_at, r.occurred_at);
    end loop;
  end if;
  v_report.checked := v_checked;

  -- An unsealed entry far older than entries already sealed was slipped in.
  if v_unsealed > 0 and v_oldest < (select max(a.occurred_at) from audit.audit_log a where a.seq is not null) - v_bound then
    v_report.ok := false; v_report.reason := 'backdated_entry';
    return v_report;
  end if;

  -- Checkpoints: every one inside the window must match, and the latest must
  -- not point past the end of the chain (the newest entries were removed).
  for v_cp in select * from audit.checkpoints c
               where (c.head_seq between coalesce(v_lo, 0) and coalesce(v_hi, 0)) or c.id = (select max(c2.id) from audit.checkpoints c2)
               order by c.head_seq loop
    if v_cp.signature is distinct from audit.checkpoint_signature(v_cp.head_seq, v_cp.head_hash, v_cp.created_at) then
      v_report.ok := false; v_report.first_bad_seq := v_cp.head_seq; v_report.reason := 'checkpoint_forged';
      return v_report;
    end if;
    if v_cp.created_at < to_at and v_cp.head_seq > coalesce(v_max_seq, 0) then
      v_report.ok := false; v_report.first_bad_seq := coalesce(v_max_seq, 0) + 1; v_report.reason := 'truncated';
      return v_report;
    end if;
    select a.hash into v_hash from audit.audit_log a where a.seq = v_cp.head_seq limit 1;
    if found and v_hash is distinct from v_cp.head_hash then
      v_report.ok := false; v_report.first_bad_seq := v_cp.head_seq; v_report.reason := 'checkpoint_mismatch';
      return v_report;
    end if;
  end loop;
  return v_report;
end
$$;


--
-- Name: FUNCTION verify_chain(from_at timestamp with time zone, to_at timestamp with time zone); Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON FUNCTION audit.verify_chain(from_at timestamp with time zone, to_at timestamp with time zone) IS 'Recomputes the audit hash chain for entries that occurred in [from_at, to_at) and compares it with the signed checkpoints.
Returns ok, the number of entries checked, the first bad sequence number and the reason, and the unsealed count and age.';


--
-- Name: kyc_checks; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.kyc_checks WITH (security_invoker='true') AS
 SELECT c.id,
    c.kyc_record_id,
    c.user_id,
    c.check_type,
    c.provider,
    c.list_version,
    c.matches,
    c.top_score,
    c.status,
    c.resolved_by,
    c.resolved_at,
    c.resolution_note,
    c.created_at
   FROM app.kyc_compliance_checks c;


--
-- Name: VIEW kyc_checks; Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON VIEW api.kyc_checks IS 'Compliance officers: screening checks with their candidate matches and scores.';


--
-- Name: kyc_documents; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.kyc_documents WITH (security_invoker='true') AS
 SELECT d.id,
    d.kyc_record_id,
    d.user_id,
    d.document_type,
    d.issuing_country,
    d.document_number,
    d.expires_on,
    d.status,
    d.quality_score,
    d.quality_notes,
    d.reviewed_by,
    d.reviewed_at,
    d.mime_type,
    d.size_bytes,
    d.created_at
   FROM app.kyc_documents d;


--
-- Name: VIEW kyc_documents; Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON VIEW api.kyc_documents IS 'Compliance officers: document metadata and assessments (files through GET /kyc/documents/{id}).';


--
-- Name: my_kyc_documents; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.my_kyc_documents WITH (security_invoker='true') AS
 SELECT d.id,
    d.kyc_record_id,
    d.document_type,
    d.issuing_country,
    d.document_number,
    d.expires_on,
    d.status,
    d.mime_type,
    d.size_bytes,
    d.created_at
   FROM app.kyc_documents d
  WHERE (d.user_id = app.current_user_id());


--
-- Name: VIEW my_kyc_documents; Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON VIEW api.my_kyc_documents IS 'The caller''s uploaded documents (metadata only; download through the gateway).';


--
-- Name: my_kyc_verifications; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.my_kyc_verifications WITH (security_invoker='true') AS
 SELECT r.id,
    r.level,
    r.status,
    r.legal_first_name,
    r.legal_last_name,
    r.date_of_birth,
    r.nationality,
    r.address_line1,
    r.address_line2,
    r.city,
    r.postal_code,
    r.residence_country,
    r.id_document_type,
    r.id_document_number,
    r.submitted_at,
    r.decided_at,
    r.expires_at,
    r.renewal_of,
    r.created_at,
    r.updated_at
   FROM app.kyc_records r
  WHERE (r.user_id = app.current_user_id());


--
-- Name: VIEW my_kyc_verifications; Type: COMMENT; Schema: api; Owner: -
--

COMMENT ON VIEW api.my_kyc_verifications IS 'The caller''s verifications (identity data, status, expiry); never risk or screening data.
Address fields of a pending verification can be corrected with PATCH.';


--
-- Name: countries; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.countries (
    code text NOT NULL,
    CONSTRAINT countries_code_format_chk CHECK ((code ~ '^[A-Z]{2}$'::text))
);

ALTER TABLE ONLY app.countries FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE countries; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.countries IS 'ISO 3166-1 alpha-2 codes accepted for country fields.';


--
-- Name: kyc_country_risk; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.kyc_country_risk (
    country_code text NOT NULL,
    points integer NOT NULL,
    reason text NOT NULL,
    CONSTRAINT kyc_country_risk_points_chk CHECK (((points >= 0) AND (points <= 100))),
    CONSTRAINT kyc_country_risk_reason_chk CHECK (((length(reason) >= 1) AND (length(reason) <= 200)))
);

ALTER TABLE ONLY app.kyc_country_risk FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE kyc_country_risk; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.kyc_country_risk IS 'Countries that add to a customer''s risk score (nationality or residence). A sample in the spirit of the FATF lists; compliance maintains it.';


--
-- Name: mfa_verification_attempts; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.mfa_verification_attempts (
    id bigint NOT NULL,
    user_id uuid NOT NULL,
    config_id uuid,
    method text NOT NULL,
    purpose text NOT NULL,
    outcome text NOT NULL,
    ip inet,
    user_agent text,
    device_fingerprint text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT mfa_verification_attempts_device_fingerprint_chk CHECK ((length(device_fingerprint) <= 256)),
    CONSTRAINT mfa_verification_attempts_method_chk CHECK ((method = ANY (ARRAY['totp'::text, 'sms'::text, 'email'::text, 'backup_codes'::text, 'trusted_device'::text, 'webauthn'::text]))),
    CONSTRAINT mfa_verification_attempts_outcome_chk CHECK ((outcome = ANY (ARRAY['success'::text, 'failed'::text, 'replayed'::text, 'expired'::text, 'locked'::text, 'rate_limited'::text]))),
    CONSTRAINT mfa_verification_attempts_purpose_chk CHECK ((purpose = ANY (ARRAY['login'::text, 'step_up'::text, 'enroll'::text, 'passwordless'::text]))),
    CONSTRAINT mfa_verification_attempts_user_agent_chk CHECK ((length(user_agent) <= 512))
);

ALTER TABLE ONLY app.mfa_verification_attempts FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE mfa_verification_attempts; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.mfa_verification_attempts IS 'Every MFA verification attempt with its security context; never rolled back (functions return statuses).';


--
-- Name: mfa_verification_attempts_id_seq; Type: SEQUENCE; Schema: app; Owner: -
--

ALTER TABLE app.mfa_verification_attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME app.mfa_verification_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: settings; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.settings (
    name text NOT NULL,
    default_value text,
    description text NOT NULL,
    CONSTRAINT settings_default_value_chk CHECK (((length(default_value) >= 1) AND (length(default_value) <= 100))),
    CONSTRAINT settings_description_chk CHECK (((length(description) >= 10) AND (length(description) <= 500))),
    CONSTRAINT settings_name_chk CHECK ((name ~ '^[a-z][a-z0-9_]{1,62}$'::text))
);

ALTER TABLE ONLY app.settings FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE settings; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.settings IS 'Every dwaybank.* setting, its default and what it means. Override per database: ALTER DATABASE dwaybank SET dwaybank.<name> = ''<value>''. Read with app.setting(name).';


--
-- Name: trusted_devices; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.trusted_devices (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    device_fingerprint text NOT NULL,
    device_name text,
    ip inet,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    revoked_reason text,
    CONSTRAINT trusted_devices_device_fingerprint_chk CHECK (((length(device_fingerprint) >= 1) AND (length(device_fingerprint) <= 256))),
    CONSTRAINT trusted_devices_device_name_chk CHECK ((length(device_name) <= 200)),
    CONSTRAINT trusted_devices_revoked_chk CHECK (((revoked_at IS NULL) = (revoked_reason IS NULL))),
    CONSTRAINT trusted_devices_revoked_reason_chk CHECK ((length(revoked_reason) <= 64))
);

ALTER TABLE ONLY app.trusted_devices FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE trusted_devices; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.trusted_devices IS 'Devices that skip the MFA prompt for 30 days (session stays aal1, amr includes trusted_device). Token hashes live in app_private.trusted_device_tokens.';


--
-- Name: users; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email extensions.citext NOT NULL,
    phone text,
    country_code text,
    first_name text,
    last_name text,
    date_of_birth date,
    role text DEFAULT 'customer'::text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    email_verified_at timestamp with time zone,
    failed_login_attempts integer DEFAULT 0 NOT NULL,
    last_failed_login_at timestamp with time zone,
    locked_until timestamp with time zone,
    last_login_at timestamp with time zone,
    last_login_ip inet,
    last_login_user_agent text,
    password_changed_at timestamp with time zone,
    referral_code text DEFAULT upper(encode(extensions.gen_random_bytes(5), 'hex'::text)) NOT NULL,
    referred_by uuid,
    deleted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    mfa_required boolean DEFAULT false NOT NULL,
    phone_verified_at timestamp with time zone,
    CONSTRAINT users_date_of_birth_chk CHECK (((date_of_birth >= '1900-01-01'::date) AND (date_of_birth <= '2100-01-01'::date))),
    CONSTRAINT users_deleted_chk CHECK (((status = 'deleted'::text) = (deleted_at IS NOT NULL))),
    CONSTRAINT users_email_format_chk CHECK (app.is_email_address((email)::text)),
    CONSTRAINT users_failed_login_attempts_chk CHECK ((failed_login_attempts >= 0)),
    CONSTRAINT users_first_name_chk CHECK ((((length(first_name) >= 1) AND (length(first_name) <= 100)) AND (first_name !~ '[[:cntrl:]]'::text))),
    CONSTRAINT users_last_name_chk CHECK ((((length(last_name) >= 1) AND (length(last_name) <= 100)) AND (last_name !~ '[[:cntrl:]]'::text))),
    CONSTRAINT users_not_self_referred_chk CHECK ((referred_by IS DISTINCT FROM id)),
    CONSTRAINT users_phone_e164_chk CHECK ((phone ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT users_referral_code_format_chk CHECK ((referral_code ~ '^[0-9A-F]{10}$'::text)),
    CONSTRAINT users_role_chk CHECK ((role = ANY (ARRAY['customer'::text, 'compliance_officer'::text, 'admin'::text]))),
    CONSTRAINT users_status_chk CHECK ((status = ANY (ARRAY['active'::text, 'suspended'::text, 'deleted'::text])))
);

ALTER TABLE ONLY app.users FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE users; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.users IS 'Customer and staff accounts. Soft-deleted (deleted_at) so references and the audit trail stay intact.';


--
-- Name: COLUMN users.role; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.users.role IS 'Maps to the JWT role: customer -> authenticated; staff roles map to themselves.';


--
-- Name: COLUMN users.mfa_required; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.users.mfa_required IS 'The account must keep a second factor (staff roles always must, see app.mfa_policy_required).';


--
-- Name: COLUMN users.phone_verified_at; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON COLUMN app.users.phone_verified_at IS 'When the current phone number was proved by a code sent to it (phone change or SMS enrolment); null when unproved.';


--
-- Name: watchlist_entries; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.watchlist_entries (
    id bigint NOT NULL,
    watchlist_id uuid NOT NULL,
    kind text NOT NULL,
    external_id text NOT NULL,
    schema text DEFAULT 'Person'::text NOT NULL,
    name text NOT NULL,
    aliases text[] DEFAULT '{}'::text[] NOT NULL,
    birth_date text,
    countries text[] DEFAULT '{}'::text[] NOT NULL,
    program text,
    CONSTRAINT watchlist_entries_birth_date_chk CHECK ((birth_date ~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$'::text)),
    CONSTRAINT watchlist_entries_external_id_chk CHECK (((length(external_id) >= 1) AND (length(external_id) <= 200))),
    CONSTRAINT watchlist_entries_kind_chk CHECK ((kind = ANY (ARRAY['sanctions'::text, 'pep'::text]))),
    CONSTRAINT watchlist_entries_name_chk CHECK (((length(name) >= 1) AND (length(name) <= 500))),
    CONSTRAINT watchlist_entries_program_chk CHECK ((length(program) <= 1000)),
    CONSTRAINT watchlist_entries_schema_chk CHECK (((length(schema) >= 1) AND (length(schema) <= 50)))
);

ALTER TABLE ONLY app.watchlist_entries FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE watchlist_entries; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.watchlist_entries IS 'One listed person or organisation of one list version (OpenSanctions-like fields).';


--
-- Name: watchlist_entries_id_seq; Type: SEQUENCE; Schema: app; Owner: -
--

ALTER TABLE app.watchlist_entries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME app.watchlist_entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: watchlist_names; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.watchlist_names (
    entry_id bigint NOT NULL,
    name_norm text NOT NULL,
    CONSTRAINT watchlist_names_name_norm_chk CHECK (((length(name_norm) >= 1) AND (length(name_norm) <= 500)))
);

ALTER TABLE ONLY app.watchlist_names FORCE ROW LEVEL SECURITY;


--
-- Name: watchlists; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.watchlists (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    seq bigint NOT NULL,
    name text NOT NULL,
    version text NOT NULL,
    source text,
    status text DEFAULT 'loading'::text NOT NULL,
    entry_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    loaded_at timestamp with time zone,
    CONSTRAINT watchlists_loaded_chk CHECK (((status = 'loaded'::text) = (loaded_at IS NOT NULL))),
    CONSTRAINT watchlists_name_chk CHECK ((name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'::text)),
    CONSTRAINT watchlists_source_chk CHECK ((length(source) <= 500)),
    CONSTRAINT watchlists_status_chk CHECK ((status = ANY (ARRAY['loading'::text, 'loaded'::text]))),
    CONSTRAINT watchlists_version_chk CHECK ((version ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'::text))
);

ALTER TABLE ONLY app.watchlists FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE watchlists; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.watchlists IS 'Sanctions and PEP lists by name and version, loaded with npm run watchlist:load.';


--
-- Name: watchlists_seq_seq; Type: SEQUENCE; Schema: app; Owner: -
--

ALTER TABLE app.watchlists ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME app.watchlists_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: webauthn_credentials; Type: TABLE; Schema: app; Owner: -
--

CREATE TABLE app.webauthn_credentials (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    config_id uuid NOT NULL,
    credential_id text NOT NULL,
    public_key bytea NOT NULL,
    sign_count bigint DEFAULT 0 NOT NULL,
    transports text[] DEFAULT '{}'::text[] NOT NULL,
    label text,
    device_type text,
    backed_up boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    CONSTRAINT webauthn_credentials_credential_id_chk CHECK (((credential_id ~ '^[A-Za-z0-9_-]+$'::text) AND ((length(credential_id) >= 16) AND (length(credential_id) <= 1400)))),
    CONSTRAINT webauthn_credentials_device_type_chk CHECK ((device_type = ANY (ARRAY['singleDevice'::text, 'multiDevice'::text]))),
    CONSTRAINT webauthn_credentials_label_chk CHECK ((((length(label) >= 1) AND (length(label) <= 100)) AND (label !~ '[[:cntrl:]]'::text))),
    CONSTRAINT webauthn_credentials_public_key_chk CHECK (((length(public_key) >= 16) AND (length(public_key) <= 2048))),
    CONSTRAINT webauthn_credentials_sign_count_chk CHECK ((sign_count >= 0))
);

ALTER TABLE ONLY app.webauthn_credentials FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE webauthn_credentials; Type: COMMENT; Schema: app; Owner: -
--

COMMENT ON TABLE app.webauthn_credentials IS 'Passkeys: public key, sign counter (never goes back), transports, label, last use. Together they are the user''s webauthn factor (app.mfa_configs).';


--
-- Name: account_erasures; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.account_erasures (
    user_id uuid NOT NULL,
    requested_at timestamp with time zone NOT NULL,
    erase_after timestamp with time zone NOT NULL,
    erased_at timestamp with time zone,
    kyc_retained_until timestamp with time zone,
    kyc_purged_at timestamp with time zone
);


--
-- Name: TABLE account_erasures; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.account_erasures IS 'Deletion requests: soft-deleted at once, personal data erased after the grace period, KYC evidence purged after the AML retention period.';


--
-- Name: account_requests; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.account_requests (
    id bigint NOT NULL,
    kind text NOT NULL,
    email_fingerprint text NOT NULL,
    ip inet,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT account_requests_kind_chk CHECK ((kind = 'password_reset'::text))
);


--
-- Name: account_requests_id_seq; Type: SEQUENCE; Schema: app_private; Owner: -
--

ALTER TABLE app_private.account_requests ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME app_private.account_requests_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: account_tokens; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.account_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    purpose text NOT NULL,
    token_hash bytea NOT NULL,
    email extensions.citext NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    consumed_at timestamp with time zone,
    revoked_at timestamp with time zone,
    session_id uuid,
    CONSTRAINT account_tokens_expiry_chk CHECK ((expires_at > created_at)),
    CONSTRAINT account_tokens_purpose_chk CHECK ((purpose = ANY (ARRAY['email_verification'::text, 'password_reset'::text, 'email_change'::text, 'recovery_cancel'::text]))),
    CONSTRAINT account_tokens_token_hash_chk CHECK ((length(token_hash) = 32))
);


--
-- Name: TABLE account_tokens; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.account_tokens IS 'Tokens sent by e-mail (verification, password reset, e-mail change): SHA-256 hash only, single use, expiring; a newer token of the same purpose revokes the older ones.';


--
-- Name: COLUMN account_tokens.session_id; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON COLUMN app_private.account_tokens.session_id IS 'The session that asked for the token (e-mail change): the change is confirmed only while that session is alive.';


--
-- Name: device_cookies; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.device_cookies (
    token_hash bytea NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    last_used_at timestamp with time zone,
    failed_attempts integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT device_cookies_expiry_chk CHECK ((expires_at > created_at)),
    CONSTRAINT device_cookies_failed_attempts_chk CHECK ((failed_attempts >= 0)),
    CONSTRAINT device_cookies_token_hash_chk CHECK ((length(token_hash) = 32))
);


--
-- Name: TABLE device_cookies; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.device_cookies IS 'Device cookies (hashes only): a client that signed in to this account before is exempt from the account lockout and has its own failure counter.';


--
-- Name: keys; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.keys (
    name text NOT NULL,
    key bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT keys_key_length_chk CHECK ((length(key) >= 32))
);


--
-- Name: kyc_document_objects; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.kyc_document_objects (
    document_id uuid NOT NULL,
    storage_ref text NOT NULL,
    key_id text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT kyc_document_objects_key_id_chk CHECK ((key_id ~ '^[A-Za-z0-9_-]{1,64}$'::text)),
    CONSTRAINT kyc_document_objects_storage_ref_chk CHECK (((length(storage_ref) >= 16) AND (length(storage_ref) <= 2048)))
);


--
-- Name: mfa_backup_codes; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.mfa_backup_codes (
    code_hash bytea NOT NULL,
    config_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT mfa_backup_codes_code_hash_chk CHECK ((length(code_hash) = 32))
);


--
-- Name: mfa_challenges; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.mfa_challenges (
    id uuid DEFAULT app_private.uuid_v7() NOT NULL,
    user_id uuid NOT NULL,
    config_id uuid NOT NULL,
    method text NOT NULL,
    login_id uuid,
    code_hash bytea NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    consumed_at timestamp with time zone,
    locked_at timestamp with time zone,
    CONSTRAINT mfa_challenges_code_hash_chk CHECK ((length(code_hash) = 32)),
    CONSTRAINT mfa_challenges_method_chk CHECK ((method = ANY (ARRAY['sms'::text, 'email'::text])))
);


--
-- Name: mfa_logins; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.mfa_logins (
    id uuid DEFAULT app_private.uuid_v7() NOT NULL,
    user_id uuid NOT NULL,
    methods text[] NOT NULL,
    ip inet,
    user_agent text,
    device_fingerprint text,
    device_name text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    consumed_at timestamp with time zone
);


--
-- Name: mfa_secrets; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.mfa_secrets (
    config_id uuid NOT NULL,
    ciphertext text NOT NULL,
    key_id text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT mfa_secrets_ciphertext_chk CHECK (((length(ciphertext) >= 16) AND (length(ciphertext) <= 1024))),
    CONSTRAINT mfa_secrets_key_id_chk CHECK ((key_id ~ '^[A-Za-z0-9_.-]{1,64}$'::text))
);


--
-- Name: outbox; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.outbox (
    id bigint NOT NULL,
    user_id uuid,
    channel text NOT NULL,
    template text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    dead_at timestamp with time zone,
    CONSTRAINT outbox_channel_chk CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text]))),
    CONSTRAINT outbox_last_error_chk CHECK ((length(last_error) <= 500)),
    CONSTRAINT outbox_template_chk CHECK ((template ~ '^[a-z0-9_.]{1,64}$'::text))
);


--
-- Name: COLUMN outbox.next_attempt_at; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON COLUMN app_private.outbox.next_attempt_at IS 'Not claimed before this time: the backoff after a failed attempt.';


--
-- Name: COLUMN outbox.dead_at; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON COLUMN app_private.outbox.dead_at IS 'Set when the message failed outbox_max_attempts times: no more attempts, its secrets dropped.';


--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: app_private; Owner: -
--

ALTER TABLE app_private.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME app_private.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: phone_changes; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.phone_changes (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    session_id uuid NOT NULL,
    phone text NOT NULL,
    code_hash bytea NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    consumed_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT phone_changes_attempts_chk CHECK (((attempts >= 0) AND (attempts <= 100))),
    CONSTRAINT phone_changes_code_hash_chk CHECK ((length(code_hash) = 32)),
    CONSTRAINT phone_changes_expiry_chk CHECK ((expires_at > created_at)),
    CONSTRAINT phone_changes_phone_chk CHECK ((phone ~ '^\+[1-9][0-9]{6,14}$'::text))
);

ALTER TABLE ONLY app_private.phone_changes FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE phone_changes; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.phone_changes IS 'Pending phone number changes: the new number, the HMAC of the code sent to it, and the session that asked (only that session may confirm, so ending it, e.g. by a password reset, ends the change).';


--
-- Name: refresh_tokens; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.refresh_tokens (
    token_hash bytea NOT NULL,
    session_id uuid NOT NULL,
    generation integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    superseded_at timestamp with time zone,
    CONSTRAINT refresh_tokens_token_hash_chk CHECK ((length(token_hash) = 32))
);


--
-- Name: report_daily_auth; Type: MATERIALIZED VIEW; Schema: app_private; Owner: -
--

CREATE MATERIALIZED VIEW app_private.report_daily_auth AS
 SELECT ((a.occurred_at AT TIME ZONE 'UTC'::text))::date AS day,
    count(*) FILTER (WHERE (a.event_type = 'auth.login.succeeded'::text)) AS sign_ins,
    count(*) FILTER (WHERE (a.event_type = 'auth.login.failed'::text)) AS failures,
    count(*) FILTER (WHERE (a.event_type = 'auth.account.locked'::text)) AS lockouts,
    count(DISTINCT a.subject_user_id) FILTER (WHERE (a.event_type = 'auth.login.succeeded'::text)) AS users_signed_in
   FROM audit.audit_log a
  WHERE ((a.kind = 'event'::text) AND (a.event_type = ANY (ARRAY['auth.login.succeeded'::text, 'auth.login.failed'::text, 'auth.account.locked'::text])))
  GROUP BY (((a.occurred_at AT TIME ZONE 'UTC'::text))::date)
  WITH NO DATA;


--
-- Name: report_kyc_funnel; Type: MATERIALIZED VIEW; Schema: app_private; Owner: -
--

CREATE MATERIALIZED VIEW app_private.report_kyc_funnel AS
 SELECT r.level,
    r.status,
    count(*) AS verifications,
    count(DISTINCT r.user_id) AS users
   FROM app.kyc_records r
  GROUP BY r.level, r.status
  WITH NO DATA;


--
-- Name: report_kyc_risk; Type: MATERIALIZED VIEW; Schema: app_private; Owner: -
--

CREATE MATERIALIZED VIEW app_private.report_kyc_risk AS
 SELECT COALESCE(r.risk_level, 'unassessed'::text) AS risk_level,
    r.status,
    count(*) AS verifications,
    round(avg(r.risk_score), 1) AS avg_score
   FROM app.kyc_records r
  GROUP BY COALESCE(r.risk_level, 'unassessed'::text), r.status
  WITH NO DATA;


--
-- Name: report_mfa_adoption; Type: MATERIALIZED VIEW; Schema: app_private; Owner: -
--

CREATE MATERIALIZED VIEW app_private.report_mfa_adoption AS
 WITH active AS (
         SELECT u.id,
            c.method
           FROM (app.users u
             LEFT JOIN app.mfa_configs c ON (((c.user_id = u.id) AND (c.status = 'active'::text))))
          WHERE (u.deleted_at IS NULL)
        )
 SELECT COALESCE(a.method, 'none'::text) AS method,
    count(DISTINCT a.id) AS users,
    round(((100.0 * (count(DISTINCT a.id))::numeric) / (GREATEST((1)::bigint, ( SELECT count(*) AS count
           FROM app.users u
          WHERE (u.deleted_at IS NULL))))::numeric), 1) AS percent_of_users
   FROM active a
  GROUP BY COALESCE(a.method, 'none'::text)
  WITH NO DATA;


--
-- Name: report_security_events_daily; Type: MATERIALIZED VIEW; Schema: app_private; Owner: -
--

CREATE MATERIALIZED VIEW app_private.report_security_events_daily AS
 SELECT ((a.occurred_at AT TIME ZONE 'UTC'::text))::date AS day,
    a.event_type,
    a.severity,
    count(*) AS events
   FROM audit.audit_log a
  WHERE ((a.kind = 'event'::text) AND (a.severity <> 'info'::text))
  GROUP BY (((a.occurred_at AT TIME ZONE 'UTC'::text))::date), a.event_type, a.severity
  WITH NO DATA;


--
-- Name: report_suspicious_sessions_daily; Type: MATERIALIZED VIEW; Schema: app_private; Owner: -
--

CREATE MATERIALIZED VIEW app_private.report_suspicious_sessions_daily AS
 SELECT ((s.created_at AT TIME ZONE 'UTC'::text))::date AS day,
    count(*) AS sessions,
    count(*) FILTER (WHERE s.is_suspicious) AS suspicious,
    round(avg(s.suspicious_score), 1) AS avg_score,
    count(*) FILTER (WHERE (s.revoked_reason = 'refresh_token_reuse'::text)) AS token_reuse_revocations
   FROM app.user_sessions s
  GROUP BY (((s.created_at AT TIME ZONE 'UTC'::text))::date)
  WITH NO DATA;


--
-- Name: signup_attempts; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.signup_attempts (
    ip inet NOT NULL,
    bucket timestamp with time zone NOT NULL,
    attempts integer DEFAULT 0 NOT NULL
);

ALTER TABLE ONLY app_private.signup_attempts FORCE ROW LEVEL SECURITY;


--
-- Name: TABLE signup_attempts; Type: COMMENT; Schema: app_private; Owner: -
--

COMMENT ON TABLE app_private.signup_attempts IS 'Sign-ups per client throttle key and minute: each costs a bcrypt hash, so a client may make only so many (app.signup).';


--
-- Name: trusted_device_tokens; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.trusted_device_tokens (
    token_hash bytea NOT NULL,
    device_id uuid NOT NULL,
    CONSTRAINT trusted_device_tokens_token_hash_chk CHECK ((length(token_hash) = 32))
);


--
-- Name: unknown_login_attempts; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.unknown_login_attempts (
    email_fingerprint text NOT NULL,
    failed_login_attempts integer DEFAULT 0 NOT NULL,
    last_failed_login_at timestamp with time zone,
    locked_until timestamp with time zone
);


--
-- Name: user_secrets; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.user_secrets (
    user_id uuid NOT NULL,
    password_hash text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT user_secrets_password_hash_chk CHECK ((password_hash ~ '^\$2[abxy]\$[0-9]{2}\$'::text))
);


--
-- Name: webauthn_challenges; Type: TABLE; Schema: app_private; Owner: -
--

CREATE TABLE app_private.webauthn_challenges (
    challenge_hash bytea NOT NULL,
    purpose text NOT NULL,
    user_id uuid,
    login_id uuid,
    session_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    consumed_at timestamp with time zone,
    CONSTRAINT webauthn_challenges_challenge_hash_chk CHECK ((length(challenge_hash) = 32)),
    CONSTRAINT webauthn_challenges_purpose_chk CHECK ((purpose = ANY (ARRAY['register'::text, 'login'::text, 'passwordless'::text, 'step_up'::text])))
);


--
-- Name: audit_log_default; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.audit_log_default (
    id bigint NOT NULL,
    occurred_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    kind text NOT NULL,
    event_type text NOT NULL,
    severity text DEFAULT 'info'::text NOT NULL,
    actor_id uuid,
    actor_role text,
    session_id uuid,
    subject_user_id uuid,
    table_name text,
    row_id text,
    operation text,
    changed_columns text[],
    old_values jsonb,
    new_values jsonb,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    ip inet,
    user_agent text,
    request_id text,
    txid bigint DEFAULT txid_current() NOT NULL,
    seq bigint,
    prev_hash bytea,
    hash bytea,
    sealed_at timestamp with time zone,
    hash_version smallint DEFAULT 2,
    ip_fingerprint text,
    user_agent_fingerprint text,
    CONSTRAINT audit_log_entry_chk CHECK (((kind = ANY (ARRAY['row'::text, 'event'::text])) AND (severity = ANY (ARRAY['info'::text, 'warning'::text, 'critical'::text])) AND (operation = ANY (ARRAY['INSERT'::text, 'UPDATE'::text, 'DELETE'::text, 'TRUNCATE'::text, 'EVENT'::text])) AND ((kind <> 'row'::text) OR ((table_name IS NOT NULL) AND (operation <> 'EVENT'::text))) AND ((seq IS NULL) = (hash IS NULL)) AND ((seq IS NULL) = (sealed_at IS NULL))))
);


--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: audit; Owner: -
--

ALTER TABLE audit.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: checkpoints_id_seq; Type: SEQUENCE; Schema: audit; Owner: -
--

ALTER TABLE audit.checkpoints ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.checkpoints_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: job_runs; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.job_runs (
    id bigint NOT NULL,
    job text NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    finished_at timestamp with time zone,
    status text DEFAULT 'running'::text NOT NULL,
    result jsonb,
    error text,
    run_by text NOT NULL,
    CONSTRAINT job_runs_status_chk CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text])))
);


--
-- Name: TABLE job_runs; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON TABLE audit.job_runs IS 'Every maintenance job run (by pg_cron or by hand) and its outcome.';


--
-- Name: job_runs_id_seq; Type: SEQUENCE; Schema: audit; Owner: -
--

ALTER TABLE audit.job_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.job_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: legal_holds; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.legal_holds (
    id bigint NOT NULL,
    subject_user_id uuid,
    period tstzrange DEFAULT tstzrange(NULL::timestamp with time zone, NULL::timestamp with time zone) NOT NULL,
    reason text NOT NULL,
    placed_by uuid,
    placed_at timestamp with time zone DEFAULT now() NOT NULL,
    released_at timestamp with time zone,
    released_by uuid,
    CONSTRAINT legal_holds_reason_chk CHECK (((length(reason) >= 3) AND (length(reason) <= 500)))
);


--
-- Name: TABLE legal_holds; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON TABLE audit.legal_holds IS 'Legal holds: audit partitions overlapping an active hold are never dropped; a held user is never erased.';


--
-- Name: legal_holds_id_seq; Type: SEQUENCE; Schema: audit; Owner: -
--

ALTER TABLE audit.legal_holds ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.legal_holds_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: pruned_partitions; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.pruned_partitions (
    partition_name text NOT NULL,
    range_from timestamp with time zone NOT NULL,
    range_to timestamp with time zone NOT NULL,
    min_seq bigint,
    max_seq bigint,
    entries bigint NOT NULL,
    last_hash bytea,
    dropped_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: TABLE pruned_partitions; Type: COMMENT; Schema: audit; Owner: -
--

COMMENT ON TABLE audit.pruned_partitions IS 'Audit partitions dropped by retention, with the sequence range they held.';


--
-- Name: tracked_tables; Type: TABLE; Schema: audit; Owner: -
--

CREATE TABLE audit.tracked_tables (
    table_oid regclass NOT NULL,
    subject_column text,
    pii_columns text[] DEFAULT '{}'::text[] NOT NULL,
    secret_columns text[] DEFAULT '{}'::text[] NOT NULL
);


--
-- Name: audit_log_default; Type: TABLE ATTACH; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.audit_log ATTACH PARTITION audit.audit_log_default DEFAULT;


--
-- Name: account_recoveries account_recoveries_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.account_recoveries
    ADD CONSTRAINT account_recoveries_pkey PRIMARY KEY (id);


--
-- Name: countries countries_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.countries
    ADD CONSTRAINT countries_pkey PRIMARY KEY (code);


--
-- Name: kyc_compliance_checks kyc_compliance_checks_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_compliance_checks
    ADD CONSTRAINT kyc_compliance_checks_pkey PRIMARY KEY (id);


--
-- Name: kyc_country_risk kyc_country_risk_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_country_risk
    ADD CONSTRAINT kyc_country_risk_pkey PRIMARY KEY (country_code);


--
-- Name: kyc_documents kyc_documents_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_documents
    ADD CONSTRAINT kyc_documents_pkey PRIMARY KEY (id);


--
-- Name: kyc_records kyc_records_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_records
    ADD CONSTRAINT kyc_records_pkey PRIMARY KEY (id);


--
-- Name: mfa_configs mfa_configs_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.mfa_configs
    ADD CONSTRAINT mfa_configs_pkey PRIMARY KEY (id);


--
-- Name: mfa_configs mfa_configs_user_method_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.mfa_configs
    ADD CONSTRAINT mfa_configs_user_method_key UNIQUE (user_id, method);


--
-- Name: mfa_verification_attempts mfa_verification_attempts_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.mfa_verification_attempts
    ADD CONSTRAINT mfa_verification_attempts_pkey PRIMARY KEY (id);


--
-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (name);


--
-- Name: trusted_devices trusted_devices_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.trusted_devices
    ADD CONSTRAINT trusted_devices_pkey PRIMARY KEY (id);


--
-- Name: user_sessions user_sessions_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.user_sessions
    ADD CONSTRAINT user_sessions_pkey PRIMARY KEY (id);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: users users_referral_code_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.users
    ADD CONSTRAINT users_referral_code_key UNIQUE (referral_code);


--
-- Name: watchlist_entries watchlist_entries_list_external_id_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlist_entries
    ADD CONSTRAINT watchlist_entries_list_external_id_key UNIQUE (watchlist_id, external_id);


--
-- Name: watchlist_entries watchlist_entries_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlist_entries
    ADD CONSTRAINT watchlist_entries_pkey PRIMARY KEY (id);


--
-- Name: watchlist_names watchlist_names_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlist_names
    ADD CONSTRAINT watchlist_names_pkey PRIMARY KEY (entry_id, name_norm);


--
-- Name: watchlists watchlists_name_version_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlists
    ADD CONSTRAINT watchlists_name_version_key UNIQUE (name, version);


--
-- Name: watchlists watchlists_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlists
    ADD CONSTRAINT watchlists_pkey PRIMARY KEY (id);


--
-- Name: watchlists watchlists_seq_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlists
    ADD CONSTRAINT watchlists_seq_key UNIQUE (seq);


--
-- Name: webauthn_credentials webauthn_credentials_credential_id_key; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.webauthn_credentials
    ADD CONSTRAINT webauthn_credentials_credential_id_key UNIQUE (credential_id);


--
-- Name: webauthn_credentials webauthn_credentials_pkey; Type: CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.webauthn_credentials
    ADD CONSTRAINT webauthn_credentials_pkey PRIMARY KEY (id);


--
-- Name: account_erasures account_erasures_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.account_erasures
    ADD CONSTRAINT account_erasures_pkey PRIMARY KEY (user_id);


--
-- Name: account_requests account_requests_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.account_requests
    ADD CONSTRAINT account_requests_pkey PRIMARY KEY (id);


--
-- Name: account_tokens account_tokens_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.account_tokens
    ADD CONSTRAINT account_tokens_pkey PRIMARY KEY (id);


--
-- Name: account_tokens account_tokens_token_hash_key; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.account_tokens
    ADD CONSTRAINT account_tokens_token_hash_key UNIQUE (token_hash);


--
-- Name: device_cookies device_cookies_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.device_cookies
    ADD CONSTRAINT device_cookies_pkey PRIMARY KEY (token_hash);


--
-- Name: ip_login_failures ip_login_failures_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.ip_login_failures
    ADD CONSTRAINT ip_login_failures_pkey PRIMARY KEY (ip, bucket);


--
-- Name: keys keys_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.keys
    ADD CONSTRAINT keys_pkey PRIMARY KEY (name);


--
-- Name: kyc_document_objects kyc_document_objects_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.kyc_document_objects
    ADD CONSTRAINT kyc_document_objects_pkey PRIMARY KEY (document_id);


--
-- Name: mfa_backup_codes mfa_backup_codes_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_backup_codes
    ADD CONSTRAINT mfa_backup_codes_pkey PRIMARY KEY (code_hash);


--
-- Name: mfa_challenges mfa_challenges_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_challenges
    ADD CONSTRAINT mfa_challenges_pkey PRIMARY KEY (id);


--
-- Name: mfa_logins mfa_logins_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_logins
    ADD CONSTRAINT mfa_logins_pkey PRIMARY KEY (id);


--
-- Name: mfa_secrets mfa_secrets_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_secrets
    ADD CONSTRAINT mfa_secrets_pkey PRIMARY KEY (config_id);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);


--
-- Name: phone_changes phone_changes_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.phone_changes
    ADD CONSTRAINT phone_changes_pkey PRIMARY KEY (id);


--
-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash);


--
-- Name: refresh_tokens refresh_tokens_session_generation_key; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.refresh_tokens
    ADD CONSTRAINT refresh_tokens_session_generation_key UNIQUE (session_id, generation);


--
-- Name: signup_attempts signup_attempts_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.signup_attempts
    ADD CONSTRAINT signup_attempts_pkey PRIMARY KEY (ip, bucket);


--
-- Name: trusted_device_tokens trusted_device_tokens_device_id_key; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.trusted_device_tokens
    ADD CONSTRAINT trusted_device_tokens_device_id_key UNIQUE (device_id);


--
-- Name: trusted_device_tokens trusted_device_tokens_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.trusted_device_tokens
    ADD CONSTRAINT trusted_device_tokens_pkey PRIMARY KEY (token_hash);


--
-- Name: unknown_login_attempts unknown_login_attempts_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.unknown_login_attempts
    ADD CONSTRAINT unknown_login_attempts_pkey PRIMARY KEY (email_fingerprint);


--
-- Name: user_secrets user_secrets_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.user_secrets
    ADD CONSTRAINT user_secrets_pkey PRIMARY KEY (user_id);


--
-- Name: webauthn_challenges webauthn_challenges_pkey; Type: CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.webauthn_challenges
    ADD CONSTRAINT webauthn_challenges_pkey PRIMARY KEY (challenge_hash);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id, occurred_at);


--
-- Name: audit_log_default audit_log_default_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.audit_log_default
    ADD CONSTRAINT audit_log_default_pkey PRIMARY KEY (id, occurred_at);


--
-- Name: checkpoints checkpoints_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (id);


--
-- Name: job_runs job_runs_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.job_runs
    ADD CONSTRAINT job_runs_pkey PRIMARY KEY (id);


--
-- Name: legal_holds legal_holds_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.legal_holds
    ADD CONSTRAINT legal_holds_pkey PRIMARY KEY (id);


--
-- Name: pruned_partitions pruned_partitions_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.pruned_partitions
    ADD CONSTRAINT pruned_partitions_pkey PRIMARY KEY (partition_name);


--
-- Name: tracked_tables tracked_tables_pkey; Type: CONSTRAINT; Schema: audit; Owner: -
--

ALTER TABLE ONLY audit.tracked_tables
    ADD CONSTRAINT tracked_tables_pkey PRIMARY KEY (table_oid);


--
-- Name: account_recoveries_open_key; Type: INDEX; Schema: app; Owner: -
--

CREATE UNIQUE INDEX account_recoveries_open_key ON app.account_recoveries USING btree (user_id) WHERE (status = ANY (ARRAY['pending'::text, 'approved'::text]));


--
-- Name: account_recoveries_status_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX account_recoveries_status_idx ON app.account_recoveries USING btree (status, not_before);


--
-- Name: kyc_compliance_checks_kyc_record_id_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_compliance_checks_kyc_record_id_idx ON app.kyc_compliance_checks USING btree (kyc_record_id, check_type);


--
-- Name: kyc_compliance_checks_open_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_compliance_checks_open_idx ON app.kyc_compliance_checks USING btree (kyc_record_id) WHERE (status = 'potential_match'::text);


--
-- Name: kyc_documents_kyc_record_id_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_documents_kyc_record_id_idx ON app.kyc_documents USING btree (kyc_record_id);


--
-- Name: kyc_documents_user_id_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_documents_user_id_idx ON app.kyc_documents USING btree (user_id, created_at DESC);


--
-- Name: kyc_records_expiry_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_records_expiry_idx ON app.kyc_records USING btree (expires_at) WHERE (status = 'approved'::text);


--
-- Name: kyc_records_one_approved_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE UNIQUE INDEX kyc_records_one_approved_idx ON app.kyc_records USING btree (user_id) INCLUDE (expires_at) WHERE (status = 'approved'::text);


--
-- Name: kyc_records_one_in_progress_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE UNIQUE INDEX kyc_records_one_in_progress_idx ON app.kyc_records USING btree (user_id) WHERE (status = ANY (ARRAY['pending'::text, 'in_review'::text, 'requires_resubmission'::text]));


--
-- Name: kyc_records_queue_keyset_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_records_queue_keyset_idx ON app.kyc_records USING btree (((- COALESCE(risk_score, '-1'::integer))), COALESCE(submitted_at, created_at), id) WHERE (status = ANY (ARRAY['pending'::text, 'in_review'::text]));


--
-- Name: kyc_records_renewal_of_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_records_renewal_of_idx ON app.kyc_records USING btree (renewal_of) WHERE (renewal_of IS NOT NULL);


--
-- Name: kyc_records_review_queue_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_records_review_queue_idx ON app.kyc_records USING btree (risk_score DESC, created_at) WHERE (status = ANY (ARRAY['pending'::text, 'in_review'::text]));


--
-- Name: kyc_records_user_latest_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX kyc_records_user_latest_idx ON app.kyc_records USING btree (user_id, created_at DESC) INCLUDE (id, status, level, risk_level, decided_at, expires_at);


--
-- Name: mfa_verification_attempts_ip_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX mfa_verification_attempts_ip_idx ON app.mfa_verification_attempts USING btree (ip, created_at DESC) WHERE (ip IS NOT NULL);


--
-- Name: mfa_verification_attempts_user_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX mfa_verification_attempts_user_idx ON app.mfa_verification_attempts USING btree (user_id, created_at DESC);


--
-- Name: trusted_devices_user_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX trusted_devices_user_idx ON app.trusted_devices USING btree (user_id, created_at DESC);


--
-- Name: user_sessions_live_expiry_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX user_sessions_live_expiry_idx ON app.user_sessions USING btree (expires_at) WHERE (revoked_at IS NULL);


--
-- Name: user_sessions_user_id_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX user_sessions_user_id_idx ON app.user_sessions USING btree (user_id, created_at DESC);


--
-- Name: users_email_active_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE UNIQUE INDEX users_email_active_idx ON app.users USING btree (email) WHERE (deleted_at IS NULL);


--
-- Name: users_referred_by_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX users_referred_by_idx ON app.users USING btree (referred_by) WHERE (referred_by IS NOT NULL);


--
-- Name: watchlist_names_name_norm_trgm_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX watchlist_names_name_norm_trgm_idx ON app.watchlist_names USING gin (name_norm extensions.gin_trgm_ops);


--
-- Name: webauthn_credentials_user_idx; Type: INDEX; Schema: app; Owner: -
--

CREATE INDEX webauthn_credentials_user_idx ON app.webauthn_credentials USING btree (user_id, created_at);


--
-- Name: account_requests_email_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX account_requests_email_idx ON app_private.account_requests USING btree (kind, email_fingerprint, created_at DESC);


--
-- Name: account_requests_ip_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX account_requests_ip_idx ON app_private.account_requests USING btree (kind, ip, created_at DESC);


--
-- Name: account_tokens_session_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX account_tokens_session_idx ON app_private.account_tokens USING btree (session_id) WHERE (session_id IS NOT NULL);


--
-- Name: account_tokens_user_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX account_tokens_user_idx ON app_private.account_tokens USING btree (user_id, purpose, created_at DESC);


--
-- Name: device_cookies_user_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX device_cookies_user_idx ON app_private.device_cookies USING btree (user_id);


--
-- Name: mfa_backup_codes_config_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX mfa_backup_codes_config_idx ON app_private.mfa_backup_codes USING btree (config_id) WHERE (used_at IS NULL);


--
-- Name: mfa_backup_codes_user_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX mfa_backup_codes_user_idx ON app_private.mfa_backup_codes USING btree (user_id);


--
-- Name: mfa_challenges_config_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX mfa_challenges_config_idx ON app_private.mfa_challenges USING btree (config_id, created_at DESC) WHERE (consumed_at IS NULL);


--
-- Name: mfa_challenges_user_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX mfa_challenges_user_idx ON app_private.mfa_challenges USING btree (user_id, method, created_at DESC);


--
-- Name: mfa_logins_user_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX mfa_logins_user_idx ON app_private.mfa_logins USING btree (user_id, created_at DESC);


--
-- Name: outbox_due_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX outbox_due_idx ON app_private.outbox USING btree (next_attempt_at) WHERE ((sent_at IS NULL) AND (dead_at IS NULL));


--
-- Name: phone_changes_session_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX phone_changes_session_idx ON app_private.phone_changes USING btree (session_id);


--
-- Name: phone_changes_user_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX phone_changes_user_idx ON app_private.phone_changes USING btree (user_id, created_at DESC);


--
-- Name: report_daily_auth_day_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE UNIQUE INDEX report_daily_auth_day_idx ON app_private.report_daily_auth USING btree (day);


--
-- Name: report_kyc_funnel_key_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE UNIQUE INDEX report_kyc_funnel_key_idx ON app_private.report_kyc_funnel USING btree (level, status);


--
-- Name: report_kyc_risk_key_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE UNIQUE INDEX report_kyc_risk_key_idx ON app_private.report_kyc_risk USING btree (risk_level, status);


--
-- Name: report_mfa_adoption_method_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE UNIQUE INDEX report_mfa_adoption_method_idx ON app_private.report_mfa_adoption USING btree (method);


--
-- Name: report_security_events_daily_key_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE UNIQUE INDEX report_security_events_daily_key_idx ON app_private.report_security_events_daily USING btree (day, event_type, severity);


--
-- Name: report_suspicious_sessions_daily_day_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE UNIQUE INDEX report_suspicious_sessions_daily_day_idx ON app_private.report_suspicious_sessions_daily USING btree (day);


--
-- Name: webauthn_challenges_expiry_idx; Type: INDEX; Schema: app_private; Owner: -
--

CREATE INDEX webauthn_challenges_expiry_idx ON app_private.webauthn_challenges USING btree (expires_at);


--
-- Name: audit_log_actor_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_actor_idx ON ONLY audit.audit_log USING btree (actor_id) WHERE (actor_id IS NOT NULL);


--
-- Name: audit_log_default_actor_id_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_actor_id_idx ON audit.audit_log_default USING btree (actor_id) WHERE (actor_id IS NOT NULL);


--
-- Name: audit_log_event_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_event_idx ON ONLY audit.audit_log USING btree (event_type, occurred_at DESC) WHERE (kind = 'event'::text);


--
-- Name: audit_log_default_event_type_occurred_at_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_event_type_occurred_at_idx ON audit.audit_log_default USING btree (event_type, occurred_at DESC) WHERE (kind = 'event'::text);


--
-- Name: audit_log_unsealed_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_unsealed_idx ON ONLY audit.audit_log USING btree (id) WHERE (seq IS NULL);


--
-- Name: audit_log_default_id_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_id_idx ON audit.audit_log_default USING btree (id) WHERE (seq IS NULL);


--
-- Name: audit_log_occurred_at_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_occurred_at_idx ON ONLY audit.audit_log USING brin (occurred_at) WITH (pages_per_range='32');


--
-- Name: audit_log_default_occurred_at_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_occurred_at_idx ON audit.audit_log_default USING brin (occurred_at) WITH (pages_per_range='32');


--
-- Name: audit_log_security_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_security_idx ON ONLY audit.audit_log USING btree (occurred_at DESC) WHERE ((kind = 'event'::text) AND (severity <> 'info'::text));


--
-- Name: audit_log_default_occurred_at_idx1; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_occurred_at_idx1 ON audit.audit_log_default USING btree (occurred_at DESC) WHERE ((kind = 'event'::text) AND (severity <> 'info'::text));


--
-- Name: audit_log_request_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_request_idx ON ONLY audit.audit_log USING btree (request_id) WHERE (request_id IS NOT NULL);


--
-- Name: audit_log_default_request_id_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_request_id_idx ON audit.audit_log_default USING btree (request_id) WHERE (request_id IS NOT NULL);


--
-- Name: audit_log_seq_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_seq_idx ON ONLY audit.audit_log USING btree (seq) WHERE (seq IS NOT NULL);


--
-- Name: audit_log_default_seq_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_seq_idx ON audit.audit_log_default USING btree (seq) WHERE (seq IS NOT NULL);


--
-- Name: audit_log_subject_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_subject_idx ON ONLY audit.audit_log USING btree (subject_user_id, occurred_at DESC) WHERE (subject_user_id IS NOT NULL);


--
-- Name: audit_log_default_subject_user_id_occurred_at_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX audit_log_default_subject_user_id_occurred_at_idx ON audit.audit_log_default USING btree (subject_user_id, occurred_at DESC) WHERE (subject_user_id IS NOT NULL);


--
-- Name: checkpoints_head_seq_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX checkpoints_head_seq_idx ON audit.checkpoints USING btree (head_seq DESC);


--
-- Name: job_runs_job_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX job_runs_job_idx ON audit.job_runs USING btree (job, started_at DESC);


--
-- Name: legal_holds_active_idx; Type: INDEX; Schema: audit; Owner: -
--

CREATE INDEX legal_holds_active_idx ON audit.legal_holds USING btree (subject_user_id) WHERE (released_at IS NULL);


--
-- Name: audit_log_default_actor_id_idx; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_actor_idx ATTACH PARTITION audit.audit_log_default_actor_id_idx;


--
-- Name: audit_log_default_event_type_occurred_at_idx; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_event_idx ATTACH PARTITION audit.audit_log_default_event_type_occurred_at_idx;


--
-- Name: audit_log_default_id_idx; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_unsealed_idx ATTACH PARTITION audit.audit_log_default_id_idx;


--
-- Name: audit_log_default_occurred_at_idx; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_occurred_at_idx ATTACH PARTITION audit.audit_log_default_occurred_at_idx;


--
-- Name: audit_log_default_occurred_at_idx1; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_security_idx ATTACH PARTITION audit.audit_log_default_occurred_at_idx1;


--
-- Name: audit_log_default_pkey; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_pkey ATTACH PARTITION audit.audit_log_default_pkey;


--
-- Name: audit_log_default_request_id_idx; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_request_idx ATTACH PARTITION audit.audit_log_default_request_id_idx;


--
-- Name: audit_log_default_seq_idx; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_seq_idx ATTACH PARTITION audit.audit_log_default_seq_idx;


--
-- Name: audit_log_default_subject_user_id_occurred_at_idx; Type: INDEX ATTACH; Schema: audit; Owner: -
--

ALTER INDEX audit.audit_log_subject_idx ATTACH PARTITION audit.audit_log_default_subject_user_id_occurred_at_idx;


--
-- Name: kyc_review_queue _000_read_only; Type: TRIGGER; Schema: api; Owner: -
--

CREATE TRIGGER _000_read_only INSTEAD OF INSERT OR DELETE OR UPDATE ON api.kyc_review_queue FOR EACH ROW EXECUTE FUNCTION app.tg__read_only_view();


--
-- Name: settings _100_compile; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_compile AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON app.settings FOR EACH STATEMENT EXECUTE FUNCTION app_private.tg_settings__compile();


--
-- Name: mfa_configs _100_require_verified_email; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_require_verified_email BEFORE INSERT ON app.mfa_configs FOR EACH ROW EXECUTE FUNCTION app.tg_mfa_configs__require_verified_email();


--
-- Name: kyc_compliance_checks _100_timestamps; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_timestamps BEFORE INSERT OR UPDATE ON app.kyc_compliance_checks FOR EACH ROW EXECUTE FUNCTION app.tg__timestamps();


--
-- Name: kyc_documents _100_timestamps; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_timestamps BEFORE INSERT OR UPDATE ON app.kyc_documents FOR EACH ROW EXECUTE FUNCTION app.tg__timestamps();


--
-- Name: kyc_records _100_timestamps; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_timestamps BEFORE INSERT OR UPDATE ON app.kyc_records FOR EACH ROW EXECUTE FUNCTION app.tg__timestamps();


--
-- Name: users _100_timestamps; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _100_timestamps BEFORE INSERT OR UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.tg__timestamps();


--
-- Name: kyc_records _200_transition; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _200_transition BEFORE INSERT OR UPDATE ON app.kyc_records FOR EACH ROW EXECUTE FUNCTION app.tg_kyc_records__transition();


--
-- Name: users _500_password_changed; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _500_password_changed AFTER UPDATE OF password_changed_at ON app.users FOR EACH ROW WHEN ((old.password_changed_at IS DISTINCT FROM new.password_changed_at)) EXECUTE FUNCTION app.tg_users__password_changed();


--
-- Name: mfa_configs _500_phone_verified; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _500_phone_verified AFTER UPDATE OF status ON app.mfa_configs FOR EACH ROW WHEN (((new.method = 'sms'::text) AND (new.status = 'active'::text) AND (old.status = 'pending'::text))) EXECUTE FUNCTION app_private.tg_mfa_configs__phone_verified();


--
-- Name: webauthn_credentials _510_notify_added; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _510_notify_added AFTER INSERT ON app.webauthn_credentials FOR EACH ROW EXECUTE FUNCTION app_private.tg_webauthn_credentials__notify_added();


--
-- Name: mfa_configs _510_notify_enrolled; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _510_notify_enrolled AFTER INSERT ON app.mfa_configs FOR EACH ROW WHEN (((new.status = 'active'::text) AND (new.method <> ALL (ARRAY['backup_codes'::text, 'webauthn'::text])))) EXECUTE FUNCTION app_private.tg_mfa_configs__notify_enrolled();


--
-- Name: mfa_configs _511_notify_confirmed; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _511_notify_confirmed AFTER UPDATE OF status ON app.mfa_configs FOR EACH ROW WHEN (((old.status IS DISTINCT FROM 'active'::text) AND (new.status = 'active'::text) AND (new.method <> ALL (ARRAY['backup_codes'::text, 'webauthn'::text])))) EXECUTE FUNCTION app_private.tg_mfa_configs__notify_enrolled();


--
-- Name: users _600_send_email_verification; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _600_send_email_verification AFTER INSERT ON app.users FOR EACH ROW EXECUTE FUNCTION app.tg_users__send_email_verification();


--
-- Name: account_recoveries _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.account_recoveries FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{}');


--
-- Name: kyc_compliance_checks _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.kyc_compliance_checks FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{}');


--
-- Name: kyc_country_risk _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.kyc_country_risk FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{}', '{}');


--
-- Name: kyc_documents _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.kyc_documents FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{document_number}', '{}');


--
-- Name: kyc_records _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.kyc_records FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{legal_first_name,legal_last_name,date_of_birth,address_line1,address_line2,city,postal_code,id_document_number}', '{}');


--
-- Name: mfa_configs _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.mfa_configs FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{device_fingerprint,phone}', '{}');


--
-- Name: mfa_verification_attempts _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.mfa_verification_attempts FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{ip,user_agent,device_fingerprint}', '{}');


--
-- Name: settings _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.settings FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{}', '{}');


--
-- Name: trusted_devices _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.trusted_devices FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{device_fingerprint,device_name,ip}', '{}');


--
-- Name: user_sessions _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.user_sessions FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{ip,user_agent,device_fingerprint,device_name}', '{}');


--
-- Name: users _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION audit.tg_track('id', '{email,phone,first_name,last_name,date_of_birth,last_login_ip,last_login_user_agent}', '{}');


--
-- Name: watchlists _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.watchlists FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{}', '{}');


--
-- Name: webauthn_credentials _900_audit; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app.webauthn_credentials FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{}');


--
-- Name: account_recoveries _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.account_recoveries FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: kyc_compliance_checks _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.kyc_compliance_checks FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: kyc_country_risk _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.kyc_country_risk FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: kyc_documents _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.kyc_documents FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: kyc_records _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.kyc_records FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: mfa_configs _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.mfa_configs FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: mfa_verification_attempts _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.mfa_verification_attempts FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: settings _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.settings FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: trusted_devices _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.trusted_devices FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: user_sessions _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.user_sessions FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: users _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.users FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: watchlists _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.watchlists FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: webauthn_credentials _901_audit_truncate; Type: TRIGGER; Schema: app; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app.webauthn_credentials FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: outbox _100_forget_token; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _100_forget_token BEFORE UPDATE ON app_private.outbox FOR EACH ROW EXECUTE FUNCTION app_private.tg_outbox__forget_token();


--
-- Name: account_erasures _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.account_erasures FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{}');


--
-- Name: account_requests _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.account_requests FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{ip}', '{}');


--
-- Name: account_tokens _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.account_tokens FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{email}', '{token_hash}');


--
-- Name: device_cookies _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.device_cookies FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{token_hash}');


--
-- Name: kyc_document_objects _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.kyc_document_objects FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{}', '{storage_ref}');


--
-- Name: mfa_backup_codes _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.mfa_backup_codes FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{code_hash}');


--
-- Name: mfa_challenges _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.mfa_challenges FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{code_hash}');


--
-- Name: mfa_logins _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.mfa_logins FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{ip,user_agent,device_fingerprint,device_name}', '{}');


--
-- Name: mfa_secrets _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.mfa_secrets FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{}', '{ciphertext}');


--
-- Name: outbox _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.outbox FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{payload}');


--
-- Name: phone_changes _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.phone_changes FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{phone}', '{code_hash}');


--
-- Name: refresh_tokens _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.refresh_tokens FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{}', '{token_hash}');


--
-- Name: trusted_device_tokens _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.trusted_device_tokens FOR EACH ROW EXECUTE FUNCTION audit.tg_track('', '{}', '{token_hash}');


--
-- Name: user_secrets _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.user_secrets FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{password_hash}');


--
-- Name: webauthn_challenges _900_audit; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _900_audit AFTER INSERT OR DELETE OR UPDATE ON app_private.webauthn_challenges FOR EACH ROW EXECUTE FUNCTION audit.tg_track('user_id', '{}', '{challenge_hash}');


--
-- Name: account_erasures _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.account_erasures FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: account_requests _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.account_requests FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: account_tokens _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.account_tokens FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: device_cookies _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.device_cookies FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: kyc_document_objects _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.kyc_document_objects FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: mfa_backup_codes _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.mfa_backup_codes FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: mfa_challenges _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.mfa_challenges FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: mfa_logins _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.mfa_logins FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: mfa_secrets _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.mfa_secrets FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: outbox _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.outbox FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: phone_changes _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.phone_changes FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: refresh_tokens _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.refresh_tokens FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: trusted_device_tokens _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.trusted_device_tokens FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: user_secrets _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.user_secrets FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: webauthn_challenges _901_audit_truncate; Type: TRIGGER; Schema: app_private; Owner: -
--

CREATE TRIGGER _901_audit_truncate AFTER TRUNCATE ON app_private.webauthn_challenges FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_track_truncate();


--
-- Name: audit_log _000_append_only; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER _000_append_only BEFORE DELETE OR UPDATE ON audit.audit_log FOR EACH ROW EXECUTE FUNCTION audit.tg_audit_log__append_only();


--
-- Name: audit_log _000_no_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER _000_no_truncate BEFORE TRUNCATE ON audit.audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_audit_log__no_truncate();


--
-- Name: audit_log_default _000_no_truncate; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER _000_no_truncate BEFORE TRUNCATE ON audit.audit_log_default FOR EACH STATEMENT EXECUTE FUNCTION audit.tg_audit_log__no_truncate();


--
-- Name: audit_log _100_notify; Type: TRIGGER; Schema: audit; Owner: -
--

CREATE TRIGGER _100_notify AFTER INSERT ON audit.audit_log FOR EACH ROW WHEN (((new.kind = 'event'::text) AND (new.severity <> 'info'::text))) EXECUTE FUNCTION audit.tg_audit_log__notify();


--
-- Name: account_recoveries account_recoveries_closed_by_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.account_recoveries
    ADD CONSTRAINT account_recoveries_closed_by_fkey FOREIGN KEY (closed_by) REFERENCES app.users(id);


--
-- Name: account_recoveries account_recoveries_first_approver_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.account_recoveries
    ADD CONSTRAINT account_recoveries_first_approver_fkey FOREIGN KEY (first_approver) REFERENCES app.users(id);


--
-- Name: account_recoveries account_recoveries_second_approver_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.account_recoveries
    ADD CONSTRAINT account_recoveries_second_approver_fkey FOREIGN KEY (second_approver) REFERENCES app.users(id);


--
-- Name: account_recoveries account_recoveries_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.account_recoveries
    ADD CONSTRAINT account_recoveries_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: kyc_compliance_checks kyc_compliance_checks_kyc_record_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_compliance_checks
    ADD CONSTRAINT kyc_compliance_checks_kyc_record_id_fkey FOREIGN KEY (kyc_record_id) REFERENCES app.kyc_records(id);


--
-- Name: kyc_compliance_checks kyc_compliance_checks_resolved_by_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_compliance_checks
    ADD CONSTRAINT kyc_compliance_checks_resolved_by_fkey FOREIGN KEY (resolved_by) REFERENCES app.users(id);


--
-- Name: kyc_compliance_checks kyc_compliance_checks_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_compliance_checks
    ADD CONSTRAINT kyc_compliance_checks_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: kyc_country_risk kyc_country_risk_country_code_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_country_risk
    ADD CONSTRAINT kyc_country_risk_country_code_fkey FOREIGN KEY (country_code) REFERENCES app.countries(code);


--
-- Name: kyc_documents kyc_documents_issuing_country_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_documents
    ADD CONSTRAINT kyc_documents_issuing_country_fkey FOREIGN KEY (issuing_country) REFERENCES app.countries(code);


--
-- Name: kyc_documents kyc_documents_kyc_record_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_documents
    ADD CONSTRAINT kyc_documents_kyc_record_id_fkey FOREIGN KEY (kyc_record_id) REFERENCES app.kyc_records(id);


--
-- Name: kyc_documents kyc_documents_reviewed_by_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_documents
    ADD CONSTRAINT kyc_documents_reviewed_by_fkey FOREIGN KEY (reviewed_by) REFERENCES app.users(id);


--
-- Name: kyc_documents kyc_documents_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_documents
    ADD CONSTRAINT kyc_documents_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: kyc_records kyc_records_first_approver_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_records
    ADD CONSTRAINT kyc_records_first_approver_id_fkey FOREIGN KEY (first_approver_id) REFERENCES app.users(id);


--
-- Name: kyc_records kyc_records_nationality_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_records
    ADD CONSTRAINT kyc_records_nationality_fkey FOREIGN KEY (nationality) REFERENCES app.countries(code);


--
-- Name: kyc_records kyc_records_renewal_of_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_records
    ADD CONSTRAINT kyc_records_renewal_of_fkey FOREIGN KEY (renewal_of) REFERENCES app.kyc_records(id);


--
-- Name: kyc_records kyc_records_residence_country_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_records
    ADD CONSTRAINT kyc_records_residence_country_fkey FOREIGN KEY (residence_country) REFERENCES app.countries(code);


--
-- Name: kyc_records kyc_records_reviewer_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_records
    ADD CONSTRAINT kyc_records_reviewer_id_fkey FOREIGN KEY (reviewer_id) REFERENCES app.users(id);


--
-- Name: kyc_records kyc_records_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.kyc_records
    ADD CONSTRAINT kyc_records_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: mfa_configs mfa_configs_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.mfa_configs
    ADD CONSTRAINT mfa_configs_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: mfa_verification_attempts mfa_verification_attempts_config_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.mfa_verification_attempts
    ADD CONSTRAINT mfa_verification_attempts_config_id_fkey FOREIGN KEY (config_id) REFERENCES app.mfa_configs(id) ON DELETE SET NULL;


--
-- Name: mfa_verification_attempts mfa_verification_attempts_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.mfa_verification_attempts
    ADD CONSTRAINT mfa_verification_attempts_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: trusted_devices trusted_devices_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.trusted_devices
    ADD CONSTRAINT trusted_devices_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: user_sessions user_sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.user_sessions
    ADD CONSTRAINT user_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: users users_country_code_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.users
    ADD CONSTRAINT users_country_code_fkey FOREIGN KEY (country_code) REFERENCES app.countries(code);


--
-- Name: users users_referred_by_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.users
    ADD CONSTRAINT users_referred_by_fkey FOREIGN KEY (referred_by) REFERENCES app.users(id);


--
-- Name: watchlist_entries watchlist_entries_watchlist_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlist_entries
    ADD CONSTRAINT watchlist_entries_watchlist_id_fkey FOREIGN KEY (watchlist_id) REFERENCES app.watchlists(id) ON DELETE CASCADE;


--
-- Name: watchlist_names watchlist_names_entry_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.watchlist_names
    ADD CONSTRAINT watchlist_names_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES app.watchlist_entries(id) ON DELETE CASCADE;


--
-- Name: webauthn_credentials webauthn_credentials_config_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.webauthn_credentials
    ADD CONSTRAINT webauthn_credentials_config_id_fkey FOREIGN KEY (config_id) REFERENCES app.mfa_configs(id) ON DELETE CASCADE;


--
-- Name: webauthn_credentials webauthn_credentials_user_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: -
--

ALTER TABLE ONLY app.webauthn_credentials
    ADD CONSTRAINT webauthn_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: account_erasures account_erasures_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.account_erasures
    ADD CONSTRAINT account_erasures_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: account_tokens account_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.account_tokens
    ADD CONSTRAINT account_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: device_cookies device_cookies_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.device_cookies
    ADD CONSTRAINT device_cookies_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id) ON DELETE CASCADE;


--
-- Name: kyc_document_objects kyc_document_objects_document_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.kyc_document_objects
    ADD CONSTRAINT kyc_document_objects_document_id_fkey FOREIGN KEY (document_id) REFERENCES app.kyc_documents(id);


--
-- Name: mfa_backup_codes mfa_backup_codes_config_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_backup_codes
    ADD CONSTRAINT mfa_backup_codes_config_id_fkey FOREIGN KEY (config_id) REFERENCES app.mfa_configs(id) ON DELETE CASCADE;


--
-- Name: mfa_backup_codes mfa_backup_codes_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_backup_codes
    ADD CONSTRAINT mfa_backup_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: mfa_challenges mfa_challenges_config_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_challenges
    ADD CONSTRAINT mfa_challenges_config_id_fkey FOREIGN KEY (config_id) REFERENCES app.mfa_configs(id) ON DELETE CASCADE;


--
-- Name: mfa_challenges mfa_challenges_login_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_challenges
    ADD CONSTRAINT mfa_challenges_login_id_fkey FOREIGN KEY (login_id) REFERENCES app_private.mfa_logins(id) ON DELETE CASCADE;


--
-- Name: mfa_challenges mfa_challenges_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_challenges
    ADD CONSTRAINT mfa_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: mfa_logins mfa_logins_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_logins
    ADD CONSTRAINT mfa_logins_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: mfa_secrets mfa_secrets_config_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.mfa_secrets
    ADD CONSTRAINT mfa_secrets_config_id_fkey FOREIGN KEY (config_id) REFERENCES app.mfa_configs(id) ON DELETE CASCADE;


--
-- Name: outbox outbox_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.outbox
    ADD CONSTRAINT outbox_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: phone_changes phone_changes_session_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.phone_changes
    ADD CONSTRAINT phone_changes_session_id_fkey FOREIGN KEY (session_id) REFERENCES app.user_sessions(id) ON DELETE CASCADE;


--
-- Name: phone_changes phone_changes_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.phone_changes
    ADD CONSTRAINT phone_changes_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: refresh_tokens refresh_tokens_session_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.refresh_tokens
    ADD CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES app.user_sessions(id) ON DELETE CASCADE;


--
-- Name: trusted_device_tokens trusted_device_tokens_device_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.trusted_device_tokens
    ADD CONSTRAINT trusted_device_tokens_device_id_fkey FOREIGN KEY (device_id) REFERENCES app.trusted_devices(id) ON DELETE CASCADE;


--
-- Name: user_secrets user_secrets_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.user_secrets
    ADD CONSTRAINT user_secrets_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: webauthn_challenges webauthn_challenges_login_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.webauthn_challenges
    ADD CONSTRAINT webauthn_challenges_login_id_fkey FOREIGN KEY (login_id) REFERENCES app_private.mfa_logins(id) ON DELETE CASCADE;


--
-- Name: webauthn_challenges webauthn_challenges_session_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.webauthn_challenges
    ADD CONSTRAINT webauthn_challenges_session_id_fkey FOREIGN KEY (session_id) REFERENCES app.user_sessions(id) ON DELETE CASCADE;


--
-- Name: webauthn_challenges webauthn_challenges_user_id_fkey; Type: FK CONSTRAINT; Schema: app_private; Owner: -
--

ALTER TABLE ONLY app_private.webauthn_challenges
    ADD CONSTRAINT webauthn_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id);


--
-- Name: account_recoveries; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.account_recoveries ENABLE ROW LEVEL SECURITY;

--
-- Name: countries; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.countries ENABLE ROW LEVEL SECURITY;

--
-- Name: kyc_compliance_checks; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.kyc_compliance_checks ENABLE ROW LEVEL SECURITY;

--
-- Name: kyc_country_risk; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.kyc_country_risk ENABLE ROW LEVEL SECURITY;

--
-- Name: kyc_documents; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.kyc_documents ENABLE ROW LEVEL SECURITY;

--
-- Name: kyc_records; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.kyc_records ENABLE ROW LEVEL SECURITY;

--
-- Name: mfa_configs; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.mfa_configs ENABLE ROW LEVEL SECURITY;

--
-- Name: mfa_verification_attempts; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.mfa_verification_attempts ENABLE ROW LEVEL SECURITY;

--
-- Name: countries select_all; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_all ON app.countries FOR SELECT TO anon, authenticated USING (true);


--
-- Name: settings select_all; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_all ON app.settings FOR SELECT TO anon, authenticated USING (true);


--
-- Name: account_recoveries select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.account_recoveries FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: kyc_documents select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.kyc_documents FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: kyc_records select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.kyc_records FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: mfa_configs select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.mfa_configs FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: mfa_verification_attempts select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.mfa_verification_attempts FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: trusted_devices select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.trusted_devices FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: user_sessions select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.user_sessions FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: users select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.users FOR SELECT TO authenticated USING ((id = app.current_user_id()));


--
-- Name: webauthn_credentials select_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_own ON app.webauthn_credentials FOR SELECT TO authenticated USING ((user_id = app.current_user_id()));


--
-- Name: account_recoveries select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.account_recoveries FOR SELECT TO compliance_officer, admin USING (true);


--
-- Name: kyc_compliance_checks select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.kyc_compliance_checks FOR SELECT TO compliance_officer USING (true);


--
-- Name: kyc_country_risk select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.kyc_country_risk FOR SELECT TO compliance_officer USING (true);


--
-- Name: kyc_documents select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.kyc_documents FOR SELECT TO compliance_officer USING (true);


--
-- Name: kyc_records select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.kyc_records FOR SELECT TO compliance_officer USING (true);


--
-- Name: mfa_configs select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.mfa_configs FOR SELECT TO compliance_officer, admin USING (true);


--
-- Name: mfa_verification_attempts select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.mfa_verification_attempts FOR SELECT TO compliance_officer, admin USING (true);


--
-- Name: trusted_devices select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.trusted_devices FOR SELECT TO compliance_officer, admin USING (true);


--
-- Name: user_sessions select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.user_sessions FOR SELECT TO compliance_officer, admin USING (true);


--
-- Name: users select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.users FOR SELECT TO compliance_officer, admin USING (true);


--
-- Name: watchlist_entries select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.watchlist_entries FOR SELECT TO compliance_officer USING (true);


--
-- Name: watchlist_names select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.watchlist_names FOR SELECT TO compliance_officer USING (true);


--
-- Name: watchlists select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.watchlists FOR SELECT TO compliance_officer USING (true);


--
-- Name: webauthn_credentials select_staff; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY select_staff ON app.webauthn_credentials FOR SELECT TO compliance_officer, admin USING (true);


--
-- Name: settings; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.settings ENABLE ROW LEVEL SECURITY;

--
-- Name: trusted_devices; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.trusted_devices ENABLE ROW LEVEL SECURITY;

--
-- Name: kyc_records update_own; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY update_own ON app.kyc_records FOR UPDATE TO authenticated USING (((user_id = app.current_user_id()) AND (status = ANY (ARRAY['pending'::text, 'requires_resubmission'::text])))) WITH CHECK (((user_id = app.current_user_id()) AND (status = ANY (ARRAY['pending'::text, 'requires_resubmission'::text]))));


--
-- Name: users update_self; Type: POLICY; Schema: app; Owner: -
--

CREATE POLICY update_self ON app.users FOR UPDATE TO authenticated USING (((id = app.current_user_id()) AND (deleted_at IS NULL))) WITH CHECK ((id = app.current_user_id()));


--
-- Name: user_sessions; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.user_sessions ENABLE ROW LEVEL SECURITY;

--
-- Name: users; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;

--
-- Name: watchlist_entries; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.watchlist_entries ENABLE ROW LEVEL SECURITY;

--
-- Name: watchlist_names; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.watchlist_names ENABLE ROW LEVEL SECURITY;

--
-- Name: watchlists; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.watchlists ENABLE ROW LEVEL SECURITY;

--
-- Name: webauthn_credentials; Type: ROW SECURITY; Schema: app; Owner: -
--

ALTER TABLE app.webauthn_credentials ENABLE ROW LEVEL SECURITY;

--
-- Name: phone_changes; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.phone_changes ENABLE ROW LEVEL SECURITY;

--
-- Name: signup_attempts; Type: ROW SECURITY; Schema: app_private; Owner: -
--

ALTER TABLE app_private.signup_attempts ENABLE ROW LEVEL SECURITY;

--
-- Name: SCHEMA api; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA api TO anon;
GRANT USAGE ON SCHEMA api TO authenticated;
GRANT USAGE ON SCHEMA api TO dwaybank_gateway;


--
-- Name: SCHEMA app; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA app TO anon;
GRANT USAGE ON SCHEMA app TO authenticated;
GRANT USAGE ON SCHEMA app TO dwaybank_gateway;
GRANT USAGE ON SCHEMA app TO pg_monitor;


--
-- Name: SCHEMA extensions; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA extensions TO PUBLIC;


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: -
--

REVOKE USAGE ON SCHEMA public FROM PUBLIC;


--
-- Name: FUNCTION account_recoveries(only_status text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.account_recoveries(only_status text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.account_recoveries(only_status text) TO compliance_officer;
GRANT ALL ON FUNCTION api.account_recoveries(only_status text) TO admin;


--
-- Name: TABLE account_recoveries; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.account_recoveries TO authenticated;


--
-- Name: FUNCTION approve_account_recovery(recovery_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.approve_account_recovery(recovery_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.approve_account_recovery(recovery_id uuid) TO compliance_officer;
GRANT ALL ON FUNCTION api.approve_account_recovery(recovery_id uuid) TO admin;


--
-- Name: FUNCTION audit_checkpoints(max_rows integer); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.audit_checkpoints(max_rows integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.audit_checkpoints(max_rows integer) TO compliance_officer;
GRANT ALL ON FUNCTION api.audit_checkpoints(max_rows integer) TO admin;


--
-- Name: FUNCTION cancel_account_recovery(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.cancel_account_recovery() FROM PUBLIC;
GRANT ALL ON FUNCTION api.cancel_account_recovery() TO authenticated;


--
-- Name: FUNCTION complete_account_recovery(recovery_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.complete_account_recovery(recovery_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.complete_account_recovery(recovery_id uuid) TO compliance_officer;
GRANT ALL ON FUNCTION api.complete_account_recovery(recovery_id uuid) TO admin;


--
-- Name: FUNCTION complete_kyc_verification(kyc_id uuid, decision text, reason text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.complete_kyc_verification(kyc_id uuid, decision text, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.complete_kyc_verification(kyc_id uuid, decision text, reason text) TO compliance_officer;


--
-- Name: FUNCTION confirm_phone_change(code text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.confirm_phone_change(code text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.confirm_phone_change(code text) TO authenticated;


--
-- Name: FUNCTION customer_overview(user_id uuid, reason text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.customer_overview(user_id uuid, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.customer_overview(user_id uuid, reason text) TO compliance_officer;
GRANT ALL ON FUNCTION api.customer_overview(user_id uuid, reason text) TO admin;


--
-- Name: FUNCTION disable_mfa_method(user_id uuid, method character varying); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.disable_mfa_method(user_id uuid, method character varying) FROM PUBLIC;
GRANT ALL ON FUNCTION api.disable_mfa_method(user_id uuid, method character varying) TO authenticated;
GRANT ALL ON FUNCTION api.disable_mfa_method(user_id uuid, method character varying) TO dwaybank_gateway;


--
-- Name: FUNCTION export_my_data(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.export_my_data() FROM PUBLIC;
GRANT ALL ON FUNCTION api.export_my_data() TO authenticated;


--
-- Name: FUNCTION export_user_data(user_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.export_user_data(user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.export_user_data(user_id uuid) TO compliance_officer;
GRANT ALL ON FUNCTION api.export_user_data(user_id uuid) TO admin;


--
-- Name: FUNCTION find_customer(query text, reason text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.find_customer(query text, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.find_customer(query text, reason text) TO compliance_officer;
GRANT ALL ON FUNCTION api.find_customer(query text, reason text) TO admin;


--
-- Name: FUNCTION get_user_latest_kyc(user_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.get_user_latest_kyc(user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_user_latest_kyc(user_id uuid) TO authenticated;
GRANT ALL ON FUNCTION api.get_user_latest_kyc(user_id uuid) TO dwaybank_gateway;


--
-- Name: FUNCTION get_user_mfa_methods(user_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.get_user_mfa_methods(user_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.get_user_mfa_methods(user_id uuid) TO authenticated;


--
-- Name: FUNCTION initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text) TO authenticated;


--
-- Name: FUNCTION is_account_locked(user_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.is_account_locked(user_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION kyc_case(kyc_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.kyc_case(kyc_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.kyc_case(kyc_id uuid) TO compliance_officer;


--
-- Name: TABLE kyc_compliance_checks; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.kyc_compliance_checks TO compliance_officer;


--
-- Name: COLUMN kyc_documents.id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.kyc_record_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(kyc_record_id) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.user_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(user_id) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.document_type; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(document_type) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.issuing_country; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(issuing_country) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.document_number; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(document_number) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.expires_on; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(expires_on) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.status; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(status) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.quality_score; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(quality_score) ON TABLE app.kyc_documents TO compliance_officer;


--
-- Name: COLUMN kyc_documents.quality_notes; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(quality_notes) ON TABLE app.kyc_documents TO compliance_officer;


--
-- Name: COLUMN kyc_documents.reviewed_by; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(reviewed_by) ON TABLE app.kyc_documents TO compliance_officer;


--
-- Name: COLUMN kyc_documents.reviewed_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(reviewed_at) ON TABLE app.kyc_documents TO compliance_officer;


--
-- Name: COLUMN kyc_documents.mime_type; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(mime_type) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.size_bytes; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(size_bytes) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.created_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(created_at) ON TABLE app.kyc_documents TO authenticated;


--
-- Name: COLUMN kyc_documents.updated_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(updated_at) ON TABLE app.kyc_documents TO compliance_officer;


--
-- Name: COLUMN kyc_records.id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.user_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(user_id) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.level; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(level) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.status; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(status) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.legal_first_name; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(legal_first_name) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.legal_last_name; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(legal_last_name) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.date_of_birth; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(date_of_birth) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.nationality; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(nationality) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.address_line1; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(address_line1),UPDATE(address_line1) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.address_line2; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(address_line2),UPDATE(address_line2) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.city; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(city),UPDATE(city) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.postal_code; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(postal_code),UPDATE(postal_code) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.residence_country; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(residence_country) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.id_document_type; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id_document_type) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.id_document_number; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id_document_number) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.risk_score; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(risk_score) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.risk_level; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(risk_level) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.risk_factors; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(risk_factors) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.risk_assessed_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(risk_assessed_at) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.first_approver_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(first_approver_id) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.first_approved_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(first_approved_at) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.reviewer_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(reviewer_id) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.automated_decision; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(automated_decision) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.decision_reason; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(decision_reason) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.decided_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(decided_at) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.expires_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(expires_at) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.renewal_of; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(renewal_of) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.renewal_requested_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(renewal_requested_at) ON TABLE app.kyc_records TO compliance_officer;


--
-- Name: COLUMN kyc_records.submitted_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(submitted_at) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.created_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(created_at) ON TABLE app.kyc_records TO authenticated;


--
-- Name: COLUMN kyc_records.updated_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(updated_at) ON TABLE app.kyc_records TO authenticated;


--
-- Name: TABLE kyc_review_queue; Type: ACL; Schema: api; Owner: -
--

GRANT SELECT ON TABLE api.kyc_review_queue TO compliance_officer;


--
-- Name: FUNCTION kyc_queue(status text, risk_level text, level text, country text, awaiting_second_approval boolean, after_risk_score integer, after_waiting_since timestamp with time zone, after_id uuid, page_size integer); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.kyc_queue(status text, risk_level text, level text, country text, awaiting_second_approval boolean, after_risk_score integer, after_waiting_since timestamp with time zone, after_id uuid, page_size integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.kyc_queue(status text, risk_level text, level text, country text, awaiting_second_approval boolean, after_risk_score integer, after_waiting_since timestamp with time zone, after_id uuid, page_size integer) TO compliance_officer;


--
-- Name: FUNCTION legal_holds(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.legal_holds() FROM PUBLIC;
GRANT ALL ON FUNCTION api.legal_holds() TO compliance_officer;
GRANT ALL ON FUNCTION api.legal_holds() TO admin;


--
-- Name: FUNCTION maintenance_jobs(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.maintenance_jobs() FROM PUBLIC;
GRANT ALL ON FUNCTION api.maintenance_jobs() TO admin;


--
-- Name: FUNCTION maintenance_runs(job_name text, max_rows integer); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.maintenance_runs(job_name text, max_rows integer) FROM PUBLIC;
GRANT ALL ON FUNCTION api.maintenance_runs(job_name text, max_rows integer) TO admin;


--
-- Name: FUNCTION me(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.me() FROM PUBLIC;
GRANT ALL ON FUNCTION api.me() TO authenticated;


--
-- Name: FUNCTION my_passkeys(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.my_passkeys() FROM PUBLIC;
GRANT ALL ON FUNCTION api.my_passkeys() TO authenticated;


--
-- Name: FUNCTION my_sessions(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.my_sessions() FROM PUBLIC;
GRANT ALL ON FUNCTION api.my_sessions() TO authenticated;


--
-- Name: FUNCTION my_trusted_devices(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.my_trusted_devices() FROM PUBLIC;
GRANT ALL ON FUNCTION api.my_trusted_devices() TO authenticated;


--
-- Name: FUNCTION place_legal_hold(reason text, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.place_legal_hold(reason text, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION api.place_legal_hold(reason text, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone) TO compliance_officer;
GRANT ALL ON FUNCTION api.place_legal_hold(reason text, subject_user_id uuid, from_at timestamp with time zone, to_at timestamp with time zone) TO admin;


--
-- Name: FUNCTION set_customer_status(user_id uuid, reason text, from_status text, to_status text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.set_customer_status(user_id uuid, reason text, from_status text, to_status text) FROM PUBLIC;


--
-- Name: FUNCTION reinstate_customer(user_id uuid, reason text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.reinstate_customer(user_id uuid, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.reinstate_customer(user_id uuid, reason text) TO compliance_officer;
GRANT ALL ON FUNCTION api.reinstate_customer(user_id uuid, reason text) TO admin;


--
-- Name: FUNCTION reject_account_recovery(recovery_id uuid, reason text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.reject_account_recovery(recovery_id uuid, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.reject_account_recovery(recovery_id uuid, reason text) TO compliance_officer;
GRANT ALL ON FUNCTION api.reject_account_recovery(recovery_id uuid, reason text) TO admin;


--
-- Name: FUNCTION release_legal_hold(hold_id bigint); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.release_legal_hold(hold_id bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION api.release_legal_hold(hold_id bigint) TO compliance_officer;
GRANT ALL ON FUNCTION api.release_legal_hold(hold_id bigint) TO admin;


--
-- Name: FUNCTION remove_passkey(passkey_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.remove_passkey(passkey_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.remove_passkey(passkey_id uuid) TO authenticated;


--
-- Name: FUNCTION report_daily_auth(from_day date, to_day date); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.report_daily_auth(from_day date, to_day date) FROM PUBLIC;
GRANT ALL ON FUNCTION api.report_daily_auth(from_day date, to_day date) TO compliance_officer;
GRANT ALL ON FUNCTION api.report_daily_auth(from_day date, to_day date) TO admin;


--
-- Name: FUNCTION report_kyc_funnel(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.report_kyc_funnel() FROM PUBLIC;
GRANT ALL ON FUNCTION api.report_kyc_funnel() TO compliance_officer;
GRANT ALL ON FUNCTION api.report_kyc_funnel() TO admin;


--
-- Name: FUNCTION report_kyc_risk(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.report_kyc_risk() FROM PUBLIC;
GRANT ALL ON FUNCTION api.report_kyc_risk() TO compliance_officer;
GRANT ALL ON FUNCTION api.report_kyc_risk() TO admin;


--
-- Name: FUNCTION report_mfa_adoption(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.report_mfa_adoption() FROM PUBLIC;
GRANT ALL ON FUNCTION api.report_mfa_adoption() TO compliance_officer;
GRANT ALL ON FUNCTION api.report_mfa_adoption() TO admin;


--
-- Name: FUNCTION report_security_events(from_day date, to_day date); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.report_security_events(from_day date, to_day date) FROM PUBLIC;
GRANT ALL ON FUNCTION api.report_security_events(from_day date, to_day date) TO compliance_officer;
GRANT ALL ON FUNCTION api.report_security_events(from_day date, to_day date) TO admin;


--
-- Name: FUNCTION report_suspicious_sessions(from_day date, to_day date); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.report_suspicious_sessions(from_day date, to_day date) FROM PUBLIC;
GRANT ALL ON FUNCTION api.report_suspicious_sessions(from_day date, to_day date) TO compliance_officer;
GRANT ALL ON FUNCTION api.report_suspicious_sessions(from_day date, to_day date) TO admin;


--
-- Name: FUNCTION request_account_deletion(confirm_email text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.request_account_deletion(confirm_email text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.request_account_deletion(confirm_email text) TO authenticated;


--
-- Name: FUNCTION request_phone_change(phone text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.request_phone_change(phone text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.request_phone_change(phone text) TO authenticated;


--
-- Name: FUNCTION resolve_kyc_check(check_id uuid, resolution text, note text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.resolve_kyc_check(check_id uuid, resolution text, note text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.resolve_kyc_check(check_id uuid, resolution text, note text) TO compliance_officer;


--
-- Name: FUNCTION retention_policies(); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.retention_policies() FROM PUBLIC;
GRANT ALL ON FUNCTION api.retention_policies() TO compliance_officer;
GRANT ALL ON FUNCTION api.retention_policies() TO admin;


--
-- Name: FUNCTION review_kyc_document(document_id uuid, status text, quality_score integer, notes text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.review_kyc_document(document_id uuid, status text, quality_score integer, notes text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.review_kyc_document(document_id uuid, status text, quality_score integer, notes text) TO compliance_officer;


--
-- Name: FUNCTION revoke_my_session(session_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.revoke_my_session(session_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.revoke_my_session(session_id uuid) TO authenticated;


--
-- Name: FUNCTION revoke_trusted_device(device_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.revoke_trusted_device(device_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.revoke_trusted_device(device_id uuid) TO authenticated;


--
-- Name: FUNCTION revoke_user_sessions(user_id uuid, reason character varying, except_session character varying); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.revoke_user_sessions(user_id uuid, reason character varying, except_session character varying) FROM PUBLIC;
GRANT ALL ON FUNCTION api.revoke_user_sessions(user_id uuid, reason character varying, except_session character varying) TO authenticated;
GRANT ALL ON FUNCTION api.revoke_user_sessions(user_id uuid, reason character varying, except_session character varying) TO dwaybank_gateway;


--
-- Name: FUNCTION run_maintenance(job text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.run_maintenance(job text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.run_maintenance(job text) TO admin;


--
-- Name: FUNCTION submit_kyc_verification(kyc_id uuid); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.submit_kyc_verification(kyc_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION api.submit_kyc_verification(kyc_id uuid) TO authenticated;


--
-- Name: FUNCTION suspend_customer(user_id uuid, reason text); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.suspend_customer(user_id uuid, reason text) FROM PUBLIC;
GRANT ALL ON FUNCTION api.suspend_customer(user_id uuid, reason text) TO compliance_officer;
GRANT ALL ON FUNCTION api.suspend_customer(user_id uuid, reason text) TO admin;


--
-- Name: FUNCTION update_my_profile(first_name text, last_name text, phone text, country_code text, date_of_birth date); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.update_my_profile(first_name text, last_name text, phone text, country_code text, date_of_birth date) FROM PUBLIC;
GRANT ALL ON FUNCTION api.update_my_profile(first_name text, last_name text, phone text, country_code text, date_of_birth date) TO authenticated;


--
-- Name: FUNCTION verify_audit_chain(from_at timestamp with time zone, to_at timestamp with time zone); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.verify_audit_chain(from_at timestamp with time zone, to_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION api.verify_audit_chain(from_at timestamp with time zone, to_at timestamp with time zone) TO compliance_officer;
GRANT ALL ON FUNCTION api.verify_audit_chain(from_at timestamp with time zone, to_at timestamp with time zone) TO admin;


--
-- Name: FUNCTION account_passkeys(user_id uuid, session_id uuid, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.account_passkeys(user_id uuid, session_id uuid, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.account_passkeys(user_id uuid, session_id uuid, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION account_sessions(user_id uuid, session_id uuid, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.account_sessions(user_id uuid, session_id uuid, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.account_sessions(user_id uuid, session_id uuid, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION add_watchlist_entries(watchlist_id uuid, entries jsonb); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.add_watchlist_entries(watchlist_id uuid, entries jsonb) FROM PUBLIC;


--
-- Name: FUNCTION assert_password_policy(password text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.assert_password_policy(password text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.assert_password_policy(password text) TO dwaybank_gateway;


--
-- Name: FUNCTION assert_step_up(now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.assert_step_up(now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.assert_step_up(now timestamp with time zone) TO authenticated;
GRANT ALL ON FUNCTION app.assert_step_up(now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION audit_checkpoints_to_sign(max_rows integer); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.audit_checkpoints_to_sign(max_rows integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app.audit_checkpoints_to_sign(max_rows integer) TO dwaybank_gateway;


--
-- Name: FUNCTION authenticate(email text, password text, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone, device_cookie text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.authenticate(email text, password text, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone, device_cookie text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.authenticate(email text, password text, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone, device_cookie text) TO dwaybank_gateway;


--
-- Name: FUNCTION begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION begin_passkey_authentication(purpose text, login_id uuid, user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.begin_passkey_authentication(purpose text, login_id uuid, user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.begin_passkey_authentication(purpose text, login_id uuid, user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION begin_passkey_registration(user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.begin_passkey_registration(user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.begin_passkey_registration(user_id uuid, session_id uuid, challenge text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION begin_request(request_id text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.begin_request(request_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.begin_request(request_id text) TO dwaybank_gateway;


--
-- Name: FUNCTION begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text, label text, device_fingerprint text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text, label text, device_fingerprint text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text, label text, device_fingerprint text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION begin_watchlist_load(name text, version text, source text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.begin_watchlist_load(name text, version text, source text) FROM PUBLIC;


--
-- Name: FUNCTION caller_role(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.caller_role() FROM PUBLIC;
GRANT ALL ON FUNCTION app.caller_role() TO anon;
GRANT ALL ON FUNCTION app.caller_role() TO authenticated;


--
-- Name: FUNCTION cancel_account_recovery(token text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.cancel_account_recovery(token text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.cancel_account_recovery(token text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION change_password(user_id uuid, session_id uuid, current_password text, new_password text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.change_password(user_id uuid, session_id uuid, current_password text, new_password text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.change_password(user_id uuid, session_id uuid, current_password text, new_password text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION check_kyc_expiry(user_id uuid, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.check_kyc_expiry(user_id uuid, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.check_kyc_expiry(user_id uuid, now timestamp with time zone) TO admin;


--
-- Name: FUNCTION check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION check_request(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.check_request() FROM PUBLIC;
GRANT ALL ON FUNCTION app.check_request() TO anon;
GRANT ALL ON FUNCTION app.check_request() TO authenticated;


--
-- Name: FUNCTION check_session(session_id uuid, user_id uuid, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.check_session(session_id uuid, user_id uuid, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.check_session(session_id uuid, user_id uuid, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION claim_outbox(batch integer); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.claim_outbox(batch integer) FROM PUBLIC;
GRANT ALL ON FUNCTION app.claim_outbox(batch integer) TO dwaybank_gateway;


--
-- Name: FUNCTION cleanup_expired_sessions(now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.cleanup_expired_sessions(now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION clock(requested timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.clock(requested timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.clock(requested timestamp with time zone) TO anon;
GRANT ALL ON FUNCTION app.clock(requested timestamp with time zone) TO authenticated;


--
-- Name: FUNCTION complete_due_account_recoveries(now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.complete_due_account_recoveries(now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION complete_outbox(id bigint, error text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.complete_outbox(id bigint, error text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.complete_outbox(id bigint, error text) TO dwaybank_gateway;


--
-- Name: FUNCTION confirm_email_change(token text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.confirm_email_change(token text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.confirm_email_change(token text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION confirm_otp_enrollment(user_id uuid, session_id uuid, config_id uuid, code text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.confirm_otp_enrollment(user_id uuid, session_id uuid, config_id uuid, code text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.confirm_otp_enrollment(user_id uuid, session_id uuid, config_id uuid, code text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION confirm_totp_enrollment(user_id uuid, session_id uuid, config_id uuid, step bigint, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.confirm_totp_enrollment(user_id uuid, session_id uuid, config_id uuid, step bigint, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.confirm_totp_enrollment(user_id uuid, session_id uuid, config_id uuid, step bigint, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION create_mfa_challenge(user_id uuid, method text, code text, sealed text, login_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.create_mfa_challenge(user_id uuid, method text, code text, sealed text, login_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.create_mfa_challenge(user_id uuid, method text, code text, sealed text, login_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION jwt_claims(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.jwt_claims() FROM PUBLIC;
GRANT ALL ON FUNCTION app.jwt_claims() TO anon;
GRANT ALL ON FUNCTION app.jwt_claims() TO authenticated;


--
-- Name: FUNCTION current_aal(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.current_aal() FROM PUBLIC;
GRANT ALL ON FUNCTION app.current_aal() TO anon;
GRANT ALL ON FUNCTION app.current_aal() TO authenticated;


--
-- Name: FUNCTION current_session_id(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.current_session_id() FROM PUBLIC;
GRANT ALL ON FUNCTION app.current_session_id() TO anon;
GRANT ALL ON FUNCTION app.current_session_id() TO authenticated;


--
-- Name: FUNCTION current_user_id(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.current_user_id() FROM PUBLIC;
GRANT ALL ON FUNCTION app.current_user_id() TO anon;
GRANT ALL ON FUNCTION app.current_user_id() TO authenticated;


--
-- Name: FUNCTION detect_suspicious_session(user_id uuid, ip inet, user_agent text, device_fingerprint character varying, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.detect_suspicious_session(user_id uuid, ip inet, user_agent text, device_fingerprint character varying, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION effective_settings(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.effective_settings() FROM PUBLIC;
GRANT ALL ON FUNCTION app.effective_settings() TO dwaybank_gateway;


--
-- Name: FUNCTION finish_passkey_authentication(purpose text, challenge text, credential_id text, verified boolean, new_sign_count bigint, login_id uuid, for_session_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.finish_passkey_authentication(purpose text, challenge text, credential_id text, verified boolean, new_sign_count bigint, login_id uuid, for_session_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.finish_passkey_authentication(purpose text, challenge text, credential_id text, verified boolean, new_sign_count bigint, login_id uuid, for_session_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION finish_watchlist_load(watchlist_id uuid, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.finish_watchlist_load(watchlist_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION handle_failed_login(email extensions.citext, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.handle_failed_login(email extensions.citext, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION handle_successful_login(email extensions.citext, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.handle_successful_login(email extensions.citext, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION is_email_address(address text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.is_email_address(address text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.is_email_address(address text) TO authenticated;
GRANT ALL ON FUNCTION app.is_email_address(address text) TO compliance_officer;
GRANT ALL ON FUNCTION app.is_email_address(address text) TO admin;
GRANT ALL ON FUNCTION app.is_email_address(address text) TO dwaybank_gateway;


--
-- Name: FUNCTION issue_device_cookie(user_id uuid, session_id uuid, presented text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.issue_device_cookie(user_id uuid, session_id uuid, presented text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.issue_device_cookie(user_id uuid, session_id uuid, presented text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet, user_agent text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet, user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.kyc_document_for_download(document_id uuid, actor_id uuid, session_id uuid, ip inet, user_agent text) TO dwaybank_gateway;


--
-- Name: FUNCTION kyc_risk(kyc_id uuid, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.kyc_risk(kyc_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text, ip inet, user_agent text, device_name text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text, ip inet, user_agent text, device_name text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text, ip inet, user_agent text, device_name text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION logout(session_id uuid, ip inet, user_agent text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.logout(session_id uuid, ip inet, user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.logout(session_id uuid, ip inet, user_agent text) TO dwaybank_gateway;


--
-- Name: FUNCTION metrics_audit(now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.metrics_audit(now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.metrics_audit(now timestamp with time zone) TO pg_monitor;


--
-- Name: FUNCTION metrics_audit_chain(window_minutes integer, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.metrics_audit_chain(window_minutes integer, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.metrics_audit_chain(window_minutes integer, now timestamp with time zone) TO pg_monitor;


--
-- Name: FUNCTION metrics_jobs(now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.metrics_jobs(now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.metrics_jobs(now timestamp with time zone) TO pg_monitor;


--
-- Name: FUNCTION metrics_kyc(now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.metrics_kyc(now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.metrics_kyc(now timestamp with time zone) TO pg_monitor;


--
-- Name: FUNCTION metrics_outbox(now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.metrics_outbox(now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.metrics_outbox(now timestamp with time zone) TO pg_monitor;
GRANT ALL ON FUNCTION app.metrics_outbox(now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION mfa_policy_required(user_id uuid); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.mfa_policy_required(user_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION mfa_totp_secret(user_id uuid, config_id uuid); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.mfa_totp_secret(user_id uuid, config_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION app.mfa_totp_secret(user_id uuid, config_id uuid) TO dwaybank_gateway;


--
-- Name: FUNCTION normalize_name(name text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.normalize_name(name text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.normalize_name(name text) TO compliance_officer;


--
-- Name: FUNCTION passkey_credential(credential_id text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.passkey_credential(credential_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.passkey_credential(credential_id text) TO dwaybank_gateway;


--
-- Name: FUNCTION record_audit_checkpoint_signature(id bigint, signature text, key_id text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.record_audit_checkpoint_signature(id bigint, signature text, key_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.record_audit_checkpoint_signature(id bigint, signature text, key_id text) TO dwaybank_gateway;


--
-- Name: FUNCTION record_mfa_attempt(user_id uuid, method text, outcome text, purpose text, config_id uuid, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.record_mfa_attempt(user_id uuid, method text, outcome text, purpose text, config_id uuid, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.record_mfa_attempt(user_id uuid, method text, outcome text, purpose text, config_id uuid, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION refresh_session(token text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.refresh_session(token text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.refresh_session(token text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION regenerate_backup_codes(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.regenerate_backup_codes(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.regenerate_backup_codes(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text, issuing_country text, document_number text, expires_on date, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text, issuing_country text, document_number text, expires_on date, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.register_kyc_document(user_id uuid, session_id uuid, kyc_id uuid, document_type text, mime_type text, size_bytes integer, sha256 bytea, storage_ref text, key_id text, issuing_country text, document_number text, expires_on date, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION remove_passkey(user_id uuid, session_id uuid, passkey_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.remove_passkey(user_id uuid, session_id uuid, passkey_id uuid, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.remove_passkey(user_id uuid, session_id uuid, passkey_id uuid, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION report_kyc_document_integrity_failure(document_id uuid, actor_id uuid, session_id uuid, reason text, ip inet, user_agent text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.report_kyc_document_integrity_failure(document_id uuid, actor_id uuid, session_id uuid, reason text, ip inet, user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.report_kyc_document_integrity_failure(document_id uuid, actor_id uuid, session_id uuid, reason text, ip inet, user_agent text) TO dwaybank_gateway;


--
-- Name: FUNCTION request_account_recovery(login_id uuid, reason text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.request_account_recovery(login_id uuid, reason text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.request_account_recovery(login_id uuid, reason text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION request_email_change(user_id uuid, session_id uuid, new_email text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.request_email_change(user_id uuid, session_id uuid, new_email text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.request_email_change(user_id uuid, session_id uuid, new_email text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION request_password_reset(email text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.request_password_reset(email text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.request_password_reset(email text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION resend_email_verification(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.resend_email_verification(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.resend_email_verification(user_id uuid, session_id uuid, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION reset_password(token text, new_password text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.reset_password(token text, new_password text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.reset_password(token text, new_password text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION uuid_v7(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.uuid_v7() FROM PUBLIC;


--
-- Name: COLUMN user_sessions.id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.user_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(user_id) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.rotation_counter; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(rotation_counter) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.device_fingerprint; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(device_fingerprint) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.device_name; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(device_name) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.ip; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(ip) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.user_agent; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(user_agent) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.aal; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(aal) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.amr; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(amr) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.auth_time; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(auth_time) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.created_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(created_at) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.last_activity_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(last_activity_at) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.idle_expires_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(idle_expires_at) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.expires_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(expires_at) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.revoked_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(revoked_at) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.revoked_reason; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(revoked_reason) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.is_suspicious; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(is_suspicious) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.suspicious_score; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(suspicious_score) ON TABLE app.user_sessions TO authenticated;


--
-- Name: COLUMN user_sessions.suspicious_reasons; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(suspicious_reasons) ON TABLE app.user_sessions TO authenticated;


--
-- Name: FUNCTION session_user_agent_changed(session app.user_sessions, presented text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.session_user_agent_changed(session app.user_sessions, presented text) FROM PUBLIC;


--
-- Name: FUNCTION session_activity_due(session app.user_sessions, presented text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.session_activity_due(session app.user_sessions, presented text) FROM PUBLIC;


--
-- Name: FUNCTION set_request_context(actor_id uuid, session_id uuid, ip inet, user_agent text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.set_request_context(actor_id uuid, session_id uuid, ip inet, user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.set_request_context(actor_id uuid, session_id uuid, ip inet, user_agent text) TO dwaybank_gateway;


--
-- Name: FUNCTION set_user_role(email text, role text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.set_user_role(email text, role text) FROM PUBLIC;


--
-- Name: FUNCTION setting(name text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.setting(name text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.setting(name text) TO anon;
GRANT ALL ON FUNCTION app.setting(name text) TO authenticated;


--
-- Name: FUNCTION signup(email text, password text, phone text, country_code text, first_name text, last_name text, referral_code text, ip inet, user_agent text); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.signup(email text, password text, phone text, country_code text, first_name text, last_name text, referral_code text, ip inet, user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION app.signup(email text, password text, phone text, country_code text, first_name text, last_name text, referral_code text, ip inet, user_agent text) TO dwaybank_gateway;


--
-- Name: FUNCTION step_up_session(session_id uuid, method text, code text, step bigint, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.step_up_session(session_id uuid, method text, code text, step bigint, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.step_up_session(session_id uuid, method text, code text, step bigint, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION tg__read_only_view(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.tg__read_only_view() FROM PUBLIC;


--
-- Name: FUNCTION tg__timestamps(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.tg__timestamps() FROM PUBLIC;


--
-- Name: FUNCTION tg_kyc_records__transition(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.tg_kyc_records__transition() FROM PUBLIC;


--
-- Name: FUNCTION tg_mfa_configs__require_verified_email(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.tg_mfa_configs__require_verified_email() FROM PUBLIC;


--
-- Name: FUNCTION tg_users__password_changed(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.tg_users__password_changed() FROM PUBLIC;


--
-- Name: FUNCTION tg_users__send_email_verification(); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.tg_users__send_email_verification() FROM PUBLIC;


--
-- Name: FUNCTION update_session_activity(session_id character varying, user_agent character varying); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.update_session_activity(session_id character varying, user_agent character varying) FROM PUBLIC;
GRANT ALL ON FUNCTION app.update_session_activity(session_id character varying, user_agent character varying) TO dwaybank_gateway;


--
-- Name: FUNCTION verify_email(token text, ip inet, user_agent text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.verify_email(token text, ip inet, user_agent text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.verify_email(token text, ip inet, user_agent text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION verify_mfa_login(login_id uuid, method text, code text, step bigint, remember_device boolean, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone); Type: ACL; Schema: app; Owner: -
--

REVOKE ALL ON FUNCTION app.verify_mfa_login(login_id uuid, method text, code text, step bigint, remember_device boolean, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION app.verify_mfa_login(login_id uuid, method text, code text, step bigint, remember_device boolean, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) TO dwaybank_gateway;


--
-- Name: FUNCTION accept_totp_step(config_id uuid, step bigint, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.accept_totp_step(config_id uuid, step bigint, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION apply_retention(now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.apply_retention(now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION assert_backoffice_staff(reason text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_backoffice_staff(reason text) FROM PUBLIC;


--
-- Name: FUNCTION assert_email_verified(user_id uuid, action text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_email_verified(user_id uuid, action text) FROM PUBLIC;


--
-- Name: FUNCTION assert_kyc_writable(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_kyc_writable() FROM PUBLIC;


--
-- Name: FUNCTION assert_live_session(user_id uuid, session_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_live_session(user_id uuid, session_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION assert_may_manage_mfa(user_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_may_manage_mfa(user_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION assert_own_session(user_id uuid, session_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_own_session(user_id uuid, session_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION assert_recent_auth(require_aal2 boolean, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_recent_auth(require_aal2 boolean, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION assert_recovery_staff(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_recovery_staff() FROM PUBLIC;


--
-- Name: FUNCTION assert_staff(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.assert_staff() FROM PUBLIC;


--
-- Name: FUNCTION backup_code_hash(code text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.backup_code_hash(code text) FROM PUBLIC;


--
-- Name: FUNCTION bcrypt_cost(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.bcrypt_cost() FROM PUBLIC;


--
-- Name: FUNCTION check_challenge(config_id uuid, code text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.check_challenge(config_id uuid, code text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION check_factor(user_id uuid, method text, code text, step bigint, purpose text, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.check_factor(user_id uuid, method text, code text, step bigint, purpose text, ip inet, user_agent text, device_fingerprint text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION close_recovery(recovery_id uuid, status text, by_user uuid, reason text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.close_recovery(recovery_id uuid, status text, by_user uuid, reason text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION compile_setting_reader(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.compile_setting_reader() FROM PUBLIC;


--
-- Name: FUNCTION complete_recovery(recovery_id uuid, by_user uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.complete_recovery(recovery_id uuid, by_user uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION throttle_key(ip inet); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.throttle_key(ip inet) FROM PUBLIC;


--
-- Name: FUNCTION count_ip_failure(ip inet, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.count_ip_failure(ip inet, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION count_signup(ip inet, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.count_signup(ip inet, now timestamp with time zone) FROM PUBLIC;


--
-- Name: COLUMN mfa_configs.id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.user_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(user_id) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.method; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(method) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.status; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(status) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.label; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(label) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.device_fingerprint; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(device_fingerprint) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.created_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(created_at) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.confirmed_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(confirmed_at) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.last_used_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(last_used_at) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: COLUMN mfa_configs.updated_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(updated_at) ON TABLE app.mfa_configs TO authenticated;


--
-- Name: FUNCTION create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION create_session(user_id uuid, aal text, amr text[], ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.create_session(user_id uuid, aal text, amr text[], ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION disable_mfa_method(user_id uuid, method text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.disable_mfa_method(user_id uuid, method text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION erase_due_accounts(now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.erase_due_accounts(now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION erase_user(user_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.erase_user(user_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION export_user_data(user_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.export_user_data(user_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION key(name text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.key(name text) FROM PUBLIC;


--
-- Name: FUNCTION fingerprint(value text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.fingerprint(value text) FROM PUBLIC;


--
-- Name: FUNCTION finish_password_login(user_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.finish_password_login(user_id uuid, ip inet, user_agent text, device_fingerprint text, device_name text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION password_input(password text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.password_input(password text) FROM PUBLIC;


--
-- Name: FUNCTION hash_password(password text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.hash_password(password text) FROM PUBLIC;


--
-- Name: FUNCTION ip_retry_after(ip inet, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.ip_retry_after(ip inet, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION issue_account_token(user_id uuid, purpose text, email text, lifetime interval, now timestamp with time zone, session_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.issue_account_token(user_id uuid, purpose text, email text, lifetime interval, now timestamp with time zone, session_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION issue_backup_codes(user_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.issue_backup_codes(user_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION kyc_precondition(user_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.kyc_precondition(user_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION kyc_risk_level(score integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.kyc_risk_level(score integer) FROM PUBLIC;


--
-- Name: FUNCTION kyc_validity(risk_level text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.kyc_validity(risk_level text) FROM PUBLIC;


--
-- Name: FUNCTION lockout_seconds(failures integer); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.lockout_seconds(failures integer) FROM PUBLIC;


--
-- Name: FUNCTION maintenance_jobs(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.maintenance_jobs() FROM PUBLIC;


--
-- Name: FUNCTION mask_phone(phone text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.mask_phone(phone text) FROM PUBLIC;


--
-- Name: FUNCTION mfa_code_hash(code text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.mfa_code_hash(code text) FROM PUBLIC;


--
-- Name: FUNCTION new_backup_code(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.new_backup_code() FROM PUBLIC;


--
-- Name: FUNCTION new_numeric_code(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.new_numeric_code() FROM PUBLIC;


--
-- Name: FUNCTION new_token(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.new_token() FROM PUBLIC;


--
-- Name: FUNCTION purge_kyc_evidence(user_id uuid); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.purge_kyc_evidence(user_id uuid) FROM PUBLIC;


--
-- Name: FUNCTION queue_email(user_id uuid, template text, payload jsonb, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.queue_email(user_id uuid, template text, payload jsonb, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION recovery_cancel_link(user_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.recovery_cancel_link(user_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION refresh_kyc_risk(kyc_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.refresh_kyc_risk(kyc_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION refresh_reports(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.refresh_reports() FROM PUBLIC;


--
-- Name: FUNCTION refuse_committed(status integer, code text, message text, hint text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.refuse_committed(status integer, code text, message text, hint text) FROM PUBLIC;


--
-- Name: FUNCTION remove_passkey(user_id uuid, passkey_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.remove_passkey(user_id uuid, passkey_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION request_account_deletion(user_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.request_account_deletion(user_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION request_session_id(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.request_session_id() FROM PUBLIC;


--
-- Name: FUNCTION revoke_account_tokens(user_id uuid, reason text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.revoke_account_tokens(user_id uuid, reason text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION revoke_device_cookies(user_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.revoke_device_cookies(user_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION revoke_sessions(user_id uuid, reason text, except_session uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.revoke_sessions(user_id uuid, reason text, except_session uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION revoke_trusted_devices(user_id uuid, reason text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.revoke_trusted_devices(user_id uuid, reason text) FROM PUBLIC;


--
-- Name: FUNCTION run_job(job text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.run_job(job text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION run_kyc_expiry(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.run_kyc_expiry() FROM PUBLIC;


--
-- Name: FUNCTION screen_kyc_record(kyc_id uuid, kinds text[], now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.screen_kyc_record(kyc_id uuid, kinds text[], now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION send_email_verification(user_id uuid, email text, reason text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.send_email_verification(user_id uuid, email text, reason text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION set_password(user_id uuid, password text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.set_password(user_id uuid, password text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION store_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.store_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION successor_token(token text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.successor_token(token text) FROM PUBLIC;


--
-- Name: FUNCTION take_account_token(token text, purpose text, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.take_account_token(token text, purpose text, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION take_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.take_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION tg_mfa_configs__notify_enrolled(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_mfa_configs__notify_enrolled() FROM PUBLIC;


--
-- Name: FUNCTION tg_mfa_configs__phone_verified(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_mfa_configs__phone_verified() FROM PUBLIC;


--
-- Name: FUNCTION tg_outbox__forget_token(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_outbox__forget_token() FROM PUBLIC;


--
-- Name: FUNCTION tg_settings__compile(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_settings__compile() FROM PUBLIC;


--
-- Name: FUNCTION tg_webauthn_credentials__notify_added(); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.tg_webauthn_credentials__notify_added() FROM PUBLIC;


--
-- Name: FUNCTION token_hash(token text); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.token_hash(token text) FROM PUBLIC;


--
-- Name: FUNCTION totp_step(now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.totp_step(now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION trust_device(user_id uuid, device_fingerprint text, device_name text, ip inet, now timestamp with time zone); Type: ACL; Schema: app_private; Owner: -
--

REVOKE ALL ON FUNCTION app_private.trust_device(user_id uuid, device_fingerprint text, device_name text, ip inet, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION chain_lock(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.chain_lock() FROM PUBLIC;


--
-- Name: FUNCTION checkpoint(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.checkpoint() FROM PUBLIC;


--
-- Name: FUNCTION checkpoint_payload(head_seq bigint, head_hash bytea, created_at timestamp with time zone); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.checkpoint_payload(head_seq bigint, head_hash bytea, created_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION checkpoint_signature(head_seq bigint, head_hash bytea, created_at timestamp with time zone); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.checkpoint_signature(head_seq bigint, head_hash bytea, created_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION create_partitions(months_ahead integer, now timestamp with time zone); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.create_partitions(months_ahead integer, now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION disable_tracking(table_oid regclass); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.disable_tracking(table_oid regclass) FROM PUBLIC;


--
-- Name: FUNCTION drop_expired_partitions(now timestamp with time zone); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.drop_expired_partitions(now timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION enable_tracking(table_oid regclass, subject_column text, pii_columns text[], secret_columns text[]); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.enable_tracking(table_oid regclass, subject_column text, pii_columns text[], secret_columns text[]) FROM PUBLIC;


--
-- Name: FUNCTION entry_hash(e audit.audit_log); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.entry_hash(e audit.audit_log) FROM PUBLIC;


--
-- Name: FUNCTION log_event(event_type text, subject_user_id uuid, details jsonb, severity text); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.log_event(event_type text, subject_user_id uuid, details jsonb, severity text) FROM PUBLIC;


--
-- Name: FUNCTION partition_under_hold(partition regclass, range_from timestamp with time zone, range_to timestamp with time zone); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.partition_under_hold(partition regclass, range_from timestamp with time zone, range_to timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION protect_partition(partition regclass); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.protect_partition(partition regclass) FROM PUBLIC;


--
-- Name: FUNCTION request_context(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.request_context() FROM PUBLIC;


--
-- Name: FUNCTION safe_inet(value text); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.safe_inet(value text) FROM PUBLIC;


--
-- Name: FUNCTION seal(max_rows integer); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.seal(max_rows integer) FROM PUBLIC;


--
-- Name: FUNCTION tg_audit_log__append_only(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg_audit_log__append_only() FROM PUBLIC;


--
-- Name: FUNCTION tg_audit_log__no_truncate(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg_audit_log__no_truncate() FROM PUBLIC;


--
-- Name: FUNCTION tg_audit_log__notify(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg_audit_log__notify() FROM PUBLIC;


--
-- Name: FUNCTION tg_track(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg_track() FROM PUBLIC;


--
-- Name: FUNCTION tg_track_truncate(); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.tg_track_truncate() FROM PUBLIC;


--
-- Name: FUNCTION verify_chain(from_at timestamp with time zone, to_at timestamp with time zone); Type: ACL; Schema: audit; Owner: -
--

REVOKE ALL ON FUNCTION audit.verify_chain(from_at timestamp with time zone, to_at timestamp with time zone) FROM PUBLIC;


--
-- Name: TABLE kyc_checks; Type: ACL; Schema: api; Owner: -
--

GRANT SELECT ON TABLE api.kyc_checks TO compliance_officer;


--
-- Name: TABLE kyc_documents; Type: ACL; Schema: api; Owner: -
--

GRANT SELECT ON TABLE api.kyc_documents TO compliance_officer;


--
-- Name: TABLE my_kyc_documents; Type: ACL; Schema: api; Owner: -
--

GRANT SELECT ON TABLE api.my_kyc_documents TO authenticated;


--
-- Name: TABLE my_kyc_verifications; Type: ACL; Schema: api; Owner: -
--

GRANT SELECT ON TABLE api.my_kyc_verifications TO authenticated;


--
-- Name: COLUMN my_kyc_verifications.address_line1; Type: ACL; Schema: api; Owner: -
--

GRANT UPDATE(address_line1) ON TABLE api.my_kyc_verifications TO authenticated;


--
-- Name: COLUMN my_kyc_verifications.address_line2; Type: ACL; Schema: api; Owner: -
--

GRANT UPDATE(address_line2) ON TABLE api.my_kyc_verifications TO authenticated;


--
-- Name: COLUMN my_kyc_verifications.city; Type: ACL; Schema: api; Owner: -
--

GRANT UPDATE(city) ON TABLE api.my_kyc_verifications TO authenticated;


--
-- Name: COLUMN my_kyc_verifications.postal_code; Type: ACL; Schema: api; Owner: -
--

GRANT UPDATE(postal_code) ON TABLE api.my_kyc_verifications TO authenticated;


--
-- Name: TABLE countries; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.countries TO anon;
GRANT SELECT ON TABLE app.countries TO authenticated;


--
-- Name: TABLE kyc_country_risk; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.kyc_country_risk TO compliance_officer;


--
-- Name: TABLE mfa_verification_attempts; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.mfa_verification_attempts TO authenticated;


--
-- Name: TABLE settings; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.settings TO anon;
GRANT SELECT ON TABLE app.settings TO authenticated;


--
-- Name: TABLE trusted_devices; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.trusted_devices TO authenticated;


--
-- Name: COLUMN users.id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.email; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(email) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.phone; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(phone) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.country_code; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(country_code),UPDATE(country_code) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.first_name; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(first_name),UPDATE(first_name) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.last_name; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(last_name),UPDATE(last_name) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.date_of_birth; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(date_of_birth),UPDATE(date_of_birth) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.role; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(role) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.status; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(status) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.email_verified_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(email_verified_at) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.failed_login_attempts; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(failed_login_attempts) ON TABLE app.users TO compliance_officer;
GRANT SELECT(failed_login_attempts) ON TABLE app.users TO admin;


--
-- Name: COLUMN users.last_failed_login_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(last_failed_login_at) ON TABLE app.users TO compliance_officer;
GRANT SELECT(last_failed_login_at) ON TABLE app.users TO admin;


--
-- Name: COLUMN users.locked_until; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(locked_until) ON TABLE app.users TO compliance_officer;
GRANT SELECT(locked_until) ON TABLE app.users TO admin;


--
-- Name: COLUMN users.last_login_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(last_login_at) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.last_login_ip; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(last_login_ip) ON TABLE app.users TO compliance_officer;
GRANT SELECT(last_login_ip) ON TABLE app.users TO admin;


--
-- Name: COLUMN users.password_changed_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(password_changed_at) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.referral_code; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(referral_code) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.referred_by; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(referred_by) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.deleted_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(deleted_at) ON TABLE app.users TO compliance_officer;
GRANT SELECT(deleted_at) ON TABLE app.users TO admin;


--
-- Name: COLUMN users.created_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(created_at) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.updated_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(updated_at) ON TABLE app.users TO authenticated;


--
-- Name: COLUMN users.mfa_required; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(mfa_required) ON TABLE app.users TO authenticated;


--
-- Name: TABLE watchlist_entries; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.watchlist_entries TO compliance_officer;


--
-- Name: TABLE watchlist_names; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.watchlist_names TO compliance_officer;


--
-- Name: TABLE watchlists; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT ON TABLE app.watchlists TO compliance_officer;


--
-- Name: COLUMN webauthn_credentials.id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(id) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: COLUMN webauthn_credentials.user_id; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(user_id) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: COLUMN webauthn_credentials.transports; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(transports) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: COLUMN webauthn_credentials.label; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(label) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: COLUMN webauthn_credentials.device_type; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(device_type) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: COLUMN webauthn_credentials.backed_up; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(backed_up) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: COLUMN webauthn_credentials.created_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(created_at) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: COLUMN webauthn_credentials.last_used_at; Type: ACL; Schema: app; Owner: -
--

GRANT SELECT(last_used_at) ON TABLE app.webauthn_credentials TO authenticated;


--
-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: -; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE dwaybank_owner REVOKE ALL ON FUNCTIONS  FROM PUBLIC;


--
-- PostgreSQL database dump complete
--


