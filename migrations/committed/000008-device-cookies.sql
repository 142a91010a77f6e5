--! Previous: sha1:bf387f1ba28979619f70f63e4bfb743961079019
--! Hash: sha1:ac9ce168e11e01bf2e4fc2be128873e71c95293f
--! Message: device cookies exempt known clients from the account lockout

--! split: 1-current.sql
-- Device cookies (OWASP, "Slow down online guessing attacks with device
-- cookies"): the account lockout must not let anyone who knows an e-mail
-- address lock its owner out. A browser or app that has signed in to an
-- account before holds a device cookie for it; with a valid one, sign-in is not
-- subject to the account's lock, and wrong passwords sent with it count against
-- that cookie only (5 of them lock the cookie). Clients without one (an
-- attacker, a new device) are subject to the account lock as before.

drop table if exists app_private.device_cookies cascade;
create table app_private.device_cookies (
  token_hash bytea primary key constraint device_cookies_token_hash_chk check (length(token_hash) = 32),
  user_id uuid not null constraint device_cookies_user_id_fkey references app.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  last_used_at timestamptz,
  failed_attempts integer not null default 0 constraint device_cookies_failed_attempts_chk check (failed_attempts >= 0),
  locked_until timestamptz,
  revoked_at timestamptz,
  constraint device_cookies_expiry_chk check (expires_at > created_at)
);
comment on table app_private.device_cookies is
  'Device cookies (hashes only): a client that signed in to this account before is exempt from the account lockout and has its own failure counter.';
-- Foreign key and revocation of a user's cookies.
create index device_cookies_user_idx on app_private.device_cookies (user_id);
select audit.enable_tracking('app_private.device_cookies', 'user_id', secret_columns => '{token_hash}');

-- Issues a device cookie for the user of a live session just opened by sign-in
-- (password, MFA or passkey). The value is returned once; only its hash is kept.
drop function if exists app.issue_device_cookie(uuid, uuid, timestamptz);
create function app.issue_device_cookie(user_id uuid, session_id uuid, now timestamptz default now())
  returns text
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_token text := app_private.new_token();
begin
  if not exists (select from app.user_sessions s
                  where s.id = issue_device_cookie.session_id and s.user_id = issue_device_cookie.user_id
                    and s.revoked_at is null and s.expires_at > now and s.created_at > now - interval '5 minutes') then
    raise exception 'No fresh session of this user has this id.' using errcode = 'PT401', detail = 'INVALID_TOKEN',
      hint = 'A device cookie is issued only right after a sign-in.';
  end if;
  insert into app_private.device_cookies (token_hash, user_id, created_at, expires_at)
  values (app_private.token_hash(v_token), issue_device_cookie.user_id, now,
          now + make_interval(days => app.setting('device_cookie_days', '180')::integer));
  return v_token;
end
$$;
comment on function app.issue_device_cookie(uuid, uuid, timestamptz) is
  'Issues a device cookie (returned once, stored hashed) for the user of a session opened in the last 5 minutes.
Definer: writes app_private.device_cookies, which no API role may touch.';
grant execute on function app.issue_device_cookie(uuid, uuid, timestamptz) to :DATABASE_GATEWAY;

-- A password change or reset ends every device cookie of the account, like its sessions.
drop function if exists app_private.revoke_device_cookies(uuid, timestamptz);
create function app_private.revoke_device_cookies(user_id uuid, now timestamptz default now()) returns integer
  language sql volatile
  set search_path = ''
  as $$
    with r as (
      update app_private.device_cookies d set revoked_at = now
       where d.user_id = revoke_device_cookies.user_id and d.revoked_at is null
      returning 1)
    select count(*)::integer from r
  $$;

drop function if exists app.tg_users__revoke_device_cookies() cascade;
create function app.tg_users__revoke_device_cookies() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  perform app_private.revoke_device_cookies(new.id);
  return null;
end
$$;
comment on function app.tg_users__revoke_device_cookies() is
  'Revokes device cookies when the password changes. Definer: writes app_private whoever changes the password.';
create trigger _510_revoke_device_cookies after update of password_changed_at on app.users
  for each row when (old.password_changed_at is distinct from new.password_changed_at)
  execute function app.tg_users__revoke_device_cookies();

-- Sign-in, now with the device cookie (the last argument, so existing callers are unchanged).
drop function if exists app.authenticate(text, text, inet, text, text, text, timestamptz);
drop function if exists app.authenticate(text, text, inet, text, text, text, timestamptz, text);
create function app.authenticate(email text, password text, ip inet default null, user_agent text default null,
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
    if v_device.token_hash is not null then
      update app_private.device_cookies d set failed_attempts = 0, locked_until = null, last_used_at = now
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
