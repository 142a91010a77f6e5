--! Previous: sha1:9e348e9ffc7adeb71ee2a304c36a13f4ddc74c6a
--! Hash: sha1:8bcef712ac8a4cc4033fcef2962756adb8277a79
--! Message: create account lifecycle

--! split: 6-account.sql
-- Account lifecycle: e-mail verification, forgotten password, password change,
-- e-mail change, account recovery when every factor is lost (four eyes and a
-- waiting period), and passkeys (WebAuthn) as a second factor or for
-- passwordless sign-in. Built on the MFA migration: the outbox, step-up
-- (app.assert_step_up), trusted devices, mfa_configs and the attempts table.
-- (Schemas are dropped and re-created by 1-users.sql.)

------------------------------------------------------------------------------
-- Account e-mails: single-use tokens, stored as SHA-256 hashes.
------------------------------------------------------------------------------
-- The token itself travels in the outbox payload (`token`) only until the
-- message is delivered: the trigger below removes it then, as complete_outbox
-- removes `sealed`. A message may name its own destination (`to`), e.g. the
-- new address of an e-mail change.
create table app_private.account_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint account_tokens_user_id_fkey references app.users (id),
  purpose text not null constraint account_tokens_purpose_chk check (purpose in ('email_verification', 'password_reset', 'email_change')),
  token_hash bytea not null constraint account_tokens_token_hash_key unique
    constraint account_tokens_token_hash_chk check (length(token_hash) = 32),
  email extensions.citext not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz,
  revoked_at timestamptz,
  constraint account_tokens_expiry_chk check (expires_at > created_at)
);
comment on table app_private.account_tokens is 'Tokens sent by e-mail (verification, password reset, e-mail change): SHA-256 hash only, single use, expiring; a newer token of the same purpose revokes the older ones.';
create index account_tokens_user_idx on app_private.account_tokens (user_id, purpose, created_at desc);
select audit.enable_tracking('app_private.account_tokens', 'user_id', pii_columns => '{email}', secret_columns => '{token_hash}');

-- Unauthenticated requests that send mail (forgotten password), per address
-- fingerprint and per client address, for the rate limit. Known and unknown
-- addresses are counted alike, so a 429 reveals nothing.
create table app_private.account_requests (
  id bigint generated always as identity primary key,
  kind text not null constraint account_requests_kind_chk check (kind in ('password_reset')),
  email_fingerprint text not null,
  ip inet,
  created_at timestamptz not null default now()
);
create index account_requests_email_idx on app_private.account_requests (kind, email_fingerprint, created_at desc);
create index account_requests_ip_idx on app_private.account_requests (kind, ip, created_at desc);
select audit.enable_tracking('app_private.account_requests', null, pii_columns => '{ip}');

create function app_private.issue_account_token(user_id uuid, purpose text, email text, lifetime interval, now timestamptz)
  returns table (token text, expires_at timestamptz)
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_token text := app_private.new_token();
begin
  -- A newer token makes the older ones of the same purpose useless.
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = issue_account_token.user_id and t.purpose = issue_account_token.purpose
     and t.consumed_at is null and t.revoked_at is null;
  insert into app_private.account_tokens (user_id, purpose, token_hash, email, created_at, expires_at)
  values (issue_account_token.user_id, issue_account_token.purpose, app_private.token_hash(v_token),
          issue_account_token.email, now, now + lifetime);
  return query select v_token, now + lifetime;
end
$$;

-- Takes a token for one purpose: 'ok' (and marks it used), 'invalid', 'used',
-- 'superseded' or 'expired'. Locks the row, so two concurrent uses get one 'ok'.
create function app_private.take_account_token(token text, purpose text, now timestamptz)
  returns table (status text, token_id uuid, user_id uuid, email text)
  language plpgsql volatile
  set search_path = ''
  as $$
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

create function app_private.queue_email(user_id uuid, template text, payload jsonb, now timestamptz) returns bigint
  language sql volatile
  set search_path = ''
  as $$
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (user_id, 'email', template, coalesce(payload, '{}'), now)
    returning id
  $$;

