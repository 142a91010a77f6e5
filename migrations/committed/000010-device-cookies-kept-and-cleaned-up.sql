--! Previous: sha1:cc70921c1c272cc759114a76354fb0f3a575e038
--! Hash: sha1:a35a40f4062f483bd09a744701f1bcbd5db9b523
--! Message: device cookies are kept by known devices and cleaned up on issue

--! split: 1-current.sql
-- Device cookies, continued: a client that signed in with a valid cookie keeps
-- it (its expiry slides) instead of collecting a new row per sign-in; issuing a
-- cookie also deletes the account's expired and revoked ones (the audit trail
-- keeps their history), so the table holds about one row per device in use.
drop function if exists app.issue_device_cookie(uuid, uuid, timestamptz);
drop function if exists app.issue_device_cookie(uuid, uuid, text, timestamptz);
create function app.issue_device_cookie(user_id uuid, session_id uuid, presented text default null, now timestamptz default now())
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
  delete from app_private.device_cookies d
   where d.user_id = issue_device_cookie.user_id and (d.expires_at <= now or d.revoked_at is not null);
  v_token := app_private.new_token();
  insert into app_private.device_cookies (token_hash, user_id, created_at, expires_at)
  values (app_private.token_hash(v_token), issue_device_cookie.user_id, now,
          now + make_interval(days => app.setting('device_cookie_days', '180')::integer));
  return v_token;
end
$$;
comment on function app.issue_device_cookie(uuid, uuid, text, timestamptz) is
  'After a sign-in (a session opened in the last 5 minutes): keeps the device cookie the client presented if it is valid for
this user (sliding expiry), else issues a new one (returned once, stored hashed) and deletes the account''s expired and revoked ones.
Definer: writes app_private.device_cookies, which no API role may touch.';
grant execute on function app.issue_device_cookie(uuid, uuid, text, timestamptz) to :DATABASE_GATEWAY;
