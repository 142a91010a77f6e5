--! Previous: sha1:690fe94338f71ed24dfc095c200b5f3a2bd47c85
--! Hash: sha1:016b8926b7ab4d6a258d1ed7cd545d2d7dd4d153
--! Message: create mfa table

--! split: 3-mfa.sql
-- Multi-factor authentication: TOTP (secret encrypted by the gateway), SMS and
-- e-mail codes (HMAC-hashed, single use, per-code try cap), backup codes
-- (SHA-256, single use), replay-proof TOTP steps, attempts with rate limiting,
-- the pending MFA sign-in behind an mfa_token, step-up, trusted devices, and the
-- transactional outbox. (Schemas are dropped and re-created by 1-users.sql.)

insert into app_private.keys (name, key) values ('mfa_code', extensions.gen_random_bytes(32));

------------------------------------------------------------------------------
-- Policy: staff always need a second factor; a customer may opt in.
------------------------------------------------------------------------------
alter table app.users add column mfa_required boolean not null default false;
comment on column app.users.mfa_required is 'The account must keep a second factor (staff roles always must, see app.mfa_policy_required).';
grant select (mfa_required) on app.users to authenticated;

create function app.mfa_policy_required(user_id uuid) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select coalesce((select u.mfa_required or u.role in ('compliance_officer', 'admin')
                     from app.users u where u.id = mfa_policy_required.user_id), false)
  $$;
comment on function app.mfa_policy_required(uuid) is
  'Whether the account''s policy requires MFA. Definer: reads the role of any user for the policy decision.';

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------
create table app.mfa_configs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint mfa_configs_user_id_fkey references app.users (id),
  method text not null constraint mfa_configs_method_chk check (method in ('totp', 'sms', 'email', 'backup_codes')),
  status text not null default 'pending' constraint mfa_configs_status_chk check (status in ('pending', 'active')),
  label text constraint mfa_configs_label_chk check (length(label) between 1 and 100 and label !~ '[[:cntrl:]]'),
  device_fingerprint text constraint mfa_configs_device_fingerprint_chk check (length(device_fingerprint) <= 256),
  last_used_step bigint,
  created_at timestamptz not null default now(),
  confirmed_at timestamptz,
  last_used_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint mfa_configs_user_method_key unique (user_id, method),
  constraint mfa_configs_confirmed_chk check ((status = 'active') = (confirmed_at is not null))
);
comment on table app.mfa_configs is 'One row per second factor of a user. Secret material lives in app_private (mfa_secrets, mfa_backup_codes).';
comment on column app.mfa_configs.last_used_step is 'TOTP: the last accepted 30-second time step; only later steps are accepted (no replay).';
comment on column app.mfa_configs.device_fingerprint is 'Device binding: the device the factor was enrolled from.';

alter table app.mfa_configs enable row level security;
alter table app.mfa_configs force row level security;
create policy select_own on app.mfa_configs for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.mfa_configs for select to compliance_officer, admin using (true);
grant select (id, user_id, method, status, label, device_fingerprint, created_at, confirmed_at, last_used_at, updated_at)
  on app.mfa_configs to authenticated;
select audit.enable_tracking('app.mfa_configs', 'user_id', pii_columns => '{device_fingerprint}');