-- The outbox's destination: the message's own `to` when it names one (e-mail
-- change), else the account's address or phone. Replaces the version in 3-mfa.sql.
create or replace function app.claim_outbox(batch integer default 10)
  returns table (id bigint, user_id uuid, channel text, template text, payload jsonb, destination text, attempts integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  return query
    with claimed as (
      select o.id from app_private.outbox o
       where o.sent_at is null and o.attempts < 10
       order by o.created_at
       limit least(greatest(batch, 1), 100)
       for update skip locked)
    update app_private.outbox o set attempts = o.attempts + 1
      from claimed
     where o.id = claimed.id
    returning o.id, o.user_id, o.channel, o.template, o.payload - 'to',
              coalesce(o.payload ->> 'to',
                       (select case o.channel when 'sms' then u.phone else u.email::text end from app.users u where u.id = o.user_id)),
              o.attempts;
end
$$;
comment on function app.claim_outbox(integer) is
  'Claims unsent SMS/e-mail messages for delivery, with the destination address (the message''s own `to`, else the account''s). Definer: reads the outbox and contact details.';

-- Once delivered (or given up), an account token leaves the outbox for good.
create function app_private.tg_outbox__forget_token() returns trigger
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  if new.payload ? 'token' and (new.sent_at is not null or (new.attempts >= 10 and new.attempts = old.attempts)) then
    new.payload := new.payload - 'token';
  end if;
  return new;
end
$$;
create trigger _100_forget_token before update on app_private.outbox
  for each row execute function app_private.tg_outbox__forget_token();

-- A live session of this user, or INVALID_TOKEN: the gateway checked the JWT,
-- this checks that its session has not ended.
create function app_private.assert_live_session(user_id uuid, session_id uuid, now timestamptz) returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if not exists (select from app.user_sessions s
                  where s.id = assert_live_session.session_id and s.user_id = assert_live_session.user_id
                    and s.revoked_at is null and s.expires_at > now and s.idle_expires_at > now) then
    raise exception 'The session of this token has ended.' using errcode = 'PT401', detail = 'SESSION_ENDED',
      hint = 'Sign in again.';
  end if;
end
$$;

------------------------------------------------------------------------------
-- E-mail verification
------------------------------------------------------------------------------
create function app_private.send_email_verification(user_id uuid, email text, reason text, now timestamptz)
  returns timestamptz
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_token record;
begin
  select * into v_token from app_private.issue_account_token(user_id, 'email_verification', email,
    make_interval(hours => app.setting('email_verification_hours', '24')::integer), now);
  perform app_private.queue_email(user_id, 'email_verification',
    jsonb_build_object('token', v_token.token, 'expires_at', v_token.expires_at), now);
  perform audit.log_event('account.email_verification.sent', user_id,
    jsonb_build_object('reason', reason, 'expires_at', v_token.expires_at));
  return v_token.expires_at;
end
$$;

create function app.tg_users__send_email_verification() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  if new.email_verified_at is null then
    perform app_private.send_email_verification(new.id, new.email::text, 'signup', now());
  end if;
  return null;
end
$$;
comment on function app.tg_users__send_email_verification() is
  'Queues the verification e-mail of a new account. Definer: writes token hashes and the outbox in app_private whoever creates the account.';
create trigger _600_send_email_verification after insert on app.users
  for each row execute function app.tg_users__send_email_verification();

create function app.verify_email(token text, ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, user_id uuid)
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
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
comment on function app.verify_email(text, inet, text, timestamptz) is
  'Marks the address verified with the token from the verification e-mail (single use, 24 hours). Returns a status: ok, invalid, used, superseded, expired.
Definer: reads token hashes in app_private.';
grant execute on function app.verify_email(text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app.resend_email_verification(user_id uuid, session_id uuid, ip inet default null, user_agent text default null,
                                              now timestamptz default now())
  returns table (status text, expires_at timestamptz, retry_after_seconds integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user app.users;
  v_window integer := app.setting('email_verification_window_seconds', '3600')::integer;
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
  if v_sent >= app.setting('email_verification_limit', '3')::integer then
    perform audit.log_event('account.email_verification.throttled', user_id, jsonb_build_object('sent', v_sent), 'warning');
    return query select 'rate_limited', null::timestamptz,
      greatest(1, ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now))))::integer;
    return;
  end if;
  return query select 'ok', app_private.send_email_verification(user_id, v_user.email::text, 'resend', now), null::integer;
end
$$;
comment on function app.resend_email_verification(uuid, uuid, inet, text, timestamptz) is
  'Sends a new verification e-mail (the older link stops working); at most 3 per hour. Returns ok, already_verified or rate_limited.
Definer: writes token hashes and the outbox.';
grant execute on function app.resend_email_verification(uuid, uuid, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app_private.assert_email_verified(user_id uuid, action text) returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if not exists (select from app.users u where u.id = assert_email_verified.user_id and u.email_verified_at is not null) then
    raise exception 'Verify your e-mail address first.' using errcode = 'PT403', detail = 'EMAIL_NOT_VERIFIED',
      hint = format('Open the link in the verification e-mail (or request a new one: POST /auth/email/resend), then %s.', action);
  end if;
end
$$;

-- SMS and e-mail codes go to contact details the account has proven it owns.
create function app.tg_mfa_configs__require_verified_email() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  if new.method in ('sms', 'email') then
    perform app_private.assert_email_verified(new.user_id, 'set up SMS or e-mail codes');
  end if;
  return new;
end
$$;
comment on function app.tg_mfa_configs__require_verified_email() is
  'Refuses SMS and e-mail factors for an unverified address. Definer: reads the verification state of the account.';
create trigger _100_require_verified_email before insert on app.mfa_configs
  for each row execute function app.tg_mfa_configs__require_verified_email();

-- KYC starts only for a verified address. Replaces the hook in 4-kyc.sql.
create or replace function app_private.kyc_precondition(user_id uuid) returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if not exists (select from app.users u where u.id = kyc_precondition.user_id and u.status = 'active' and u.deleted_at is null) then
    raise exception 'Only an active account can be verified.' using errcode = 'PT403', detail = 'ACCOUNT_NOT_ACTIVE',
      hint = 'Contact support if your account is suspended.';
  end if;
  perform app_private.assert_email_verified(user_id, 'start the verification of your identity');
end
$$;

------------------------------------------------------------------------------
-- Passwords: forgotten, reset, changed
------------------------------------------------------------------------------
create function app_private.set_password(user_id uuid, password text, now timestamptz) returns void
  language plpgsql volatile
  set search_path = ''
  as $$
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

create function app.request_password_reset(email text, ip inet default null, user_agent text default null,
                                           now timestamptz default now())
  returns table (status text, retry_after_seconds integer)
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_fp text := app_private.fingerprint(left(coalesce(request_password_reset.email, ''), 320));
  v_window integer := app.setting('password_reset_window_seconds', '3600')::integer;
  v_since timestamptz := now - make_interval(secs => v_window);
  v_count integer;
  v_oldest timestamptz;
  v_retry integer := 0;
  v_user app.users;
  v_token record;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select count(*), min(r.created_at) into v_count, v_oldest from app_private.account_requests r
   where r.kind = 'password_reset' and r.email_fingerprint = v_fp and r.created_at > v_since;
  if v_count >= app.setting('password_reset_address_limit', '3')::integer then
    v_retry := ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now)))::integer;
  end if;
  if ip is not null then
    select count(*), min(r.created_at) into v_count, v_oldest from app_private.account_requests r
     where r.kind = 'password_reset' and r.ip = request_password_reset.ip and r.created_at > v_since;
    -- Defaults to the sign-in throttle's limit (lifted for test traffic, which all comes from one address).
    if v_count >= app.setting('password_reset_ip_limit', app.setting('ip_failure_limit', '50'))::integer then
      v_retry := greatest(v_retry, ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now)))::integer);
    end if;
  end if;
  if v_retry > 0 then
    perform audit.log_event('account.password_reset.throttled', null, jsonb_build_object('email', v_fp), 'warning');
    return query select 'rate_limited', greatest(1, v_retry);
    return;
  end if;
  insert into app_private.account_requests (kind, email_fingerprint, ip, created_at) values ('password_reset', v_fp, ip, now);

  select * into v_user from app.users u
   where u.email = left(coalesce(request_password_reset.email, ''), 320)::extensions.citext and u.deleted_at is null;
  if not found or v_user.status <> 'active' then
    perform audit.log_event('account.password_reset.requested', v_user.id,
      jsonb_build_object('email', v_fp, 'unknown_account', v_user.id is null, 'sent', false));
  else
    perform app.set_request_context(v_user.id, null, ip, user_agent);
    select * into v_token from app_private.issue_account_token(v_user.id, 'password_reset', v_user.email::text,
      make_interval(mins => app.setting('password_reset_minutes', '30')::integer), now);
    perform app_private.queue_email(v_user.id, 'password_reset',
      jsonb_build_object('token', v_token.token, 'expires_at', v_token.expires_at), now);
    perform audit.log_event('account.password_reset.requested', v_user.id,
      jsonb_build_object('email', v_fp, 'sent', true, 'expires_at', v_token.expires_at), 'warning');
  end if;
  return query select 'accepted', null::integer;
