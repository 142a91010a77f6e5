--! Previous: sha1:8bcef712ac8a4cc4033fcef2962756adb8277a79
--! Hash: sha1:bf387f1ba28979619f70f63e4bfb743961079019
--! Message: faster audit trigger, no unread indexes, indexed KYC review queue, api.me in PL/pgSQL

--! split: 1-current.sql
-- Performance (issue 6): a cheaper audit trigger, no index that no query reads,
-- and a KYC review queue that an index can serve.

-- hstore compares two rows column by column in C; db/extensions.sql creates it
-- (as a superuser, like every extension).
do $$
begin
  if not exists (select from pg_extension where extname = 'hstore') then
    raise exception 'The hstore extension is missing.'
      using hint = 'Run db/extensions.sql as a superuser (npm run migrate does this for the local stack), then migrate again.';
  end if;
end
$$;

------------------------------------------------------------------------------
-- The row trigger, rewritten for cost. An audited update used to cost about
-- 2.5 times an unaudited one (bench/results, pgbench); the work that was not
-- the audit insert itself was: building the context as jsonb, looking up the
-- table's settings, a jsonb_each diff with three aggregates, and a redaction
-- query per side. Now:
--   * the table's settings travel as trigger arguments (subject column, PII
--     columns, secret columns), written by audit.enable_tracking;
--   * hstore(new) - hstore(old) finds the changed columns in C, and jsonb's
--     "-" operator keeps only those (no SPI query at all on the common path);
--   * the key for fingerprints is read only when a PII column is in the row;
--   * claims and headers are parsed only when the request context is unset.
-- What is stored is unchanged, except that changed_columns lists the columns in
-- hstore's order (shorter names first) instead of alphabetically.
------------------------------------------------------------------------------
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
  v_claims jsonb;
  v_headers jsonb;
  v_actor text := nullif(pg_catalog.current_setting('dwaybank.actor_id', true), '');
  v_session text := nullif(pg_catalog.current_setting('dwaybank.session_id', true), '');
  v_ip text := nullif(pg_catalog.current_setting('dwaybank.ip', true), '');
  v_user_agent text := nullif(pg_catalog.current_setting('dwaybank.user_agent', true), '');
  v_request text := nullif(pg_catalog.current_setting('dwaybank.request_id', true), '');
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

  insert into audit.audit_log (kind, event_type, actor_id, actor_role, session_id, subject_user_id, table_name, row_id,
                               operation, changed_columns, old_values, new_values, ip, user_agent, request_id)
  values ('row', lower(tg_op), nullif(v_actor, '')::uuid,
          coalesce(v_claims ->> 'role', nullif(pg_catalog.current_setting('role'), 'none'), session_user::text),
          nullif(v_session, '')::uuid,
          case when v_subject_column is not null then nullif(v_row ->> v_subject_column, '')::uuid end,
          tg_table_schema || '.' || tg_table_name,
          coalesce(v_row ->> 'id', v_row ->> 'user_id', v_row ->> 'session_id'),
          tg_op, v_changed, v_old_values, v_new_values,
          case when v_ip is not null then audit.safe_inet(v_ip) end, left(v_user_agent, 512), left(v_request, 128));
  return null;
end
$$;
comment on function audit.tg_track() is
  'Row trigger of every tracked table: one audit entry per changed row, PII fingerprinted, secrets never copied.
Arguments (written by audit.enable_tracking): subject column, PII columns, secret columns.
Definer: the trail is written whoever changes the row, and nobody who changes a row can touch the trail.';

