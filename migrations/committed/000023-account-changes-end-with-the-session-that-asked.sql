--! Previous: sha1:144411de299dea413071c1cbf39dbf861b77bc81
--! Hash: sha1:b85c8232ee1088391d380e5bc401e1b0c31212ab
--! Message: account changes end with the session that asked for them, and factor removal is the owner's alone

--! split: 4-account-flows.sql
-- Account flows hardened against an attacker who knows the password (issue 15,
-- findings 13-16, and the password-change half of 5). Idempotent: re-applied on
-- every run of the current migration.

------------------------------------------------------------------------------
-- Account tokens: the session that asked (e-mail change), and recovery cancel links
------------------------------------------------------------------------------
alter table app_private.account_tokens add column if not exists session_id uuid;
comment on column app_private.account_tokens.session_id is
  'The session that asked for the token (e-mail change): the change is confirmed only while that session is alive.';
alter table app_private.account_tokens drop constraint if exists account_tokens_purpose_chk;
alter table app_private.account_tokens add constraint account_tokens_purpose_chk
  check (purpose in ('email_verification', 'password_reset', 'email_change', 'recovery_cancel'));
create index if not exists account_tokens_session_idx on app_private.account_tokens (session_id) where session_id is not null;

drop function if exists app_private.issue_account_token(uuid, text, text, interval, timestamptz);
create or replace function app_private.issue_account_token(user_id uuid, purpose text, email text, lifetime interval,
                                                           now timestamptz, session_id uuid default null)
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
  insert into app_private.account_tokens (user_id, purpose, token_hash, email, created_at, expires_at, session_id)
  values (issue_account_token.user_id, issue_account_token.purpose, app_private.token_hash(v_token),
          issue_account_token.email, now, now + lifetime, issue_account_token.session_id);
  return query select v_token, now + lifetime;
end
$$;
comment on function app_private.issue_account_token(uuid, text, text, interval, timestamptz, uuid) is
  'Issues a single-use e-mailed token (only its hash is kept), revoking older ones of the same purpose; session_id records the session that asked.';

-- Every link sent by e-mail that changes the account (e-mail change, password
-- reset, verification) ends with a password reset or change and with "sign out
-- everywhere". A recovery's cancel link stays: it protects the owner.
create or replace function app_private.revoke_account_tokens(user_id uuid, reason text, now timestamptz)
  returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
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
comment on function app_private.revoke_account_tokens(uuid, text, timestamptz) is
  'Revokes every pending e-mailed token of a user except recovery cancel links (after a password reset or change, or "sign out everywhere").';

-- The one place sessions of a user end together; callers check who may do it.
create or replace function app_private.revoke_sessions(user_id uuid, reason text, except_session uuid, now timestamptz)
  returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
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
comment on function app_private.revoke_sessions(uuid, text, uuid, timestamptz) is
  'Ends every live session of a user but except_session, and revokes the pending e-mailed tokens (app_private.revoke_account_tokens). No role check: callers decide.';

------------------------------------------------------------------------------
-- Sign out: one session, or everywhere (finding 15)
------------------------------------------------------------------------------
create or replace function api.revoke_user_sessions(user_id uuid, reason varchar default 'revoked', except_session varchar default null)
  returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_role text := app.caller_role();
begin
  if v_role in ('anon', 'authenticated', 'compliance_officer', 'admin') then
    if revoke_user_sessions.user_id is distinct from app.current_user_id() then
      if v_role <> 'admin' then
        raise exception 'You may only revoke your own sessions.' using errcode = 'PT403', detail = 'FORBIDDEN',
          hint = 'Staff revoke other users'' sessions with the admin role.';
      end if;
    else
      -- A stolen session must not be able to end the owner's sessions.
      perform app.assert_step_up();
    end if;
    if except_session is not null and except_session is distinct from app.current_session_id()::text then
      raise exception 'Only your current session can be kept.' using errcode = 'PT400', detail = 'INVALID_EXCEPT_SESSION',
        hint = 'Leave except_session empty, or give the id of the session this token belongs to (its sid claim).';
    end if;
  end if;
  if reason is null or length(reason) > 64 or reason !~ '^[a-z0-9_]+$' then
    raise exception 'The reason must be a short snake_case word.' using errcode = 'PT400', detail = 'INVALID_REASON',
      hint = 'For example: logout, password_changed, compromised.';
  end if;
  return app_private.revoke_sessions(revoke_user_sessions.user_id, reason, except_session::uuid, pg_catalog.now());
