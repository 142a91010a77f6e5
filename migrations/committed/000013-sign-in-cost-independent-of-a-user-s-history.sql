--! Previous: sha1:6b4221d7c35fa021a7b7c0a17d411c3087833b13
--! Hash: sha1:5f53cb41a3f93adfe7c181f98c09439198dd59f8
--! Message: sign-in cost independent of a user's history

--! split: 1-current.sql
-- Sign-in costs the same however long a customer's history is.
--
-- The bench found sign-in slowing as its users piled up sessions (3.6 ms with
-- none, 4.4 ms with 136 each): the risk score counted all of a user's sessions
-- to learn whether there was any, and counted every session of the last ten
-- minutes to compare with a limit of five. Both now stop at what they need.
-- Device cookies grew by one per sign-in from a browser without one; an
-- account now keeps its 20 most recently used (dwaybank.device_cookies_per_user).

create or replace function app.detect_suspicious_session(user_id uuid, ip inet, user_agent text, device_fingerprint varchar,
                                                         now timestamptz default now())
  returns table (score integer, reasons text[])
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_reasons text[] := '{}'::text[];
  v_score integer := 0;
  v_burst integer := app.setting('session_burst_limit', '5')::integer;
  v_prefix cidr := case when family(ip) = 4 then set_masklen(ip::cidr, 24) else set_masklen(ip::cidr, 48) end;
begin
  if not exists (select from app.user_sessions s where s.user_id = detect_suspicious_session.user_id) then
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
  -- At most v_burst index entries are read, however many sessions there are.
  if (select count(*) from (select from app.user_sessions s where s.user_id = detect_suspicious_session.user_id
                              and s.created_at > now - interval '10 minutes' limit v_burst) recent) >= v_burst then
    v_score := v_score + 35; v_reasons := v_reasons || 'session_burst'::text;
  end if;
  return query select least(v_score, 100), v_reasons;
end
$$;

create or replace function app.issue_device_cookie(user_id uuid, session_id uuid, presented text default null, now timestamptz default now())
  returns text
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_token text;
begin
  if not exists (select from app.user_sessions s
                  where s.id = issue_device_cookie.session_id and s.user_id = issue_device_cookie.user_id
                    and s.revoked_at is null and s.expires_at > now and s.created_at > now - interval '5 minutes') then
    raise exception 'No fresh session of this user has this id.' using errcode = 'PT401', detail = 'INVALID_TOKEN',
      hint = 'A device cookie is issued only right after a sign-in.';
  end if;
  if presented is not null and char_length(presented) between 16 and 128 then
    update app_private.device_cookies d
       set last_used_at = now, expires_at = now + make_interval(days => app.setting('device_cookie_days', '180')::integer)
     where d.token_hash = app_private.token_hash(presented) and d.user_id = issue_device_cookie.user_id
       and d.revoked_at is null and d.expires_at > now;
    if found then
      return presented;
    end if;
  end if;
  -- Expired and revoked cookies go, and live ones beyond the newest (limit - 1),
  -- to make room for the new one.
  delete from app_private.device_cookies d
   where d.user_id = issue_device_cookie.user_id
     and (d.expires_at <= now or d.revoked_at is not null
          or d.token_hash in (select k.token_hash from app_private.device_cookies k
                               where k.user_id = issue_device_cookie.user_id and k.expires_at > now and k.revoked_at is null
                               order by coalesce(k.last_used_at, k.created_at) desc
                              offset greatest(app.setting('device_cookies_per_user', '20')::integer - 1, 0)));
  v_token := app_private.new_token();
  insert into app_private.device_cookies (token_hash, user_id, created_at, expires_at)
  values (app_private.token_hash(v_token), issue_device_cookie.user_id, now,
          now + make_interval(days => app.setting('device_cookie_days', '180')::integer));
  return v_token;
end
$$;
comment on function app.issue_device_cookie(uuid, uuid, text, timestamptz) is
  'After a sign-in (a session opened in the last 5 minutes): keeps the device cookie the client presented if it is valid for
this user (sliding expiry), else issues a new one (returned once, stored hashed), deletes the account''s expired and revoked
ones, and keeps at most dwaybank.device_cookies_per_user (20) live ones, the most recently used.
Definer: writes app_private.device_cookies, which no API role may touch.';
