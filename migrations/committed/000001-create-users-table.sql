--! Previous: -
--! Hash: sha1:d57db804844b0324bdd80e3c3beab0d1fc05654c
--! Message: create users table

--! split: 1-users.sql
-- Foundation: schemas, identity helpers, the audit core, reference data and
-- app.users with its seed functions (is_account_locked, handle_failed_login,
-- handle_successful_login).

drop schema if exists api cascade;
drop schema if exists audit cascade;
drop schema if exists app_private cascade;
drop schema if exists app cascade;

-- Revoke, then grant: nothing this role creates is executable by PUBLIC.
alter default privileges revoke all on functions from public;
alter default privileges revoke all on tables from public;
alter default privileges revoke all on sequences from public;

create schema app;          -- tables (RLS enabled and forced) and internal functions
create schema app_private;  -- secrets: password hashes, token hashes, keys; no API role
create schema audit;        -- the audit trail
create schema api;          -- the only schema PostgREST exposes: functions and views
comment on schema api is 'DwayBank Foundation API. Every endpoint is a function or a security_invoker view.';

grant usage on schema api to anon, authenticated, :DATABASE_GATEWAY;
grant usage on schema app to anon, authenticated, :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Keys that never leave the database (HMAC keys for fingerprints and refresh
-- token successors). Generated once per database.
------------------------------------------------------------------------------
create table app_private.keys (
  name text primary key,
  key bytea not null constraint keys_key_length_chk check (length(key) >= 32),
  created_at timestamptz not null default now()
);
insert into app_private.keys (name, key) values
  ('fingerprint', extensions.gen_random_bytes(32)),
  ('refresh_successor', extensions.gen_random_bytes(32));

create function app_private.key(name text) returns bytea
  language sql stable strict
  set search_path = ''
  as $$ select k.key from app_private.keys k where k.name = key.name $$;

-- A keyed, irreversible stand-in for personal data in logs: equal inputs give
-- equal fingerprints (so an auditor can correlate) but nothing can be read back.
create function app_private.fingerprint(value text) returns text
  language sql stable
  set search_path = ''
  as $$
    select case when value is null then null
      else 'fp:' || left(encode(extensions.hmac(convert_to(lower(value), 'UTF8'), app_private.key('fingerprint'), 'sha256'), 'hex'), 24) end
  $$;

------------------------------------------------------------------------------
-- Settings and the clock. Limits are GUCs (`dwaybank.*`) with safe defaults, so
-- a DBA tunes them with ALTER DATABASE and a test with set_config.
------------------------------------------------------------------------------
create function app.setting(name text, fallback text) returns text
  language sql stable
  set search_path = ''
  as $$ select coalesce(nullif(pg_catalog.current_setting('dwaybank.' || name, true), ''), fallback) $$;
comment on function app.setting(text, text) is 'A dwaybank.* setting, or the default when it is unset.';
grant execute on function app.setting(text, text) to anon, authenticated;

------------------------------------------------------------------------------
-- Identity helpers: the only code that reads JWT claims.
------------------------------------------------------------------------------
create function app.jwt_claims() returns jsonb
  language sql stable
  set search_path = ''
  as $$ select coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb) $$;

create function app.current_user_id() returns uuid
  language sql stable
  set search_path = ''
  as $$ select nullif(app.jwt_claims() ->> 'sub', '')::uuid $$;
comment on function app.current_user_id() is 'The signed-in user (JWT sub), or null.';

create function app.current_session_id() returns uuid
  language sql stable
  set search_path = ''
  as $$ select nullif(app.jwt_claims() ->> 'sid', '')::uuid $$;

create function app.current_aal() returns text
  language sql stable
  set search_path = ''
  as $$ select coalesce(app.jwt_claims() ->> 'aal', 'aal1') $$;

-- The role a request runs as: PostgREST's SET ROLE, else the login role (the
-- gateway, or a DBA). Inside a SECURITY DEFINER function current_user is the
-- owner, so definer functions ask this instead.
create function app.caller_role() returns text
  language sql stable
  set search_path = ''
  as $$ select coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user::text) $$;

create function app.clock(requested timestamptz) returns timestamptz
  language sql stable
  set search_path = ''
  as $$
    select case when app.caller_role() in ('anon', 'authenticated', 'compliance_officer', 'admin') or requested is null
                then pg_catalog.now() else requested end
  $$;
comment on function app.clock(timestamptz) is
  'The time a function may use: the requested time for trusted callers (scheduler, DBA, tests), the server clock for API roles.';

grant execute on function app.jwt_claims(), app.current_user_id(), app.current_session_id(), app.current_aal(), app.caller_role(),
  app.clock(timestamptz)
  to anon, authenticated;

