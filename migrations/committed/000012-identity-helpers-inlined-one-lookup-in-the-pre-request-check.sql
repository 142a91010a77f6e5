--! Previous: sha1:123df288f7d36675e1c9559af19c3b56bc061372
--! Hash: sha1:6b4221d7c35fa021a7b7c0a17d411c3087833b13
--! Message: identity helpers inlined, one lookup in the pre-request check

--! split: 1-current.sql
-- Cheaper identity checks on every signed-in request.
--
-- The identity helpers run several times in every request: in the pre-request
-- check, in row-level security policies and in each API function. As SQL
-- functions with their own search_path they could not be inlined, so every
-- call paid a function call plus a save and restore of search_path: about
-- 15 us for app.current_user_id(), 5 times what its expression costs.
--
-- With SQL-standard bodies (RETURN ...) the names in the body are resolved
-- once, when the function is created, and stored with it. A caller's
-- search_path can no longer redirect an operator, a type or a function in
-- them, so they need no search_path of their own, and the planner inlines them
-- into the query that calls them. They stay SECURITY INVOKER and keep their
-- grants and comments.

create or replace function app.setting(name text, fallback text) returns text
  language sql stable parallel safe
  return coalesce(nullif(pg_catalog.current_setting('dwaybank.' || name, true), ''), fallback);

create or replace function app.jwt_claims() returns jsonb
  language sql stable parallel safe
  return coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb);

create or replace function app.current_user_id() returns uuid
  language sql stable parallel safe
  return nullif(app.jwt_claims() ->> 'sub', '')::uuid;

create or replace function app.current_session_id() returns uuid
  language sql stable parallel safe
  return nullif(app.jwt_claims() ->> 'sid', '')::uuid;

create or replace function app.current_aal() returns text
  language sql stable parallel safe
  return coalesce(app.jwt_claims() ->> 'aal', 'aal1');

create or replace function app.caller_role() returns text
  language sql stable parallel safe
  return coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user::text);

create or replace function app.clock(requested timestamptz) returns timestamptz
  language sql stable parallel safe
  return case when app.caller_role() in ('anon', 'authenticated', 'compliance_officer', 'admin') or requested is null
              then pg_catalog.now() else requested end;

------------------------------------------------------------------------------
-- The pre-request check: one lookup of the session and its user. The session
-- is marked as used (app.update_session_activity) only when that is due: at
-- most once a minute, or when the user agent changed.
------------------------------------------------------------------------------
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
         s.last_activity_at < now() - interval '1 minute'
           or coalesce(s.user_agent <> v_ua and not ('user_agent_changed' = any (s.suspicious_reasons)), false)
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