-- The TOTP secret, AES-256-GCM-encrypted by the gateway under a key the database
-- never sees; key_id names the key so keys can rotate.
create table app_private.mfa_secrets (
  config_id uuid primary key constraint mfa_secrets_config_id_fkey references app.mfa_configs (id) on delete cascade,
  ciphertext text not null constraint mfa_secrets_ciphertext_chk check (length(ciphertext) between 16 and 1024),
  key_id text not null constraint mfa_secrets_key_id_chk check (key_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  created_at timestamptz not null default now()
);
select audit.enable_tracking('app_private.mfa_secrets', null, secret_columns => '{ciphertext}');

-- Backup codes: 10 base32 characters (50 bits), so SHA-256 without a salt is safe.
create table app_private.mfa_backup_codes (
  code_hash bytea primary key constraint mfa_backup_codes_code_hash_chk check (length(code_hash) = 32),
  config_id uuid not null constraint mfa_backup_codes_config_id_fkey references app.mfa_configs (id) on delete cascade,
  user_id uuid not null constraint mfa_backup_codes_user_id_fkey references app.users (id),
  created_at timestamptz not null default now(),
  used_at timestamptz
);
create index mfa_backup_codes_user_idx on app_private.mfa_backup_codes (user_id);
-- Codes are checked and counted per factor (check_factor, get_user_mfa_methods).
create index mfa_backup_codes_config_idx on app_private.mfa_backup_codes (config_id) where used_at is null;
select audit.enable_tracking('app_private.mfa_backup_codes', 'user_id', secret_columns => '{code_hash}');

-- A sign-in that passed the password and waits for the second factor. Its id
-- is the jti of the gateway's mfa_token; consumed_at makes the token single use.
create table app_private.mfa_logins (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint mfa_logins_user_id_fkey references app.users (id),
  methods text[] not null,
  ip inet,
  user_agent text,
  device_fingerprint text,
  device_name text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz
);
create index mfa_logins_user_idx on app_private.mfa_logins (user_id, created_at desc);
select audit.enable_tracking('app_private.mfa_logins', 'user_id', pii_columns => '{ip,user_agent,device_fingerprint,device_name}');

-- SMS and e-mail codes: HMAC-SHA-256 under a database key (a 6-digit code is
-- too small a space for a plain hash), single use, expiring, capped tries.
create table app_private.mfa_challenges (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint mfa_challenges_user_id_fkey references app.users (id),
  config_id uuid not null constraint mfa_challenges_config_id_fkey references app.mfa_configs (id) on delete cascade,
  method text not null constraint mfa_challenges_method_chk check (method in ('sms', 'email')),
  login_id uuid constraint mfa_challenges_login_id_fkey references app_private.mfa_logins (id) on delete cascade,
  code_hash bytea not null constraint mfa_challenges_code_hash_chk check (length(code_hash) = 32),
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  consumed_at timestamptz,
  locked_at timestamptz
);
create index mfa_challenges_user_idx on app_private.mfa_challenges (user_id, method, created_at desc);
-- The live code of a factor (check_challenge, create_challenge).
create index mfa_challenges_config_idx on app_private.mfa_challenges (config_id, created_at desc) where consumed_at is null;
select audit.enable_tracking('app_private.mfa_challenges', 'user_id', secret_columns => '{code_hash}');

-- Every verification attempt, kept even when the request fails: feeds the rate
-- limit and security analysis.
create table app.mfa_verification_attempts (
  id bigint generated always as identity primary key,
  user_id uuid not null constraint mfa_verification_attempts_user_id_fkey references app.users (id),
  config_id uuid constraint mfa_verification_attempts_config_id_fkey references app.mfa_configs (id) on delete set null,
  method text not null constraint mfa_verification_attempts_method_chk check (method in ('totp', 'sms', 'email', 'backup_codes', 'trusted_device')),
  purpose text not null constraint mfa_verification_attempts_purpose_chk check (purpose in ('login', 'step_up', 'enroll')),
  outcome text not null constraint mfa_verification_attempts_outcome_chk
    check (outcome in ('success', 'failed', 'replayed', 'expired', 'locked', 'rate_limited')),
  ip inet,
  user_agent text constraint mfa_verification_attempts_user_agent_chk check (length(user_agent) <= 512),
  device_fingerprint text constraint mfa_verification_attempts_device_fingerprint_chk check (length(device_fingerprint) <= 256),
  created_at timestamptz not null default now()
);
comment on table app.mfa_verification_attempts is 'Every MFA verification attempt with its security context; never rolled back (functions return statuses).';
create index mfa_verification_attempts_user_idx on app.mfa_verification_attempts (user_id, created_at desc);
create index mfa_verification_attempts_ip_idx on app.mfa_verification_attempts (ip, created_at desc) where ip is not null;

alter table app.mfa_verification_attempts enable row level security;
alter table app.mfa_verification_attempts force row level security;
create policy select_own on app.mfa_verification_attempts for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.mfa_verification_attempts for select to compliance_officer, admin using (true);
grant select on app.mfa_verification_attempts to authenticated;
select audit.enable_tracking('app.mfa_verification_attempts', 'user_id', pii_columns => '{ip,user_agent,device_fingerprint}');

-- "Remember this device" for 30 days: the token is stored only as a SHA-256
-- hash and is bound to the user and the device fingerprint.
create table app.trusted_devices (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null constraint trusted_devices_user_id_fkey references app.users (id),
  device_fingerprint text not null constraint trusted_devices_device_fingerprint_chk check (length(device_fingerprint) between 1 and 256),
  device_name text constraint trusted_devices_device_name_chk check (length(device_name) <= 200),
  ip inet,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text constraint trusted_devices_revoked_reason_chk check (length(revoked_reason) <= 64),
  constraint trusted_devices_revoked_chk check ((revoked_at is null) = (revoked_reason is null))
);
comment on table app.trusted_devices is 'Devices that skip the MFA prompt for 30 days (session stays aal1, amr includes trusted_device). Token hashes live in app_private.trusted_device_tokens.';
create index trusted_devices_user_idx on app.trusted_devices (user_id, created_at desc);

alter table app.trusted_devices enable row level security;
alter table app.trusted_devices force row level security;
create policy select_own on app.trusted_devices for select to authenticated using (user_id = app.current_user_id());
create policy select_staff on app.trusted_devices for select to compliance_officer, admin using (true);
grant select on app.trusted_devices to authenticated;
select audit.enable_tracking('app.trusted_devices', 'user_id', pii_columns => '{device_fingerprint,device_name,ip}');

create table app_private.trusted_device_tokens (
  token_hash bytea primary key constraint trusted_device_tokens_token_hash_chk check (length(token_hash) = 32),
  device_id uuid not null unique constraint trusted_device_tokens_device_id_fkey references app.trusted_devices (id) on delete cascade
);
select audit.enable_tracking('app_private.trusted_device_tokens', null, secret_columns => '{token_hash}');

-- Transactional outbox for SMS and e-mail. A message that carries a code holds
-- it only inside payload.sealed, encrypted by the gateway (AES-256-GCM, the MFA
-- keys); the sender decrypts it at delivery and app.complete_outbox removes
-- payload.sealed, so no code is readable in any table, before or after delivery.
create table app_private.outbox (
  id bigint generated always as identity primary key,
  user_id uuid constraint outbox_user_id_fkey references app.users (id),
  channel text not null constraint outbox_channel_chk check (channel in ('email', 'sms')),
  template text not null constraint outbox_template_chk check (template ~ '^[a-z0-9_.]{1,64}$'),
  payload jsonb not null default '{}',
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  attempts integer not null default 0,
  last_error text constraint outbox_last_error_chk check (length(last_error) <= 500)
);
create index outbox_pending_idx on app_private.outbox (created_at) where sent_at is null;
select audit.enable_tracking('app_private.outbox', 'user_id', secret_columns => '{payload}');

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------
create function app_private.mfa_code_hash(code text) returns bytea
  language sql stable strict
  set search_path = ''
  as $$ select extensions.hmac(convert_to(code, 'UTF8'), app_private.key('mfa_code'), 'sha256') $$;

-- Backup codes are compared without separators and case.
create function app_private.backup_code_hash(code text) returns bytea
  language sql immutable strict
  set search_path = ''
  as $$ select extensions.digest(convert_to(upper(regexp_replace(code, '[^A-Za-z0-9]', '', 'g')), 'UTF8'), 'sha256') $$;

-- 10 random base32 characters as XXXXX-XXXXX (256 is a multiple of 32: no bias).
create function app_private.new_backup_code() returns text
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_bytes bytea := extensions.gen_random_bytes(10);
  v_code text := '';
begin
  for i in 0..9 loop
    v_code := v_code || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', get_byte(v_bytes, i) % 32 + 1, 1);
  end loop;
  return substr(v_code, 1, 5) || '-' || substr(v_code, 6, 5);
end
$$;

create function app_private.totp_step(now timestamptz) returns bigint
  language sql immutable strict
  set search_path = ''
  as $$ select floor(extract(epoch from now) / 30)::bigint $$;

-- The session a request acts in: the gateway's request context, else the JWT.
create function app_private.request_session_id() returns uuid
  language sql stable
  set search_path = ''
  as $$ select coalesce(nullif(pg_catalog.current_setting('dwaybank.session_id', true), '')::uuid, app.current_session_id()) $$;

------------------------------------------------------------------------------
-- Step-up
------------------------------------------------------------------------------
-- A recent sign-in (auth_time within `step_up_minutes`) of a live session, and
-- aal2 when required. Raises STEP_UP_REQUIRED otherwise.
create function app_private.assert_recent_auth(require_aal2 boolean, now timestamptz) returns uuid
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_session app.user_sessions;
begin
  now := app.clock(now);  -- API roles cannot move the step-up clock
  select * into v_session from app.user_sessions s where s.id = app_private.request_session_id();
  if not found or v_session.revoked_at is not null or v_session.expires_at <= now or v_session.idle_expires_at <= now then
    raise exception 'The session of this token has ended.' using errcode = 'PT401', detail = 'SESSION_ENDED',
      hint = 'Sign in again.';
  end if;
  if v_session.auth_time < now - make_interval(mins => app.setting('step_up_minutes', '10')::integer)
     or (require_aal2 and v_session.aal <> 'aal2') then
    raise exception 'This action needs a recent sign-in with your second factor.' using errcode = 'PT403', detail = 'STEP_UP_REQUIRED',
      hint = 'Confirm with a code (POST /auth/mfa/step-up), or sign in again, then retry within 10 minutes.';
  end if;
  return v_session.user_id;
end
$$;

create function app.assert_step_up(now timestamptz default now()) returns void
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_session app.user_sessions;
begin
  select * into v_session from app.user_sessions s where s.id = app_private.request_session_id();
  -- A user without a second factor cannot reach aal2: a recent sign-in is the strongest proof there is.
  perform app_private.assert_recent_auth(
    exists (select from app.mfa_configs c where c.user_id = v_session.user_id and c.status = 'active'), now);
end
$$;
comment on function app.assert_step_up(timestamptz) is
  'Raises STEP_UP_REQUIRED (403) unless the current session is aal2 with auth_time within 10 minutes (a recent sign-in for users with no second factor).
For sensitive actions: changing e-mail, phone or password, managing MFA, revoking all sessions.
Definer: reads the caller''s session and MFA configuration, which callers cannot read in full.';
grant execute on function app.assert_step_up(timestamptz) to authenticated, :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Seed functions
------------------------------------------------------------------------------
create function api.get_user_mfa_methods(user_id uuid default null)
  returns table (id uuid, method text, status text, label text, device_fingerprint text, created_at timestamptz,
                 confirmed_at timestamptz, last_used_at timestamptz, backup_codes_left integer, mfa_required boolean)
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_user uuid := coalesce(get_user_mfa_methods.user_id, app.current_user_id());
begin
  if app.caller_role() not in ('compliance_officer', 'admin') and v_user is distinct from app.current_user_id() then
    raise exception 'You may only list your own second factors.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Staff (compliance officers, admins) may list other users'' factors.';
  end if;
  return query
    select c.id, c.method, c.status, c.label, c.device_fingerprint, c.created_at, c.confirmed_at, c.last_used_at,
           case when c.method = 'backup_codes'
                then (select count(*)::integer from app_private.mfa_backup_codes b where b.config_id = c.id and b.used_at is null) end,
           app.mfa_policy_required(v_user)
    from app.mfa_configs c
    where c.user_id = v_user
    order by c.created_at;
end
$$;
comment on function api.get_user_mfa_methods(uuid) is
  'A user''s second factors, without any secret: the caller''s own, or (staff) anyone''s.
Definer: counts unused backup codes in app_private; the function checks who may see which user.';
grant execute on function api.get_user_mfa_methods(uuid) to authenticated;

create function app.check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer,
                                         now timestamptz default now())
  returns table (limited boolean, retry_after_seconds integer, user_failures integer, ip_failures integer)
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_since timestamptz := now - make_interval(secs => window_seconds);
  v_user_failures integer;
  v_user_oldest timestamptz;
  v_ip_failures integer := 0;
  v_ip_oldest timestamptz;
  v_ip_limit integer := app.setting('ip_failure_limit', '50')::integer;
  v_retry integer := 0;
