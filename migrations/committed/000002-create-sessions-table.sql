--! Previous: sha1:d57db804844b0324bdd80e3c3beab0d1fc05654c
--! Hash: sha1:690fe94338f71ed24dfc095c200b5f3a2bd47c85
--! Message: create sessions table

--! split: 2-sessions.sql
-- Sessions, refresh-token rotation with reuse detection, the PostgREST
-- pre-request check, and the session seed functions. (The schemas are dropped
-- and re-created by 1-users.sql, so this file needs no drops of its own.)

create table app.user_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint user_sessions_user_id_fkey references app.users (id),
  rotation_counter integer not null default 0 constraint user_sessions_rotation_counter_chk check (rotation_counter >= 0),
  device_fingerprint text constraint user_sessions_device_fingerprint_chk check (length(device_fingerprint) <= 256),
  device_name text constraint user_sessions_device_name_chk check (length(device_name) <= 200),
  ip inet,
  user_agent text constraint user_sessions_user_agent_chk check (length(user_agent) <= 512),
  aal text not null default 'aal1' constraint user_sessions_aal_chk check (aal in ('aal1', 'aal2')),
  amr text[] not null default '{pwd}',
  auth_time timestamptz not null default now(),
  created_at timestamptz not null default now(),
  last_activity_at timestamptz not null default now(),
  idle_expires_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text constraint user_sessions_revoked_reason_chk check (length(revoked_reason) <= 64),
  is_suspicious boolean not null default false,
  suspicious_score integer not null default 0 constraint user_sessions_suspicious_score_chk check (suspicious_score between 0 and 100),
  suspicious_reasons text[] not null default '{}',
  constraint user_sessions_expiry_chk check (idle_expires_at <= expires_at and expires_at > created_at),
  constraint user_sessions_revoked_chk check ((revoked_at is null) = (revoked_reason is null))
);
comment on table app.user_sessions is 'One row per sign-in. The refresh token itself is never stored; its hashes live in app_private.refresh_tokens.';

create index user_sessions_user_id_idx on app.user_sessions (user_id, created_at desc);
create index user_sessions_live_expiry_idx on app.user_sessions (expires_at) where revoked_at is null;

alter table app.user_sessions enable row level security;
alter table app.user_sessions force row level security;
create policy select_own on app.user_sessions for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.user_sessions for select to compliance_officer, admin using (true);
grant select (id, user_id, rotation_counter, device_fingerprint, device_name, ip, user_agent, aal, amr, auth_time, created_at,
              last_activity_at, idle_expires_at, expires_at, revoked_at, revoked_reason, is_suspicious, suspicious_score,
              suspicious_reasons)
  on app.user_sessions to authenticated;

select audit.enable_tracking('app.user_sessions', 'user_id', pii_columns => '{ip,user_agent,device_fingerprint,device_name}');

-- Every refresh token a session has had, by SHA-256 hash. Keeping the rotated
-- ones is what makes a replayed token recognisable as reuse.
create table app_private.refresh_tokens (
  token_hash bytea primary key constraint refresh_tokens_token_hash_chk check (length(token_hash) = 32),
  session_id uuid not null constraint refresh_tokens_session_id_fkey references app.user_sessions (id) on delete cascade,
  generation integer not null,
  created_at timestamptz not null default now(),
  superseded_at timestamptz,
  constraint refresh_tokens_session_generation_key unique (session_id, generation)
);
select audit.enable_tracking('app_private.refresh_tokens', null, secret_columns => '{token_hash}');

create function app_private.token_hash(token text) returns bytea
  language sql immutable strict
  set search_path = ''
  as $$ select extensions.digest(convert_to(token, 'UTF8'), 'sha256') $$;

-- Opaque tokens: 256 random bits, base64url.
create function app_private.new_token() returns text
  language sql volatile
  set search_path = ''
  as $$ select translate(rtrim(encode(extensions.gen_random_bytes(32), 'base64'), '='), '+/', '-_') $$;