end
$$;
comment on function api.revoke_user_sessions(uuid, varchar, varchar) is
  'Revokes every live session of a user (and the pending e-mailed links: e-mail change, password reset), optionally keeping the caller''s current one.
Customers may revoke only their own, after a step-up; admins anyone''s. Raises STEP_UP_REQUIRED, INVALID_EXCEPT_SESSION, INVALID_REASON, FORBIDDEN.
Definer: writes revocation columns no API role may write.';
grant execute on function api.revoke_user_sessions(uuid, varchar, varchar) to authenticated, :DATABASE_GATEWAY;

create or replace function api.revoke_my_session(session_id uuid)
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_found boolean;
begin
  update app.user_sessions s set revoked_at = pg_catalog.now(), revoked_reason = 'revoked_by_user'
   where s.id = revoke_my_session.session_id and s.user_id = app.current_user_id() and s.revoked_at is null;
  v_found := found;
  if not v_found then
    raise exception 'No live session of yours has this id.' using errcode = 'PT404', detail = 'SESSION_NOT_FOUND',
      hint = 'List your sessions with /rpc/my_sessions.';
  end if;
  -- What the session asked for (an e-mail change) ends with it.
  update app_private.account_tokens t set revoked_at = pg_catalog.now()
   where t.session_id = revoke_my_session.session_id and t.consumed_at is null and t.revoked_at is null;
  perform audit.log_event('session.revoked', app.current_user_id(), jsonb_build_object('session_id', session_id));
  return true;
end
$$;
comment on function api.revoke_my_session(uuid) is 'Signs out one of the caller''s sessions at once (and the e-mail change it asked for).
Definer: customers cannot write revocation columns directly; the function checks ownership itself.';

create or replace function app.logout(session_id uuid, ip inet default null, user_agent text default null)
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
comment on function app.logout(uuid, inet, text) is
  'Ends one session at once, and the e-mail change it asked for. Definer: writes revocation columns and token rows.';

