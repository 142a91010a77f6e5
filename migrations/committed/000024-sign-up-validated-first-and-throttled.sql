--! Previous: sha1:b85c8232ee1088391d380e5bc401e1b0c31212ab
--! Hash: sha1:4ba5ab9feab6c685fe8a4fccf7ae3f4a0b5a1deb
--! Message: sign-up validates first and is throttled, and locked addresses cost the same

--! split: 5-sign-up-and-sign-in.sql
-- Issue 15 (H3): sign-up and sign-in hardening, and check-then-insert races.

-- Finding 12: every "look, then insert" on a per-user unique key holds under
-- concurrency. The per-user MFA writes below lock the user's row first
-- (no key update: it does not block foreign-key checks of other tables), so a
-- double click runs one enrolment after the other instead of colliding on
-- mfa_configs_user_method_key.
create or replace function app.begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text,
  label text default null, device_fingerprint text default null, ip inet default null, user_agent text default null,
  now timestamptz default now()) returns uuid
  language plpgsql security definer
  set search_path = ''
as $$
declare
  v_config app.mfa_configs;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  -- One enrolment of a user at a time: the select below finds nothing to lock when no row exists yet.
  perform from app.users u where u.id = begin_totp_enrollment.user_id for no key update;
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_config from app.mfa_configs c where c.user_id = begin_totp_enrollment.user_id and c.method = 'totp' for update;
  if v_config.status = 'active' then
    raise exception 'An authenticator app is already set up.' using errcode = 'PT409', detail = 'MFA_ALREADY_ENROLLED',
      hint = 'Remove it first (disable_mfa_method) to set up a new one.';
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
    raise exception 'The label or the encrypted secret is not valid.' using errcode = 'PT400', detail = 'INVALID_INPUT',
      hint = 'Labels are 1 to 100 characters without control characters.';
  end;
  perform audit.log_event('mfa.enrolled', user_id, jsonb_build_object('method', 'totp', 'config_id', v_config.id));
  return v_config.id;
end
$$;

-- The passkey's credential id is unique across all accounts: a concurrent
-- registration of the same credential is answered like a sequential one.
create or replace function app.finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea, sign_count bigint, transports text[], label text, device_type text, backed_up boolean, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, now timestamp with time zone DEFAULT now()) RETURNS TABLE(status text, passkey_id uuid, backup_codes text[])
  language plpgsql security definer
  set search_path = ''
as $$
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
    raise exception 'This passkey is already registered.' using errcode = 'PT400', detail = 'PASSKEY_ALREADY_REGISTERED',
      hint = 'Use it to sign in, or register another one.';
  when check_violation then
    raise exception 'The passkey''s data is not valid.' using errcode = 'PT400', detail = 'INVALID_INPUT',
      hint = 'Labels are 1 to 100 characters without control characters.';
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


------------------------------------------------------------------------------
-- Finding 5 (sign-up half): sign-ups are counted per client (its throttle key:
-- an IPv6 client by its /64) in minute buckets, like failed sign-ins; past
-- dwaybank.signup_ip_limit in dwaybank.signup_ip_window_minutes the client gets
-- 429 TOO_MANY_REQUESTS with Retry-After. (The test stack lifts the limit, as it
-- does ip_failure_limit: all its traffic comes from 127.0.0.1.)
create table if not exists app_private.signup_attempts (
  ip inet not null,
  bucket timestamptz not null,
  attempts integer not null default 0,
  constraint signup_attempts_pkey primary key (ip, bucket)
);
alter table app_private.signup_attempts enable row level security;
alter table app_private.signup_attempts force row level security;
comment on table app_private.signup_attempts is
  'Sign-ups per client throttle key and minute: each costs a bcrypt hash, so a client may make only so many (app.signup).';

create or replace function app_private.count_signup(ip inet, now timestamptz) returns integer
  language plpgsql
  set search_path = ''
as $$
declare
  v_key inet := app_private.throttle_key(ip);
  v_window interval := make_interval(mins => app.setting('signup_ip_window_minutes', '60')::integer);
  v_count integer;
  v_oldest timestamptz;