-- The gateway has no JWT in the database session; its functions state who acts
-- and from where, for the length of the transaction.
create function app.set_request_context(actor_id uuid, session_id uuid, ip inet, user_agent text)
  returns void
  language sql volatile
  set search_path = ''
  as $$
    select pg_catalog.set_config('dwaybank.actor_id', coalesce(actor_id::text, ''), true),
           pg_catalog.set_config('dwaybank.session_id', coalesce(session_id::text, ''), true),
           pg_catalog.set_config('dwaybank.ip', coalesce(host(ip), ''), true),
           pg_catalog.set_config('dwaybank.user_agent', coalesce(left(user_agent, 512), ''), true);
  $$;
grant execute on function app.set_request_context(uuid, uuid, inet, text) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Audit core: one append-only, monthly-partitioned table for row changes and
-- security events. (Tamper evidence and retention come with the audit issue.)
------------------------------------------------------------------------------
create table audit.audit_log (
  id bigint generated always as identity,
  occurred_at timestamptz not null default pg_catalog.clock_timestamp(),
  kind text not null constraint audit_log_kind_chk check (kind in ('row', 'event')),
  event_type text not null,
  severity text not null default 'info' constraint audit_log_severity_chk check (severity in ('info', 'warning', 'critical')),
  actor_id uuid,
  actor_role text,
  session_id uuid,
  subject_user_id uuid,
  table_name text,
  row_id text,
  operation text constraint audit_log_operation_chk check (operation in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'EVENT')),
  changed_columns text[],
  old_values jsonb,
  new_values jsonb,
  details jsonb not null default '{}',
  ip inet,
  user_agent text,
  request_id text,
  txid bigint not null default pg_catalog.txid_current(),
  constraint audit_log_pkey primary key (id, occurred_at),
  constraint audit_log_row_chk check (kind <> 'row' or (table_name is not null and operation <> 'EVENT'))
) partition by range (occurred_at);
comment on table audit.audit_log is 'Append-only audit trail: every row change on every table and every security event. Never holds secrets or raw PII.';

create table audit.audit_log_default partition of audit.audit_log default;

-- Creates the monthly partitions from the current month to `months_ahead` ahead.
create function audit.create_partitions(months_ahead integer default 3, now timestamptz default now())
  returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_month date;
  v_name text;
  v_created integer := 0;
begin
  for i in 0..months_ahead loop
    v_month := (date_trunc('month', now at time zone 'UTC') + make_interval(months => i))::date;
    v_name := 'audit_log_' || to_char(v_month, 'YYYY_MM');
    if to_regclass('audit.' || v_name) is null then
      execute format('create table audit.%I partition of audit.audit_log for values from (%L) to (%L)',
        v_name, v_month::timestamp at time zone 'UTC', (v_month + interval '1 month')::timestamp at time zone 'UTC');
      v_created := v_created + 1;
    end if;
  end loop;
  return v_created;
end
$$;
comment on function audit.create_partitions(integer, timestamptz) is 'Creates monthly audit partitions ahead of time so inserts never fall into the default partition.';
select audit.create_partitions(3);

create index audit_log_subject_idx on audit.audit_log (subject_user_id, occurred_at desc) where subject_user_id is not null;
create index audit_log_row_idx on audit.audit_log (table_name, row_id, occurred_at desc) where kind = 'row';
create index audit_log_event_idx on audit.audit_log (event_type, occurred_at desc) where kind = 'event';
create index audit_log_request_idx on audit.audit_log (request_id) where request_id is not null;
-- Time ranges ("everything between"): the log is appended in time order, so a
-- BRIN index is a few pages and costs an insert almost nothing.
create index audit_log_occurred_at_idx on audit.audit_log using brin (occurred_at) with (pages_per_range = 32);

-- Which tables are tracked, which columns hold PII (fingerprinted) or secrets
-- (never copied), and which column names the person a row is about.
create table audit.tracked_tables (
  table_oid regclass primary key,
  subject_column text,
  pii_columns text[] not null default '{}',
  secret_columns text[] not null default '{}'
);

