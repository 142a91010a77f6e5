--! Previous: sha1:ce0786a284506430313b343dd3f7a75f30966359
--! Hash: sha1:144411de299dea413071c1cbf39dbf861b77bc81
--! Message: phone changes need step-up and a code to the new number, and no api function takes now

--! split: 3-contact-changes-and-clock.sql
-- Contact changes need step-up and a verified number; API roles cannot move the clock.
-- (issue 15, findings 1 and 10)

------------------------------------------------------------------------------
-- A phone number is a contact SMS codes go to: it changes only with a step-up
-- and a code sent to the new number, the old contacts are told, and an SMS
-- factor keeps the number verified when it was enrolled.
------------------------------------------------------------------------------
alter table app.users add column if not exists phone_verified_at timestamptz;
comment on column app.users.phone_verified_at is
  'When the current phone number was proved by a code sent to it (phone change or SMS enrolment); null when unproved.';

alter table app.mfa_configs add column if not exists phone text;
comment on column app.mfa_configs.phone is
  'For an SMS factor: the number its enrolment code was sent to and confirmed at; codes go there, whatever the profile says later.';
-- Factors enrolled before this column existed were confirmed at the profile's number.
update app.mfa_configs c set phone = u.phone
  from app.users u where u.id = c.user_id and c.method = 'sms' and c.phone is null;
do $$
begin
  if not exists (select from pg_constraint where conname = 'mfa_configs_phone_chk') then
    alter table app.mfa_configs add constraint mfa_configs_phone_chk
      check ((method = 'sms') = (phone is not null) and phone ~ '^\+[1-9][0-9]{6,14}$');
  end if;
end
$$;
select audit.enable_tracking('app.mfa_configs', 'user_id', pii_columns => '{device_fingerprint,phone}');

-- The profile's number is no longer a column customers may write: only a confirmed change sets it.
revoke update (phone) on app.users from authenticated;

create table if not exists app_private.phone_changes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint phone_changes_user_id_fkey references app.users (id),
  session_id uuid not null constraint phone_changes_session_id_fkey references app.user_sessions (id) on delete cascade,
  phone text not null constraint phone_changes_phone_chk check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  code_hash bytea not null constraint phone_changes_code_hash_chk check (length(code_hash) = 32),
  attempts integer not null default 0 constraint phone_changes_attempts_chk check (attempts between 0 and 100),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz,
  revoked_at timestamptz,
  constraint phone_changes_expiry_chk check (expires_at > created_at)
);
comment on table app_private.phone_changes is
  'Pending phone number changes: the new number, the HMAC of the code sent to it, and the session that asked (only that session may confirm, so ending it, e.g. by a password reset, ends the change).';
create index if not exists phone_changes_user_idx on app_private.phone_changes (user_id, created_at desc);
create index if not exists phone_changes_session_idx on app_private.phone_changes (session_id);
alter table app_private.phone_changes enable row level security;
alter table app_private.phone_changes force row level security;
select audit.enable_tracking('app_private.phone_changes', 'user_id', pii_columns => '{phone}', secret_columns => '{code_hash}');

-- A six-digit code from the CSPRNG (modulo bias below one in four thousand).
create or replace function app_private.new_numeric_code() returns text
  language sql volatile
  set search_path = ''
  as $$ select lpad(((('x' || encode(extensions.gen_random_bytes(4), 'hex'))::bit(32)::bigint) % 1000000)::text, 6, '0') $$;

create or replace function app_private.mask_phone(phone text) returns text
  language sql immutable strict
  set search_path = ''
  as $$ select left(phone, 3) || repeat('*', greatest(length(phone) - 5, 0)) || right(phone, 2) $$;

-- A call that changes data, made with GET (PostgREST runs GET read-only): a clear 405, not a database error.
create or replace function app_private.assert_writable() returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if pg_catalog.current_setting('transaction_read_only') = 'on' then
    raise exception 'This call changes data.' using errcode = 'PT405', detail = 'METHOD_NOT_ALLOWED', hint = 'Use POST.';
  end if;
end
$$;

-- An error answered with a status but committed: failed attempts must survive the request (style rule 10).
create or replace function app_private.refuse_committed(status integer, code text, message text, hint text) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  perform pg_catalog.set_config('response.status', status::text, true);
  return jsonb_build_object('code', code, 'message', message, 'hint', hint);
