--! Previous: sha1:1d7dab5a77edd53842e1ce35bd411d6bc0375c23
--! Hash: sha1:ce0786a284506430313b343dd3f7a75f30966359
--! Message: staff powers need a second factor and every gateway route checks the session

--! split: 2-staff-assurance.sql
-- Staff powers need aal2 (issue 15, finding 2), and every gateway route that
-- takes an access token checks its session in the database (finding 3).

-- PostgREST's db-pre-request: the token, the session, and for staff the session's assurance.
create or replace function app.check_request() returns void
  language plpgsql security definer
  set search_path = ''
as $$
declare
  v_claims jsonb := app.jwt_claims();
  v_sid text := v_claims ->> 'sid';
  v_ua text;
  v_live boolean;
  v_due boolean;
  v_staff boolean;
  v_aal text;
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
         app.session_activity_due(s, v_ua),
         u.role in ('compliance_officer', 'admin'),
         s.aal
    into v_live, v_due, v_staff, v_aal
    from app.user_sessions s
    join app.users u on u.id = s.user_id
   where s.id = v_sid::uuid;
  if not coalesce(v_live, false) or (v_due and not app.update_session_activity(v_sid, v_ua)) then
    raise sqlstate 'PGRST' using
      message = '{"code":"SESSION_ENDED","message":"The session of this token has ended.","hint":"Sign in again."}',
      detail = '{"status":401,"headers":{"WWW-Authenticate":"Bearer error=\"invalid_token\""}}';
  end if;
  -- Staff powers need a second factor (NIST AAL2): the session's own assurance, which step-up raises.
  if (v_staff or v_claims ->> 'role' in ('compliance_officer', 'admin')) and v_aal is distinct from 'aal2' then
    raise sqlstate 'PGRST' using
      message = '{"code":"AAL2_REQUIRED","message":"Staff accounts need a session confirmed with a second factor.","hint":"Enrol a second factor at /auth/mfa/totp/enroll (or /auth/passkeys/register/options), then sign in with it or step up with POST /auth/mfa/step-up."}',
      detail = '{"status":403,"headers":{}}';
  end if;
  -- PostgREST runs GET in a read-only transaction: a function that changes data would fail half-way with a
  -- database error. Every volatile api function answers GET with one clear 405 instead (one catalog probe, GET only).
  if current_setting('request.method', true) in ('GET', 'HEAD')
     and current_setting('request.path', true) like '/rpc/%'
     and exists (select from pg_catalog.pg_proc p
                  where p.pronamespace = 'api'::regnamespace and p.provolatile = 'v'
                    and p.proname = substr(current_setting('request.path', true), 6)) then
    raise sqlstate 'PGRST' using
      message = '{"code":"METHOD_NOT_ALLOWED","message":"This call changes data.","hint":"Use POST."}',
      detail = '{"status":405,"headers":{"Allow":"POST"}}';
  end if;
end
$$;
comment on function app.check_request() is 'PostgREST db-pre-request: rejects tokens without exp, with a wrong iss or token type, or whose session ended (SESSION_ENDED), staff sessions below aal2 (AAL2_REQUIRED), and GET of a function that changes data (METHOD_NOT_ALLOWED).
Definer: reads sessions of any user to decide.';

-- The gateway's db-pre-request: one call per request that takes an access token.
drop function if exists app.check_session(uuid, uuid, text);
create or replace function app.check_session(session_id uuid, user_id uuid, user_agent text default null, now timestamptz default now())
  returns table (live boolean, role text, aal text, auth_time timestamptz, staff boolean)
  language plpgsql security definer
  set search_path = ''
as $$
declare
  v_session app.user_sessions;
  v_user app.users;