create function audit.context() returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select jsonb_build_object(
      'actor_id', coalesce(nullif(current_setting('dwaybank.actor_id', true), ''), app.jwt_claims() ->> 'sub'),
      'actor_role', coalesce(app.jwt_claims() ->> 'role', current_user::text),
      'session_id', coalesce(nullif(current_setting('dwaybank.session_id', true), ''), app.jwt_claims() ->> 'sid'),
      'ip', coalesce(nullif(current_setting('dwaybank.ip', true), ''),
                     nullif(split_part(nullif(current_setting('request.headers', true), '')::jsonb ->> 'x-forwarded-for', ',', 1), '')),
      'user_agent', coalesce(nullif(current_setting('dwaybank.user_agent', true), ''),
                     nullif(current_setting('request.headers', true), '')::jsonb ->> 'user-agent'),
      'request_id', coalesce(nullif(current_setting('dwaybank.request_id', true), ''),
                     nullif(current_setting('request.headers', true), '')::jsonb ->> 'x-request-id'))
  $$;

create function audit.safe_inet(value text) returns inet
  language plpgsql immutable
  set search_path = ''
  as $$ begin return value::inet; exception when others then return null; end $$;

-- Records a security event. Security definer: callers (the gateway, API roles)
-- may add events but never read or alter the trail.
create function audit.log_event(event_type text, subject_user_id uuid, details jsonb default '{}', severity text default 'info')
  returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_ctx jsonb := audit.context();
begin
  insert into audit.audit_log (kind, event_type, severity, actor_id, actor_role, session_id, subject_user_id,
                               operation, details, ip, user_agent, request_id)
  values ('event', log_event.event_type, log_event.severity, nullif(v_ctx ->> 'actor_id', '')::uuid, v_ctx ->> 'actor_role',
          nullif(v_ctx ->> 'session_id', '')::uuid, log_event.subject_user_id, 'EVENT', coalesce(log_event.details, '{}'),
          audit.safe_inet(v_ctx ->> 'ip'), left(v_ctx ->> 'user_agent', 512), left(v_ctx ->> 'request_id', 128));
end
$$;
comment on function audit.log_event(text, uuid, jsonb, text) is 'Appends a security event; definer so callers can write events without any right on the trail.';