end
$$;

drop function if exists api.update_my_profile(text, text, text, text, date);
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
  if update_my_profile.phone is not null
     and update_my_profile.phone is distinct from (select u.phone from app.users u where u.id = app.current_user_id()) then
    raise exception 'A new phone number must be confirmed with a code sent to it.' using errcode = 'PT409',
      detail = 'PHONE_CHANGE_NEEDS_VERIFICATION',
      hint = 'Call /rpc/request_phone_change with the number (needs a recent sign-in with your second factor), then /rpc/confirm_phone_change with the code.';
  end if;
  update app.users u
     set first_name = coalesce(update_my_profile.first_name, u.first_name),
         last_name = coalesce(update_my_profile.last_name, u.last_name),
         country_code = coalesce(upper(update_my_profile.country_code), u.country_code),
         date_of_birth = coalesce(update_my_profile.date_of_birth, u.date_of_birth)
   where u.id = app.current_user_id();
  return api.me();
exception
  when check_violation or foreign_key_violation then
    raise exception 'A profile field is not valid.' using errcode = 'PT400', detail = 'INVALID_PROFILE',
      hint = 'Countries ISO 3166-1 alpha-2 (DE), names 1 to 100 characters without control characters.';
end
$$;
comment on function api.update_my_profile(text, text, text, text, date) is
  'Changes the caller''s name, country or date of birth; omitted fields keep their value.
The phone number is a contact SMS codes and notices go to: passing a different one raises PHONE_CHANGE_NEEDS_VERIFICATION (use request_phone_change).
Security invoker: column grants and row-level security allow only these columns of the caller''s own row.';
grant execute on function api.update_my_profile(text, text, text, text, date) to authenticated;

create or replace function api.request_phone_change(phone text) returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user app.users;
  v_session uuid := app.current_session_id();
  v_code text := app_private.new_numeric_code();
  v_sent integer;
  v_oldest timestamptz;
  v_expires timestamptz := now() + make_interval(mins => app.setting('phone_change_minutes', '10')::integer);
begin
  perform app_private.assert_writable();
  select * into v_user from app.users u where u.id = app.current_user_id() for update;
  if not found or v_session is null then
    raise exception 'Sign in to change your phone number.' using errcode = 'PT401', detail = 'INVALID_TOKEN',
      hint = 'Send an access token.';
  end if;
  perform app.assert_step_up(now());
  if request_phone_change.phone is null or request_phone_change.phone !~ '^\+[1-9][0-9]{6,14}$' then
    raise exception 'The phone number is not valid.' using errcode = 'PT400', detail = 'INVALID_PHONE',
      hint = 'Give the number in E.164 form, e.g. +4915112345678.';
  end if;
  if request_phone_change.phone = v_user.phone then
    raise exception 'This is already the account''s phone number.' using errcode = 'PT400', detail = 'PHONE_UNCHANGED',
      hint = 'Give a different number.';
  end if;
  select count(*), min(p.created_at) into v_sent, v_oldest from app_private.phone_changes p
   where p.user_id = v_user.id and p.created_at > now() - interval '1 hour';
  if v_sent >= app.setting('phone_change_limit', '5')::integer then
    perform audit.log_event('account.phone_change.throttled', v_user.id, jsonb_build_object('sent', v_sent), 'warning');
    raise sqlstate 'PGRST' using
      message = '{"code":"RATE_LIMITED","message":"Too many phone number changes.","hint":"Wait for the time in Retry-After before trying again."}',
      detail = format('{"status":429,"headers":{"Retry-After":"%s"}}',
                      greatest(1, ceil(extract(epoch from (v_oldest + interval '1 hour' - now()))))::integer);
  end if;
  -- A newer code makes the older ones useless.
  update app_private.phone_changes p set revoked_at = now()
   where p.user_id = v_user.id and p.consumed_at is null and p.revoked_at is null;
  insert into app_private.phone_changes (user_id, session_id, phone, code_hash, created_at, expires_at)
  values (v_user.id, v_session, request_phone_change.phone, app_private.mfa_code_hash(v_code), now(), v_expires);
  -- The code goes to the new number (the outbox forgets `token` once sent); the current contacts hear of it.
  insert into app_private.outbox (user_id, channel, template, payload, created_at)
  values (v_user.id, 'sms', 'phone_change_code',
          jsonb_build_object('to', request_phone_change.phone, 'token', v_code, 'expires_at', v_expires), now());
  perform app_private.queue_email(v_user.id, 'phone_change_requested',
    jsonb_build_object('new_phone', app_private.mask_phone(request_phone_change.phone), 'at', now()), now());
  perform audit.log_event('account.phone_change.requested', v_user.id,
    jsonb_build_object('new_phone', app_private.fingerprint(request_phone_change.phone), 'expires_at', v_expires), 'warning');
  return jsonb_build_object('expires_at', v_expires);