begin
  -- One client network at a time, so parallel sign-ups cannot all read the count below the limit.
  perform pg_advisory_xact_lock(hashtextextended('app.count_signup:' || v_key::text, 0));
  delete from app_private.signup_attempts a where a.ip = v_key and a.bucket <= now - v_window;
  select coalesce(sum(a.attempts), 0), min(a.bucket) into v_count, v_oldest
    from app_private.signup_attempts a where a.ip = v_key and a.bucket > now - v_window;
  if v_count >= app.setting('signup_ip_limit', '10')::integer then
    return greatest(1, ceil(extract(epoch from (v_oldest + v_window - now))))::integer;
  end if;
  insert into app_private.signup_attempts as a (ip, bucket, attempts) values (v_key, date_trunc('minute', now), 1)
  on conflict on constraint signup_attempts_pkey do update set attempts = a.attempts + 1;
  return 0;
end
$$;
comment on function app_private.count_signup(inet, timestamptz) is
  'Counts one sign-up of a client and returns 0, or the seconds until it may sign up again (not counted) when it is over dwaybank.signup_ip_limit.';
revoke all on function app_private.count_signup(inet, timestamptz) from public;

-- Finding 6: everything is validated before the address is looked at, and a
-- registered address goes through the same insert (of a throwaway row, undone)
-- so that its profile is checked by the same constraints. Same status, same body,
-- for every input. Sign-ups of one address are serialised (finding 12) instead
-- of colliding on users_email_active_idx.
create or replace function app.signup(email text, password text, phone text default null, country_code text default null,
  first_name text default null, last_name text default null, referral_code text default null, ip inet default null,
  user_agent text default null) returns uuid
  language plpgsql security definer
  set search_path = pg_catalog, extensions, pg_temp
as $_$
declare
  v_user_id uuid;
  v_referrer uuid;
  v_hash text;
  v_registered boolean;
  v_retry integer;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  perform app.assert_password_policy(password);
  if signup.email is null or length(signup.email) > 254
     or signup.email !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$' then
    raise exception 'The e-mail address is not valid.' using errcode = 'PT400', detail = 'INVALID_EMAIL',
      hint = 'Give an address like name@example.com.';
  end if;
  if signup.referral_code is not null then
    select u.id into v_referrer from app.users u
     where u.referral_code = upper(signup.referral_code) and u.deleted_at is null;
    if v_referrer is null then
      raise exception 'The referral code is not known.' using errcode = 'PT400', detail = 'INVALID_REFERRAL_CODE',
        hint = 'Check the code, or sign up without one.';
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
      raise exception 'A profile field is not valid.' using errcode = 'PT400', detail = 'INVALID_PROFILE',
        hint = 'Phone numbers are E.164 (+4915112345678), countries ISO 3166-1 alpha-2 (DE), names 1 to 100 characters.';
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
$_$;
comment on function app.signup(text, text, text, text, text, text, text, inet, text) is
  'Creates an account. Answers a registered address exactly as a new one (same validation, same bcrypt, a random id); counts sign-ups per client (429 past dwaybank.signup_ip_limit).
Definer: writes the password hash into app_private.';

------------------------------------------------------------------------------
-- Finding 11: a locked address, registered or not, gets the same work (one
-- bcrypt, the same reads) and the request counts against the client's per-IP limit.
create or replace function app.authenticate(email text, password text, ip inet DEFAULT NULL::inet, user_agent text DEFAULT NULL::text, device_fingerprint text DEFAULT NULL::text, device_name text DEFAULT NULL::text, now timestamp with time zone DEFAULT now(), device_cookie text DEFAULT NULL::text) RETURNS TABLE(status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamp with time zone, login_id uuid, mfa_methods text[])
  language plpgsql security definer
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


------------------------------------------------------------------------------
-- Finding 12: every function that manages a user's second factors starts here
-- (begin/confirm TOTP and OTP, passkey registration, backup codes). Taking the
-- user's row lock here serialises them per user, so each "look, then write"
-- after it holds: two confirmations cannot both issue backup codes (the first
-- set shown would no longer work), a code limit cannot be passed by sending in
-- parallel, and the "no active factor yet, so aal1 will do" test cannot be
-- raced by enrolling two factors at once. Volatile now: it locks.
create or replace function app_private.assert_may_manage_mfa(user_id uuid, now timestamptz) returns void
  language plpgsql volatile
  set search_path = ''
as $$
declare
  v_session_user uuid;
begin
  perform from app.users u where u.id = assert_may_manage_mfa.user_id for no key update;
  v_session_user := app_private.assert_recent_auth(
    exists (select from app.mfa_configs c where c.user_id = assert_may_manage_mfa.user_id and c.status = 'active'), now);
  if v_session_user is distinct from user_id then
    raise exception 'You may only manage your own second factors.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Sign in as the account owner.';
  end if;
end
$$;