begin
  -- Wrong, replayed, expired and locked codes count; refusals by the limit itself do not, so it cannot extend itself.
  select count(*)::integer, min(a.created_at) into v_user_failures, v_user_oldest
  from (select a.created_at from app.mfa_verification_attempts a
         where a.user_id = check_mfa_rate_limit.user_id and a.created_at > v_since
           and a.outcome in ('failed', 'replayed', 'expired', 'locked')
         order by a.created_at desc limit max_attempts) a;
  if v_user_failures >= max_attempts then
    v_retry := greatest(1, ceil(extract(epoch from (v_user_oldest + make_interval(secs => window_seconds) - now))))::integer;
  end if;
  if ip is not null then
    select count(*)::integer, min(a.created_at) into v_ip_failures, v_ip_oldest
    from (select a.created_at from app.mfa_verification_attempts a
           where a.ip = check_mfa_rate_limit.ip and a.created_at > v_since
             and a.outcome in ('failed', 'replayed', 'expired', 'locked')
           order by a.created_at desc limit v_ip_limit) a;
    if v_ip_failures >= v_ip_limit then
      v_retry := greatest(v_retry, 1, ceil(extract(epoch from (v_ip_oldest + make_interval(secs => window_seconds) - now)))::integer);
    end if;
  end if;
  return query select v_retry > 0, v_retry, v_user_failures, v_ip_failures;
end
$$;
comment on function app.check_mfa_rate_limit(uuid, inet, integer, integer, timestamptz) is
  'Whether a user (max_attempts failures) or an IP (dwaybank.ip_failure_limit failures) has failed too often in the window, and for how many seconds more.
Definer: counts attempts of every user from one address.';
grant execute on function app.check_mfa_rate_limit(uuid, inet, integer, integer, timestamptz) to :DATABASE_GATEWAY;

create function app.record_mfa_attempt(user_id uuid, method text, outcome text, purpose text default 'login',
                                       config_id uuid default null, ip inet default null, user_agent text default null,
                                       device_fingerprint text default null, now timestamptz default now())
  returns bigint
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_id bigint;
begin
  insert into app.mfa_verification_attempts (user_id, config_id, method, purpose, outcome, ip, user_agent, device_fingerprint, created_at)
  values (record_mfa_attempt.user_id, record_mfa_attempt.config_id, record_mfa_attempt.method, record_mfa_attempt.purpose,
          record_mfa_attempt.outcome, record_mfa_attempt.ip, left(record_mfa_attempt.user_agent, 512),
          left(record_mfa_attempt.device_fingerprint, 256), now)
  returning id into v_id;
  if outcome <> 'success' then
    perform audit.log_event('mfa.verify.failed', record_mfa_attempt.user_id,
      jsonb_build_object('method', method, 'purpose', purpose, 'outcome', outcome), 'warning');
  end if;
  return v_id;
end
$$;
comment on function app.record_mfa_attempt(uuid, text, text, text, uuid, inet, text, text, timestamptz) is
  'Records one MFA verification attempt with its security context (and a security event when it failed).
Definer: writes the attempts table, which no API role may write.';
grant execute on function app.record_mfa_attempt(uuid, text, text, text, uuid, inet, text, text, timestamptz) to :DATABASE_GATEWAY;

create function app_private.revoke_trusted_devices(user_id uuid, reason text) returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  update app.trusted_devices d set revoked_at = now(), revoked_reason = reason
   where d.user_id = revoke_trusted_devices.user_id and d.revoked_at is null;
  get diagnostics v_count = row_count;
  delete from app_private.trusted_device_tokens t using app.trusted_devices d
   where t.device_id = d.id and d.user_id = revoke_trusted_devices.user_id;
  if v_count > 0 then
    perform audit.log_event('mfa.trusted_devices.revoked', user_id, jsonb_build_object('reason', reason, 'count', v_count));
  end if;
  return v_count;
end
$$;

