--! Previous: sha1:0625dfd41a342690c1dac6580a52fb5bc308020f
--! Hash: sha1:6c0a4ade9220dfd6d80c92dd5b2fb21d824e0795
--! Message: settings and their defaults in one registry

--! split: 9-settings-registry.sql
-- Settings and their defaults in one place (issue 16): app.settings lists every
-- `dwaybank.*` setting with its default and meaning; app.setting(name) reads the
-- database's value (ALTER DATABASE/ROLE ... SET dwaybank.name) or else that
-- default. Functions no longer repeat defaults inline; the gateway reads the
-- values it needs at start (app.effective_settings()).

create table if not exists app.settings (
  name text primary key constraint settings_name_chk check (name ~ '^[a-z][a-z0-9_]{1,62}$'),
  -- null: unset unless the database sets it (the description says what applies then)
  default_value text constraint settings_default_value_chk check (length(default_value) between 1 and 100),
  description text not null constraint settings_description_chk check (length(description) between 10 and 500)
);
comment on table app.settings is
  'Every dwaybank.* setting, its default and what it means. Override per database: ALTER DATABASE dwaybank SET dwaybank.<name> = ''<value>''. Read with app.setting(name).';
alter table app.settings enable row level security;
alter table app.settings force row level security;
drop policy if exists select_all on app.settings;
create policy select_all on app.settings for select to anon, authenticated using (true);
grant select on app.settings to anon, authenticated;
select audit.enable_tracking('app.settings');