end
$$;
comment on function api.request_phone_change(text) is
  'Starts a phone number change: needs a step-up (aal2 within 10 minutes); sends a 6-digit code to the new number and a notice to the account''s e-mail address. The number changes only when this session confirms the code (confirm_phone_change).
Raises STEP_UP_REQUIRED, INVALID_PHONE, PHONE_UNCHANGED, RATE_LIMITED. Definer: writes the pending change, its code''s HMAC and the outbox.';
grant execute on function api.request_phone_change(text) to authenticated;

create or replace function api.confirm_phone_change(code text) returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user app.users;
  v_change app_private.phone_changes;
  v_max integer := app.setting('mfa_max_attempts', '5')::integer;
begin
  perform app_private.assert_writable();
  select * into v_user from app.users u where u.id = app.current_user_id() for update;
  perform app_private.assert_live_session(v_user.id, app.current_session_id(), now());
  select * into v_change from app_private.phone_changes p
   where p.user_id = v_user.id and p.session_id = app.current_session_id()
     and p.consumed_at is null and p.revoked_at is null
   order by p.created_at desc limit 1
   for update;
  if not found then
    raise exception 'This session has no phone number change waiting.' using errcode = 'PT404', detail = 'PHONE_CHANGE_NOT_FOUND',
      hint = 'Start one with /rpc/request_phone_change (from this session).';
  end if;
  if v_change.expires_at <= now() then
    raise exception 'The code has expired.' using errcode = 'PT400', detail = 'PHONE_CODE_EXPIRED',
      hint = 'Ask for a new code with /rpc/request_phone_change.';
  end if;
  if confirm_phone_change.code is null or confirm_phone_change.code !~ '^[0-9]{6}$'
     or app_private.mfa_code_hash(confirm_phone_change.code) <> v_change.code_hash then
    update app_private.phone_changes p
       set attempts = p.attempts + 1, revoked_at = case when p.attempts + 1 >= v_max then now() end
     where p.id = v_change.id;
    perform audit.log_event('account.phone_change.code_failed', v_user.id,
      jsonb_build_object('attempts', v_change.attempts + 1), 'warning');
    return app_private.refuse_committed(400, 'PHONE_CODE_INVALID', 'The code is not correct.',
      case when v_change.attempts + 1 >= v_max then 'Too many wrong codes: ask for a new one with /rpc/request_phone_change.'
           else 'Check the code sent to the new number and try again.' end);
  end if;
  update app_private.phone_changes p set consumed_at = now() where p.id = v_change.id;
  update app.users u set phone = v_change.phone, phone_verified_at = now() where u.id = v_user.id;
  if v_user.phone is not null then
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_user.id, 'sms', 'phone_changed',
            jsonb_build_object('to', v_user.phone, 'new_phone', app_private.mask_phone(v_change.phone), 'at', now()), now());
  end if;
  perform app_private.queue_email(v_user.id, 'phone_changed',
    jsonb_build_object('new_phone', app_private.mask_phone(v_change.phone), 'at', now()), now());
  perform audit.log_event('account.phone_changed', v_user.id,
    jsonb_build_object('new_phone', app_private.fingerprint(v_change.phone),
                       'old_phone', app_private.fingerprint(v_user.phone)), 'warning');
  return jsonb_build_object('changed', true, 'phone', v_change.phone);
end
$$;
comment on function api.confirm_phone_change(text) is
  'Confirms a phone number change with the code sent to the new number, from the session that asked for it; the old number and the e-mail address are told.
Raises PHONE_CHANGE_NOT_FOUND, PHONE_CODE_EXPIRED; a wrong code answers 400 PHONE_CODE_INVALID and is counted (5 end the change). Definer: reads the code''s HMAC and writes the profile''s number.';
grant execute on function api.confirm_phone_change(text) to authenticated;