create function audit.redact(table_oid regclass, row_data jsonb) returns jsonb
  language sql stable
  set search_path = ''
  as $$
    select coalesce(jsonb_object_agg(e.key,
             case when e.key = any (t.pii_columns) and e.value <> 'null'::jsonb
                  then to_jsonb(app_private.fingerprint(e.value #>> '{}'))
                  else e.value end), '{}'::jsonb)
    from audit.tracked_tables t, jsonb_each(row_data) e
    where t.table_oid = redact.table_oid
      and not (e.key = any (t.secret_columns))
  $$;

-- Row trigger for every tracked table. Security definer: the trail is written
-- whoever changes the row, and nobody who changes a row can touch the trail.
create function audit.tg_track() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_ctx jsonb := audit.context();
  v_cfg audit.tracked_tables;
  v_old jsonb := case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end;
  v_new jsonb := case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end;
  v_changed text[];
  v_row jsonb := coalesce(v_new, v_old);
begin
  select * into v_cfg from audit.tracked_tables where table_oid = tg_relid;
  if tg_op = 'UPDATE' then
    select array_agg(n.key order by n.key) into v_changed
    from jsonb_each(v_new) n
    where n.value is distinct from v_old -> n.key;
    if v_changed is null then
      return null;  -- nothing changed: nothing to record
    end if;
    select jsonb_object_agg(k, v_old -> k) into v_old from unnest(v_changed) k;
    select jsonb_object_agg(k, v_new -> k) into v_new from unnest(v_changed) k;
  elsif tg_op = 'INSERT' then
    select array_agg(k order by k) into v_changed from jsonb_object_keys(v_new) k;
  end if;
  insert into audit.audit_log (kind, event_type, actor_id, actor_role, session_id, subject_user_id, table_name, row_id,
                               operation, changed_columns, old_values, new_values, ip, user_agent, request_id)
  values ('row', lower(tg_op), nullif(v_ctx ->> 'actor_id', '')::uuid, v_ctx ->> 'actor_role',
          nullif(v_ctx ->> 'session_id', '')::uuid,
          case when v_cfg.subject_column is not null then nullif(v_row ->> v_cfg.subject_column, '')::uuid end,
          tg_table_schema || '.' || tg_table_name,
          coalesce(v_row ->> 'id', v_row ->> 'user_id', v_row ->> 'session_id'),
          tg_op, v_changed,
          audit.redact(tg_relid, v_old), audit.redact(tg_relid, v_new),
          audit.safe_inet(v_ctx ->> 'ip'), left(v_ctx ->> 'user_agent', 512), left(v_ctx ->> 'request_id', 128));
  return null;
end
$$;

create function audit.tg_track_truncate() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  perform audit.log_event('table.truncated', null, jsonb_build_object('table', tg_table_schema || '.' || tg_table_name), 'critical');
  return null;
end
$$;

-- Starts tracking a table: every insert, update and delete is written to
-- audit.audit_log, with PII fingerprinted and secrets left out.
create function audit.enable_tracking(table_oid regclass, subject_column text default null,
                                      pii_columns text[] default '{}', secret_columns text[] default '{}')
  returns void
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  insert into audit.tracked_tables (table_oid, subject_column, pii_columns, secret_columns)
  values (table_oid, subject_column, pii_columns, secret_columns)
  on conflict on constraint tracked_tables_pkey do update
    set subject_column = excluded.subject_column, pii_columns = excluded.pii_columns, secret_columns = excluded.secret_columns;
  execute format('drop trigger if exists _900_audit on %s', table_oid);
  execute format('create trigger _900_audit after insert or update or delete on %s for each row execute function audit.tg_track()', table_oid);
  execute format('drop trigger if exists _901_audit_truncate on %s', table_oid);
  execute format('create trigger _901_audit_truncate after truncate on %s for each statement execute function audit.tg_track_truncate()', table_oid);
end
$$;
comment on function audit.enable_tracking(regclass, text, text[], text[]) is 'Starts writing every insert, update and delete of a table to audit.audit_log.';

------------------------------------------------------------------------------
-- Shared trigger: created_at/updated_at are maintained by the database.
------------------------------------------------------------------------------
create function app.tg__timestamps() returns trigger
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  new.created_at := case when tg_op = 'INSERT' then now() else old.created_at end;
  new.updated_at := case when tg_op = 'UPDATE' and old.updated_at >= now() then old.updated_at + interval '1 millisecond' else now() end;
  return new;
end
$$;

------------------------------------------------------------------------------
-- Reference data: ISO 3166-1 alpha-2 country codes.
------------------------------------------------------------------------------
create table app.countries (
  code text primary key constraint countries_code_format_chk check (code ~ '^[A-Z]{2}$')
);
comment on table app.countries is 'ISO 3166-1 alpha-2 codes accepted for country fields.';
alter table app.countries enable row level security;
alter table app.countries force row level security;
create policy select_all on app.countries for select to anon, authenticated using (true);
grant select on app.countries to anon, authenticated;
insert into app.countries (code) values
  ('AD'),
  ('AE'),
  ('AF'),
  ('AG'),
  ('AI'),
  ('AL'),
  ('AM'),
  ('AO'),
  ('AQ'),
  ('AR'),
  ('AS'),
  ('AT'),
  ('AU'),
  ('AW'),
  ('AX'),
  ('AZ'),
  ('BA'),
  ('BB'),
  ('BD'),
  ('BE'),
  ('BF'),
  ('BG'),
  ('BH'),
  ('BI'),
  ('BJ'),
  ('BL'),
  ('BM'),
  ('BN'),
  ('BO'),
  ('BQ'),
  ('BR'),
  ('BS'),
  ('BT'),
  ('BV'),
  ('BW'),
  ('BY'),
  ('BZ'),
  ('CA'),
  ('CC'),
  ('CD'),
  ('CF'),
  ('CG'),
  ('CH'),
  ('CI'),
  ('CK'),
  ('CL'),
  ('CM'),
  ('CN'),
  ('CO'),
  ('CR'),
  ('CU'),
  ('CV'),
  ('CW'),
  ('CX'),
  ('CY'),
  ('CZ'),
  ('DE'),
  ('DJ'),
  ('DK'),
  ('DM'),
  ('DO'),
  ('DZ'),
  ('EC'),
  ('EE'),
  ('EG'),
  ('EH'),
  ('ER'),
  ('ES'),
  ('ET'),
  ('FI'),
  ('FJ'),
  ('FK'),
  ('FM'),
  ('FO'),
  ('FR'),
  ('GA'),
  ('GB'),
  ('GD'),
  ('GE'),
  ('GF'),
  ('GG'),
  ('GH'),
  ('GI'),
  ('GL'),
  ('GM'),
  ('GN'),
  ('GP'),
  ('GQ'),
  ('GR'),
  ('GS'),
  ('GT'),
  ('GU'),
  ('GW'),
  ('GY'),
  ('HK'),
  ('HM'),
  ('HN'),
  ('HR'),
  ('HT'),
  ('HU'),
  ('ID'),
  ('IE'),
  ('IL'),
  ('IM'),
  ('IN'),
  ('IO'),
  ('IQ'),
  ('IR'),
  ('IS'),
  ('IT'),
  ('JE'),
  ('JM'),
  ('JO'),
  ('JP'),
  ('KE'),
  ('KG'),
  ('KH'),
  ('KI'),
  ('KM'),
  ('KN'),
  ('KP'),
  ('KR'),
  ('KW'),
  ('KY'),
  ('KZ'),
  ('LA'),
  ('LB'),
  ('LC'),
  ('LI'),
  ('LK'),
  ('LR'),
  ('LS'),
  ('LT'),
  ('LU'),
  ('LV'),
  ('LY'),
  ('MA'),
  ('MC'),
  ('MD'),
  ('ME'),
  ('MF'),
  ('MG'),
  ('MH'),
  ('MK'),
  ('ML'),
  ('MM'),
  ('MN'),
  ('MO'),
  ('MP'),
  ('MQ'),
  ('MR'),
  ('MS'),
  ('MT'),
  ('MU'),
  ('MV'),
  ('MW'),
  ('MX'),
  ('MY'),
  ('MZ'),
  ('NA'),
  ('NC'),
  ('NE'),
  ('NF'),
  ('NG'),
  ('NI'),
  ('NL'),
  ('NO'),
  ('NP'),
  ('NR'),
  ('NU'),
  ('NZ'),
  ('OM'),
  ('PA'),
  ('PE'),
  ('PF'),
  ('PG'),
  ('PH'),
  ('PK'),
  ('PL'),
  ('PM'),
  ('PN'),
  ('PR'),
  ('PS'),
  ('PT'),
  ('PW'),
  ('PY'),
  ('QA'),
  ('RE'),
  ('RO'),
  ('RS'),
  ('RU'),
  ('RW'),
  ('SA'),
  ('SB'),
  ('SC'),
  ('SD'),
  ('SE'),
  ('SG'),
  ('SH'),
  ('SI'),
  ('SJ'),
  ('SK'),
  ('SL'),
  ('SM'),
  ('SN'),
  ('SO'),
  ('SR'),
  ('SS'),
  ('ST'),
  ('SV'),
  ('SX'),
  ('SY'),
  ('SZ'),
  ('TC'),
  ('TD'),
  ('TF'),
  ('TG'),
  ('TH'),
  ('TJ'),
  ('TK'),
  ('TL'),
  ('TM'),
  ('TN'),
  ('TO'),
  ('TR'),
  ('TT'),
  ('TV'),
  ('TW'),
  ('TZ'),
  ('UA'),
  ('UG'),
  ('UM'),
  ('US'),
  ('UY'),
  ('UZ'),
  ('VA'),
  ('VC'),
  ('VE'),
  ('VG'),
  ('VI'),
  ('VN'),
  ('VU'),
  ('WF'),
  ('WS'),
  ('YE'),
  ('YT'),
  ('ZA'),
  ('ZM'),
  ('ZW');

------------------------------------------------------------------------------
-- Users
------------------------------------------------------------------------------
create table app.users (
  id uuid primary key default gen_random_uuid(),
  email extensions.citext not null
    constraint users_email_format_chk check (length(email) <= 254 and email::text ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$'),
  phone text constraint users_phone_e164_chk check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  country_code text constraint users_country_code_fkey references app.countries (code),
  first_name text constraint users_first_name_chk check (length(first_name) between 1 and 100 and first_name !~ '[[:cntrl:]]'),
  last_name text constraint users_last_name_chk check (length(last_name) between 1 and 100 and last_name !~ '[[:cntrl:]]'),
  date_of_birth date constraint users_date_of_birth_chk check (date_of_birth between '1900-01-01' and '2100-01-01'),
  role text not null default 'customer' constraint users_role_chk check (role in ('customer', 'compliance_officer', 'admin')),
  status text not null default 'active' constraint users_status_chk check (status in ('active', 'suspended', 'deleted')),
  email_verified_at timestamptz,
  failed_login_attempts integer not null default 0 constraint users_failed_login_attempts_chk check (failed_login_attempts >= 0),
  last_failed_login_at timestamptz,
  locked_until timestamptz,
  last_login_at timestamptz,
  last_login_ip inet,
  last_login_user_agent text,
  password_changed_at timestamptz,
  referral_code text not null unique default upper(encode(extensions.gen_random_bytes(5), 'hex'))
    constraint users_referral_code_format_chk check (referral_code ~ '^[0-9A-F]{10}$'),
  referred_by uuid constraint users_referred_by_fkey references app.users (id),
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint users_deleted_chk check ((status = 'deleted') = (deleted_at is not null)),
  constraint users_not_self_referred_chk check (referred_by is distinct from id)
);
comment on table app.users is 'Customer and staff accounts. Soft-deleted (deleted_at) so references and the audit trail stay intact.';
comment on column app.users.role is 'Maps to the JWT role: customer -> authenticated; staff roles map to themselves.';

create unique index users_email_active_idx on app.users (email) where deleted_at is null;
create index users_referred_by_idx on app.users (referred_by) where referred_by is not null;
create index users_locked_until_idx on app.users (locked_until) where locked_until is not null;

create trigger _100_timestamps before insert or update on app.users
  for each row execute function app.tg__timestamps();

alter table app.users enable row level security;
alter table app.users force row level security;
create policy select_own on app.users for select to authenticated using (id = app.current_user_id());
create policy select_staff on app.users for select to compliance_officer, admin using (true);
create policy update_self on app.users for update to authenticated
  using (id = app.current_user_id() and deleted_at is null) with check (id = app.current_user_id());
grant select (id, email, phone, country_code, first_name, last_name, date_of_birth, role, status, email_verified_at,
              last_login_at, password_changed_at, referral_code, referred_by, created_at, updated_at)
  on app.users to authenticated;
grant select (failed_login_attempts, locked_until, last_failed_login_at, last_login_ip, deleted_at)
  on app.users to compliance_officer, admin;
grant update (first_name, last_name, phone, country_code, date_of_birth) on app.users to authenticated;

select audit.enable_tracking('app.users', 'id',
  pii_columns => '{email,phone,first_name,last_name,date_of_birth,last_login_ip,last_login_user_agent}');

-- Password hashes: bcrypt (pgcrypto) over a SHA-384 pre-hash, see app_private.password_input.
create table app_private.user_secrets (
  user_id uuid primary key constraint user_secrets_user_id_fkey references app.users (id),
  password_hash text not null constraint user_secrets_password_hash_chk check (password_hash ~ '^\$2[abxy]\$[0-9]{2}\$'),
  updated_at timestamptz not null default now()
);
select audit.enable_tracking('app_private.user_secrets', 'user_id', secret_columns => '{password_hash}');

-- Failed sign-ins for addresses with no account, so that an unknown address
-- locks exactly like a real one and the API never reveals which exists.
create table app_private.unknown_login_attempts (
  email_fingerprint text primary key,
  failed_login_attempts integer not null default 0,
  last_failed_login_at timestamptz,
  locked_until timestamptz
);

-- Failures per client address per minute, for the per-IP throttle.
create table app_private.ip_login_failures (
  ip inet not null,
  bucket timestamptz not null,
  failures integer not null default 0,
  accounts integer not null default 0,
  constraint ip_login_failures_pkey primary key (ip, bucket)
);

------------------------------------------------------------------------------
-- Passwords
------------------------------------------------------------------------------
-- bcrypt reads at most 72 bytes; a SHA-384 pre-hash (64 base64 characters) makes
-- every character count. NFKC normalisation follows NIST SP 800-63B 5.1.1.2.
create function app_private.password_input(password text) returns text
  language sql immutable strict
  set search_path = ''
  as $$ select encode(extensions.digest(convert_to(normalize(password, nfkc), 'UTF8'), 'sha384'), 'base64') $$;

create function app_private.bcrypt_cost() returns integer
  language sql stable
  set search_path = ''
  as $$ select greatest(4, least(31, app.setting('bcrypt_cost', '12')::integer)) $$;

create function app_private.hash_password(password text) returns text
  language sql volatile strict
  set search_path = ''
  as $$ select extensions.crypt(app_private.password_input(password), extensions.gen_salt('bf', app_private.bcrypt_cost())) $$;

-- NIST SP 800-63B: 12 to 256 characters, any Unicode, no composition rules.
-- (Common passwords are refused by the gateway from a maintained dictionary.)
create function app.assert_password_policy(password text) returns void
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  if password is null or char_length(normalize(password, nfkc)) < 12 then
    raise exception 'The password is too short.' using errcode = 'PT400', detail = 'WEAK_PASSWORD',
      hint = 'Use at least 12 characters; a few unrelated words make a strong password.';
  elsif char_length(password) > 256 then
    raise exception 'The password is too long.' using errcode = 'PT400', detail = 'WEAK_PASSWORD',
      hint = 'Use at most 256 characters.';
  end if;
end
$$;
grant execute on function app.assert_password_policy(text) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Seed functions: lockout
------------------------------------------------------------------------------
create function api.is_account_locked(user_id uuid, now timestamptz default now()) returns boolean
  language sql stable security definer
  set search_path = ''
  as $$
    select coalesce((select u.locked_until > app.clock(is_account_locked.now) from app.users u where u.id = is_account_locked.user_id), false)
  $$;
comment on function api.is_account_locked(uuid, timestamptz) is
  'Whether an account is locked out now.
Definer: reads lockout columns that only staff may select; callers are limited by grant to staff and the gateway.';

-- Backoff after a failure count: none before 5, then 1 minute doubling, capped at 1 hour.
create function app_private.lockout_seconds(failures integer) returns integer
  language sql immutable strict
  set search_path = ''
  as $$
    select case when failures < app.setting('lockout_threshold', '5')::integer then 0
                else least(3600, 60 * power(2, least(failures - app.setting('lockout_threshold', '5')::integer, 12))::integer) end
  $$;

create type app.lockout_state as (
  failed_attempts integer,
  locked_until timestamptz,
  retry_after_seconds integer
);

-- Counts one failed sign-in for an address (account or not) and locks it with
-- exponential backoff. Failures during a lock are counted but do not extend it,
-- so an attacker cannot keep an account locked for longer than the cap.
create function app.handle_failed_login(email extensions.citext, now timestamptz default now())
  returns app.lockout_state
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_user app.users;
  v_attempts integer;
  v_locked_until timestamptz;
  v_fp text := app_private.fingerprint(email::text);
begin
  update app.users u
     set failed_login_attempts = u.failed_login_attempts + 1,
         last_failed_login_at = handle_failed_login.now,
         locked_until = case
           when u.locked_until > handle_failed_login.now then u.locked_until
           when app_private.lockout_seconds(u.failed_login_attempts + 1) > 0
             then handle_failed_login.now + make_interval(secs => app_private.lockout_seconds(u.failed_login_attempts + 1))
           else u.locked_until end
   where u.email = handle_failed_login.email and u.deleted_at is null
   returning u.* into v_user;

  if found then
    v_attempts := v_user.failed_login_attempts;
    v_locked_until := v_user.locked_until;
    perform audit.log_event('auth.login.failed', v_user.id, jsonb_build_object('failed_attempts', v_attempts), 'warning');
    if v_locked_until = handle_failed_login.now + make_interval(secs => app_private.lockout_seconds(v_attempts)) then
      perform audit.log_event('auth.account.locked', v_user.id,
        jsonb_build_object('failed_attempts', v_attempts, 'locked_until', v_locked_until), 'warning');
    end if;
  else
    insert into app_private.unknown_login_attempts as a (email_fingerprint, failed_login_attempts, last_failed_login_at, locked_until)
    values (v_fp, 1, handle_failed_login.now, null)
    on conflict (email_fingerprint) do update
      set failed_login_attempts = a.failed_login_attempts + 1,
          last_failed_login_at = excluded.last_failed_login_at,
          locked_until = case
            when a.locked_until > handle_failed_login.now then a.locked_until
            when app_private.lockout_seconds(a.failed_login_attempts + 1) > 0
              then handle_failed_login.now + make_interval(secs => app_private.lockout_seconds(a.failed_login_attempts + 1))
            else a.locked_until end
    returning a.failed_login_attempts, a.locked_until into v_attempts, v_locked_until;
    perform audit.log_event('auth.login.failed', null,
      jsonb_build_object('email', v_fp, 'failed_attempts', v_attempts, 'unknown_account', true), 'warning');
  end if;

  return row(v_attempts, v_locked_until,
             greatest(0, ceil(extract(epoch from (v_locked_until - handle_failed_login.now))))::integer)::app.lockout_state;
end
$$;
comment on function app.handle_failed_login(extensions.citext, timestamptz) is
  'Counts a failed sign-in and applies exponential backoff (5 failures: 1 min, doubling, max 1 h).
Definer: updates lockout columns no API role may write.';

create function app.handle_successful_login(email extensions.citext, ip inet, user_agent text, now timestamptz default now())
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_user_id uuid;
begin
  update app.users u
     set failed_login_attempts = 0,
         locked_until = null,
         last_login_at = handle_successful_login.now,
         last_login_ip = handle_successful_login.ip,
         last_login_user_agent = left(handle_successful_login.user_agent, 512)
   where u.email = handle_successful_login.email and u.deleted_at is null
   returning u.id into v_user_id;
  if v_user_id is not null then
    perform audit.log_event('auth.login.succeeded', v_user_id, '{}');
  end if;
  return v_user_id;
end
$$;
comment on function app.handle_successful_login(extensions.citext, inet, text, timestamptz) is
  'Resets the lockout counters and records the time, address and user agent of a sign-in.
Definer: writes columns no API role may write.';

-- Per-IP throttle: one address may fail a bounded number of times in a window,
-- across all accounts, before it is refused without touching any account.
create function app_private.ip_retry_after(ip inet, now timestamptz) returns integer
  language sql stable
  set search_path = ''
  as $$
    select case when coalesce(sum(f.failures), 0) >= app.setting('ip_failure_limit', '50')::integer
                then greatest(1, ceil(extract(epoch from (min(f.bucket) + make_interval(mins => app.setting('ip_failure_window_minutes', '15')::integer) - now))))::integer
                else 0 end
    from app_private.ip_login_failures f
    where f.ip = ip_retry_after.ip
      and f.bucket > now - make_interval(mins => app.setting('ip_failure_window_minutes', '15')::integer)
  $$;

create function app_private.count_ip_failure(ip inet, now timestamptz) returns void
  language sql volatile
  set search_path = ''
  as $$
    insert into app_private.ip_login_failures as f (ip, bucket, failures)
    values (ip, date_trunc('minute', now), 1)
    on conflict (ip, bucket) do update set failures = f.failures + 1
  $$;

------------------------------------------------------------------------------
-- Sign-up
------------------------------------------------------------------------------
create function app.signup(email text, password text, phone text default null, country_code text default null,
                           first_name text default null, last_name text default null, referral_code text default null,
                           ip inet default null, user_agent text default null)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_user_id uuid;
  v_referrer uuid;
  v_hash text;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  perform app.assert_password_policy(password);
  if signup.email is null or length(signup.email) > 254
     or signup.email !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$' then
    raise exception 'The e-mail address is not valid.' using errcode = 'PT400', detail = 'INVALID_EMAIL',
      hint = 'Give an address like name@example.com.';
  end if;
  if signup.referral_code is not null then
    select u.id into v_referrer from app.users u
     where u.referral_code = upper(signup.referral_code) and u.deleted_at is null;
    if v_referrer is null then
      raise exception 'The referral code is not known.' using errcode = 'PT400', detail = 'INVALID_REFERRAL_CODE',
        hint = 'Check the code, or sign up without one.';
    end if;
  end if;
  v_hash := app_private.hash_password(password);
  if exists (select from app.users u where u.email = signup.email::extensions.citext and u.deleted_at is null) then
    -- Same answer, same work as a new account: sign-up never reveals that an address is registered.
    perform audit.log_event('auth.signup.duplicate', null, jsonb_build_object('email', app_private.fingerprint(signup.email)), 'info');
    return gen_random_uuid();
  end if;
  begin
    insert into app.users (email, phone, country_code, first_name, last_name, referred_by)
    values (signup.email, nullif(signup.phone, ''), upper(nullif(signup.country_code, '')), nullif(signup.first_name, ''),
            nullif(signup.last_name, ''), v_referrer)
    returning id into v_user_id;
  exception
    when check_violation or foreign_key_violation or string_data_right_truncation then
      raise exception 'A profile field is not valid.' using errcode = 'PT400', detail = 'INVALID_PROFILE',
        hint = 'Phone numbers are E.164 (+4915112345678), countries ISO 3166-1 alpha-2 (DE), names 1 to 100 characters.';
    when unique_violation then
      return gen_random_uuid();  -- a concurrent sign-up of the same address won
  end;
  perform app.set_request_context(v_user_id, null, ip, user_agent);
  insert into app_private.user_secrets (user_id, password_hash) values (v_user_id, v_hash);
  update app.users set password_changed_at = now() where id = v_user_id;
  perform audit.log_event('auth.signup', v_user_id, jsonb_build_object('referred', v_referrer is not null));
  return v_user_id;
end
$$;
comment on function app.signup(text, text, text, text, text, text, text, inet, text) is
  'Creates an account. Definer: writes the password hash into app_private.';
grant execute on function app.signup(text, text, text, text, text, text, text, inet, text) to :DATABASE_GATEWAY;

-- For DBAs (npm run user:role): not granted to any API or gateway role.
create function app.set_user_role(email text, role text) returns uuid
  language plpgsql volatile
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_user_id uuid;
begin
  update app.users u set role = set_user_role.role
   where u.email = set_user_role.email::extensions.citext and u.deleted_at is null
   returning u.id into v_user_id;
  if v_user_id is null then
    raise exception 'No account has this e-mail address.' using errcode = 'PT404', detail = 'USER_NOT_FOUND',
      hint = 'Check the address; the account must exist and not be deleted.';
  end if;
  perform audit.log_event('user.role_changed', v_user_id, jsonb_build_object('role', role, 'by', session_user), 'warning');
  -- Tokens carry the role: end the sessions so the new one applies from the next sign-in.
  perform api.revoke_user_sessions(v_user_id, 'role_changed');
  return v_user_id;
end
$$;
comment on function app.set_user_role(text, text) is 'Grants a role (customer, compliance_officer, admin) to an account. DBA use only.';