end
$$;
comment on function app.request_password_reset(text, inet, text, timestamptz) is
  'Sends a password reset link (30 minutes, single use; a newer request invalidates the older link) if the address has an active account.
Answers `accepted` either way; `rate_limited` after 3 requests per address or 50 (dwaybank.ip_failure_limit) per client address in an hour, counted alike for unknown addresses.
Definer: writes token hashes and the outbox.';
grant execute on function app.request_password_reset(text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app.reset_password(token text, new_password text, ip inet default null, user_agent text default null,
                                   now timestamptz default now())
  returns table (status text, user_id uuid, revoked_sessions integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
  -- Every session and remembered device ends; the second factor stays, so the
  -- next sign-in still asks for it.
  v_revoked := api.revoke_user_sessions(v_token.user_id, 'password_reset');
  perform app_private.revoke_trusted_devices(v_token.user_id, 'password_reset');
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = v_token.user_id and t.purpose = 'password_reset' and t.consumed_at is null and t.revoked_at is null;
  perform app_private.queue_email(v_token.user_id, 'password_changed', jsonb_build_object('reason', 'reset', 'at', now), now);
  perform audit.log_event('account.password.reset', v_token.user_id, jsonb_build_object('revoked_sessions', v_revoked), 'warning');
  return query select 'ok', v_token.user_id, v_revoked;
end
$$;
comment on function app.reset_password(text, text, inet, text, timestamptz) is
  'Sets a new password with a reset token (single use), revokes every session and trusted device, and notifies the user. MFA is untouched.
Returns ok, invalid, used, superseded or expired; raises WEAK_PASSWORD. Definer: writes the password hash.';
grant execute on function app.reset_password(text, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app_private.assert_own_session(user_id uuid, session_id uuid) returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if session_id is null or (select s.user_id from app.user_sessions s where s.id = assert_own_session.session_id) is distinct from user_id then
    raise exception 'You may only change your own account.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Sign in as the account owner.';
  end if;
end
$$;

create function app.change_password(user_id uuid, session_id uuid, current_password text, new_password text,
                                    ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, revoked_sessions integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_hash text;
  v_revoked integer;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_own_session(user_id, session_id);
  perform app_private.assert_live_session(user_id, session_id, now);
  perform app.assert_step_up(now);
  select s.password_hash into v_hash from app_private.user_secrets s where s.user_id = change_password.user_id;
  if v_hash is null or extensions.crypt(app_private.password_input(coalesce(left(current_password, 1024), '')), v_hash) <> v_hash then
    perform audit.log_event('account.password.change_failed', user_id, jsonb_build_object('reason', 'wrong_password'), 'warning');
    return query select 'invalid_password', null::integer;
    return;
  end if;
  perform app_private.set_password(user_id, new_password, now);
  v_revoked := api.revoke_user_sessions(user_id, 'password_changed', session_id::text);
  perform app_private.queue_email(user_id, 'password_changed', jsonb_build_object('reason', 'change', 'at', now), now);
  perform audit.log_event('account.password.changed', user_id, jsonb_build_object('revoked_sessions', v_revoked), 'warning');
  return query select 'ok', v_revoked;
end
$$;
comment on function app.change_password(uuid, uuid, text, text, inet, text, timestamptz) is
  'Changes the password: needs the current one and a step-up (aal2 within 10 minutes, or a recent sign-in without MFA); revokes the other sessions and every trusted device.
Returns ok or invalid_password; raises STEP_UP_REQUIRED, WEAK_PASSWORD. Definer: writes the password hash.';
grant execute on function app.change_password(uuid, uuid, text, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- E-mail change: confirmed from the new address; the old one keeps working
-- (and is told) until then.
------------------------------------------------------------------------------
create function app.request_email_change(user_id uuid, session_id uuid, new_email text, ip inet default null,
                                         user_agent text default null, now timestamptz default now())
  returns table (status text, expires_at timestamptz, retry_after_seconds integer)
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_user app.users;
  v_token record;
  v_sent integer;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_own_session(user_id, session_id);
  perform app_private.assert_live_session(user_id, session_id, now);
  perform app.assert_step_up(now);
  if new_email is null or length(new_email) > 254
     or new_email !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$' then
    raise exception 'The e-mail address is not valid.' using errcode = 'PT400', detail = 'INVALID_EMAIL',
      hint = 'Give an address like name@example.com.';
  end if;
  select * into v_user from app.users u where u.id = request_email_change.user_id for update;
  if v_user.email = new_email::extensions.citext then
    raise exception 'This is already the account''s address.' using errcode = 'PT400', detail = 'EMAIL_UNCHANGED',
      hint = 'Give a different address.';
  end if;
  select count(*) into v_sent from app_private.account_tokens t
   where t.user_id = request_email_change.user_id and t.purpose = 'email_change' and t.created_at > now - interval '1 hour';
  if v_sent >= app.setting('email_change_limit', '5')::integer then
    perform audit.log_event('account.email_change.throttled', user_id, jsonb_build_object('sent', v_sent), 'warning');
    return query select 'rate_limited', null::timestamptz, 3600;
    return;
  end if;
  select * into v_token from app_private.issue_account_token(user_id, 'email_change', new_email,
    make_interval(hours => app.setting('email_change_hours', '24')::integer), now);
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
$$;
comment on function app.request_email_change(uuid, uuid, text, inet, text, timestamptz) is
  'Starts an e-mail change: needs a step-up; sends a confirmation link (24 hours, single use) to the new address and a notice to the current one, which keeps working until the change is confirmed.
Raises STEP_UP_REQUIRED, INVALID_EMAIL, EMAIL_UNCHANGED. Definer: writes token hashes and the outbox.';
grant execute on function app.request_email_change(uuid, uuid, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app.confirm_email_change(token text, ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, user_id uuid)
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
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
    elsif exists (select from app.users u where u.email = v_token.email::extensions.citext and u.id <> v_token.user_id and u.deleted_at is null) then
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
   where t.user_id = v_token.user_id and t.consumed_at is null and t.revoked_at is null;
  perform app_private.queue_email(v_token.user_id, 'email_changed',
    jsonb_build_object('to', v_old, 'new_email', regexp_replace(v_token.email, '^(.).*(@.*)$', '\1***\2'), 'at', now), now);
  perform audit.log_event('account.email.changed', v_token.user_id,
    jsonb_build_object('old_email', app_private.fingerprint(v_old), 'new_email', app_private.fingerprint(v_token.email)), 'warning');
  return query select 'ok', v_token.user_id;
end
$$;
comment on function app.confirm_email_change(text, inet, text, timestamptz) is
  'Completes an e-mail change with the token sent to the new address (which is then verified) and notifies the old address.
Returns ok, invalid, used, superseded, expired or email_taken. Definer: writes the account''s address and reads token hashes.';
grant execute on function app.confirm_email_change(text, inet, text, timestamptz) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Account recovery when every factor is lost
------------------------------------------------------------------------------
-- 1. The customer proves the password (the mfa_token of a sign-in waiting for
--    its second factor) and asks for recovery: POST /auth/recovery.
-- 2. Two different staff members (compliance officers or admins, at aal2, never
--    the customer) approve: api.approve_account_recovery.
-- 3. A waiting period (dwaybank.recovery_wait_hours, 72) runs from the request;
--    the customer is told at each step and can cancel (api.cancel_account_recovery
--    when signed in, or POST /auth/recovery/cancel with an mfa_token); staff can reject.
-- 4. After it, api.complete_account_recovery (staff) or the scheduled
--    app.complete_due_account_recoveries removes every factor, trusted device
--    and session; the customer signs in with the password and enrols again.
create table app.account_recoveries (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint account_recoveries_user_id_fkey references app.users (id),
  status text not null default 'pending'
    constraint account_recoveries_status_chk check (status in ('pending', 'approved', 'completed', 'cancelled', 'rejected')),
  reason text constraint account_recoveries_reason_chk check (length(reason) <= 500),
  requested_at timestamptz not null default now(),
  not_before timestamptz not null,
  first_approver uuid constraint account_recoveries_first_approver_fkey references app.users (id),
  first_approved_at timestamptz,
  second_approver uuid constraint account_recoveries_second_approver_fkey references app.users (id),
  second_approved_at timestamptz,
  closed_at timestamptz,
  closed_by uuid constraint account_recoveries_closed_by_fkey references app.users (id),
  closed_reason text constraint account_recoveries_closed_reason_chk check (length(closed_reason) <= 500),
  constraint account_recoveries_four_eyes_chk check (first_approver is distinct from second_approver or second_approver is null),
  constraint account_recoveries_not_self_chk check (first_approver is distinct from user_id and second_approver is distinct from user_id),
  constraint account_recoveries_approved_chk check (status not in ('approved', 'completed') or second_approver is not null)
);
comment on table app.account_recoveries is 'Recovery of an account whose every second factor is lost: requested by the customer, approved by two different staff members, completed after a waiting period (MFA factors reset).';
create unique index account_recoveries_open_key on app.account_recoveries (user_id) where status in ('pending', 'approved');
create index account_recoveries_status_idx on app.account_recoveries (status, not_before);

alter table app.account_recoveries enable row level security;
alter table app.account_recoveries force row level security;
create policy select_own on app.account_recoveries for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.account_recoveries for select to compliance_officer, admin using (true);
grant select on app.account_recoveries to authenticated;
select audit.enable_tracking('app.account_recoveries', 'user_id');

create function app.request_account_recovery(login_id uuid, reason text default null, ip inet default null,
                                             user_agent text default null, now timestamptz default now())
  returns table (status text, recovery_id uuid, not_before timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
  insert into app.account_recoveries (user_id, reason, requested_at, not_before)
  values (v_login.user_id, left(nullif(reason, ''), 500), now,
          now + make_interval(hours => app.setting('recovery_wait_hours', '72')::integer))
  returning * into v_recovery;
  perform app_private.queue_email(v_login.user_id, 'account_recovery_requested',
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before), now);
  perform audit.log_event('account.recovery.requested', v_login.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before), 'warning');
  return query select 'ok', v_recovery.id, v_recovery.not_before;
end
$$;
comment on function app.request_account_recovery(uuid, text, inet, text, timestamptz) is
  'Starts an account recovery for a customer who passed the password step (login_id = the mfa_token''s jti, consumed) but lost every factor.
Returns ok, already_requested or invalid_token. Definer: reads pending sign-ins in app_private.';
grant execute on function app.request_account_recovery(uuid, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app_private.assert_recovery_staff() returns uuid
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') or app.current_user_id() is null then
    raise exception 'Only compliance officers and admins handle account recoveries.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Ask a staff member.';
  end if;
  if app.current_aal() <> 'aal2' then
    raise exception 'This action needs a recent sign-in with your second factor.' using errcode = 'PT403', detail = 'STEP_UP_REQUIRED',
      hint = 'Sign in with your second factor (or POST /auth/mfa/step-up), then retry.';
  end if;
  return app.current_user_id();
end
$$;

create function api.approve_account_recovery(recovery_id uuid)
  returns app.account_recoveries
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_staff uuid := app_private.assert_recovery_staff();
  v_recovery app.account_recoveries;
begin
  select * into v_recovery from app.account_recoveries r where r.id = approve_account_recovery.recovery_id for update;
  if not found then
    raise exception 'No account recovery has this id.' using errcode = 'PT404', detail = 'RECOVERY_NOT_FOUND',
      hint = 'List open recoveries in app.account_recoveries.';
  end if;
  if v_recovery.user_id = v_staff then
    raise exception 'Nobody may approve the recovery of their own account.' using errcode = 'PT403', detail = 'FOUR_EYES_REQUIRED',
      hint = 'Two other staff members must approve it.';
  end if;
  if v_recovery.status <> 'pending' then
    raise exception 'This recovery is not waiting for approval.' using errcode = 'PT409', detail = 'RECOVERY_NOT_PENDING',
      hint = 'Only pending recoveries can be approved.';
  end if;
  if v_recovery.first_approver is null then
    update app.account_recoveries r set first_approver = v_staff, first_approved_at = pg_catalog.now() where r.id = v_recovery.id
    returning * into v_recovery;
  elsif v_recovery.first_approver = v_staff then
    raise exception 'A second, different staff member must approve.' using errcode = 'PT409', detail = 'FOUR_EYES_REQUIRED',
      hint = 'Ask a colleague to approve this recovery.';
  else
    update app.account_recoveries r set second_approver = v_staff, second_approved_at = pg_catalog.now(), status = 'approved'
     where r.id = v_recovery.id
    returning * into v_recovery;
    perform app_private.queue_email(v_recovery.user_id, 'account_recovery_approved',
      jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before), pg_catalog.now());
  end if;
  perform audit.log_event('account.recovery.approved', v_recovery.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'approval', case when v_recovery.second_approver is null then 1 else 2 end), 'warning');
  return v_recovery;
end
$$;
comment on function api.approve_account_recovery(uuid) is
  'Approves an account recovery (compliance officer or admin, at aal2). Two different staff members must approve, neither the customer.
Definer: writes recoveries, which no API role may write; the function checks the four-eyes rule itself.';
grant execute on function api.approve_account_recovery(uuid) to compliance_officer, admin;

create function app_private.close_recovery(recovery_id uuid, status text, by_user uuid, reason text, now timestamptz)
  returns app.account_recoveries
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_recovery app.account_recoveries;
begin
  update app.account_recoveries r
     set status = close_recovery.status, closed_at = now, closed_by = by_user, closed_reason = left(close_recovery.reason, 500)
   where r.id = close_recovery.recovery_id and r.status in ('pending', 'approved')
  returning * into v_recovery;
  if not found then
    raise exception 'This recovery is not open.' using errcode = 'PT409', detail = 'RECOVERY_NOT_PENDING',
      hint = 'It was already completed, cancelled or rejected.';
  end if;
  perform app_private.queue_email(v_recovery.user_id, 'account_recovery_' || close_recovery.status,
    jsonb_build_object('recovery_id', v_recovery.id), now);
  perform audit.log_event('account.recovery.' || close_recovery.status, v_recovery.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'by', by_user), 'warning');
  return v_recovery;
end
$$;

create function api.reject_account_recovery(recovery_id uuid, reason text default null)
  returns app.account_recoveries
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_staff uuid := app_private.assert_recovery_staff();
begin
  if exists (select from app.account_recoveries r where r.id = reject_account_recovery.recovery_id and r.user_id = v_staff) then
    raise exception 'Nobody may decide on the recovery of their own account.' using errcode = 'PT403', detail = 'FOUR_EYES_REQUIRED',
      hint = 'Ask a colleague.';
  end if;
  return app_private.close_recovery(recovery_id, 'rejected', v_staff, reason, pg_catalog.now());
end
$$;
comment on function api.reject_account_recovery(uuid, text) is
  'Rejects an open account recovery (compliance officer or admin, at aal2); the customer is notified.
Definer: writes recoveries, which no API role may write.';
grant execute on function api.reject_account_recovery(uuid, text) to compliance_officer, admin;

create function api.cancel_account_recovery()
  returns app.account_recoveries
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_id uuid;
begin
  select r.id into v_id from app.account_recoveries r
   where r.user_id = app.current_user_id() and r.status in ('pending', 'approved');
  if v_id is null then
    raise exception 'Your account has no open recovery.' using errcode = 'PT404', detail = 'RECOVERY_NOT_FOUND',
      hint = 'Nothing to cancel.';
  end if;
  return app_private.close_recovery(v_id, 'cancelled', app.current_user_id(), 'cancelled by the customer', pg_catalog.now());
end
$$;
comment on function api.cancel_account_recovery() is
  'Cancels the caller''s open account recovery (e.g. one they did not ask for).
Definer: writes recoveries, which no API role may write; acts only on the caller''s own.';
grant execute on function api.cancel_account_recovery() to authenticated;

create function app.cancel_account_recovery(login_id uuid, ip inet default null, user_agent text default null,
                                            now timestamptz default now())
  returns text
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_login app_private.mfa_logins;
  v_id uuid;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_login from app_private.mfa_logins l where l.id = cancel_account_recovery.login_id for update;
  if not found or v_login.consumed_at is not null or v_login.expires_at <= now then
    return 'invalid_token';
  end if;
  perform app.set_request_context(v_login.user_id, null, ip, user_agent);
  update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
  select r.id into v_id from app.account_recoveries r where r.user_id = v_login.user_id and r.status in ('pending', 'approved');
  if v_id is null then
    return 'not_found';
  end if;
  perform app_private.close_recovery(v_id, 'cancelled', v_login.user_id, 'cancelled by the customer', now);
  return 'ok';
end
$$;
comment on function app.cancel_account_recovery(uuid, inet, text, timestamptz) is
  'Cancels the open account recovery of the customer behind a pending sign-in (mfa_token jti, consumed). Returns ok, not_found or invalid_token.
Definer: reads pending sign-ins and writes recoveries.';
grant execute on function app.cancel_account_recovery(uuid, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app_private.complete_recovery(recovery_id uuid, by_user uuid, now timestamptz) returns app.account_recoveries
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_recovery app.account_recoveries;
  v_factors integer;
begin
  select * into v_recovery from app.account_recoveries r where r.id = complete_recovery.recovery_id for update;
  if not found then
    raise exception 'No account recovery has this id.' using errcode = 'PT404', detail = 'RECOVERY_NOT_FOUND', hint = 'Check the id.';
  end if;
  if v_recovery.status <> 'approved' then
    raise exception 'This recovery has not been approved by two staff members.' using errcode = 'PT409', detail = 'RECOVERY_NOT_APPROVED',
      hint = 'Two different staff members must approve it first.';
  end if;
  if v_recovery.not_before > now then
    raise exception 'The waiting period of this recovery has not ended.' using errcode = 'PT409', detail = 'RECOVERY_WAITING',
      hint = format('Complete it after %s.', v_recovery.not_before);
  end if;
  -- Secrets, backup codes, challenges and passkeys go with their factor (on delete cascade).
  delete from app.mfa_configs c where c.user_id = v_recovery.user_id;
  get diagnostics v_factors = row_count;
  perform app_private.revoke_trusted_devices(v_recovery.user_id, 'account_recovery');
  perform api.revoke_user_sessions(v_recovery.user_id, 'account_recovery');
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

create function api.complete_account_recovery(recovery_id uuid)
  returns app.account_recoveries
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_staff uuid := app_private.assert_recovery_staff();
begin
  return app_private.complete_recovery(recovery_id, v_staff, pg_catalog.now());
end
$$;
comment on function api.complete_account_recovery(uuid) is
  'Completes an approved account recovery after its waiting period: removes every second factor, trusted device and session (the customer must enrol again).
Staff at aal2. Definer: deletes secret material in app_private.';
grant execute on function api.complete_account_recovery(uuid) to compliance_officer, admin;

create function app.complete_due_account_recoveries(now timestamptz default now()) returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_id uuid;
  v_count integer := 0;
begin
  for v_id in select r.id from app.account_recoveries r where r.status = 'approved' and r.not_before <= now loop
    perform app_private.complete_recovery(v_id, null, now);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
comment on function app.complete_due_account_recoveries(timestamptz) is
  'Completes every approved recovery whose waiting period has ended. For the scheduler (pg_cron); granted to no API role.';

------------------------------------------------------------------------------
-- Sessions for the account page (through the gateway, which has no JWT role)
------------------------------------------------------------------------------
create function app.account_sessions(user_id uuid, session_id uuid, now timestamptz default now())
  returns table (id uuid, current boolean, device_name text, ip inet, user_agent text, aal text, amr text[],
                 created_at timestamptz, last_activity_at timestamptz, expires_at timestamptz, is_suspicious boolean)
  language plpgsql stable security definer
  set search_path = ''
  as $$
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
comment on function app.account_sessions(uuid, uuid, timestamptz) is
  'The live sessions of the user of a live session, the current one marked. Definer: the gateway has no table privileges.';
grant execute on function app.account_sessions(uuid, uuid, timestamptz) to :DATABASE_GATEWAY;

create function app.revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet default null,
                                           user_agent text default null, now timestamptz default now())
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_live_session(user_id, session_id, now);
  update app.user_sessions s set revoked_at = now, revoked_reason = 'revoked_by_user'
   where s.id = revoke_account_session.target and s.user_id = revoke_account_session.user_id and s.revoked_at is null;
  if not found then
    raise exception 'No live session of yours has this id.' using errcode = 'PT404', detail = 'SESSION_NOT_FOUND',
      hint = 'List your sessions with GET /auth/sessions.';
  end if;
  perform audit.log_event('session.revoked', user_id, jsonb_build_object('session_id', target));
  return true;
end
$$;
comment on function app.revoke_account_session(uuid, uuid, uuid, inet, text, timestamptz) is
  'Signs out one session of the caller (from the account page). Definer: writes revocation columns.';
grant execute on function app.revoke_account_session(uuid, uuid, uuid, inet, text, timestamptz) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Passkeys (WebAuthn). The gateway verifies signatures (@simplewebauthn/server);
-- the database keeps credentials, single-use challenges, the sign counter rule
-- and every attempt. All of a user's passkeys form one factor ('webauthn').
------------------------------------------------------------------------------
alter table app.mfa_configs drop constraint mfa_configs_method_chk;
alter table app.mfa_configs add constraint mfa_configs_method_chk
  check (method in ('totp', 'sms', 'email', 'backup_codes', 'webauthn'));
alter table app.mfa_verification_attempts drop constraint mfa_verification_attempts_method_chk;
alter table app.mfa_verification_attempts add constraint mfa_verification_attempts_method_chk
  check (method in ('totp', 'sms', 'email', 'backup_codes', 'trusted_device', 'webauthn'));
alter table app.mfa_verification_attempts drop constraint mfa_verification_attempts_purpose_chk;
alter table app.mfa_verification_attempts add constraint mfa_verification_attempts_purpose_chk
  check (purpose in ('login', 'step_up', 'enroll', 'passwordless'));

create table app.webauthn_credentials (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint webauthn_credentials_user_id_fkey references app.users (id),
  config_id uuid not null constraint webauthn_credentials_config_id_fkey references app.mfa_configs (id) on delete cascade,
  credential_id text not null constraint webauthn_credentials_credential_id_key unique
    constraint webauthn_credentials_credential_id_chk check (credential_id ~ '^[A-Za-z0-9_-]+$' and length(credential_id) between 16 and 1400),
  public_key bytea not null constraint webauthn_credentials_public_key_chk check (length(public_key) between 16 and 2048),
  sign_count bigint not null default 0 constraint webauthn_credentials_sign_count_chk check (sign_count >= 0),
  transports text[] not null default '{}',
  label text constraint webauthn_credentials_label_chk check (length(label) between 1 and 100 and label !~ '[[:cntrl:]]'),
  device_type text constraint webauthn_credentials_device_type_chk check (device_type in ('singleDevice', 'multiDevice')),
  backed_up boolean not null default false,
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);
comment on table app.webauthn_credentials is 'Passkeys: public key, sign counter (never goes back), transports, label, last use. Together they are the user''s webauthn factor (app.mfa_configs).';
create index webauthn_credentials_user_idx on app.webauthn_credentials (user_id, created_at);

alter table app.webauthn_credentials enable row level security;
alter table app.webauthn_credentials force row level security;
create policy select_own on app.webauthn_credentials for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.webauthn_credentials for select to compliance_officer, admin using (true);
grant select (id, user_id, label, transports, device_type, backed_up, created_at, last_used_at) on app.webauthn_credentials to authenticated;
select audit.enable_tracking('app.webauthn_credentials', 'user_id');

-- Challenges by SHA-256, single use, 5 minutes, bound to what they were issued for.
create table app_private.webauthn_challenges (
  challenge_hash bytea primary key constraint webauthn_challenges_challenge_hash_chk check (length(challenge_hash) = 32),
  purpose text not null constraint webauthn_challenges_purpose_chk check (purpose in ('register', 'login', 'passwordless', 'step_up')),
  user_id uuid constraint webauthn_challenges_user_id_fkey references app.users (id),
  login_id uuid constraint webauthn_challenges_login_id_fkey references app_private.mfa_logins (id) on delete cascade,
  session_id uuid constraint webauthn_challenges_session_id_fkey references app.user_sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz
);
create index webauthn_challenges_expiry_idx on app_private.webauthn_challenges (expires_at);
select audit.enable_tracking('app_private.webauthn_challenges', 'user_id', secret_columns => '{challenge_hash}');

create function app_private.store_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid,
                                                     now timestamptz)
  returns timestamptz
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_expires timestamptz := now + make_interval(mins => app.setting('webauthn_challenge_minutes', '5')::integer);
begin
  if challenge is null or challenge !~ '^[A-Za-z0-9_-]{22,128}$' then
    raise exception 'The challenge is not valid.' using errcode = 'PT400', detail = 'INVALID_INPUT',
      hint = 'The gateway generates the challenge.';
  end if;
  delete from app_private.webauthn_challenges c where c.expires_at < now - interval '1 day';
  insert into app_private.webauthn_challenges (challenge_hash, purpose, user_id, login_id, session_id, created_at, expires_at)
  values (app_private.token_hash(challenge), purpose, user_id, login_id, session_id, now, v_expires);
  return v_expires;
end
$$;

-- Uses up a challenge: true only once, for the purpose and binding it was issued with.
create function app_private.take_webauthn_challenge(challenge text, purpose text, user_id uuid, login_id uuid, session_id uuid,
                                                    now timestamptz)
  returns boolean
  language sql volatile
  set search_path = ''
  as $$
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

create function app.begin_passkey_registration(user_id uuid, session_id uuid, challenge text, ip inet default null,
                                               user_agent text default null, now timestamptz default now())
  returns table (email text, display_name text, exclude_credentials jsonb, expires_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
comment on function app.begin_passkey_registration(uuid, uuid, text, inet, text, timestamptz) is
  'Stores a registration challenge (5 minutes, single use) after the MFA management rules (recent sign-in; aal2 once a factor exists).
Definer: writes challenge hashes in app_private.';
grant execute on function app.begin_passkey_registration(uuid, uuid, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app.finish_passkey_registration(user_id uuid, session_id uuid, challenge text, credential_id text, public_key bytea,
                                                sign_count bigint, transports text[], label text, device_type text,
                                                backed_up boolean, ip inet default null, user_agent text default null,
                                                now timestamptz default now())
  returns table (status text, passkey_id uuid, backup_codes text[])
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_config_id uuid;
  v_id uuid;
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
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
  exception when check_violation then
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
comment on function app.finish_passkey_registration(uuid, uuid, text, text, bytea, bigint, text[], text, text, boolean, inet, text, timestamptz) is
  'Stores a passkey the gateway verified, using up its challenge; activates the webauthn factor and returns backup codes if the user had none.
Definer: writes app_private and MFA tables.';
grant execute on function app.finish_passkey_registration(uuid, uuid, text, text, bytea, bigint, text[], text, text, boolean, inet, text, timestamptz)
  to :DATABASE_GATEWAY;

-- A challenge for signing in (second factor: login_id of the pending sign-in;
-- passwordless: none) or for a step-up (session_id). Lists the allowed credentials.
create function app.begin_passkey_authentication(purpose text, login_id uuid default null, user_id uuid default null,
                                                 session_id uuid default null, challenge text default null,
                                                 ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, allow_credentials jsonb, expires_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
    raise exception 'Unknown purpose.' using errcode = 'PT400', detail = 'INVALID_INPUT', hint = 'login, step_up or passwordless.';
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
comment on function app.begin_passkey_authentication(text, uuid, uuid, uuid, text, inet, text, timestamptz) is
  'Stores an authentication challenge (5 minutes, single use) for a pending sign-in, a step-up or a passwordless sign-in; returns the allowed credentials.
Definer: reads pending sign-ins and writes challenge hashes in app_private.';
grant execute on function app.begin_passkey_authentication(text, uuid, uuid, uuid, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

-- The public key and counter the gateway needs to verify an assertion.
create function app.passkey_credential(credential_id text)
  returns table (user_id uuid, public_key bytea, sign_count bigint, transports text[])
  language sql stable security definer
  set search_path = ''
  as $$
    select w.user_id, w.public_key, w.sign_count, w.transports
    from app.webauthn_credentials w where w.credential_id = passkey_credential.credential_id
  $$;
comment on function app.passkey_credential(text) is
  'A passkey''s public key and sign counter, for the gateway to verify an assertion. Definer: the gateway has no table privileges.';
grant execute on function app.passkey_credential(text) to :DATABASE_GATEWAY;

-- Records the outcome of an assertion the gateway checked (verified = the
-- signature was valid) and, if good, opens the session or steps it up. Uses up
-- the challenge either way. A sign counter that does not increase is refused
-- and recorded as a security event. Returns a status instead of raising.
create function app.finish_passkey_authentication(purpose text, challenge text, credential_id text, verified boolean,
                                                  new_sign_count bigint, login_id uuid default null, for_session_id uuid default null,
                                                  ip inet default null, user_agent text default null,
                                                  device_fingerprint text default null, device_name text default null,
                                                  now timestamptz default now())
  returns table (status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text,
                 aal text, amr text[], expires_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
  select * into v_limit from app.check_mfa_rate_limit(v_user.id, ip, app.setting('mfa_max_attempts', '5')::integer,
                                                      app.setting('mfa_window_seconds', '900')::integer, now);
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
comment on function app.finish_passkey_authentication(text, text, text, boolean, bigint, uuid, uuid, inet, text, text, text, timestamptz) is
  'Completes a passkey sign-in (second factor or passwordless: an aal2 session, amr webauthn) or step-up after the gateway checked the signature.
Single-use challenge; refuses a sign counter that does not increase (security event). Returns a status so failures are recorded.
Definer: reads challenge hashes and writes sessions.';
grant execute on function app.finish_passkey_authentication(text, text, text, boolean, bigint, uuid, uuid, inet, text, text, text, timestamptz)
  to :DATABASE_GATEWAY;

create function api.my_passkeys()
  returns table (id uuid, label text, transports text[], device_type text, backed_up boolean, created_at timestamptz,
                 last_used_at timestamptz)
  language sql stable
  set search_path = ''
  as $$
    select w.id, w.label, w.transports, w.device_type, w.backed_up, w.created_at, w.last_used_at
    from app.webauthn_credentials w
    where w.user_id = app.current_user_id()
    order by w.created_at
  $$;
comment on function api.my_passkeys() is
  'The caller''s passkeys (no key material).
Security invoker: row-level security returns only the caller''s passkeys.';
grant execute on function api.my_passkeys() to authenticated;

-- Same rules as disable_mfa_method: a fresh aal2 session, and never the last
-- factor where the policy requires MFA (the last passkey removes the factor).
create function app_private.remove_passkey(user_id uuid, passkey_id uuid, now timestamptz) returns boolean
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_cred app.webauthn_credentials;
begin
  perform app_private.assert_recent_auth(true, now);
  select * into v_cred from app.webauthn_credentials w
   where w.id = remove_passkey.passkey_id and w.user_id = remove_passkey.user_id for update;
  if not found then
    raise exception 'No passkey of yours has this id.' using errcode = 'PT404', detail = 'PASSKEY_NOT_FOUND',
      hint = 'List them with /rpc/my_passkeys.';
  end if;
  if (select count(*) from app.webauthn_credentials w where w.config_id = v_cred.config_id) = 1 then
    perform api.disable_mfa_method(user_id, 'webauthn', now);
  else
    delete from app.webauthn_credentials w where w.id = v_cred.id;
    perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  end if;
  perform audit.log_event('mfa.passkey.removed', user_id, jsonb_build_object('passkey_id', v_cred.id), 'warning');
  return true;
end
$$;

create function api.remove_passkey(passkey_id uuid) returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  if app.current_user_id() is null then
    raise exception 'Sign in first.' using errcode = 'PT401', detail = 'INVALID_TOKEN', hint = 'Send an access token.';
  end if;
  return app_private.remove_passkey(app.current_user_id(), passkey_id, pg_catalog.now());
end
$$;
comment on function api.remove_passkey(uuid) is
  'Removes one of the caller''s passkeys. Needs a fresh aal2 session; the last passkey cannot go where the account''s policy requires MFA and no other factor exists.
Definer: deletes MFA rows; the function checks ownership itself.';
grant execute on function api.remove_passkey(uuid) to authenticated;

create function app.remove_passkey(user_id uuid, session_id uuid, passkey_id uuid, ip inet default null,
                                   user_agent text default null, now timestamptz default now())
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_own_session(user_id, session_id);
  return app_private.remove_passkey(user_id, passkey_id, now);
end
$$;
comment on function app.remove_passkey(uuid, uuid, uuid, inet, text, timestamptz) is
  'Removes a passkey for the gateway (DELETE /auth/passkeys/{id}), under the rules of api.remove_passkey. Definer: deletes MFA rows.';
grant execute on function app.remove_passkey(uuid, uuid, uuid, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app.account_passkeys(user_id uuid, session_id uuid, now timestamptz default now())
  returns table (id uuid, label text, transports text[], device_type text, backed_up boolean, created_at timestamptz,
                 last_used_at timestamptz)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  perform app_private.assert_live_session(user_id, session_id, now);
  return query select w.id, w.label, w.transports, w.device_type, w.backed_up, w.created_at, w.last_used_at
    from app.webauthn_credentials w where w.user_id = account_passkeys.user_id order by w.created_at;
end
$$;
comment on function app.account_passkeys(uuid, uuid, timestamptz) is
  'The passkeys of the user of a live session, for the gateway. Definer: the gateway has no table privileges.';
grant execute on function app.account_passkeys(uuid, uuid, timestamptz) to :DATABASE_GATEWAY;
