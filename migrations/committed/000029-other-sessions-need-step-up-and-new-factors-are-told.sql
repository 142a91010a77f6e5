--! Previous: sha1:6c0a4ade9220dfd6d80c92dd5b2fb21d824e0795
--! Hash: sha1:dcae4e350921265d07d8f464c8fee5d8a08d9feb
--! Message: ending another session needs step-up and new factors are told to the owner

--! split: 10-attacker-review.sql
-- What the attacker's review of the hardened stack found (issue 15, second round):
-- a stolen session ended the owner's other sessions one by one (step-up now, as
-- for revoke_user_sessions), and a factor enrolled by a password-only session
-- went untold (every new factor and passkey is now e-mailed to the owner).

------------------------------------------------------------------------------
-- Ending another of one's sessions is session management: step-up. Ending the
-- current one is signing out: never refused.
------------------------------------------------------------------------------
create or replace function api.revoke_my_session(session_id uuid)
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
Another session than the current one needs a step-up (STEP_UP_REQUIRED): a stolen session must not end the owner''s.
Definer: customers cannot write revocation columns directly; the function checks ownership itself.';

create or replace function app.revoke_account_session(user_id uuid, session_id uuid, target uuid, ip inet default null,
                                                      user_agent text default null, now timestamptz default now())
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_live_session(user_id, session_id, now);
  if target is distinct from session_id then
    perform app.assert_step_up(now);
  end if;
  update app.user_sessions s set revoked_at = now, revoked_reason = 'revoked_by_user'
   where s.id = revoke_account_session.target and s.user_id = revoke_account_session.user_id and s.revoked_at is null;
  if not found then
    raise exception 'No live session of yours has this id.' using errcode = 'PT404', detail = 'SESSION_NOT_FOUND',
      hint = 'List your sessions with GET /auth/sessions.';
  end if;
  update app_private.account_tokens t set revoked_at = now
   where t.session_id = revoke_account_session.target and t.consumed_at is null and t.revoked_at is null;
  perform audit.log_event('session.revoked', user_id, jsonb_build_object('session_id', target));
  return true;
end
$$;
comment on function app.revoke_account_session(uuid, uuid, uuid, inet, text, timestamptz) is
  'Signs out one session of the caller (from the account page); another session than the current one needs a step-up. Definer: writes revocation columns.';

------------------------------------------------------------------------------
-- Every new second factor and passkey is told to the owner's address: a
-- password-only session may set up the first factor of an account that has
-- none, and the owner must hear of it (and can then ask for recovery).
------------------------------------------------------------------------------
create or replace function app_private.tg_mfa_configs__notify_enrolled() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform app_private.queue_email(new.user_id, 'mfa_enrolled',
    jsonb_build_object('method', new.method, 'label', new.label, 'at', new.confirmed_at), pg_catalog.now());
  return null;
end
$$;
drop trigger if exists _510_notify_enrolled on app.mfa_configs;
create trigger _510_notify_enrolled after insert on app.mfa_configs
  for each row when (new.status = 'active' and new.method not in ('backup_codes', 'webauthn'))
  execute function app_private.tg_mfa_configs__notify_enrolled();
drop trigger if exists _511_notify_confirmed on app.mfa_configs;
create trigger _511_notify_confirmed after update of status on app.mfa_configs
  for each row when (old.status is distinct from 'active' and new.status = 'active' and new.method not in ('backup_codes', 'webauthn'))
  execute function app_private.tg_mfa_configs__notify_enrolled();

create or replace function app_private.tg_webauthn_credentials__notify_added() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform app_private.queue_email(new.user_id, 'passkey_added',
    jsonb_build_object('label', new.label, 'at', new.created_at), pg_catalog.now());
  return null;
end
$$;
drop trigger if exists _510_notify_added on app.webauthn_credentials;
create trigger _510_notify_added after insert on app.webauthn_credentials
  for each row execute function app_private.tg_webauthn_credentials__notify_added();
