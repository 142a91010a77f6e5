--! Previous: sha1:a35a40f4062f483bd09a744701f1bcbd5db9b523
--! Hash: sha1:123df288f7d36675e1c9559af19c3b56bc061372
--! Message: one request context for the audit trail, one password-changed trigger

--! split: 1-current.sql
-- One reading of the request context for the audit trail. The row trigger
-- (000007) and audit.log_event (000009) each carried the same block: the
-- dwaybank.* settings the gateway states, then the JWT claims and request
-- headers PostgREST sets, parsed once and only for what is missing. It is now
-- audit.request_context(), and both call it. Also: a password change revoked
-- trusted devices and device cookies through two triggers with the same
-- condition; one trigger now ends every remembered credential.

-- Idempotent while it is the current migration (graphile-migrate runs it again on every save).
drop type if exists audit.request_context cascade;
create type audit.request_context as (
  actor_id uuid, actor_role text, session_id uuid, ip inet, user_agent text, request_id text
);

create function audit.request_context() returns audit.request_context
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb;
  v_headers jsonb;
  v_actor text := nullif(pg_catalog.current_setting('dwaybank.actor_id', true), '');
  v_session text := nullif(pg_catalog.current_setting('dwaybank.session_id', true), '');
  v_ip text := nullif(pg_catalog.current_setting('dwaybank.ip', true), '');
  v_user_agent text := nullif(pg_catalog.current_setting('dwaybank.user_agent', true), '');
  v_request text := nullif(pg_catalog.current_setting('dwaybank.request_id', true), '');
begin
  -- The gateway states the context (app.set_request_context); PostgREST requests carry it in claims and headers.
  if v_actor is null or v_session is null or v_ip is null or v_user_agent is null or v_request is null then
    v_claims := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    v_headers := nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb;
    v_actor := coalesce(v_actor, v_claims ->> 'sub');
    v_session := coalesce(v_session, v_claims ->> 'sid');
    v_ip := coalesce(v_ip, nullif(split_part(v_headers ->> 'x-forwarded-for', ',', 1), ''));
    v_user_agent := coalesce(v_user_agent, v_headers ->> 'user-agent');
    v_request := coalesce(v_request, v_headers ->> 'x-request-id');
  end if;
  return row(nullif(v_actor, '')::uuid,
             coalesce(v_claims ->> 'role', nullif(pg_catalog.current_setting('role'), 'none'), session_user::text),
             nullif(v_session, '')::uuid,
             case when v_ip is not null then audit.safe_inet(v_ip) end,
             left(v_user_agent, 512), left(v_request, 128))::audit.request_context;
end
$$;
comment on function audit.request_context() is
  'Who asks and from where, for the audit trail: the gateway''s dwaybank.* settings, else the JWT claims and request headers.';

create or replace function audit.tg_track() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_subject_column text := nullif(tg_argv[0], '');
  v_pii text[] := coalesce(tg_argv[1], '{}')::text[];
  v_secret text[] := coalesce(tg_argv[2], '{}')::text[];
  v_row jsonb;
  v_new_h extensions.hstore;
  v_changed text[];
  v_drop text[];
  v_old_values jsonb;
  v_new_values jsonb;
  v_key bytea;
  v_col text;
  v_ctx audit.request_context := audit.request_context();
