--! Previous: sha1:dcae4e350921265d07d8f464c8fee5d8a08d9feb
--! Hash: sha1:18a3d84a01f1b7ac732e01efdad9ad4ac15a7464
--! Message: one writability check

--! split: 1-current.sql
-- One writability check: the phone change functions (000022) called app_private.assert_writable, a copy of
-- app_private.assert_kyc_writable; they call the existing one now, and the copy is dropped. (A GET of any
-- function that changes data is answered by the pre-request itself, 000021.)

CREATE OR REPLACE FUNCTION api.request_phone_change(phone text) RETURNS jsonb
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
    raise exception 'Sign in to change your phone number.' using errcode = 'PT401', detail = 'INVALID_TOKEN',
      hint = 'Send an access token.';
  end if;
  perform app.assert_step_up(now());
  if request_phone_change.phone is null or request_phone_change.phone !~ '^\+[1-9][0-9]{6,14}$' then
    raise exception 'The phone number is not valid.' using errcode = 'PT400', detail = 'INVALID_PHONE',
      hint = 'Give the number in E.164 form, e.g. +4915112345678.';
  end if;
  if request_phone_change.phone = v_user.phone then
    raise exception 'This is already the account''s phone number.' using errcode = 'PT400', detail = 'PHONE_UNCHANGED',
      hint = 'Give a different number.';
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

CREATE OR REPLACE FUNCTION api.confirm_phone_change(code text) RETURNS jsonb
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
    raise exception 'This session has no phone number change waiting.' using errcode = 'PT404', detail = 'PHONE_CHANGE_NOT_FOUND',
      hint = 'Start one with /rpc/request_phone_change (from this session).';
  end if;
  if v_change.expires_at <= now() then
    raise exception 'The code has expired.' using errcode = 'PT400', detail = 'PHONE_CODE_EXPIRED',
      hint = 'Ask for a new code with /rpc/request_phone_change.';
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

drop function if exists app_private.assert_writable();