create function api.disable_mfa_method(user_id uuid, method varchar, now timestamptz default now()) returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
  v_others integer;
begin
  if app.caller_role() <> 'admin' and disable_mfa_method.user_id is distinct from coalesce(app.current_user_id(),
       nullif(pg_catalog.current_setting('dwaybank.actor_id', true), '')::uuid) then
    raise exception 'You may only remove your own second factors.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'An admin can remove a factor of another user (e.g. a lost phone).';
  end if;
  now := app.clock(now);  -- a customer cannot move the step-up clock
  perform app_private.assert_recent_auth(true, now);
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
  perform audit.log_event('mfa.disabled', disable_mfa_method.user_id,
    jsonb_build_object('method', v_config.method, 'config_id', v_config.id, 'by', app.caller_role()), 'warning');
  return true;
end
$$;
comment on function api.disable_mfa_method(uuid, varchar, timestamptz) is
  'Removes a second factor. Needs a fresh aal2 session (auth_time within 10 minutes); refuses to remove the last factor when the account''s policy requires MFA; revokes trusted devices.
Customers remove their own, admins anyone''s. Definer: deletes secret material in app_private.';
grant execute on function api.disable_mfa_method(uuid, varchar, timestamptz) to authenticated, :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Enrolment
------------------------------------------------------------------------------
-- The first factor needs a recent sign-in; any further change needs aal2.
create function app_private.assert_may_manage_mfa(user_id uuid, now timestamptz) returns void
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_session_user uuid;
begin
  v_session_user := app_private.assert_recent_auth(
    exists (select from app.mfa_configs c where c.user_id = assert_may_manage_mfa.user_id and c.status = 'active'), now);
  if v_session_user is distinct from user_id then
    raise exception 'You may only manage your own second factors.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Sign in as the account owner.';
  end if;
end
$$;

create function app.begin_totp_enrollment(user_id uuid, session_id uuid, secret_ciphertext text, key_id text,
                                          label text default null, device_fingerprint text default null,
                                          ip inet default null, user_agent text default null, now timestamptz default now())
  returns uuid
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_config from app.mfa_configs c where c.user_id = begin_totp_enrollment.user_id and c.method = 'totp' for update;
  if v_config.status = 'active' then
    raise exception 'An authenticator app is already set up.' using errcode = 'PT409', detail = 'MFA_ALREADY_ENROLLED',
      hint = 'Remove it first (disable_mfa_method) to set up a new one.';
  end if;
  -- A new enrolment replaces an unconfirmed one (and its secret).
  delete from app.mfa_configs c where c.id = v_config.id;
  begin
    insert into app.mfa_configs (user_id, method, status, label, device_fingerprint, created_at)
    values (begin_totp_enrollment.user_id, 'totp', 'pending', coalesce(nullif(label, ''), 'Authenticator app'),
            left(device_fingerprint, 256), now)
    returning * into v_config;
    insert into app_private.mfa_secrets (config_id, ciphertext, key_id) values (v_config.id, secret_ciphertext, key_id);
  exception when check_violation then
    raise exception 'The label or the encrypted secret is not valid.' using errcode = 'PT400', detail = 'INVALID_INPUT',
      hint = 'Labels are 1 to 100 characters without control characters.';
  end;
  perform audit.log_event('mfa.enrolled', user_id, jsonb_build_object('method', 'totp', 'config_id', v_config.id));
  return v_config.id;
end
$$;
comment on function app.begin_totp_enrollment(uuid, uuid, text, text, text, text, inet, text, timestamptz) is
  'Starts a TOTP enrolment with the gateway-encrypted secret (pending until confirmed). Needs a recent sign-in; aal2 if a factor exists.
