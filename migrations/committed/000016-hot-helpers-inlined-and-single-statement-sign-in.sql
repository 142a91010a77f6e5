--! Previous: sha1:614336d62b3714b1079c2be84b26c1148d41ac9c
--! Hash: sha1:9a4327d56a7a3399fd1e5b45c711eb8adc712506
--! Message: hot helpers bound at creation and inlined; app.begin_request lets one statement carry its request id

--! split: 1-current.sql
-- Cheaper sign-in and token refresh.
--
-- 1. Helpers bound at creation. The small SQL helpers of the sign-in, refresh
--    and MFA paths (token hashes, password input, bcrypt cost, lockout
--    schedule, TOTP step, fingerprints) were SQL functions with their own
--    search_path: never inlined, and parsed and planned again in every
--    transaction that called them. With SQL-standard bodies (RETURN ...) their
--    names are resolved once, when they are created, so they need no
--    search_path, and the planner inlines them into the cached plans of the
--    functions that call them. Their declared volatility is now what their
--    bodies are: convert_to() and current_setting() are stable, so the hashes
--    and the lockout schedule are STABLE, not IMMUTABLE (nothing indexes them).
--    The three that read a table or write several settings (app_private.key,
--    app_private.ip_retry_after, app.set_request_context) are PL/pgSQL, whose
--    plans are kept for the session.
-- 2. app.begin_request(request_id): lets one statement carry its own request
--    id, so the gateway's sign-in and refresh run as a single statement in
--    their own transaction (one round trip instead of three: begin and request
--    id, the statement, commit).

create or replace function app_private.key(name text) returns bytea
  language plpgsql stable strict
  set search_path = ''
  as $$ begin return (select k.key from app_private.keys k where k.name = key.name); end $$;

create or replace function app_private.fingerprint(value text) returns text
  language sql stable parallel safe
  return case when value is null then null
              else 'fp:' || left(encode(extensions.hmac(convert_to(lower(value), 'UTF8'), app_private.key('fingerprint'), 'sha256'), 'hex'), 24) end;

create or replace function app_private.password_input(password text) returns text
  language sql stable strict parallel safe
  return encode(extensions.digest(convert_to(normalize(password, nfkc), 'UTF8'), 'sha384'), 'base64');

create or replace function app_private.bcrypt_cost() returns integer
  language sql stable parallel safe
  return greatest(4, least(31, app.setting('bcrypt_cost', '12')::integer));

create or replace function app_private.hash_password(password text) returns text
  language sql volatile
  return extensions.crypt(app_private.password_input(password), extensions.gen_salt('bf', app_private.bcrypt_cost()));

create or replace function app_private.token_hash(token text) returns bytea
  language sql stable strict parallel safe
  return extensions.digest(convert_to(token, 'UTF8'), 'sha256');

create or replace function app_private.new_token() returns text
  language sql volatile
  return translate(rtrim(encode(extensions.gen_random_bytes(32), 'base64'), '='), '+/', '-_');

create or replace function app_private.successor_token(token text) returns text
  language sql stable strict
  return translate(rtrim(encode(extensions.hmac(convert_to(token, 'UTF8'), app_private.key('refresh_successor'), 'sha256'), 'base64'), '='), '+/', '-_');

create or replace function app_private.lockout_seconds(failures integer) returns integer
  language sql stable parallel safe
  return case when failures is null then null
              when failures < app.setting('lockout_threshold', '5')::integer then 0
              else least(3600, 60 * power(2, least(failures - app.setting('lockout_threshold', '5')::integer, 12))::integer) end;

create or replace function app_private.totp_step(now timestamptz) returns bigint
  language sql stable strict parallel safe
  return floor(extract(epoch from now) / 30)::bigint;

create or replace function app_private.request_session_id() returns uuid
  language sql stable
  return coalesce(nullif(pg_catalog.current_setting('dwaybank.session_id', true), '')::uuid, app.current_session_id());

create or replace function app_private.mfa_code_hash(code text) returns bytea
  language sql stable strict
  return extensions.hmac(convert_to(code, 'UTF8'), app_private.key('mfa_code'), 'sha256');

create or replace function app_private.backup_code_hash(code text) returns bytea
  language sql stable strict parallel safe
  return extensions.digest(convert_to(upper(regexp_replace(code, '[^A-Za-z0-9]', '', 'g')), 'UTF8'), 'sha256');

create or replace function app.set_request_context(actor_id uuid, session_id uuid, ip inet, user_agent text) returns void
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  perform pg_catalog.set_config('dwaybank.actor_id', coalesce(actor_id::text, ''), true),
          pg_catalog.set_config('dwaybank.session_id', coalesce(session_id::text, ''), true),
          pg_catalog.set_config('dwaybank.ip', coalesce(host(ip), ''), true),
          pg_catalog.set_config('dwaybank.user_agent', coalesce(left(user_agent, 512), ''), true);
end
$$;

create or replace function app_private.ip_retry_after(ip inet, now timestamptz) returns integer
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select case when coalesce(sum(f.failures), 0) >= app.setting('ip_failure_limit', '50')::integer
                      then greatest(1, ceil(extract(epoch from (min(f.bucket) + make_interval(mins => app.setting('ip_failure_window_minutes', '15')::integer) - now))))::integer
                      else 0 end
            from app_private.ip_login_failures f
           where f.ip = ip_retry_after.ip
             and f.bucket > now - make_interval(mins => app.setting('ip_failure_window_minutes', '15')::integer));
end
$$;

create or replace function app_private.count_ip_failure(ip inet, now timestamptz) returns void
  language sql volatile
  begin atomic
    insert into app_private.ip_login_failures as f (ip, bucket, failures)
    values (count_ip_failure.ip, date_trunc('minute', count_ip_failure.now), 1)
    on conflict (ip, bucket) do update set failures = f.failures + 1;
  end;

------------------------------------------------------------------------------
-- One statement, one transaction, one round trip.
------------------------------------------------------------------------------
create or replace function app.begin_request(request_id text) returns timestamptz
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  perform pg_catalog.set_config('dwaybank.request_id', coalesce(left(request_id, 128), ''), true);
  return pg_catalog.now();
end
$$;
comment on function app.begin_request(text) is
  'Records the gateway request a statement serves (for the audit trail, until the transaction ends) and returns the time it is served at, now().
The gateway passes it as the `now` argument of the function a single statement calls: arguments are evaluated before the call, so every audit entry the call writes carries the request id.';
revoke all on function app.begin_request(text) from public;
grant execute on function app.begin_request(text) to :DATABASE_GATEWAY;