-- The successor of a refresh token is derived from it under a key that never
-- leaves the database, so two concurrent refreshes of one token receive the
-- same successor instead of two independent live tokens.
create function app_private.successor_token(token text) returns text
  language sql stable strict
  set search_path = ''
  as $$ select translate(rtrim(encode(extensions.hmac(convert_to(token, 'UTF8'), app_private.key('refresh_successor'), 'sha256'), 'base64'), '='), '+/', '-_') $$;

------------------------------------------------------------------------------
-- Seed functions: sessions
------------------------------------------------------------------------------
-- Rule-based risk of a new session, from what the user's earlier sessions show.
create function app.detect_suspicious_session(user_id uuid, ip inet, user_agent text, device_fingerprint varchar,
                                              now timestamptz default now())
  returns table (score integer, reasons text[])
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_reasons text[] := '{}'::text[];
  v_score integer := 0;
  v_history bigint;
  v_prefix cidr := case when family(ip) = 4 then set_masklen(ip::cidr, 24) else set_masklen(ip::cidr, 48) end;
begin
  select count(*) into v_history from app.user_sessions s where s.user_id = detect_suspicious_session.user_id;
  if v_history = 0 then
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
  if (select count(*) from app.user_sessions s where s.user_id = detect_suspicious_session.user_id
        and s.created_at > now - interval '10 minutes') >= app.setting('session_burst_limit', '5')::integer then
    v_score := v_score + 35; v_reasons := v_reasons || 'session_burst'::text;
  end if;
  return query select least(v_score, 100), v_reasons;
end
$$;
comment on function app.detect_suspicious_session(uuid, inet, text, varchar, timestamptz) is
  'Scores a new session 0-100 with its reasons: new device, new network prefix, new user agent, burst of sessions.
Definer: compares with all of the user''s sessions, including columns callers cannot read.';