------------------------------------------------------------------------------
-- Password change (finding 5) and reset (finding 13)
------------------------------------------------------------------------------
drop function if exists app.change_password(uuid, uuid, text, text, inet, text, timestamptz);
create function app.change_password(user_id uuid, session_id uuid, current_password text, new_password text,
                                    ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, revoked_sessions integer, retry_after_seconds integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
comment on function app.change_password(uuid, uuid, text, text, inet, text, timestamptz) is
  'Changes the password: needs the current one and a step-up (aal2 within 10 minutes, or a recent sign-in without MFA); revokes the other sessions and every pending e-mailed link, and notifies the user.
A wrong current password counts as a failed sign-in (same lockout as app.authenticate). Returns ok, invalid_password or locked (with retry_after_seconds);
raises STEP_UP_REQUIRED, WEAK_PASSWORD. Definer: writes the password hash and lockout columns.';
grant execute on function app.change_password(uuid, uuid, text, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create or replace function app.reset_password(token text, new_password text, ip inet default null, user_agent text default null,
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
  -- Every session, remembered device and pending e-mailed link (an e-mail change
  -- above all) ends; the second factor stays, so the next sign-in still asks for it.
  v_revoked := app_private.revoke_sessions(v_token.user_id, 'password_reset', null, now);
  perform app_private.revoke_trusted_devices(v_token.user_id, 'password_reset');
  perform app_private.queue_email(v_token.user_id, 'password_changed', jsonb_build_object('reason', 'reset', 'at', now), now);
  perform audit.log_event('account.password.reset', v_token.user_id, jsonb_build_object('revoked_sessions', v_revoked), 'warning');
  return query select 'ok', v_token.user_id, v_revoked;
end
$$;
comment on function app.reset_password(text, text, inet, text, timestamptz) is
  'Sets a new password with a reset token (single use), revokes every session, trusted device and pending e-mailed link (e-mail change, other reset links), and notifies the user. MFA is untouched.
Returns ok, invalid, used, superseded or expired; raises WEAK_PASSWORD. Definer: writes the password hash.';

------------------------------------------------------------------------------
-- E-mail change: bound to the session that asked (finding 13)
------------------------------------------------------------------------------
create or replace function app.request_email_change(user_id uuid, session_id uuid, new_email text, ip inet default null,
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
    make_interval(hours => app.setting('email_change_hours', '24')::integer), now, session_id);
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
  'Starts an e-mail change: needs a step-up; sends a confirmation link (24 hours, single use, valid only while the asking session lives) to the new address and a notice to the current one, which keeps working until the change is confirmed.
Raises STEP_UP_REQUIRED, INVALID_EMAIL, EMAIL_UNCHANGED. Definer: writes token hashes and the outbox.';

create or replace function app.confirm_email_change(token text, ip inet default null, user_agent text default null,
                                                    now timestamptz default now())
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
$$;
comment on function app.confirm_email_change(text, inet, text, timestamptz) is
  'Completes an e-mail change with the token sent to the new address (which is then verified) and notifies the old address, if the session that asked is still alive.
Returns ok, invalid, used, superseded, expired, session_ended or email_taken. Definer: writes the account''s address and reads token hashes.';

------------------------------------------------------------------------------
-- Removing a factor: the owner only, told by e-mail; no clock parameter (finding 14)
------------------------------------------------------------------------------
create or replace function app_private.disable_mfa_method(user_id uuid, method text, now timestamptz)
  returns boolean
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
  v_others integer;
begin
  select * into v_config from app.mfa_configs c
   where c.user_id = disable_mfa_method.user_id and c.method = disable_mfa_method.method
   for update;
  if not found then
    raise exception 'This second factor is not set up.' using errcode = 'PT404', detail = 'MFA_METHOD_NOT_FOUND',
      hint = 'List the factors with /rpc/get_user_mfa_methods.';
  end if;
  select count(*) into v_others from app.mfa_configs c
   where c.user_id = disable_mfa_method.user_id and c.status = 'active' and c.id <> v_config.id and c.method <> 'backup_codes';
  if v_config.status = 'active' and v_config.method <> 'backup_codes' and v_others = 0
     and app.mfa_policy_required(disable_mfa_method.user_id) then
    raise exception 'The account''s policy requires a second factor; this is the last one.' using errcode = 'PT409',
      detail = 'MFA_REQUIRED_BY_POLICY', hint = 'Set up another factor first, then remove this one.';
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
comment on function app_private.disable_mfa_method(uuid, text, timestamptz) is
  'Removes a factor of a user (backup codes go with the last one), forgets trusted devices and tells the user by e-mail. Callers check who may.';

drop function if exists api.disable_mfa_method(uuid, varchar, timestamptz);
create or replace function api.disable_mfa_method(user_id uuid, method varchar)
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  -- Nobody removes another person's factor alone, staff included: that is the
  -- four-eyes account recovery (two approvers, a waiting period, notices).
  if disable_mfa_method.user_id is distinct from coalesce(app.current_user_id(),
       nullif(pg_catalog.current_setting('dwaybank.actor_id', true), '')::uuid) then
    raise exception 'You may only remove your own second factors.' using errcode = 'PT403', detail = 'ACCOUNT_RECOVERY_REQUIRED',
      hint = 'A customer who lost every factor asks for account recovery (POST /auth/recovery); two staff members approve it.';
  end if;
  perform app_private.assert_recent_auth(true, pg_catalog.now());
  return app_private.disable_mfa_method(disable_mfa_method.user_id, disable_mfa_method.method, pg_catalog.now());
end
$$;
comment on function api.disable_mfa_method(uuid, varchar) is
  'Removes one of the caller''s own second factors. Needs a fresh aal2 session (auth_time within 10 minutes); refuses to remove the last factor when the account''s policy requires MFA; revokes trusted devices and tells the customer by e-mail.
Another person''s factor goes only through account recovery (ACCOUNT_RECOVERY_REQUIRED). Definer: deletes secret material in app_private.';
grant execute on function api.disable_mfa_method(uuid, varchar) to authenticated, :DATABASE_GATEWAY;

-- (Owned elsewhere; changed only because api.disable_mfa_method lost its clock parameter.)
create or replace function app_private.remove_passkey(user_id uuid, passkey_id uuid, now timestamptz)
  returns boolean
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
    perform app_private.disable_mfa_method(user_id, 'webauthn', now);
  else
    delete from app.webauthn_credentials w where w.id = v_cred.id;
    perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  end if;
  perform audit.log_event('mfa.passkey.removed', user_id, jsonb_build_object('passkey_id', v_cred.id), 'warning');
  return true;
end
$$;

------------------------------------------------------------------------------
-- Account recovery (finding 16): the wait starts at the second approval; the
-- customer is told then, with a cancel link; officers complete due ones; a job does
------------------------------------------------------------------------------
-- A cancel link for the account's verified address (none if it is unverified:
-- an unverified address is no proof of ownership).
create or replace function app_private.recovery_cancel_link(user_id uuid, now timestamptz)
  returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_email text;
  v_token record;
begin
  select u.email::text into v_email from app.users u where u.id = recovery_cancel_link.user_id and u.email_verified_at is not null;
  if v_email is null then
    return '{}'::jsonb;
  end if;
  select * into v_token from app_private.issue_account_token(user_id, 'recovery_cancel', v_email,
    make_interval(days => app.setting('recovery_cancel_days', '30')::integer), now);
  return jsonb_build_object('to', v_email, 'cancel_token', v_token.token,
    'cancel', 'POST /auth/recovery/cancel with {"token": cancel_token}, or /rpc/cancel_account_recovery when signed in');
end
$$;
comment on function app_private.recovery_cancel_link(uuid, timestamptz) is
  'Issues a single-use link that cancels the open recovery, for the recovery notices to the verified address.';

create or replace function app.request_account_recovery(login_id uuid, reason text default null, ip inet default null,
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
  -- not_before is the earliest completion; the second approval moves it to approval + the waiting period.
  insert into app.account_recoveries (user_id, reason, requested_at, not_before)
  values (v_login.user_id, left(nullif(reason, ''), 500), now,
          now + make_interval(hours => app.setting('recovery_wait_hours', '72')::integer))
  returning * into v_recovery;
  perform app_private.queue_email(v_login.user_id, 'account_recovery_requested',
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before)
      || app_private.recovery_cancel_link(v_login.user_id, now), now);
  perform audit.log_event('account.recovery.requested', v_login.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before), 'warning');
  return query select 'ok', v_recovery.id, v_recovery.not_before;
end
$$;
comment on function app.request_account_recovery(uuid, text, inet, text, timestamptz) is
  'Starts an account recovery for a customer who passed the password step (login_id = the mfa_token''s jti, consumed) but lost every factor; the notice to the verified address carries a cancel link.
not_before is the earliest completion: the waiting period runs from the second approval. Returns ok, already_requested or invalid_token. Definer: reads pending sign-ins in app_private.';

create or replace function api.approve_account_recovery(recovery_id uuid)
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
    -- The waiting period starts now, so the customer always has it to cancel.
    update app.account_recoveries r
       set second_approver = v_staff, second_approved_at = pg_catalog.now(), status = 'approved',
           not_before = pg_catalog.now() + make_interval(hours => app.setting('recovery_wait_hours', '72')::integer)
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
comment on function api.approve_account_recovery(uuid) is
  'Approves an account recovery (compliance officer or admin, at aal2). Two different staff members must approve, neither the customer; the second approval starts the waiting period (72 hours) and tells the customer when it completes and how to cancel.
Definer: writes recoveries, which no API role may write; the function checks the four-eyes rule itself.';

drop function if exists app.cancel_account_recovery(uuid, inet, text, timestamptz);
create or replace function app.cancel_account_recovery(token text, ip inet default null, user_agent text default null,
                                                       now timestamptz default now())
  returns text
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
comment on function app.cancel_account_recovery(text, inet, text, timestamptz) is
  'Cancels the open account recovery with the single-use link e-mailed to the verified address (a password alone cannot).
Returns ok, not_found, invalid, used, superseded or expired. Definer: reads token hashes and writes recoveries.';
grant execute on function app.cancel_account_recovery(text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create or replace function api.cancel_account_recovery()
  returns app.account_recoveries
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_id uuid;
begin
  -- A session opened with a stolen password must step up first.
  perform app.assert_step_up();
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
  'Cancels the caller''s open account recovery (e.g. one they did not ask for). Needs a step-up (STEP_UP_REQUIRED).
Definer: writes recoveries, which no API role may write; acts only on the caller''s own.';

create or replace function app_private.close_recovery(recovery_id uuid, status text, by_user uuid, reason text, now timestamptz)
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
  update app_private.account_tokens t set revoked_at = now
   where t.user_id = v_recovery.user_id and t.purpose = 'recovery_cancel' and t.consumed_at is null and t.revoked_at is null;
  perform app_private.queue_email(v_recovery.user_id, 'account_recovery_' || close_recovery.status,
    jsonb_build_object('recovery_id', v_recovery.id), now);
  perform audit.log_event('account.recovery.' || close_recovery.status, v_recovery.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'by', by_user), 'warning');
  return v_recovery;
end
$$;

create or replace function app_private.complete_recovery(recovery_id uuid, by_user uuid, now timestamptz)
  returns app.account_recoveries
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
  if v_recovery.status <> 'approved' or v_recovery.second_approved_at is null then
    raise exception 'This recovery has not been approved by two staff members.' using errcode = 'PT409', detail = 'RECOVERY_NOT_APPROVED',
      hint = 'Two different staff members must approve it first.';
  end if;
  -- not_before is set by the second approval (approval + the waiting period).
  if v_recovery.not_before > now then
    raise exception 'The waiting period of this recovery has not ended.' using errcode = 'PT409', detail = 'RECOVERY_WAITING',
      hint = format('Complete it after %s.', v_recovery.not_before);
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

create or replace function app.complete_due_account_recoveries(now timestamptz default now())
  returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
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
comment on function app.complete_due_account_recoveries(timestamptz) is
  'Completes every approved recovery whose waiting period (from the second approval) has ended. Run by pg_cron as maintenance job `recoveries`; granted to no API role.';

-- Recoveries approved before the waiting period moved to the second approval get it now.
update app.account_recoveries r
   set not_before = r.second_approved_at + make_interval(hours => app.setting('recovery_wait_hours', '72')::integer)
 where r.status = 'approved' and r.second_approved_at is not null
   and r.not_before < r.second_approved_at + make_interval(hours => app.setting('recovery_wait_hours', '72')::integer);

------------------------------------------------------------------------------
-- The scheduler: due recoveries complete without anyone asking (maintenance job `recoveries`)
------------------------------------------------------------------------------
create or replace function app_private.maintenance_jobs()
  returns table (job text, schedule text, description text)
  language sql immutable
  set search_path = ''
  as $$
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

create or replace function app_private.run_job(job text, now timestamptz default now())
  returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_run bigint;
  v_result jsonb;
  v_error text;
begin
  if not exists (select from app_private.maintenance_jobs() j where j.job = run_job.job) then
    raise exception 'There is no maintenance job with this name.' using errcode = 'PT400', detail = 'UNKNOWN_JOB',
      hint = 'Jobs: seal, checkpoint, partitions, sessions, kyc_expiry, reports, retention, erasure, recoveries.';
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

do $$
begin
  if exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    execute 'select cron.schedule($1, $2, $3)'
      using 'dwaybank:recoveries', (select j.schedule from app_private.maintenance_jobs() j where j.job = 'recoveries'),
            'select app_private.run_job(''recoveries'')';
  end if;
end
$$;