insert into app.settings (name, default_value, description) values
  ('audit_backdate_tolerance_seconds', '3600', 'How far before the newest audit entry a new entry''s time may lie before sealing refuses it.'),
  ('audit_retention_months', '84', 'Months audit partitions are kept (7 years) unless a legal hold covers them.'),
  ('bcrypt_cost', '12', 'bcrypt cost for new password hashes; lower hashes are upgraded at the next sign-in (tests use 4).'),
  ('device_cookie_days', '180', 'Lifetime of a device cookie (OWASP device cookies) issued at sign-in; the gateway sets the browser cookie for as long.'),
  ('device_cookies_per_user', '20', 'Device cookies an account keeps (the most recently used).'),
  ('email_change_hours', '24', 'Lifetime of an e-mail change confirmation link.'),
  ('email_change_limit', '5', 'E-mail change requests per account per hour.'),
  ('email_verification_hours', '24', 'Lifetime of an e-mail verification link.'),
  ('email_verification_limit', '3', 'Verification e-mails per account per window.'),
  ('email_verification_window_seconds', '3600', 'Window of the verification e-mail limit.'),
  ('erasure_grace_days', '30', 'Days between a deletion request and the erasure, during which it can be cancelled.'),
  ('ip_failure_limit', '50', 'Failed sign-ins per client address (IPv6: per /64) in the window before it is throttled.'),
  ('ip_failure_window_minutes', '15', 'Window of the per-address sign-in throttle.'),
  ('kyc_match_threshold', '80', 'Screening score (0-100) from which a watchlist name is a potential match.'),
  ('kyc_max_document_bytes', '10485760', 'Largest KYC document accepted (bytes); the gateway refuses larger uploads.'),
  ('kyc_max_documents_per_user', '30', 'KYC documents a customer may hold in all.'),
  ('kyc_max_documents_per_verification', '10', 'KYC documents per verification.'),
  ('kyc_name_similarity', '0.45', 'pg_trgm similarity from which a watchlist name is compared in detail.'),
  ('kyc_renewal_days', '30', 'Days before an approval expires when its renewal is opened.'),
  ('kyc_retention_years', '5', 'Years KYC evidence is kept after the relationship ends (AML retention).'),
  ('mfa_attempt_retention_days', '365', 'Days MFA attempts are kept.'),
  ('mfa_challenge_limit', '5', 'SMS/e-mail codes sent per account in the MFA window.'),
  ('mfa_challenge_retention_days', '7', 'Days used SMS/e-mail challenges are kept.'),
  ('mfa_code_max_tries', '5', 'Wrong answers to one SMS/e-mail code before it locks.'),
  ('mfa_code_minutes', '10', 'Lifetime of an SMS/e-mail code.'),
  ('mfa_login_minutes', '5', 'Lifetime of a pending MFA sign-in (the mfa_token).'),
  ('mfa_max_attempts', '5', 'Failed second-factor attempts per account (and client address) in the MFA window.'),
  ('mfa_window_seconds', '900', 'Window of the MFA attempt and code limits.'),
  ('outbox_retention_days', '30', 'Days sent outbox messages are kept (their secrets are dropped when sent).'),
  ('password_reset_address_limit', '3', 'Password reset requests per address per window.'),
  ('lockout_threshold', '5', 'Consecutive failed sign-ins that lock an account (1 minute, doubling, capped at 1 hour).'),
  ('password_reset_ip_limit', null, 'Password reset requests per client address per window; unset, the sign-in throttle''s ip_failure_limit.'),
  ('password_reset_minutes', '30', 'Lifetime of a password reset link.'),
  ('password_reset_window_seconds', '3600', 'Window of the password reset limits.'),
  ('phone_change_limit', '5', 'Phone number change requests per account per hour.'),
  ('phone_change_minutes', '10', 'Lifetime of the code sent to a new phone number.'),
  ('recovery_cancel_days', '30', 'Lifetime of the cancel link sent with an account recovery notice.'),
  ('recovery_wait_hours', '72', 'Waiting period of an account recovery, from its second approval.'),
  ('refresh_grace_seconds', '10', 'Window in which concurrent refreshes of one token get the same successor.'),
  ('session_absolute_hours', '12', 'Absolute lifetime of a session.'),
  ('session_burst_limit', '5', 'Sessions of one account in ten minutes from which the risk score rises.'),
  ('session_idle_minutes', '30', 'Idle timeout of a session.'),
  ('session_retention_days', '90', 'Days ended sessions are kept.'),
  ('signup_ip_limit', '10', 'Sign-ups per client address (IPv6: per /64) in the window.'),
  ('signup_ip_window_minutes', '60', 'Window of the sign-up throttle.'),
  ('step_up_minutes', '10', 'How recent a sign-in or step-up must be for sensitive actions.'),
  ('suspicious_threshold', '50', 'Risk score from which a new session is flagged suspicious.'),
  ('trusted_device_days', '30', 'Lifetime of a remembered device (skips the MFA prompt for customers).'),
  ('trusted_proxy_hops', '0', 'Proxies in front of PostgREST that append X-Forwarded-For; 0 trusts no header.'),
  ('webauthn_challenge_minutes', '5', 'Lifetime of a passkey challenge.')
on conflict (name) do update set default_value = excluded.default_value, description = excluded.description;

-- The one reader: the database's value, or the registry's default. It is compiled from app.settings
-- (a CASE over the registered names) whenever the registry changes, so it stays a SQL-standard body
-- of constants that the planner inlines and folds (a lookup in the table would be a sub-select,
-- which PostgreSQL never inlines: every call would pay a function call and an index probe).
create or replace function app_private.compile_setting_reader() returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $f$
declare
  v_case text;
begin
  select coalesce(string_agg(format('when %L then %L', s.name, s.default_value), ' ' order by s.name), 'when null then null')
    into v_case from app.settings s where s.default_value is not null;
  execute format($sql$
    create or replace function app.setting(name text) returns text
      language sql stable parallel safe
      return coalesce(nullif(pg_catalog.current_setting('dwaybank.' operator(pg_catalog.||) name, true), ''),
                      case name %s end)
  $sql$, v_case);
  comment on function app.setting(text) is
    'A dwaybank.* setting: the database''s value (ALTER DATABASE ... SET dwaybank.<name>) or its default in app.settings (this body is compiled from that table by app_private.compile_setting_reader). Null for a name without either.';
  grant execute on function app.setting(text) to anon, authenticated;
end
$f$;
comment on function app_private.compile_setting_reader() is
  'Rewrites app.setting(name) from the rows of app.settings. Definer: runs DDL as the schema owner when the registry changes.';