create function app_private.create_session(user_id uuid, aal text, amr text[], ip inet, user_agent text,
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
  perform audit.log_event('session.created', create_session.user_id,
    jsonb_build_object('session_id', v_session.id, 'aal', create_session.aal, 'risk_score', v_risk.score, 'risk_reasons', v_risk.reasons));
  if v_session.is_suspicious then
    perform audit.log_event('session.suspicious', create_session.user_id,
      jsonb_build_object('session_id', v_session.id, 'risk_score', v_risk.score, 'risk_reasons', v_risk.reasons), 'warning');
  end if;
  return query select v_session.id, v_token, v_session.expires_at;
end
$$;

-- What follows a correct password. Here: a new aal1 session. The MFA migration
-- replaces this function so that a user with a second factor gets a pending
-- sign-in (login_id, mfa_methods) instead; app.authenticate stays as it is.
create function app_private.finish_password_login(user_id uuid, ip inet, user_agent text, device_fingerprint text,
                                                  device_name text, now timestamptz)
  returns table (status text, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamptz,
                 login_id uuid, mfa_methods text[])
  language sql volatile
  set search_path = ''
  as $$
    select 'ok', s.session_id, s.refresh_token, 'aal1', '{pwd}'::text[], s.expires_at, null::uuid, null::text[]
    from app_private.create_session(user_id, 'aal1', '{pwd}', ip, user_agent, device_fingerprint, device_name, now) s
  $$;

-- Sign-in with a password. Never raises for a wrong password, a lockout or a
-- throttle: it returns a status, so the counters it wrote are committed.
create function app.authenticate(email text, password text, ip inet default null, user_agent text default null,
                                 device_fingerprint text default null, device_name text default null,
                                 now timestamptz default now())
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
    if v_user.locked_until > now then
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
  v_state := app.handle_failed_login(v_email, now);
  return query select 'invalid', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz, null::uuid, null::text[];
end
$$;
comment on function app.authenticate(text, text, inet, text, text, text, timestamptz) is
  'Password sign-in: per-IP throttle, lockout, bcrypt check, session creation. Returns a status instead of raising so failures are committed.
Definer: reads password hashes in app_private.';
grant execute on function app.authenticate(text, text, inet, text, text, text, timestamptz) to :DATABASE_GATEWAY;

-- Rotates a refresh token. A token rotated less than `refresh_grace_seconds`
-- ago returns the same successor (concurrent tabs); any older one is reuse:
-- the whole session is revoked and a security event recorded.
create function app.refresh_session(token text, ip inet default null, user_agent text default null,
                                    now timestamptz default now())
  returns table (status text, session_id uuid, user_id uuid, role text, aal text, amr text[], auth_time timestamptz,
                 refresh_token text, expires_at timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
           idle_expires_at = least(s.expires_at, now + make_interval(mins => app.setting('session_idle_minutes', '30')::integer)),
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
        and v_token.superseded_at > now - make_interval(secs => app.setting('refresh_grace_seconds', '10')::integer) then
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
comment on function app.refresh_session(text, inet, text, timestamptz) is
  'Rotates a refresh token; a replayed old token revokes the session. Returns a status so the revocation is committed.
Definer: reads and writes token hashes in app_private.';
grant execute on function app.refresh_session(text, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function api.revoke_user_sessions(user_id uuid, reason varchar default 'revoked', except_session varchar default null)
  returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  if app.caller_role() in ('anon', 'authenticated', 'compliance_officer')
     and revoke_user_sessions.user_id is distinct from app.current_user_id() then
    raise exception 'You may only revoke your own sessions.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Staff revoke other users'' sessions with the admin role.';
  end if;
  if reason is null or length(reason) > 64 or reason !~ '^[a-z0-9_]+$' then
    raise exception 'The reason must be a short snake_case word.' using errcode = 'PT400', detail = 'INVALID_REASON',
      hint = 'For example: logout, password_changed, compromised.';
  end if;
  update app.user_sessions s
     set revoked_at = now(), revoked_reason = revoke_user_sessions.reason
   where s.user_id = revoke_user_sessions.user_id
     and s.revoked_at is null
     and s.id::text is distinct from revoke_user_sessions.except_session;
  get diagnostics v_count = row_count;
  perform audit.log_event('session.revoked_all', revoke_user_sessions.user_id,
    jsonb_build_object('reason', reason, 'count', v_count, 'kept', except_session));
  return v_count;
end
$$;
comment on function api.revoke_user_sessions(uuid, varchar, varchar) is
  'Revokes every live session of a user, optionally keeping one.
Customers may revoke only their own; admins anyone''s. Definer: writes revocation columns no API role may write.';
grant execute on function api.revoke_user_sessions(uuid, varchar, varchar) to authenticated, :DATABASE_GATEWAY;

create function app.logout(session_id uuid, ip inet default null, user_agent text default null) returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user_id uuid;
begin
  update app.user_sessions s set revoked_at = now(), revoked_reason = 'logout'
   where s.id = logout.session_id and s.revoked_at is null
   returning s.user_id into v_user_id;
  if v_user_id is not null then
    perform app.set_request_context(v_user_id, logout.session_id, ip, user_agent);
    perform audit.log_event('auth.logout', v_user_id, jsonb_build_object('session_id', logout.session_id));
  end if;
  return v_user_id is not null;
end
$$;
comment on function app.logout(uuid, inet, text) is 'Ends one session at once. Definer: writes revocation columns.';
grant execute on function app.logout(uuid, inet, text) to :DATABASE_GATEWAY;

-- Records activity at most once a minute per session, so a busy client does not
-- turn every read into a write, and flags a user agent that changes within a
-- session. Returns whether the session is live. (Read-only requests, e.g. GET
-- through PostgREST, only check.)
create function app.update_session_activity(session_id varchar, user_agent varchar default null)
  returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_session app.user_sessions;
  v_ua_changed boolean;
begin
  select * into v_session from app.user_sessions s where s.id = update_session_activity.session_id::uuid;
  if not found or v_session.revoked_at is not null or v_session.expires_at <= now() or v_session.idle_expires_at <= now() then
    return false;
  end if;
  v_ua_changed := update_session_activity.user_agent is not null and v_session.user_agent is not null
                  and v_session.user_agent <> left(update_session_activity.user_agent, 512)
                  and not ('user_agent_changed' = any (v_session.suspicious_reasons));
  if (v_session.last_activity_at < now() - interval '1 minute' or v_ua_changed)
     and current_setting('transaction_read_only') = 'off' then
    update app.user_sessions s
       set last_activity_at = now(),
           idle_expires_at = least(s.expires_at, now() + make_interval(mins => app.setting('session_idle_minutes', '30')::integer)),
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
comment on function app.update_session_activity(varchar, varchar) is
  'Marks a session as used (at most once a minute), flags a user agent that changed within the session, and tells whether it is live.
Definer: writes session columns no API role may write.';
grant execute on function app.update_session_activity(varchar, varchar) to :DATABASE_GATEWAY;

create function app.cleanup_expired_sessions(now timestamptz default now()) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
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
   where s.revoked_at < cleanup_expired_sessions.now - make_interval(days => app.setting('session_retention_days', '90')::integer);
  get diagnostics v_deleted = row_count;
  perform audit.log_event('session.cleanup', null, jsonb_build_object('ended', v_ended, 'deleted', v_deleted));
  return v_ended + v_deleted;
end
$$;
comment on function app.cleanup_expired_sessions(timestamptz) is
  'Ends sessions past their idle or absolute expiry, drops their token hashes, and deletes sessions past retention.
Definer: run by the scheduler, writes every user''s sessions.';

------------------------------------------------------------------------------
-- PostgREST pre-request: PostgREST verifies the signature and exp; this checks
-- what it does not: exp present, iss, token type, and a live session.
------------------------------------------------------------------------------
create function app.check_request() returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_claims jsonb := app.jwt_claims();
begin
  -- Anonymous request: PostgREST sets no claims, or only {"role": "anon"}.
  if v_claims - 'role' = '{}'::jsonb and coalesce(v_claims ->> 'role', 'anon') = 'anon' then
    return;
  end if;
  if v_claims ->> 'exp' is null
     or v_claims ->> 'iss' is null
     or v_claims ->> 'iss' is distinct from coalesce(nullif(current_setting('app.settings.jwt_issuer', true), ''), 'https://auth.dwaybank.local')
     or v_claims ->> 'token_use' is distinct from 'access'
     or v_claims ->> 'sid' is null
     or v_claims ->> 'sub' is null
     or (v_claims ->> 'exp')::numeric > extract(epoch from now()) + 900 + 60 then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"The access token is not valid for this API.","hint":"Sign in again to get a new access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  if not app.update_session_activity(v_claims ->> 'sid',
                                     nullif(current_setting('request.headers', true), '')::jsonb ->> 'user-agent')
     or not exists (select from app.user_sessions s join app.users u on u.id = s.user_id
                     where s.id = (v_claims ->> 'sid')::uuid and s.user_id::text = v_claims ->> 'sub'
                       and u.deleted_at is null and u.status = 'active') then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_ENDED","message":"The session of this token has ended.","hint":"Sign in again."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
exception
  when invalid_text_representation or numeric_value_out_of_range then
    raise sqlstate 'PGRST' using
      message = '{"code":"INVALID_TOKEN","message":"The access token is not valid for this API.","hint":"Sign in again to get a new access token."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
end
$$;
comment on function app.check_request() is
  'PostgREST db-pre-request: rejects tokens without exp, with a wrong iss or token type, or whose session ended.
Definer: reads sessions of any user to decide.';
grant execute on function app.check_request() to anon, authenticated;

------------------------------------------------------------------------------
-- API: the caller's own profile and sessions
------------------------------------------------------------------------------
create type app.profile as (
  id uuid, email text, phone text, country_code text, first_name text, last_name text, date_of_birth date,
  role text, status text, email_verified_at timestamptz, referral_code text, created_at timestamptz,
  last_login_at timestamptz, password_changed_at timestamptz
);

create function api.me() returns app.profile
  language sql stable
  set search_path = ''
  as $$
    select row(u.id, u.email::text, u.phone, u.country_code, u.first_name, u.last_name, u.date_of_birth, u.role, u.status,
           u.email_verified_at, u.referral_code, u.created_at, u.last_login_at, u.password_changed_at)::app.profile
    from app.users u
    where u.id = app.current_user_id()
  $$;
comment on function api.me() is
  'The caller''s profile.
Security invoker: row-level security returns only the caller''s own row.';
grant execute on function api.me() to authenticated;

create function api.update_my_profile(first_name text default null, last_name text default null, phone text default null,
                                      country_code text default null, date_of_birth date default null)
  returns app.profile
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  if date_of_birth > current_date then
    raise exception 'The date of birth is in the future.' using errcode = 'PT400', detail = 'INVALID_PROFILE',
      hint = 'Give the date of birth as YYYY-MM-DD.';
  end if;
  update app.users u
     set first_name = coalesce(update_my_profile.first_name, u.first_name),
         last_name = coalesce(update_my_profile.last_name, u.last_name),
         phone = coalesce(update_my_profile.phone, u.phone),
         country_code = coalesce(upper(update_my_profile.country_code), u.country_code),
         date_of_birth = coalesce(update_my_profile.date_of_birth, u.date_of_birth)
   where u.id = app.current_user_id();
  return api.me();
exception
  when check_violation or foreign_key_violation then
    raise exception 'A profile field is not valid.' using errcode = 'PT400', detail = 'INVALID_PROFILE',
      hint = 'Phone numbers are E.164 (+4915112345678), countries ISO 3166-1 alpha-2 (DE), names 1 to 100 characters without control characters.';
end
$$;
comment on function api.update_my_profile(text, text, text, text, date) is
  'Changes the caller''s name, phone, country or date of birth; omitted fields keep their value.
Security invoker: column grants and row-level security allow only these columns of the caller''s own row.';
grant execute on function api.update_my_profile(text, text, text, text, date) to authenticated;

create function api.my_sessions()
  returns table (id uuid, current boolean, device_name text, device_fingerprint text, ip inet, user_agent text, aal text,
                 created_at timestamptz, last_activity_at timestamptz, expires_at timestamptz, revoked_at timestamptz,
                 revoked_reason text, is_suspicious boolean, suspicious_reasons text[])
  language sql stable
  set search_path = ''
  as $$
    select s.id, s.id = app.current_session_id(), s.device_name, s.device_fingerprint, s.ip, s.user_agent, s.aal,
           s.created_at, s.last_activity_at, s.expires_at, s.revoked_at, s.revoked_reason, s.is_suspicious, s.suspicious_reasons
    from app.user_sessions s
    where s.user_id = app.current_user_id()
    order by s.revoked_at is not null, s.last_activity_at desc
    limit 100
  $$;
comment on function api.my_sessions() is
  'The caller''s sessions, newest first, with the current one marked.
Security invoker: row-level security returns only the caller''s sessions.';
grant execute on function api.my_sessions() to authenticated;

create function api.revoke_my_session(session_id uuid) returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_found boolean;
begin
  update app.user_sessions s set revoked_at = now(), revoked_reason = 'revoked_by_user'
   where s.id = revoke_my_session.session_id and s.user_id = app.current_user_id() and s.revoked_at is null;
  v_found := found;
  if not v_found then
    raise exception 'No live session of yours has this id.' using errcode = 'PT404', detail = 'SESSION_NOT_FOUND',
      hint = 'List your sessions with /rpc/my_sessions.';
  end if;
  perform audit.log_event('session.revoked', app.current_user_id(), jsonb_build_object('session_id', session_id));
  return true;
end
$$;
comment on function api.revoke_my_session(uuid) is
  'Signs out one of the caller''s sessions at once.
Definer: customers cannot write revocation columns directly; the function checks ownership itself.';
grant execute on function api.revoke_my_session(uuid) to authenticated;