-- SMS enrolment binds the factor to the number its code is sent to.
create or replace function app.begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text,
                                                    ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, config_id uuid, expires_at timestamptz, retry_after_seconds integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
  v_user app.users;
  v_challenge record;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_user from app.users u where u.id = begin_otp_enrollment.user_id;
  if method not in ('sms', 'email') or (method = 'sms' and v_user.phone is null) then
    raise exception 'SMS needs a phone number on the profile; the method must be sms or email.' using errcode = 'PT400',
      detail = 'MFA_METHOD_NOT_AVAILABLE', hint = 'Add a phone number (request_phone_change) or use e-mail.';
  end if;
  insert into app.mfa_configs as c (user_id, method, status, label, phone, created_at)
  values (begin_otp_enrollment.user_id, method, 'pending', case method when 'sms' then 'Text message' else 'E-mail' end,
          case when method = 'sms' then v_user.phone end, now)
  on conflict on constraint mfa_configs_user_method_key do update
    set updated_at = now, phone = case when c.status = 'pending' then excluded.phone else c.phone end
  returning * into v_config;
  if v_config.status = 'active' then
    raise exception 'This second factor is already set up.' using errcode = 'PT409', detail = 'MFA_ALREADY_ENROLLED',
      hint = 'Remove it first to set it up again.';
  end if;
  select * into v_challenge from app_private.create_challenge(v_config, null, code, sealed, now);
  if v_challenge.status = 'ok' then
    perform audit.log_event('mfa.enrolled', user_id, jsonb_build_object('method', method, 'config_id', v_config.id));
  end if;
  return query select v_challenge.status, v_config.id, v_challenge.expires_at, v_challenge.retry_after_seconds;
end
$$;

-- A confirmed SMS enrolment proves the profile's number too, when it is still the same.
create or replace function app_private.tg_mfa_configs__phone_verified() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  update app.users u set phone_verified_at = new.confirmed_at
   where u.id = new.user_id and u.phone = new.phone and u.phone_verified_at is null;
  return null;
end
$$;
drop trigger if exists _500_phone_verified on app.mfa_configs;
create trigger _500_phone_verified after update of status on app.mfa_configs
  for each row when (new.method = 'sms' and new.status = 'active' and old.status = 'pending')
  execute function app_private.tg_mfa_configs__phone_verified();

create or replace function app_private.create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamptz)
  returns table (status text, challenge_id uuid, expires_at timestamptz, retry_after_seconds integer)
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_window integer := app.setting('mfa_window_seconds', '900')::integer;
  v_sent integer;
  v_oldest timestamptz;
  v_id uuid;
  v_expires timestamptz := now + make_interval(mins => app.setting('mfa_code_minutes', '10')::integer);
begin
  if code !~ '^[0-9]{6}$' or sealed is null or length(sealed) > 2048 then
    raise exception 'The code must be 6 digits and sealed.' using errcode = 'PT400', detail = 'INVALID_INPUT',
      hint = 'The gateway generates and seals the code.';
  end if;
  select count(*), min(c.created_at) into v_sent, v_oldest from app_private.mfa_challenges c
   where c.user_id = (config).user_id and c.created_at > now - make_interval(secs => v_window);
  if v_sent >= app.setting('mfa_challenge_limit', '5')::integer then
    return query select 'rate_limited', null::uuid, null::timestamptz,
      greatest(1, ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now))))::integer;
    return;
  end if;
  -- A new code replaces any earlier live one for the same factor.
  update app_private.mfa_challenges c set consumed_at = now
   where c.config_id = (config).id and c.consumed_at is null and c.locked_at is null;
  insert into app_private.mfa_challenges (user_id, config_id, method, login_id, code_hash, created_at, expires_at)
  values ((config).user_id, (config).id, (config).method, login_id, app_private.mfa_code_hash(code), now, v_expires)
  returning id into v_id;
  -- An SMS code goes to the factor's own number, never to whatever the profile says now.
  insert into app_private.outbox (user_id, channel, template, payload, created_at)
  values ((config).user_id, (config).method, 'mfa_code',
          jsonb_build_object('challenge_id', v_id, 'expires_at', v_expires, 'sealed', sealed)
            || case when (config).method = 'sms' then jsonb_build_object('to', (config).phone) else '{}' end, now);
  perform audit.log_event('mfa.challenge.sent', (config).user_id,
    jsonb_build_object('method', (config).method, 'challenge_id', v_id, 'expires_at', v_expires));
  return query select 'ok', v_id, v_expires, null::integer;