create or replace function app_private.tg_settings__compile() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform app_private.compile_setting_reader();
  return null;
end
$$;
drop trigger if exists _100_compile on app.settings;
create trigger _100_compile after insert or update or delete or truncate on app.settings
  for each statement execute function app_private.tg_settings__compile();
select app_private.compile_setting_reader();

-- What the gateway reads at start (the values this database runs with).
create or replace function app.effective_settings() returns table (name text, value text, description text)
  language sql stable security definer
  set search_path = ''
  as $$ select s.name, app.setting(s.name), s.description from app.settings s order by s.name $$;
comment on function app.effective_settings() is 'Every setting with the value this database runs with; the gateway reads it at start.
Definer: the gateway''s role has no table privileges.';
grant execute on function app.effective_settings() to :DATABASE_GATEWAY;

-- Its defaults were a VALUES list of its own: the registry's now.
create or replace function api.retention_policies()
  returns table (name text, value text, unit text, applies_to text)
  language sql stable
  set search_path = ''
  as $$
    select p.name, app.setting(p.name), p.unit, p.applies_to
    from (values ('audit_retention_months', 'months', 'audit log partitions (whole months, unless under legal hold)'),
                 ('session_retention_days', 'days', 'ended sessions'),
                 ('mfa_attempt_retention_days', 'days', 'MFA verification attempts'),
                 ('mfa_challenge_retention_days', 'days', 'expired MFA challenges and pending MFA sign-ins'),
                 ('outbox_retention_days', 'days', 'delivered or abandoned SMS/e-mail messages'),
                 ('erasure_grace_days', 'days', 'grace period between a deletion request and erasure'),
                 ('kyc_retention_years', 'years', 'KYC evidence after the relationship ends (AML)')) p(name, unit, applies_to)
  $$;

-- Every function that still passes a default inline is redefined without it, after checking that the
-- default it passed is the registry's (so no behaviour changes). db/schema.sql shows the result.
do $$
declare
  v_fn record;
  v_def text;
  v_call record;
  v_call_re constant text := 'app\.setting\(''([a-z0-9_]+)''(?:::text)?, *''([^'']*)''(?:::text)?\)';
begin
  for v_fn in
    select p.oid from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('api', 'app', 'app_private', 'audit') and p.prokind = 'f'
       and p.oid is distinct from pg_catalog.to_regprocedure('app.setting(text,text)')
       and pg_catalog.pg_get_functiondef(p.oid) ~ 'app\.setting\(''[a-z0-9_]+''(::text)?,'
  loop
    v_def := pg_catalog.pg_get_functiondef(v_fn.oid);
    -- The one nested default: the password reset throttle falls back to the sign-in throttle's limit.
    v_def := regexp_replace(v_def,
      'app\.setting\(''password_reset_ip_limit'', *app\.setting\(''ip_failure_limit'', *''50''\)\)',
      'coalesce(app.setting(''password_reset_ip_limit''), app.setting(''ip_failure_limit''))', 'g');
    for v_call in select m[1] as name, m[2] as fallback from regexp_matches(v_def, v_call_re, 'g') m loop
      if not exists (select from app.settings s where s.name = v_call.name and s.default_value = v_call.fallback) then
        raise exception 'app.setting(%, %) in % does not match the registry', v_call.name, v_call.fallback, v_fn.oid::regprocedure;
      end if;
    end loop;
    execute regexp_replace(v_def, v_call_re, 'app.setting(''\1'')', 'g');
  end loop;
  -- Anything that still calls the two-argument form (with non-literal arguments) must be rewritten by hand
  -- above: dropping the function would otherwise break it at run time (SQL bodies are checked when they run).
  perform 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname in ('api', 'app', 'app_private', 'audit') and p.prokind = 'f'
     and p.oid is distinct from pg_catalog.to_regprocedure('app.setting(text,text)')
     and pg_catalog.pg_get_functiondef(p.oid) ~ 'app\.setting\([^()]*,';
  if found then
    raise exception 'a function still calls app.setting(name, default) with non-literal arguments';
  end if;
end
$$;


drop function if exists app.setting(text, text);