Definer: writes the ciphertext into app_private.';
grant execute on function app.begin_totp_enrollment(uuid, uuid, text, text, text, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

-- The encrypted TOTP secret, for the gateway to check a code. Useless without
-- the gateway's key.
create function app.mfa_totp_secret(user_id uuid, config_id uuid default null)
  returns table (config_id uuid, status text, ciphertext text, key_id text, last_used_step bigint)
  language sql stable security definer
  set search_path = ''
  as $$
    select c.id, c.status, s.ciphertext, s.key_id, c.last_used_step
    from app.mfa_configs c join app_private.mfa_secrets s on s.config_id = c.id
    where c.user_id = mfa_totp_secret.user_id and c.method = 'totp'
      and (mfa_totp_secret.config_id is null or c.id = mfa_totp_secret.config_id)
  $$;
comment on function app.mfa_totp_secret(uuid, uuid) is
  'The AES-GCM ciphertext of a user''s TOTP secret and its last accepted step. Definer: reads app_private.';
grant execute on function app.mfa_totp_secret(uuid, uuid) to :DATABASE_GATEWAY;

-- Accepts a TOTP time step at most once: the step must be later than the last
-- accepted one and within one step of the database clock. Atomic: of two
-- concurrent submissions of one code exactly one updates the row.
create function app_private.accept_totp_step(config_id uuid, step bigint, now timestamptz) returns boolean
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  if step is null or abs(step - app_private.totp_step(now)) > 1 then
    return false;
  end if;
  update app.mfa_configs c set last_used_step = step, last_used_at = now, updated_at = now
   where c.id = accept_totp_step.config_id and (c.last_used_step is null or c.last_used_step < step);
  return found;
end
$$;

create function app_private.issue_backup_codes(user_id uuid, now timestamptz) returns text[]
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_config_id uuid;
  v_codes text[];
begin
  insert into app.mfa_configs as c (user_id, method, status, label, created_at, confirmed_at)
  values (issue_backup_codes.user_id, 'backup_codes', 'active', 'Backup codes', now, now)
  on conflict on constraint mfa_configs_user_method_key do update set confirmed_at = now, status = 'active', updated_at = now
  returning c.id into v_config_id;
  delete from app_private.mfa_backup_codes b where b.config_id = v_config_id;
  select array_agg(app_private.new_backup_code()) into v_codes from generate_series(1, 10);
  insert into app_private.mfa_backup_codes (code_hash, config_id, user_id, created_at)
  select app_private.backup_code_hash(code), v_config_id, issue_backup_codes.user_id, now from unnest(v_codes) code;
  return v_codes;
end
$$;

create function app.confirm_totp_enrollment(user_id uuid, session_id uuid, config_id uuid, step bigint,
                                            ip inet default null, user_agent text default null,
                                            device_fingerprint text default null, now timestamptz default now())
  returns table (status text, retry_after_seconds integer, backup_codes text[])
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
  v_limit record;
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_config from app.mfa_configs c
   where c.id = confirm_totp_enrollment.config_id and c.user_id = confirm_totp_enrollment.user_id and c.method = 'totp'
   for update;
  if not found or v_config.status <> 'pending' then
    return query select 'not_found', null::integer, null::text[];
    return;
  end if;
  select * into v_limit from app.check_mfa_rate_limit(user_id, ip, app.setting('mfa_max_attempts', '5')::integer,
                                                      app.setting('mfa_window_seconds', '900')::integer, now);
  if v_limit.limited then
    perform app.record_mfa_attempt(user_id, 'totp', 'rate_limited', 'enroll', v_config.id, ip, user_agent, device_fingerprint, now);
    return query select 'rate_limited', v_limit.retry_after_seconds, null::text[];
    return;
  end if;
  if not app_private.accept_totp_step(v_config.id, step, now) then
    perform app.record_mfa_attempt(user_id, 'totp', 'failed', 'enroll', v_config.id, ip, user_agent, device_fingerprint, now);
    return query select 'invalid_code', null::integer, null::text[];
    return;
  end if;
  update app.mfa_configs c set status = 'active', confirmed_at = now, updated_at = now where c.id = v_config.id;
  perform app.record_mfa_attempt(user_id, 'totp', 'success', 'enroll', v_config.id, ip, user_agent, device_fingerprint, now);
  v_codes := app_private.issue_backup_codes(user_id, now);
  perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  perform audit.log_event('mfa.confirmed', user_id, jsonb_build_object('method', 'totp', 'config_id', v_config.id));
  perform audit.log_event('mfa.backup_codes.generated', user_id, jsonb_build_object('count', 10));
  return query select 'ok', null::integer, v_codes;
end
$$;
comment on function app.confirm_totp_enrollment(uuid, uuid, uuid, bigint, inet, text, text, timestamptz) is
  'Activates a pending TOTP factor when the gateway found the code at `step`, and returns 10 backup codes (shown once; stored hashed).
Returns a status instead of raising so failed attempts count. Definer: writes app_private.';
grant execute on function app.confirm_totp_enrollment(uuid, uuid, uuid, bigint, inet, text, text, timestamptz) to :DATABASE_GATEWAY;

-- SMS or e-mail as a factor: a pending config plus a code sent through the outbox.
create function app.begin_otp_enrollment(user_id uuid, session_id uuid, method text, code text, sealed text,
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
      detail = 'MFA_METHOD_NOT_AVAILABLE', hint = 'Add a phone number (update_my_profile) or use e-mail.';
  end if;
  insert into app.mfa_configs as c (user_id, method, status, label, created_at)
  values (begin_otp_enrollment.user_id, method, 'pending', case method when 'sms' then 'Text message' else 'E-mail' end, now)
  on conflict on constraint mfa_configs_user_method_key do update set updated_at = now
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
comment on function app.begin_otp_enrollment(uuid, uuid, text, text, text, inet, text, timestamptz) is
  'Starts an SMS or e-mail factor and queues its first code. Definer: writes app_private.';
grant execute on function app.begin_otp_enrollment(uuid, uuid, text, text, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- SMS and e-mail codes
------------------------------------------------------------------------------
-- Stores the code's HMAC and queues the message; the code itself travels only
-- inside `sealed` (gateway ciphertext). At most `mfa_challenge_limit` codes per
-- user in the window, against SMS pumping.
create function app_private.create_challenge(config app.mfa_configs, login_id uuid, code text, sealed text, now timestamptz)
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
  insert into app_private.outbox (user_id, channel, template, payload, created_at)
  values ((config).user_id, (config).method, 'mfa_code',
          jsonb_build_object('challenge_id', v_id, 'expires_at', v_expires, 'sealed', sealed), now);
  perform audit.log_event('mfa.challenge.sent', (config).user_id,
    jsonb_build_object('method', (config).method, 'challenge_id', v_id, 'expires_at', v_expires));
  return query select 'ok', v_id, v_expires, null::integer;
end
$$;

-- Checks a code against the live challenge of a factor. 'ok', 'failed',
-- 'expired' (or none), or 'locked' after `mfa_code_max_tries` wrong tries.
create function app_private.check_challenge(config_id uuid, code text, now timestamptz) returns text
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_challenge app_private.mfa_challenges;
  v_max integer := app.setting('mfa_code_max_tries', '5')::integer;
begin
  select * into v_challenge from app_private.mfa_challenges c
   where c.config_id = check_challenge.config_id and c.consumed_at is null
   order by c.created_at desc limit 1
   for update;
  if not found or v_challenge.expires_at <= now then
    return 'expired';
  end if;
  if v_challenge.locked_at is not null then
    return 'locked';
  end if;
  if code is not null and app_private.mfa_code_hash(code) = v_challenge.code_hash then
    update app_private.mfa_challenges c set consumed_at = now, attempts = c.attempts + 1 where c.id = v_challenge.id;
    return 'ok';
  end if;
  update app_private.mfa_challenges c
     set attempts = c.attempts + 1,
         locked_at = case when c.attempts + 1 >= v_max then now end
   where c.id = v_challenge.id;
  return case when v_challenge.attempts + 1 >= v_max then 'locked' else 'failed' end;
end
$$;

create function app.confirm_otp_enrollment(user_id uuid, session_id uuid, config_id uuid, code text,
                                           ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, retry_after_seconds integer, backup_codes text[])
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
  v_limit record;
  v_outcome text;
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_may_manage_mfa(user_id, now);
  select * into v_config from app.mfa_configs c
   where c.id = confirm_otp_enrollment.config_id and c.user_id = confirm_otp_enrollment.user_id and c.method in ('sms', 'email')
   for update;
  if not found or v_config.status <> 'pending' then
    return query select 'not_found', null::integer, null::text[];
    return;
  end if;
  select * into v_limit from app.check_mfa_rate_limit(user_id, ip, app.setting('mfa_max_attempts', '5')::integer,
                                                      app.setting('mfa_window_seconds', '900')::integer, now);
  if v_limit.limited then
    perform app.record_mfa_attempt(user_id, v_config.method, 'rate_limited', 'enroll', v_config.id, ip, user_agent, null, now);
    return query select 'rate_limited', v_limit.retry_after_seconds, null::text[];
    return;
  end if;
  v_outcome := app_private.check_challenge(v_config.id, code, now);
  if v_outcome <> 'ok' then
    perform app.record_mfa_attempt(user_id, v_config.method, v_outcome, 'enroll', v_config.id, ip, user_agent, null, now);
    return query select case v_outcome when 'failed' then 'invalid_code' else v_outcome end, null::integer, null::text[];
    return;
  end if;
  update app.mfa_configs c set status = 'active', confirmed_at = now, last_used_at = now, updated_at = now where c.id = v_config.id;
  perform app.record_mfa_attempt(user_id, v_config.method, 'success', 'enroll', v_config.id, ip, user_agent, null, now);
  if not exists (select from app.mfa_configs c where c.user_id = confirm_otp_enrollment.user_id and c.method = 'backup_codes') then
    v_codes := app_private.issue_backup_codes(user_id, now);
    perform audit.log_event('mfa.backup_codes.generated', user_id, jsonb_build_object('count', 10));
  end if;
  perform app_private.revoke_trusted_devices(user_id, 'mfa_changed');
  perform audit.log_event('mfa.confirmed', user_id, jsonb_build_object('method', v_config.method, 'config_id', v_config.id));
  return query select 'ok', null::integer, v_codes;
end
$$;
comment on function app.confirm_otp_enrollment(uuid, uuid, uuid, text, inet, text, timestamptz) is
  'Activates a pending SMS or e-mail factor with the code that was sent; returns backup codes if the user had none.
Returns a status instead of raising so failed attempts count. Definer: reads code hashes in app_private.';
grant execute on function app.confirm_otp_enrollment(uuid, uuid, uuid, text, inet, text, timestamptz) to :DATABASE_GATEWAY;

-- Sends a code for a pending sign-in (login_id) or a step-up of the caller's session.
create function app.create_mfa_challenge(user_id uuid, method text, code text, sealed text, login_id uuid default null,
                                         session_id uuid default null, ip inet default null, user_agent text default null,
                                         now timestamptz default now())
  returns table (status text, challenge_id uuid, expires_at timestamptz, retry_after_seconds integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  if login_id is not null then
    if not exists (select from app_private.mfa_logins l where l.id = create_mfa_challenge.login_id
                     and l.user_id = create_mfa_challenge.user_id and l.consumed_at is null and l.expires_at > now) then
      return query select 'invalid_token', null::uuid, null::timestamptz, null::integer;
      return;
    end if;
  elsif not exists (select from app.user_sessions s where s.id = create_mfa_challenge.session_id
                      and s.user_id = create_mfa_challenge.user_id and s.revoked_at is null and s.expires_at > now) then
    return query select 'invalid_token', null::uuid, null::timestamptz, null::integer;
    return;
  end if;
  select * into v_config from app.mfa_configs c
   where c.user_id = create_mfa_challenge.user_id and c.method = create_mfa_challenge.method and c.status = 'active';
  if not found then
    return query select 'method_not_available', null::uuid, null::timestamptz, null::integer;
    return;
  end if;
  return query select * from app_private.create_challenge(v_config, login_id, code, sealed, now);
end
$$;
comment on function app.create_mfa_challenge(uuid, text, text, text, uuid, uuid, inet, text, timestamptz) is
  'Queues a 6-digit code by SMS or e-mail for a pending sign-in or a step-up (stored as an HMAC, single use, 10 minutes, 5 tries).
Definer: writes code hashes and the outbox in app_private.';
grant execute on function app.create_mfa_challenge(uuid, text, text, text, uuid, uuid, inet, text, timestamptz) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Verification: sign-in and step-up
------------------------------------------------------------------------------
-- Checks one factor. For TOTP the gateway passes the step it found the code at
-- (null: the code matched no step); for SMS, e-mail and backup codes, the code.
-- Records the attempt either way. Returns the outcome and the factor's amr value.
create function app_private.check_factor(user_id uuid, method text, code text, step bigint, purpose text,
                                         ip inet, user_agent text, device_fingerprint text, now timestamptz)
  returns table (outcome text, retry_after_seconds integer, amr text)
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_config app.mfa_configs;
  v_limit record;
  v_outcome text;
  v_left integer;
begin
  select * into v_limit from app.check_mfa_rate_limit(user_id, ip, app.setting('mfa_max_attempts', '5')::integer,
                                                      app.setting('mfa_window_seconds', '900')::integer, now);
  select * into v_config from app.mfa_configs c
   where c.user_id = check_factor.user_id and c.method = check_factor.method and c.status = 'active';
  if v_limit.limited then
    perform app.record_mfa_attempt(user_id, coalesce(v_config.method, 'totp'), 'rate_limited', purpose, v_config.id,
                                   ip, user_agent, device_fingerprint, now);
    return query select 'rate_limited', v_limit.retry_after_seconds, null::text;
    return;
  end if;
  if v_config.id is null then
    return query select 'method_not_available', null::integer, null::text;
    return;
  end if;
  if method = 'totp' then
    if step is null or abs(step - app_private.totp_step(now)) > 1 then
      v_outcome := 'failed';
    elsif app_private.accept_totp_step(v_config.id, step, now) then
      v_outcome := 'ok';
    else
      v_outcome := 'replayed';
    end if;
  elsif method = 'backup_codes' then
    update app_private.mfa_backup_codes b set used_at = now
     where b.config_id = v_config.id and b.code_hash = app_private.backup_code_hash(coalesce(code, '')) and b.used_at is null;
    v_outcome := case when found then 'ok' else 'failed' end;
    if v_outcome = 'ok' then
      select count(*) into v_left from app_private.mfa_backup_codes b where b.config_id = v_config.id and b.used_at is null;
      perform audit.log_event('mfa.backup_code.used', user_id, jsonb_build_object('remaining', v_left),
                              case when v_left <= 2 then 'warning' else 'info' end);
      update app.mfa_configs c set last_used_at = now where c.id = v_config.id;
    end if;
  else
    v_outcome := app_private.check_challenge(v_config.id, code, now);
    if v_outcome = 'ok' then
      update app.mfa_configs c set last_used_at = now where c.id = v_config.id;
    end if;
  end if;
  perform app.record_mfa_attempt(user_id, method, case v_outcome when 'ok' then 'success' else v_outcome end, purpose,
                                 v_config.id, ip, user_agent, device_fingerprint, now);
  return query select v_outcome, null::integer,
    case method when 'totp' then 'otp' when 'backup_codes' then 'backup_code' else method end;
end
$$;

create function app_private.trust_device(user_id uuid, device_fingerprint text, device_name text, ip inet, now timestamptz)
  returns text
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_token text := app_private.new_token();
  v_id uuid;
begin
  if device_fingerprint is null or device_fingerprint = '' then
    return null;  -- nothing to bind the token to
  end if;
  insert into app.trusted_devices (user_id, device_fingerprint, device_name, ip, created_at, expires_at)
  values (user_id, left(device_fingerprint, 256), left(device_name, 200), ip, now,
          now + make_interval(days => app.setting('trusted_device_days', '30')::integer))
  returning id into v_id;
  insert into app_private.trusted_device_tokens (token_hash, device_id) values (app_private.token_hash(v_token), v_id);
  perform audit.log_event('mfa.device.trusted', user_id, jsonb_build_object('device_id', v_id));
  return v_token;
end
$$;

create function app.verify_mfa_login(login_id uuid, method text, code text default null, step bigint default null,
                                     remember_device boolean default false, ip inet default null, user_agent text default null,
                                     device_fingerprint text default null, device_name text default null,
                                     now timestamptz default now())
  returns table (status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text,
                 aal text, amr text[], expires_at timestamptz, device_token text)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_login app_private.mfa_logins;
  v_user app.users;
  v_check record;
  v_session record;
  v_amr text[];
  v_device_token text;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  -- Serialises concurrent verifications of one mfa_token.
  select * into v_login from app_private.mfa_logins l where l.id = verify_mfa_login.login_id for update;
  if not found or v_login.expires_at <= now then
    return query select 'invalid_token', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[],
                        null::timestamptz, null::text;
    return;
  end if;
  perform app.set_request_context(v_login.user_id, null, ip, user_agent);
  if v_login.consumed_at is not null then
    perform audit.log_event('mfa.token.reused', v_login.user_id, jsonb_build_object('login_id', v_login.id), 'warning');
    return query select 'token_used', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[],
                        null::timestamptz, null::text;
    return;
  end if;
  select * into v_user from app.users u where u.id = v_login.user_id and u.deleted_at is null;
  if v_user.status is distinct from 'active' then
    return query select 'suspended', null::uuid, null::text, null::integer, null::uuid, null::text, null::text, null::text[],
                        null::timestamptz, null::text;
    return;
  end if;
  select * into v_check from app_private.check_factor(v_user.id, method, code, step, 'login', ip, user_agent,
                                                      coalesce(device_fingerprint, v_login.device_fingerprint), now);
  if v_check.outcome <> 'ok' then
    return query select v_check.outcome, v_user.id, null::text, v_check.retry_after_seconds, null::uuid, null::text, null::text,
                        null::text[], null::timestamptz, null::text;
    return;
  end if;
  update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
  v_amr := array['pwd', v_check.amr];
  select * into v_session from app_private.create_session(v_user.id, 'aal2', v_amr, ip, user_agent,
    coalesce(device_fingerprint, v_login.device_fingerprint), coalesce(device_name, v_login.device_name), now);
  if remember_device then
    v_device_token := app_private.trust_device(v_user.id, coalesce(device_fingerprint, v_login.device_fingerprint),
                                               coalesce(device_name, v_login.device_name), ip, now);
  end if;
  perform audit.log_event('mfa.verify.succeeded', v_user.id,
    jsonb_build_object('method', method, 'purpose', 'login', 'session_id', v_session.session_id));
  return query select 'ok', v_user.id, case v_user.role when 'customer' then 'authenticated' else v_user.role end, null::integer,
                      v_session.session_id, v_session.refresh_token, 'aal2'::text, v_amr, v_session.expires_at, v_device_token;
end
$$;
comment on function app.verify_mfa_login(uuid, text, text, bigint, boolean, inet, text, text, text, timestamptz) is
  'Completes a sign-in that awaits its second factor (login_id = the mfa_token''s jti, single use) and opens an aal2 session.
Returns a status instead of raising so failed attempts count. Definer: reads code hashes and writes sessions.';
grant execute on function app.verify_mfa_login(uuid, text, text, bigint, boolean, inet, text, text, text, timestamptz) to :DATABASE_GATEWAY;

-- A remembered device skips the prompt. The session stays aal1 (amr: pwd,
-- trusted_device): a cookie on a device is weaker than a fresh second factor,
-- so sensitive actions still ask for a step-up.
create function app.login_with_trusted_device(login_id uuid, device_token text, device_fingerprint text,
                                              ip inet default null, user_agent text default null, device_name text default null,
                                              now timestamptz default now())
  returns table (status text, user_id uuid, role text, retry_after_seconds integer, session_id uuid, refresh_token text,
                 aal text, amr text[], expires_at timestamptz)
  language plpgsql volatile security definer
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
comment on function app.login_with_trusted_device(uuid, text, text, inet, text, text, timestamptz) is
  'Completes a pending sign-in from a remembered device (token hash, same user and device fingerprint, not expired or revoked): an aal1 session with amr {pwd,trusted_device}.
Definer: reads device token hashes in app_private.';
grant execute on function app.login_with_trusted_device(uuid, text, text, inet, text, text, timestamptz) to :DATABASE_GATEWAY;

create function app.step_up_session(session_id uuid, method text, code text default null, step bigint default null,
                                    ip inet default null, user_agent text default null, now timestamptz default now())
  returns table (status text, retry_after_seconds integer, user_id uuid, role text, aal text, amr text[], auth_time timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_session app.user_sessions;
  v_user app.users;
  v_check record;
begin
  select * into v_session from app.user_sessions s where s.id = step_up_session.session_id for update;
  if not found or v_session.revoked_at is not null or v_session.expires_at <= now or v_session.idle_expires_at <= now then
    return query select 'invalid_token', null::integer, null::uuid, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  perform app.set_request_context(v_session.user_id, v_session.id, ip, user_agent);
  select * into v_user from app.users u where u.id = v_session.user_id;
  select * into v_check from app_private.check_factor(v_session.user_id, method, code, step, 'step_up', ip, user_agent,
                                                      v_session.device_fingerprint, now);
  if v_check.outcome <> 'ok' then
    return query select v_check.outcome, v_check.retry_after_seconds, v_session.user_id, null::text, null::text, null::text[], null::timestamptz;
    return;
  end if;
  update app.user_sessions s
     set aal = 'aal2', auth_time = now,
         amr = (select array_agg(distinct a order by a) from unnest(s.amr || v_check.amr) a)
   where s.id = v_session.id
   returning * into v_session;
  perform audit.log_event('mfa.verify.succeeded', v_session.user_id,
    jsonb_build_object('method', method, 'purpose', 'step_up', 'session_id', v_session.id));
  return query select 'ok', null::integer, v_session.user_id, case v_user.role when 'customer' then 'authenticated' else v_user.role end,
                      v_session.aal, v_session.amr, v_session.auth_time;
end
$$;
comment on function app.step_up_session(uuid, text, text, bigint, inet, text, timestamptz) is
  'Raises a live session to aal2 with auth_time = now after a second factor. Returns a status instead of raising so failed attempts count.
Definer: writes session columns and reads code hashes.';
grant execute on function app.step_up_session(uuid, text, text, bigint, inet, text, timestamptz) to :DATABASE_GATEWAY;

create function app.regenerate_backup_codes(user_id uuid, session_id uuid, ip inet default null, user_agent text default null,
                                            now timestamptz default now())
  returns text[]
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_codes text[];
begin
  perform app.set_request_context(user_id, session_id, ip, user_agent);
  perform app_private.assert_recent_auth(true, now);
  if app_private.request_session_id() is null
     or (select s.user_id from app.user_sessions s where s.id = app_private.request_session_id()) is distinct from user_id then
    raise exception 'You may only manage your own second factors.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Sign in as the account owner.';
  end if;
  if not exists (select from app.mfa_configs c where c.user_id = regenerate_backup_codes.user_id and c.status = 'active'
                   and c.method <> 'backup_codes') then
    raise exception 'Backup codes need another second factor.' using errcode = 'PT409', detail = 'MFA_NOT_ENROLLED',
      hint = 'Set up an authenticator app first.';
  end if;
  v_codes := app_private.issue_backup_codes(user_id, now);
  perform audit.log_event('mfa.backup_codes.regenerated', user_id, jsonb_build_object('count', 10), 'warning');
  return v_codes;
end
$$;
comment on function app.regenerate_backup_codes(uuid, uuid, inet, text, timestamptz) is
  'Replaces the backup codes with 10 new ones (the old set stops working). Needs a fresh aal2 session.
Definer: writes code hashes in app_private.';
grant execute on function app.regenerate_backup_codes(uuid, uuid, inet, text, timestamptz) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Trusted devices
------------------------------------------------------------------------------
create function api.my_trusted_devices()
  returns table (id uuid, device_name text, device_fingerprint text, created_at timestamptz, last_used_at timestamptz,
                 expires_at timestamptz, revoked_at timestamptz, revoked_reason text)
  language sql stable
  set search_path = ''
  as $$
    select d.id, d.device_name, d.device_fingerprint, d.created_at, d.last_used_at, d.expires_at, d.revoked_at, d.revoked_reason
    from app.trusted_devices d
    where d.user_id = app.current_user_id()
    order by d.revoked_at is not null, d.created_at desc
    limit 100
  $$;
comment on function api.my_trusted_devices() is
  'The caller''s remembered devices (skip the MFA prompt for 30 days), newest first.
Security invoker: row-level security returns only the caller''s devices.';
grant execute on function api.my_trusted_devices() to authenticated;

create function api.revoke_trusted_device(device_id uuid default null) returns integer
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  if app.current_user_id() is null then
    raise exception 'Sign in first.' using errcode = 'PT401', detail = 'INVALID_TOKEN', hint = 'Send an access token.';
  end if;
  if device_id is null then
    return app_private.revoke_trusted_devices(app.current_user_id(), 'revoked_by_user');
  end if;
  update app.trusted_devices d set revoked_at = now(), revoked_reason = 'revoked_by_user'
   where d.id = revoke_trusted_device.device_id and d.user_id = app.current_user_id() and d.revoked_at is null;
  get diagnostics v_count = row_count;
  if v_count = 0 then
    raise exception 'No remembered device of yours has this id.' using errcode = 'PT404', detail = 'DEVICE_NOT_FOUND',
      hint = 'List them with /rpc/my_trusted_devices.';
  end if;
  delete from app_private.trusted_device_tokens t where t.device_id = revoke_trusted_device.device_id;
  perform audit.log_event('mfa.trusted_devices.revoked', app.current_user_id(), jsonb_build_object('reason', 'revoked_by_user', 'count', 1));
  return v_count;
end
$$;
comment on function api.revoke_trusted_device(uuid) is
  'Forgets one remembered device of the caller, or all of them when no id is given.
Definer: deletes token hashes in app_private; the function checks ownership itself.';
grant execute on function api.revoke_trusted_device(uuid) to authenticated;

-- A password change revokes every remembered device.
create function app.tg_users__revoke_trusted_devices() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  perform app_private.revoke_trusted_devices(new.id, 'password_changed');
  return null;
end
$$;
comment on function app.tg_users__revoke_trusted_devices() is
  'Revokes trusted devices when the password changes. Definer: deletes token hashes in app_private whoever changes the password.';
create trigger _500_revoke_trusted_devices after update of password_changed_at on app.users
  for each row when (old.password_changed_at is distinct from new.password_changed_at)
  execute function app.tg_users__revoke_trusted_devices();

------------------------------------------------------------------------------
-- Outbox
------------------------------------------------------------------------------
-- Claims up to `batch` unsent messages (skip locked: several senders never send
-- one message twice) with their destination.
create function app.claim_outbox(batch integer default 10)
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
    returning o.id, o.user_id, o.channel, o.template, o.payload,
              (select case o.channel when 'sms' then u.phone else u.email::text end from app.users u where u.id = o.user_id),
              o.attempts;
end
$$;
comment on function app.claim_outbox(integer) is
  'Claims unsent SMS/e-mail messages for delivery, with the destination address. Definer: reads the outbox and contact details.';
grant execute on function app.claim_outbox(integer) to :DATABASE_GATEWAY;

-- After delivery the sealed part (which holds any code) is removed for good.
create function app.complete_outbox(id bigint, error text default null) returns void
  language sql volatile security definer
  set search_path = ''
  as $$
    update app_private.outbox o
       set sent_at = case when complete_outbox.error is null then now() end,
           payload = case when complete_outbox.error is null or o.attempts >= 10 then o.payload - 'sealed' else o.payload end,
           last_error = left(complete_outbox.error, 500)
     where o.id = complete_outbox.id
  $$;
comment on function app.complete_outbox(bigint, text) is
  'Marks a message sent (dropping its sealed content) or records a delivery error. Definer: writes the outbox.';
grant execute on function app.complete_outbox(bigint, text) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Sign-in with MFA: after a correct password, a user with an active factor gets
-- a pending sign-in (login_id = the mfa_token's jti, 5 minutes) and the list of
-- factors instead of a session. Replaces the version in 2-sessions.sql.
------------------------------------------------------------------------------
create or replace function app_private.finish_password_login(user_id uuid, ip inet, user_agent text, device_fingerprint text,
                                                             device_name text, now timestamptz)
  returns table (status text, session_id uuid, refresh_token text, aal text, amr text[], expires_at timestamptz,
                 login_id uuid, mfa_methods text[])
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_methods text[];
  v_login app_private.mfa_logins;
begin
  select array_agg(c.method order by c.method) into v_methods
    from app.mfa_configs c where c.user_id = finish_password_login.user_id and c.status = 'active';
  if v_methods is not null then
    insert into app_private.mfa_logins (user_id, methods, ip, user_agent, device_fingerprint, device_name, created_at, expires_at)
    values (finish_password_login.user_id, v_methods, ip, left(user_agent, 512), left(device_fingerprint, 256),
            left(device_name, 200), now, now + make_interval(mins => app.setting('mfa_login_minutes', '5')::integer))
    returning * into v_login;
    perform audit.log_event('auth.mfa_required', finish_password_login.user_id,
      jsonb_build_object('login_id', v_login.id, 'methods', v_methods));
    return query select 'mfa_required', null::uuid, null::text, 'aal1'::text, null::text[], v_login.expires_at,
                        v_login.id, v_methods;
    return;
  end if;
  return query select 'ok', s.session_id, s.refresh_token, 'aal1'::text, '{pwd}'::text[], s.expires_at, null::uuid, null::text[]
               from app_private.create_session(finish_password_login.user_id, 'aal1', '{pwd}', ip, user_agent,
                                               device_fingerprint, device_name, now) s;
end
$$;
