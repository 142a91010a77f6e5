--! Previous: sha1:58894a1bb1caa7f7e27b650524f0c0845b0691f3
--! Hash: sha1:a7fb6c07c1a35a50562bdb247122128793dca053
--! Message: sign-in records each fact once

--! split: 1-current.sql
-- Sign-in records each fact once.
--
-- 1. A new session is recorded by its row's audit entry (id, user, aal, amr, risk score and
--    reasons, network and device as fingerprints); the `session.created` event repeated all of
--    it in every sign-in. Suspicious sessions still raise the `session.suspicious` warning.
-- 2. A sign-in from a known device updated its cookie twice (the counter reset in
--    app.authenticate, then the sliding expiry in app.issue_device_cookie), each update an
--    audit entry. The reset now happens only when there is something to reset.
create or replace function app_private.create_session(user_id uuid, aal text, amr text[], ip inet, user_agent text,
                                           device_fingerprint text, device_name text, now timestamptz default now())
  returns table (session_id uuid, refresh_token text, expires_at timestamptz)
  language plpgsql volatile
  set search_path = ''
  as $$
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
          now + make_interval(mins => app.setting('session_idle_minutes', '30')::integer),
          now + make_interval(hours => app.setting('session_absolute_hours', '12')::integer),
          v_risk.score >= app.setting('suspicious_threshold', '50')::integer, v_risk.score, v_risk.reasons)
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

create or replace function app.authenticate(email text, password text, ip inet default null, user_agent text default null,
                                 device_fingerprint text default null, device_name text default null,
                                 now timestamptz default now(), device_cookie text default null)
  returns table (status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid,
                 refresh_token text, aal text, amr text[], expires_at timestamptz, login_id uuid, mfa_methods text[])
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_email extensions.citext := left(coalesce(authenticate.email, ''), 320);
  v_user app.users;
  v_hash text;
  v_retry integer;
  v_state app.lockout_state;
  v_role text;
  v_device app_private.device_cookies;
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
    elsif v_user.locked_until > now then
      v_state := app.handle_failed_login(v_email, now);
      return query select 'locked', null::uuid, null::text, greatest(1, v_state.retry_after_seconds), null::uuid, null::text,
                          null::text, null::text[], null::timestamptz, null::uuid, null::text[];
      return;
    end if;
    select s.password_hash into v_hash from app_private.user_secrets s where s.user_id = v_user.id;
  else
    select a.locked_until into v_state.locked_until from app_private.unknown_login_attempts a
     where a.email_fingerprint = app_private.fingerprint(v_email::text);
    if v_state.locked_until > now then
      v_state := app.handle_failed_login(v_email, now);
      return query select 'locked', null::uuid, null::text, greatest(1, v_state.retry_after_seconds), null::uuid, null::text,
                          null::text, null::text[], null::timestamptz, null::uuid, null::text[];
      return;
    end if;
  end if;

  if v_hash is null then
    -- Same bcrypt work as a real check, so timing does not tell accounts apart.
    perform extensions.crypt(app_private.password_input(password), extensions.gen_salt('bf', app_private.bcrypt_cost()));
  elsif extensions.crypt(app_private.password_input(password), v_hash) = v_hash then
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
comment on function app.authenticate(text, text, inet, text, text, text, timestamptz, text) is
  'Password sign-in: per-IP throttle, lockout (a valid device cookie is exempt from the account lock and has its own counter),
bcrypt check, session creation. Returns a status instead of raising so failures are committed.
Definer: reads password hashes in app_private.';
grant execute on function app.authenticate(text, text, inet, text, text, text, timestamptz, text) to :DATABASE_GATEWAY;