end
$$;

-- SMS without an explicit destination goes to the account's SMS factor, never to the profile's number.
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
                       case o.channel
                         when 'sms' then (select c.phone from app.mfa_configs c
                                           where c.user_id = o.user_id and c.method = 'sms' and c.status = 'active')
                         else (select u.email::text from app.users u where u.id = o.user_id) end),
              o.attempts;
end
$$;

------------------------------------------------------------------------------
-- Time is a parameter of app. and app_private. functions (tests, jobs), never
-- of an api function: no API role can move the clock (finding 10).
------------------------------------------------------------------------------
drop function if exists api.is_account_locked(uuid, timestamptz);
create or replace function api.is_account_locked(user_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select coalesce((select u.locked_until > pg_catalog.now() from app.users u where u.id = is_account_locked.user_id), false)
  $$;
comment on function api.is_account_locked(uuid) is
  'Whether an account is locked out now.
Definer: reads lockout columns that only staff may select; callers are limited by grant to staff and the gateway.';
-- (no grant, as before: the gateway and jobs read lockout through app. functions)

drop function if exists api.get_user_latest_kyc(uuid, timestamptz);
create or replace function api.get_user_latest_kyc(user_id uuid default null)
  returns table (kyc_id uuid, status text, level text, risk_level text, decided_at timestamptz, expires_at timestamptz,
                 verified boolean, verified_until timestamptz)
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_user uuid := coalesce(get_user_latest_kyc.user_id, app.current_user_id());
  v_staff boolean := app.caller_role() not in ('anon', 'authenticated');
  v_until timestamptz;
begin
  if not v_staff and v_user is distinct from app.current_user_id() then
    raise exception 'You may only see your own verification.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Call it without user_id for your own status.';
  end if;
  select r.expires_at into v_until from app.kyc_records r
   where r.user_id = v_user and r.status = 'approved' and r.expires_at > pg_catalog.now();
  return query
    select r.id, r.status, r.level, case when v_staff then r.risk_level end, r.decided_at, r.expires_at,
           v_until is not null, v_until
      from app.kyc_records r
     where r.user_id = v_user
     order by r.created_at desc
     limit 1;
end
$$;
comment on function api.get_user_latest_kyc(uuid) is
  'The KYC status check: a user''s latest verification and whether they are verified now (and until when), on the server''s clock.
Customers see only their own (without the risk level); staff anyone''s. Definer: reads the risk level, which customers may not select.';
grant execute on function api.get_user_latest_kyc(uuid) to authenticated, :DATABASE_GATEWAY;

drop function if exists api.initiate_kyc_verification(text, text, text, date, text, text, text, text, text, text, text, text, timestamptz);
create or replace function api.initiate_kyc_verification(level text, legal_first_name text, legal_last_name text, date_of_birth date, nationality text, address_line1 text, city text, postal_code text, residence_country text, id_document_type text, id_document_number text, address_line2 text default null) returns app.kyc_summary
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := app.current_user_id();
  v_now timestamptz := pg_catalog.now();
  v_rec app.kyc_records;
begin
  perform app_private.assert_kyc_writable();
  if v_user is null then
    raise exception 'Sign in to start a verification.' using errcode = 'PT401', detail = 'INVALID_TOKEN', hint = 'Send an access token.';
  end if;
  perform app_private.kyc_precondition(v_user);
  if level is null or level not in ('basic', 'standard', 'enhanced') then
    raise exception 'The verification level is not known.' using errcode = 'PT400', detail = 'KYC_INVALID_DATA',
      hint = 'Choose basic, standard or enhanced.';
  end if;
  if date_of_birth is null or date_of_birth > (v_now - interval '18 years')::date then
    raise exception 'Only adults can be verified.' using errcode = 'PT400', detail = 'KYC_INVALID_DATA',
      hint = 'Give the date of birth as YYYY-MM-DD; you must be at least 18.';
  end if;
  begin
    insert into app.kyc_records as r (user_id, level, legal_first_name, legal_last_name, date_of_birth, nationality,
                                      address_line1, address_line2, city, postal_code, residence_country, id_document_type,
                                      id_document_number, created_at)
    values (v_user, initiate_kyc_verification.level, btrim(legal_first_name), btrim(legal_last_name), date_of_birth,
            upper(nationality), btrim(address_line1), nullif(btrim(address_line2), ''), btrim(city), upper(btrim(postal_code)),
            upper(residence_country), id_document_type, upper(replace(btrim(id_document_number), ' ', '')), v_now)
    returning r.* into v_rec;
  exception
    when unique_violation then
      raise exception 'A verification is already in progress.' using errcode = 'PT409', detail = 'KYC_IN_PROGRESS',
        hint = 'Finish the verification in progress (see get_user_latest_kyc) before starting another.';
    when check_violation or foreign_key_violation or not_null_violation then
      raise exception 'Some identity data is missing or not valid.' using errcode = 'PT400', detail = 'KYC_INVALID_DATA',
        hint = 'Names 1-100 characters without digits, countries ISO 3166-1 alpha-2 (DE), postal code 2-12 letters or digits, document number 4-30 letters, digits or dashes.';
  end;
  perform audit.log_event('kyc.initiated', v_user, jsonb_build_object('kyc_id', v_rec.id, 'level', v_rec.level));
  perform app_private.screen_kyc_record(v_rec.id, array['sanctions', 'pep'], v_now);
  return row(v_rec.id, v_rec.level, v_rec.status, v_rec.submitted_at, v_rec.created_at)::app.kyc_summary;
end
$$;
comment on function api.initiate_kyc_verification(text, text, text, date, text, text, text, text, text, text, text, text) is
  'Starts an identity verification for the caller at a level (basic, standard, enhanced) with their identity data.
Refuses while another is in progress (KYC_IN_PROGRESS); screens the name against sanctions and PEP lists and scores the risk.
Definer: writes the record, screening results and risk, none of which a customer may write.';
grant execute on function api.initiate_kyc_verification(text, text, text, date, text, text, text, text, text, text, text, text) to authenticated;

drop function if exists api.complete_kyc_verification(uuid, text, text, timestamptz);
create or replace function api.complete_kyc_verification(kyc_id uuid, decision text, reason text default null) returns app.kyc_decision
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_role text := app.caller_role();
  v_officer uuid := app.current_user_id();
  v_automated boolean := app.caller_role() not in ('anon', 'authenticated', 'compliance_officer', 'admin', 'dwaybank_gateway');
  v_now timestamptz := pg_catalog.now();
  v_rec app.kyc_records;
  v_level text;
begin
  perform app_private.assert_kyc_writable();
  if not v_automated and v_role <> 'compliance_officer' then
    raise exception 'Only a compliance officer can decide a verification.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Ask a compliance officer to review it.';
  end if;
  if v_automated then
    v_officer := null;
  end if;
  if decision is null or decision not in ('approved', 'rejected', 'requires_resubmission') then
    raise exception 'The decision is not known.' using errcode = 'PT400', detail = 'KYC_INVALID_DECISION',
      hint = 'Decide approved, rejected or requires_resubmission.';
  end if;
  if decision <> 'approved' and (reason is null or length(btrim(reason)) < 3) then
    raise exception 'A rejection or a request for resubmission needs a reason.' using errcode = 'PT400', detail = 'KYC_REASON_REQUIRED',
      hint = 'Say what is wrong or missing (3 to 1000 characters).';
  end if;
  select * into v_rec from app.kyc_records r where r.id = complete_kyc_verification.kyc_id for update;
  if not found then
    raise exception 'No verification has this id.' using errcode = 'PT404', detail = 'KYC_NOT_FOUND', hint = 'See /kyc_review_queue.';
  end if;
  if v_rec.user_id = v_officer then
    perform audit.log_event('kyc.self_decision_refused', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id), 'critical');
    raise exception 'Nobody can decide their own verification.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Another compliance officer must review it.';
  end if;
  if not (v_rec.status = 'in_review' or (v_rec.status = 'pending' and decision <> 'approved')) then
    raise exception 'This verification is not in review.' using errcode = 'PT409', detail = 'KYC_INVALID_TRANSITION',
      hint = 'Only a verification in review can be approved; a pending one can be rejected or sent back.';
  end if;

  if decision = 'approved' then
    if exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id and c.status = 'potential_match') then
      raise exception 'A screening check is not resolved yet.' using errcode = 'PT409', detail = 'KYC_CHECKS_UNRESOLVED',
        hint = 'Resolve every potential match (resolve_kyc_check) as false_positive or confirmed_match first.';
    end if;
    if exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id and c.check_type = 'sanctions'
                 and c.status = 'confirmed_match') then
      raise exception 'A confirmed sanctions match cannot be approved.' using errcode = 'PT409', detail = 'KYC_SANCTIONS_MATCH',
        hint = 'Reject the verification and follow the sanctions procedure.';
    end if;
    v_level := app_private.refresh_kyc_risk(v_rec.id, v_now);
    -- Four eyes for high and critical risk, and for any record a screening hit was cleared on: otherwise one
    -- officer could resolve a sanctions or PEP match as a false positive and then approve alone.
    if v_level in ('high', 'critical')
       or exists (select from app.kyc_compliance_checks c where c.kyc_record_id = v_rec.id
                    and c.status in ('false_positive', 'confirmed_match')) then
      if v_automated then
        raise exception 'High-risk verifications need two compliance officers.' using errcode = 'PT409',
          detail = 'KYC_OFFICER_REQUIRED', hint = 'Leave it in the review queue.';
      end if;
      if v_rec.first_approver_id is null then
        update app.kyc_records r set first_approver_id = v_officer, first_approved_at = v_now where r.id = v_rec.id;
        perform audit.log_event('kyc.first_approval', v_rec.user_id,
          jsonb_build_object('kyc_id', v_rec.id, 'risk_level', v_level), 'info');
        return row('pending_second_approval', v_rec.id, 'in_review', v_level, null)::app.kyc_decision;
      elsif v_rec.first_approver_id = v_officer then
        raise exception 'A second, different officer must approve a high-risk verification.' using errcode = 'PT409',
          detail = 'KYC_SECOND_APPROVER_REQUIRED', hint = 'Ask another compliance officer to approve it.';
      end if;
    elsif v_automated and v_level <> 'low' then
      raise exception 'Only low-risk verifications are approved automatically.' using errcode = 'PT409',
        detail = 'KYC_OFFICER_REQUIRED', hint = 'Leave it in the review queue.';
    end if;
    -- A renewal replaces the approval it renews.
    update app.kyc_records r set status = 'expired', decision_reason = coalesce(r.decision_reason, 'superseded by renewal')
     where r.user_id = v_rec.user_id and r.status = 'approved' and r.id <> v_rec.id;
    update app.kyc_records r
       set status = 'approved', reviewer_id = v_officer, automated_decision = v_automated,
           -- (a first approval given while the risk was high does not count twice for the same officer)
           first_approver_id = case when r.first_approver_id is distinct from v_officer then r.first_approver_id end,
           first_approved_at = case when r.first_approver_id is distinct from v_officer then r.first_approved_at end,
           decision_reason = nullif(btrim(complete_kyc_verification.reason), ''), decided_at = v_now,
           expires_at = v_now + app_private.kyc_validity(v_level)
     where r.id = v_rec.id
    returning r.* into v_rec;
  else
    update app.kyc_records r
       set status = complete_kyc_verification.decision, reviewer_id = v_officer, automated_decision = v_automated,
           decision_reason = btrim(complete_kyc_verification.reason), decided_at = v_now,
           first_approver_id = null, first_approved_at = null
     where r.id = v_rec.id
    returning r.* into v_rec;
  end if;
  perform audit.log_event('kyc.' || v_rec.status, v_rec.user_id,
    jsonb_build_object('kyc_id', v_rec.id, 'risk_level', v_rec.risk_level, 'automated', v_automated,
                       'four_eyes', v_rec.first_approver_id is not null), case when v_rec.status = 'approved' then 'info' else 'warning' end);
  return row(v_rec.status, v_rec.id, v_rec.status, v_rec.risk_level, v_rec.expires_at)::app.kyc_decision;
end
$$;
comment on function api.complete_kyc_verification(uuid, text, text) is
  'Records a compliance officer''s decision (approved, rejected, requires_resubmission) on a verification.
Approval needs every screening check resolved (KYC_CHECKS_UNRESOLVED); high and critical risk, and any record with a resolved screening hit, need a second, different officer
(the first approval answers pending_second_approval). Expiry: 3 years low, 2 medium, 1 high/critical risk.
Definer: writes status and decision columns no API role may write; the function checks the officer.';
grant execute on function api.complete_kyc_verification(uuid, text, text) to compliance_officer;