begin
  select * into v_session from app.user_sessions s where s.id = check_session.session_id;
  select * into v_user from app.users u where u.id = v_session.user_id;
  if v_session.id is null or v_session.user_id is distinct from check_session.user_id
     or v_session.revoked_at is not null or v_session.expires_at <= check_session.now or v_session.idle_expires_at <= check_session.now
     or v_user.deleted_at is not null or v_user.status is distinct from 'active'
     or not app.update_session_activity(check_session.session_id::text, left(check_session.user_agent, 512)) then
    return query select false, null::text, null::text, null::timestamptz, null::boolean;
    return;
  end if;
  return query select true, case v_user.role when 'customer' then 'authenticated' else v_user.role end,
                      v_session.aal, v_session.auth_time, v_user.role in ('compliance_officer', 'admin');
end
$$;
comment on function app.check_session(uuid, uuid, text, timestamptz) is 'The gateway''s check of an access token''s session (as app.check_request is PostgREST''s): whether it is live, and the user''s current role, the session''s aal and auth_time. Records activity like a PostgREST call.
Definer: reads sessions and users of any user, which the gateway role cannot read.';
revoke all on function app.check_session(uuid, uuid, text, timestamptz) from public;
grant execute on function app.check_session(uuid, uuid, text, timestamptz) to :DATABASE_GATEWAY;

-- A remembered device replaces the second factor for customers only: staff answer it every time.
create or replace function app.login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text, ip inet default null,
    user_agent text default null, device_name text default null, now timestamptz default now())
  returns table (status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text, aal text,
                 amr text[], expires_at timestamptz)
  language plpgsql security definer
  set search_path = ''
as $$
declare
  v_login app_private.mfa_logins;
  v_device app.trusted_devices;
  v_user app.users;
  v_session record;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_login from app_private.mfa_logins l where l.id = login_with_trusted_device.login_id for update;
  if not found or v_login.expires_at <= now or v_login.consumed_at is not null then
    return query select 'invalid_token', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  perform app.set_request_context(v_login.user_id, null, ip, user_agent);
  -- Staff powers need aal2, which a remembered device (aal1) never gives: the pending sign-in stays open for the factor.
  if exists (select from app.users u where u.id = v_login.user_id and u.role in ('compliance_officer', 'admin')) then
    return query select 'factor_required', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  select d.* into v_device from app.trusted_devices d
    join app_private.trusted_device_tokens t on t.device_id = d.id
   where t.token_hash = app_private.token_hash(coalesce(device_token, ''))
     and d.user_id = v_login.user_id and d.device_fingerprint = login_with_trusted_device.device_fingerprint
     and d.revoked_at is null and d.expires_at > now;
  if not found then
    perform app.record_mfa_attempt(v_login.user_id, 'trusted_device', 'failed', 'login', null, ip, user_agent, device_fingerprint, now);
    return query select 'untrusted', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  select * into v_user from app.users u where u.id = v_login.user_id;
  update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
  update app.trusted_devices d set last_used_at = now where d.id = v_device.id;
  perform app.record_mfa_attempt(v_user.id, 'trusted_device', 'success', 'login', null, ip, user_agent, device_fingerprint, now);
  select * into v_session from app_private.create_session(v_user.id, 'aal1', array['pwd', 'trusted_device'], ip, user_agent,
                                                          device_fingerprint, coalesce(device_name, v_device.device_name), now);
  return query select 'ok', v_user.id, case v_user.role when 'customer' then 'authenticated' else v_user.role end, null::integer,
                      v_session.session_id, v_session.refresh_token, 'aal1'::text, array['pwd', 'trusted_device'], v_session.expires_at;
end
$$;
comment on function app.login_with_trusted_device(uuid, text, text, inet, text, text, timestamptz) is 'Completes a pending sign-in from a remembered device (token hash, same user and device fingerprint, not expired or revoked): an aal1 session with amr {pwd,trusted_device}.
Staff accounts get factor_required (their powers need aal2) and the pending sign-in stays open for the second factor.
Definer: reads app_private (pending sign-ins, device token hashes) and opens the session.';