begin
  if tg_op = 'UPDATE' then
    v_new_h := extensions.hstore(new);
    v_changed := extensions.akeys(v_new_h operator(extensions.-) extensions.hstore(old));
    if cardinality(v_changed) = 0 then
      return null;  -- nothing changed: nothing to record
    end if;
    -- Everything but the changed columns, and secrets always, leaves the stored values.
    v_drop := extensions.akeys(v_new_h operator(extensions.-) v_changed) || v_secret;
    v_row := to_jsonb(new);
    v_new_values := v_row operator(pg_catalog.-) v_drop;
    v_old_values := to_jsonb(old) operator(pg_catalog.-) v_drop;
  elsif tg_op = 'INSERT' then
    v_row := to_jsonb(new);
    v_changed := extensions.akeys(extensions.hstore(new));
    v_new_values := v_row operator(pg_catalog.-) v_secret;
  else
    v_row := to_jsonb(old);
    v_old_values := v_row operator(pg_catalog.-) v_secret;
  end if;

  -- Personal data is stored only as a keyed fingerprint (app_private.fingerprint).
  if v_pii && coalesce(v_changed, v_pii) then
    v_key := app_private.key('fingerprint');
    foreach v_col in array v_pii loop
      if v_new_values ? v_col and jsonb_typeof(v_new_values -> v_col) <> 'null' then
        v_new_values := jsonb_set(v_new_values, array[v_col], to_jsonb('fp:' || left(encode(
          extensions.hmac(convert_to(lower(v_new_values ->> v_col), 'UTF8'), v_key, 'sha256'), 'hex'), 24)));
      end if;
      if v_old_values ? v_col and jsonb_typeof(v_old_values -> v_col) <> 'null' then
        v_old_values := jsonb_set(v_old_values, array[v_col], to_jsonb('fp:' || left(encode(
          extensions.hmac(convert_to(lower(v_old_values ->> v_col), 'UTF8'), v_key, 'sha256'), 'hex'), 24)));
      end if;
    end loop;
  end if;

  insert into audit.audit_log (kind, event_type, actor_id, actor_role, session_id, subject_user_id, table_name, row_id,
                               operation, changed_columns, old_values, new_values, ip, user_agent, request_id)
  values ('row', lower(tg_op), v_ctx.actor_id, v_ctx.actor_role, v_ctx.session_id,
          case when v_subject_column is not null then nullif(v_row ->> v_subject_column, '')::uuid end,
          tg_table_schema || '.' || tg_table_name,
          coalesce(v_row ->> 'id', v_row ->> 'user_id', v_row ->> 'session_id'),
          tg_op, v_changed, v_old_values, v_new_values, v_ctx.ip, v_ctx.user_agent, v_ctx.request_id);
  return null;
end
$$;
comment on function audit.tg_track() is
  'Row trigger of every tracked table: one audit entry per changed row, PII fingerprinted, secrets never copied.
Arguments (written by audit.enable_tracking): subject column, PII columns, secret columns.
Definer: the trail is written whoever changes the row, and nobody who changes a row can touch the trail.';

create or replace function audit.log_event(event_type text, subject_user_id uuid, details jsonb default '{}', severity text default 'info')
  returns void
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_ctx audit.request_context := audit.request_context();
begin
  insert into audit.audit_log (kind, event_type, severity, actor_id, actor_role, session_id, subject_user_id,
                               operation, details, ip, user_agent, request_id)
  values ('event', log_event.event_type, log_event.severity, v_ctx.actor_id, v_ctx.actor_role, v_ctx.session_id,
          log_event.subject_user_id, 'EVENT', coalesce(log_event.details, '{}'), v_ctx.ip, v_ctx.user_agent, v_ctx.request_id);
end
$$;
comment on function audit.log_event(text, uuid, jsonb, text) is
  'Appends a security event with the request context; definer so callers can write events without any right on the trail.';

-- A password change ends every remembered credential: trusted devices (skip MFA) and device cookies (skip the lockout).
drop trigger if exists _500_revoke_trusted_devices on app.users;
drop trigger if exists _510_revoke_device_cookies on app.users;
drop function if exists app.tg_users__revoke_trusted_devices();
drop function if exists app.tg_users__revoke_device_cookies();
drop trigger if exists _500_password_changed on app.users;
create or replace function app.tg_users__password_changed() returns trigger
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  perform app_private.revoke_trusted_devices(new.id, 'password_changed');
  perform app_private.revoke_device_cookies(new.id);
  return null;
end
$$;
comment on function app.tg_users__password_changed() is
  'Revokes trusted devices and device cookies when the password changes. Definer: writes app_private whoever changes the password.';
create trigger _500_password_changed after update of password_changed_at on app.users
  for each row when (old.password_changed_at is distinct from new.password_changed_at)
  execute function app.tg_users__password_changed();