-- Starts (or re-configures) tracking: the settings are recorded in
-- audit.tracked_tables and handed to the trigger as its arguments.
create or replace function audit.enable_tracking(table_oid regclass, subject_column text default null,
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
  execute format('create trigger _900_audit after insert or update or delete on %s for each row execute function audit.tg_track(%L, %L, %L)',
                 table_oid, coalesce(subject_column, ''), coalesce(pii_columns, '{}'), coalesce(secret_columns, '{}'));
  execute format('drop trigger if exists _901_audit_truncate on %s', table_oid);
  execute format('create trigger _901_audit_truncate after truncate on %s for each statement execute function audit.tg_track_truncate()', table_oid);
end
$$;

-- Every tracked table gets its trigger again, now with its settings as arguments.
do $$
begin
  perform audit.enable_tracking(t.table_oid, t.subject_column, t.pii_columns, t.secret_columns) from audit.tracked_tables t;
end
$$;

-- Superseded by the arguments above.
drop function if exists audit.redact(regclass, jsonb);

------------------------------------------------------------------------------
-- Indexes no query reads cost every write. A row's history is read through its
-- subject (audit_log_subject_idx): every tracked table that holds personal data
-- names one. Locked accounts are found by e-mail at sign-in, never by lock time.
------------------------------------------------------------------------------
drop index if exists audit.audit_log_row_idx;
drop index if exists app.users_locked_until_idx;

------------------------------------------------------------------------------
-- The review queue: an OR of "waiting for review" and "approved with an open
-- match" could use no index and scanned every verification. Two branches, each
-- served by its own partial index (kyc_records_review_queue_idx for the
-- waiting ones; kyc_compliance_checks_open_idx then the primary key for the
-- re-matched ones).
------------------------------------------------------------------------------
create or replace view api.kyc_review_queue with (security_invoker = true) as
  select r.id, r.user_id, r.level, r.status, r.risk_score, r.risk_level, r.risk_factors, r.legal_first_name,
         r.legal_last_name, r.date_of_birth, r.nationality, r.residence_country,
         (select count(*) from app.kyc_compliance_checks c where c.kyc_record_id = r.id and c.status = 'potential_match') as open_checks,
         (select count(*) from app.kyc_documents d where d.kyc_record_id = r.id) as documents,
         r.first_approver_id, r.first_approver_id is not null as awaiting_second_approval,
         coalesce(r.submitted_at, r.created_at) as waiting_since
    from (select w.* from app.kyc_records w where w.status in ('pending', 'in_review')
          union all
          select m.* from app.kyc_records m
           where m.status = 'approved'
             and m.id in (select c.kyc_record_id from app.kyc_compliance_checks c where c.status = 'potential_match')) r
   order by r.risk_score desc nulls first, coalesce(r.submitted_at, r.created_at);

------------------------------------------------------------------------------
-- The session-validation endpoint: as a SQL function called in FROM, api.me()
-- was planned again on every call (about 90 us; PL/pgSQL keeps the plan for
-- the connection: about 30 us). Same signature, same result, null when there
-- is no such user.
------------------------------------------------------------------------------
create or replace function api.me() returns app.profile
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select row(u.id, u.email::text, u.phone, u.country_code, u.first_name, u.last_name, u.date_of_birth, u.role, u.status,
                     u.email_verified_at, u.referral_code, u.created_at, u.last_login_at, u.password_changed_at)::app.profile
            from app.users u
           where u.id = app.current_user_id());
end
$$;

-- The queue reads two branches, so PostgreSQL no longer treats it as an
-- updatable view: a DELETE through PostgREST would fail in the rewriter
-- (55000, a 500) before any privilege check. With INSTEAD OF triggers the
-- privilege check comes first (nobody may write the view: 401/403), and the
-- trigger refuses anyway if it is ever reached.
create function app.tg__read_only_view() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception 'This view is read-only.' using errcode = '42501', detail = 'READ_ONLY_VIEW',
    hint = 'Use the functions of the API to change data.';
end
$$;
comment on function app.tg__read_only_view() is 'INSTEAD OF trigger of read-only views that are not automatically updatable.';

create trigger _000_read_only instead of insert or update or delete on api.kyc_review_queue
  for each row execute function app.tg__read_only_view();
