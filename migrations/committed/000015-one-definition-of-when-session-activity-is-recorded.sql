--! Previous: sha1:4da767c80648a6a5b07c56ce763555e59ba4d440
--! Hash: sha1:614336d62b3714b1079c2be84b26c1148d41ac9c
--! Message: one definition of when session activity is recorded

--! split: 1-current.sql
-- One definition of when a session's use is recorded. The pre-request check
-- (000012) decided whether to call app.update_session_activity with a copy of
-- that function's own rules; both now ask the same two functions.

-- The client's user agent differs from the session's, and the session is not
-- yet flagged for it.
create or replace function app.session_user_agent_changed(session app.user_sessions, presented text) returns boolean
  language sql stable parallel safe
  return coalesce(presented is not null and session.user_agent is not null and session.user_agent <> left(presented, 512)
                  and not ('user_agent_changed' = any (session.suspicious_reasons)), false);
comment on function app.session_user_agent_changed(app.user_sessions, text) is
  'Whether a request''s user agent differs from its session''s (and the session is not flagged for it yet).';

-- A use is recorded at most once a minute, or at once when the user agent changed.
create or replace function app.session_activity_due(session app.user_sessions, presented text) returns boolean
  language sql stable parallel safe
  return session.last_activity_at < pg_catalog.now() - interval '1 minute' or app.session_user_agent_changed(session, presented);
comment on function app.session_activity_due(app.user_sessions, text) is
  'Whether app.update_session_activity would write: last use more than a minute ago, or a changed user agent.';

create or replace function app.update_session_activity(session_id varchar, user_agent varchar default null)
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
  v_ua_changed := app.session_user_agent_changed(v_session, update_session_activity.user_agent);
  if app.session_activity_due(v_session, update_session_activity.user_agent) and current_setting('transaction_read_only') = 'off' then
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

create or replace function app.check_request() returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_claims jsonb := app.jwt_claims();
  v_sid text := v_claims ->> 'sid';
  v_ua text;
  v_live boolean;
  v_due boolean;
begin
  -- Anonymous request: PostgREST sets no claims, or only {"role": "anon"}.
  if v_claims - 'role' = '{}'::jsonb and coalesce(v_claims ->> 'role', 'anon') = 'anon' then
    return;
  end if;
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
         app.session_activity_due(s, v_ua)
    into v_live, v_due
    from app.user_sessions s
    join app.users u on u.id = s.user_id
   where s.id = v_sid::uuid;
  if not coalesce(v_live, false) or (v_due and not app.update_session_activity(v_sid, v_ua)) then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_ENDED","message":"The session of this token has ended.","hint":"Sign in again."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
end
$$;
