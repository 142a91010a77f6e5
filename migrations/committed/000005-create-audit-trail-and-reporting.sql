--! Previous: sha1:8e27bee60b5020e1592f193be68364b158bfb9c3
--! Hash: sha1:9e348e9ffc7adeb71ee2a304c36a13f4ddc74c6a
--! Message: create audit trail and reporting

--! split: 5-audit.sql
-- Audit trail as evidence (hash chain, sealing, signed checkpoints, append-only
-- guards, partitions ahead of time, retention under legal hold), GDPR export
-- and erasure, reporting views, security-event notifications, and scheduled
-- maintenance. Extends the audit core of 1-users.sql. (Schemas are dropped and
-- re-created by 1-users.sql, so this file needs no drops of its own.)

insert into app_private.keys (name, key) values ('audit_checkpoint', extensions.gen_random_bytes(32));

------------------------------------------------------------------------------
-- The hash chain. Writers only insert; audit.seal() (every minute) gives each
-- unsealed entry, in id order, the next gap-free sequence number and a SHA-256
-- hash over its content and the previous entry's hash.
------------------------------------------------------------------------------
alter table audit.audit_log
  add column seq bigint,
  add column prev_hash bytea,
  add column hash bytea,
  add column sealed_at timestamptz,
  add constraint audit_log_sealed_chk check ((seq is null) = (hash is null) and (seq is null) = (sealed_at is null));
comment on column audit.audit_log.seq is 'Position in the hash chain, gap-free, assigned by audit.seal(); null until sealed.';
comment on column audit.audit_log.hash is 'SHA-256 over this entry''s content, its seq, sealed_at and prev_hash (see audit.entry_hash).';

create index audit_log_seq_idx on audit.audit_log (seq) where seq is not null;
create index audit_log_unsealed_idx on audit.audit_log (id) where seq is null;
create index audit_log_security_idx on audit.audit_log (occurred_at desc) where kind = 'event' and severity <> 'info';

-- Canonical content: named columns in a fixed order (a column added later does
-- not change old hashes), timestamps rendered in UTC whatever the session says.
create function audit.entry_hash(e audit.audit_log) returns bytea
  language sql stable
  set search_path = ''
  set timezone = 'UTC'
  as $$
    select extensions.digest(convert_to(jsonb_build_array(
      e.seq, encode(e.prev_hash, 'hex'), e.sealed_at, e.id, e.occurred_at, e.kind, e.event_type, e.severity, e.actor_id,
      e.actor_role, e.session_id, e.subject_user_id, e.table_name, e.row_id, e.operation, e.changed_columns, e.old_values,
      e.new_values, e.details, e.ip::text, e.user_agent, e.request_id, e.txid)::text, 'UTF8'), 'sha256')
  $$;
comment on function audit.entry_hash(audit.audit_log) is 'The chain hash of one audit entry.';

-- Entries dropped by retention: verify_chain accepts their sequence numbers as
-- missing on purpose.
create table audit.pruned_partitions (
  partition_name text primary key,
  range_from timestamptz not null,
  range_to timestamptz not null,
  min_seq bigint,
  max_seq bigint,
  entries bigint not null,
  last_hash bytea,
  dropped_at timestamptz not null default now()
);
comment on table audit.pruned_partitions is 'Audit partitions dropped by retention, with the sequence range they held.';

-- Legal holds: nothing they cover is dropped by retention or erased.
create table audit.legal_holds (
  id bigint generated always as identity primary key,
  subject_user_id uuid,
  period tstzrange not null default tstzrange(null, null),
  reason text not null constraint legal_holds_reason_chk check (length(reason) between 3 and 500),
  placed_by uuid,
  placed_at timestamptz not null default now(),
  released_at timestamptz,
  released_by uuid
);
comment on table audit.legal_holds is 'Legal holds: audit partitions overlapping an active hold are never dropped; a held user is never erased.';
create index legal_holds_active_idx on audit.legal_holds (subject_user_id) where released_at is null;

-- Signed checkpoints of the chain head: deleting the newest entries leaves a
-- checkpoint pointing past the end of the chain. `signature` is an HMAC under a
-- dedicated database key; the gateway countersigns with its Ed25519/ES256 key
-- (gateway_signature, a JWS), which no database user can forge.
create table audit.checkpoints (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default pg_catalog.clock_timestamp(),
  head_seq bigint not null,
  head_hash bytea not null,
  signature bytea not null,
  gateway_signature text,
  gateway_key_id text,
  gateway_signed_at timestamptz
);
comment on table audit.checkpoints is 'Signed checkpoints of the audit chain head (HMAC in the database, JWS by the gateway).';
create index checkpoints_head_seq_idx on audit.checkpoints (head_seq desc);

create function audit.checkpoint_payload(head_seq bigint, head_hash bytea, created_at timestamptz) returns text
  language sql stable
  set search_path = ''
  set timezone = 'UTC'
  as $$ select 'dwaybank-audit-checkpoint:v1:' || head_seq || ':' || encode(head_hash, 'hex') || ':' || to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;
comment on function audit.checkpoint_payload(bigint, bytea, timestamptz) is 'The exact text a checkpoint signature covers.';

create function audit.checkpoint_signature(head_seq bigint, head_hash bytea, created_at timestamptz) returns bytea
  language sql stable
  set search_path = ''
  as $$
    select extensions.hmac(convert_to(audit.checkpoint_payload(head_seq, head_hash, created_at), 'UTF8'),
                           app_private.key('audit_checkpoint'), 'sha256')
  $$;

-- One sealer at a time (seal and checkpoint share this lock).
create function audit.chain_lock() returns void
  language sql volatile
  set search_path = ''
  as $$ select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('dwaybank.audit.chain')::bigint) $$;

create function audit.seal(max_rows integer default 50000) returns integer
  language plpgsql volatile
  set search_path = ''
  set timezone = 'UTC'
  as $$
declare
  v_seq bigint;
  v_prev bytea;
  v_now timestamptz := clock_timestamp();
  v_count integer := 0;
  r audit.audit_log;
begin
  perform audit.chain_lock();
  select a.seq, a.hash into v_seq, v_prev from audit.audit_log a where a.seq is not null order by a.seq desc limit 1;
  if v_seq is null then
    select p.max_seq, p.last_hash into v_seq, v_prev from audit.pruned_partitions p order by p.max_seq desc nulls last limit 1;
  end if;
  v_seq := coalesce(v_seq, 0);
  for r in select * from audit.audit_log a where a.seq is null order by a.id limit greatest(max_rows, 1) loop
    r.seq := v_seq + 1;
    r.prev_hash := v_prev;
    r.sealed_at := v_now;
    r.hash := audit.entry_hash(r);
    update audit.audit_log a set seq = r.seq, prev_hash = r.prev_hash, sealed_at = r.sealed_at, hash = r.hash
     where a.id = r.id and a.occurred_at = r.occurred_at;
    v_seq := r.seq;
    v_prev := r.hash;
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
comment on function audit.seal(integer) is 'Seals unsealed audit entries into the hash chain in id order (gap-free seq), under an advisory lock.';

-- Seals, then records a checkpoint of the head.
create function audit.checkpoint() returns audit.checkpoints
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_cp audit.checkpoints;
  v_now timestamptz;
begin
  perform audit.seal();
  v_now := date_trunc('milliseconds', clock_timestamp());
  insert into audit.checkpoints (created_at, head_seq, head_hash, signature)
  select v_now, a.seq, a.hash, audit.checkpoint_signature(a.seq, a.hash, v_now)
  from audit.audit_log a where a.seq is not null order by a.seq desc limit 1
  returning * into v_cp;
  return v_cp;
end
$$;
comment on function audit.checkpoint() is 'Seals and records an HMAC-signed checkpoint of the chain head (for the gateway to countersign).';

create type audit.chain_report as (
  ok boolean,
  checked bigint,
  first_bad_seq bigint,
  reason text,
  unsealed_count bigint,
  oldest_unsealed_at timestamptz,
  head_seq bigint,
  checkpoint_seq bigint
);

-- Recomputes the chain over the entries that occurred in [from_at, to_at) (by
-- their sequence range) and reports the first broken link:
--   hash_mismatch      an entry's content was altered
--   missing_entry      an entry was removed (a gap not explained by retention)
--   duplicate_seq / broken_link   an entry was inserted into the sealed chain
--   backdated_entry    an entry appeared long after entries sealed before it
--   truncated / checkpoint_mismatch / checkpoint_forged   the newest entries
--                      were removed or rewritten (compared with checkpoints)
create function audit.verify_chain(from_at timestamptz default '-infinity', to_at timestamptz default 'infinity')
  returns audit.chain_report
  language plpgsql stable
  set search_path = ''
  set timezone = 'UTC'
  as $$
declare
  v_lo bigint;
  v_hi bigint;
  v_expected bigint;
  v_prev bytea;
  v_max_at timestamptz;
  v_checked bigint := 0;
  v_bound interval := make_interval(secs => app.setting('audit_backdate_tolerance_seconds', '3600')::integer);
  v_unsealed bigint;
  v_oldest timestamptz;
  v_cp audit.checkpoints;
  v_hash bytea;
  v_max_seq bigint;
  v_link_known boolean := false;
  r audit.audit_log;
  v_report audit.chain_report;
begin
  select count(*), min(a.occurred_at) into v_unsealed, v_oldest
  from audit.audit_log a where a.seq is null and a.occurred_at >= from_at and a.occurred_at < to_at;
  select max(a.seq) into v_max_seq from audit.audit_log a where a.seq is not null;
  select * into v_cp from audit.checkpoints c order by c.head_seq desc, c.id desc limit 1;
  v_report := row(true, 0, null, null, v_unsealed, v_oldest, v_max_seq, v_cp.head_seq)::audit.chain_report;

  select min(a.seq), max(a.seq) into v_lo, v_hi
  from audit.audit_log a where a.seq is not null and a.occurred_at >= from_at and a.occurred_at < to_at;

  if v_lo is not null then
    -- The link into the window: the predecessor, unless retention removed it.
    if v_lo > 1 then
      select a.hash, a.occurred_at into v_prev, v_max_at from audit.audit_log a where a.seq = v_lo - 1 limit 1;
      v_link_known := found;
      if not found and not exists (select from audit.pruned_partitions p where v_lo - 1 between p.min_seq and p.max_seq) then
        v_report.ok := false; v_report.first_bad_seq := v_lo - 1; v_report.reason := 'missing_entry';
        return v_report;
      end if;
    end if;
    v_expected := v_lo;
    for r in select * from audit.audit_log a where a.seq between v_lo and v_hi order by a.seq, a.id loop
      if r.seq < v_expected then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'duplicate_seq';
      elsif r.seq > v_expected and exists (
              select from generate_series(v_expected, r.seq - 1) g(s)
              where not exists (select from audit.pruned_partitions p where g.s between p.min_seq and p.max_seq)) then
        v_report.ok := false; v_report.first_bad_seq := v_expected; v_report.reason := 'missing_entry';
      elsif r.seq = v_expected and v_link_known and r.prev_hash is distinct from v_prev then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'broken_link';
      elsif r.seq = 1 and r.prev_hash is not null then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'broken_link';
      elsif r.hash is distinct from audit.entry_hash(r) then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'hash_mismatch';
      elsif r.occurred_at < v_max_at - v_bound then
        v_report.ok := false; v_report.first_bad_seq := r.seq; v_report.reason := 'backdated_entry';
      end if;
      if not v_report.ok then
        v_report.checked := v_checked;
        return v_report;
      end if;
      v_checked := v_checked + 1;
      v_expected := r.seq + 1;
      v_prev := r.hash;
      v_link_known := true;
      v_max_at := greatest(v_max_at, r.occurred_at);
    end loop;
  end if;
  v_report.checked := v_checked;

  -- An unsealed entry far older than entries already sealed was slipped in.
  if v_unsealed > 0 and v_oldest < (select max(a.occurred_at) from audit.audit_log a where a.seq is not null) - v_bound then
    v_report.ok := false; v_report.reason := 'backdated_entry';
    return v_report;
  end if;

  -- Checkpoints: every one inside the window must match, and the latest must
  -- not point past the end of the chain (the newest entries were removed).
  for v_cp in select * from audit.checkpoints c
               where (c.head_seq between coalesce(v_lo, 0) and coalesce(v_hi, 0)) or c.id = (select max(c2.id) from audit.checkpoints c2)
               order by c.head_seq loop
    if v_cp.signature is distinct from audit.checkpoint_signature(v_cp.head_seq, v_cp.head_hash, v_cp.created_at) then
      v_report.ok := false; v_report.first_bad_seq := v_cp.head_seq; v_report.reason := 'checkpoint_forged';
      return v_report;
    end if;
    if v_cp.created_at < to_at and v_cp.head_seq > coalesce(v_max_seq, 0) then
      v_report.ok := false; v_report.first_bad_seq := coalesce(v_max_seq, 0) + 1; v_report.reason := 'truncated';
      return v_report;
    end if;
    select a.hash into v_hash from audit.audit_log a where a.seq = v_cp.head_seq limit 1;
    if found and v_hash is distinct from v_cp.head_hash then
      v_report.ok := false; v_report.first_bad_seq := v_cp.head_seq; v_report.reason := 'checkpoint_mismatch';
      return v_report;
    end if;
  end loop;
  return v_report;
end
$$;
comment on function audit.verify_chain(timestamptz, timestamptz) is
  'Recomputes the audit hash chain for entries that occurred in [from_at, to_at) and compares it with the signed checkpoints.
Returns ok, the number of entries checked, the first bad sequence number and the reason, and the unsealed count and age.';

------------------------------------------------------------------------------
-- Append-only: nobody updates or deletes an entry (sealing only fills the seal
-- columns of an unsealed entry), nobody truncates; retention drops partitions.
------------------------------------------------------------------------------
create function audit.tg_audit_log__append_only() returns trigger
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  if tg_op = 'UPDATE' and old.seq is null and new.seq is not null
     and (to_jsonb(old) - '{seq,prev_hash,hash,sealed_at}'::text[]) = (to_jsonb(new) - '{seq,prev_hash,hash,sealed_at}'::text[]) then
    return new;
  end if;
  raise exception 'The audit log is append-only.' using errcode = 'PT403', detail = 'AUDIT_APPEND_ONLY',
    hint = 'Entries are never changed or removed; retention drops whole partitions (audit.drop_expired_partitions).';
end
$$;
create trigger _000_append_only before update or delete on audit.audit_log
  for each row execute function audit.tg_audit_log__append_only();

create function audit.tg_audit_log__no_truncate() returns trigger
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  raise exception 'The audit log cannot be truncated.' using errcode = 'PT403', detail = 'AUDIT_APPEND_ONLY',
    hint = 'Retention drops whole partitions past their retention (audit.drop_expired_partitions).';
end
$$;

-- TRUNCATE fires no row triggers and a partition can be truncated on its own:
-- the guard sits on the parent and on every partition.
create function audit.protect_partition(partition regclass) returns void
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  execute format('create or replace trigger _000_no_truncate before truncate on %s for each statement execute function audit.tg_audit_log__no_truncate()', partition);
  execute format('revoke all on %s from public, anon, authenticated, compliance_officer, admin', partition);
end
$$;

create or replace function audit.create_partitions(months_ahead integer default 3, now timestamptz default now())
  returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_month date;
  v_from timestamptz;
  v_to timestamptz;
  v_name text;
  v_created integer := 0;
begin
  for i in 0..months_ahead loop
    v_month := (date_trunc('month', now at time zone 'UTC') + make_interval(months => i))::date;
    v_name := 'audit_log_' || to_char(v_month, 'YYYY_MM');
    v_from := v_month::timestamp at time zone 'UTC';
    v_to := (v_month + interval '1 month')::timestamp at time zone 'UTC';
    if to_regclass('audit.' || v_name) is null then
      -- Entries already in the default partition for this month would make the
      -- new partition fail; they stay where they are (the chain does not care).
      if exists (select from audit.audit_log_default d where d.occurred_at >= v_from and d.occurred_at < v_to) then
        perform audit.log_event('audit.partition.skipped', null, jsonb_build_object('partition', v_name), 'warning');
        continue;
      end if;
      execute format('create table audit.%I partition of audit.audit_log for values from (%L) to (%L)', v_name, v_from, v_to);
      perform audit.protect_partition(('audit.' || v_name)::regclass);
      v_created := v_created + 1;
    end if;
  end loop;
  return v_created;
end
$$;

select audit.protect_partition('audit.audit_log');
select audit.protect_partition(c.oid::regclass) from pg_inherits i join pg_class c on c.oid = i.inhrelid
 where i.inhparent = 'audit.audit_log'::regclass;
revoke all on audit.audit_log from public, anon, authenticated, compliance_officer, admin, :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Security events on LISTEN/NOTIFY channel `security_events`: every event of
-- severity warning or critical (lockouts, token reuse, suspicious sessions,
-- sanctions matches...), without PII (details are fingerprinted by convention).
------------------------------------------------------------------------------
create function audit.tg_audit_log__notify() returns trigger
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_payload jsonb := jsonb_build_object('id', new.id, 'occurred_at', new.occurred_at, 'event_type', new.event_type,
    'severity', new.severity, 'subject_user_id', new.subject_user_id, 'session_id', new.session_id, 'request_id', new.request_id);
begin
  if octet_length(new.details::text) <= 4000 then
    v_payload := v_payload || jsonb_build_object('details', new.details);
  end if;
  perform pg_notify('security_events', v_payload::text);
  return null;
end
$$;
create trigger _100_notify after insert on audit.audit_log
  for each row when (new.kind = 'event' and new.severity <> 'info')
  execute function audit.tg_audit_log__notify();

------------------------------------------------------------------------------
-- Retention. Settings (dwaybank.*): audit_retention_months (84),
-- session_retention_days (90, see cleanup_expired_sessions),
-- mfa_attempt_retention_days (365), mfa_challenge_retention_days (7),
-- outbox_retention_days (30), kyc_retention_years (5), erasure_grace_days (30).
------------------------------------------------------------------------------
-- A hold covers a partition when its period overlaps the partition's month and
-- it names no one, or the partition holds entries about the person it names.
create function audit.partition_under_hold(partition regclass, range_from timestamptz, range_to timestamptz) returns boolean
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_held boolean;
begin
  if exists (select from audit.legal_holds h where h.released_at is null and h.subject_user_id is null
               and h.period && tstzrange(range_from, range_to, '[)')) then
    return true;
  end if;
  execute format('select exists (select from %s a join audit.legal_holds h on h.subject_user_id = a.subject_user_id
                                 where h.released_at is null and h.period && tstzrange($1, $2, ''[)''))', partition)
    into v_held using range_from, range_to;
  return v_held;
end
$$;

create function audit.drop_expired_partitions(now timestamptz default now()) returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_part record;
  v_cutoff timestamptz := date_trunc('month', now at time zone 'UTC') at time zone 'UTC'
                          - make_interval(months => app.setting('audit_retention_months', '84')::integer);
  v_from timestamptz;
  v_to timestamptz;
  v_entries bigint;
  v_unsealed bigint;
  v_min_seq bigint;
  v_max_seq bigint;
  v_last_hash bytea;
  v_dropped integer := 0;
begin
  for v_part in
    select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'audit.audit_log'::regclass and c.relname ~ '^audit_log_[0-9]{4}_[0-9]{2}$'
     order by c.relname
  loop
    v_from := to_date(substr(v_part.relname, 11), 'YYYY_MM')::timestamp at time zone 'UTC';
    v_to := v_from + interval '1 month';
    continue when v_to > v_cutoff;
    if audit.partition_under_hold(('audit.' || quote_ident(v_part.relname))::regclass, v_from, v_to) then
      perform audit.log_event('audit.partition.held', null, jsonb_build_object('partition', v_part.relname));
      continue;
    end if;
    execute format('select count(*), count(*) filter (where seq is null), min(seq), max(seq),
                           (array_agg(hash order by seq desc))[1] from audit.%I', v_part.relname)
      into v_entries, v_unsealed, v_min_seq, v_max_seq, v_last_hash;
    continue when v_unsealed > 0;  -- seal first, then drop
    insert into audit.pruned_partitions (partition_name, range_from, range_to, min_seq, max_seq, entries, last_hash, dropped_at)
    values (v_part.relname, v_from, v_to, v_min_seq, v_max_seq, v_entries, v_last_hash, now);
    execute format('drop table audit.%I', v_part.relname);
    perform audit.log_event('audit.partition.dropped', null,
      jsonb_build_object('partition', v_part.relname, 'entries', v_entries, 'min_seq', v_min_seq, 'max_seq', v_max_seq),
      'warning');
    v_dropped := v_dropped + 1;
  end loop;
  return v_dropped;
end
$$;
comment on function audit.drop_expired_partitions(timestamptz) is
  'Drops whole audit partitions older than audit_retention_months, unless under legal hold or not fully sealed; records what was dropped.';

------------------------------------------------------------------------------
-- GDPR: erasure requests and their schedule
------------------------------------------------------------------------------
create table app_private.account_erasures (
  user_id uuid primary key constraint account_erasures_user_id_fkey references app.users (id),
  requested_at timestamptz not null,
  erase_after timestamptz not null,
  erased_at timestamptz,
  kyc_retained_until timestamptz,
  kyc_purged_at timestamptz
);
comment on table app_private.account_erasures is 'Deletion requests: soft-deleted at once, personal data erased after the grace period, KYC evidence purged after the AML retention period.';
select audit.enable_tracking('app_private.account_erasures', 'user_id');

create function app_private.request_account_deletion(user_id uuid, now timestamptz default now()) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_erase_after timestamptz := now + make_interval(days => app.setting('erasure_grace_days', '30')::integer);
  v_sessions integer;
begin
  update app.users u set status = 'deleted', deleted_at = now
   where u.id = request_account_deletion.user_id and u.deleted_at is null;
  if not found then
    raise exception 'This account is already deleted.' using errcode = 'PT409', detail = 'ACCOUNT_DELETED',
      hint = 'The account will be erased at the end of its grace period.';
  end if;
  update app.user_sessions s set revoked_at = now, revoked_reason = 'account_deleted'
   where s.user_id = request_account_deletion.user_id and s.revoked_at is null;
  get diagnostics v_sessions = row_count;
  perform app_private.revoke_trusted_devices(user_id, 'account_deleted');
  insert into app_private.account_erasures (user_id, requested_at, erase_after, kyc_retained_until)
  values (user_id, now, v_erase_after, now + make_interval(years => app.setting('kyc_retention_years', '5')::integer))
  on conflict on constraint account_erasures_pkey do update
    set requested_at = excluded.requested_at, erase_after = excluded.erase_after, erased_at = null,
        kyc_retained_until = excluded.kyc_retained_until;
  perform audit.log_event('gdpr.deletion_requested', user_id,
    jsonb_build_object('erase_after', v_erase_after, 'sessions_revoked', v_sessions), 'warning');
  return jsonb_build_object('status', 'deleted', 'erase_after', v_erase_after);
end
$$;

create function api.request_account_deletion(confirm_email text) returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := app.current_user_id();
begin
  if v_user is null then
    raise exception 'Sign in first.' using errcode = 'PT401', detail = 'UNAUTHENTICATED', hint = 'Send an access token.';
  end if;
  -- Deleting an account cannot be undone by the customer: they confirm it by typing their address.
  if not exists (select from app.users u where u.id = v_user and lower(u.email::text) = lower(confirm_email)) then
    raise exception 'Confirm the deletion with your e-mail address.' using errcode = 'PT400', detail = 'CONFIRMATION_REQUIRED',
      hint = 'Send confirm_email with the address of this account.';
  end if;
  -- aal2 (a recent second-factor check) for users with MFA; a recent sign-in otherwise.
  perform app.assert_step_up();
  return app_private.request_account_deletion(v_user);
end
$$;
comment on function api.request_account_deletion(text) is
  'Deletes the caller''s account: signed out everywhere at once, personal data erased after a 30-day grace period.
Confirmed with the account''s e-mail address; needs a recent second-factor check (aal2, POST /auth/mfa/step-up). KYC evidence is kept, restricted, for the AML retention period.
Definer: soft-deletes the account and revokes sessions and trusted devices, which customers cannot write.';
grant execute on function api.request_account_deletion(text) to authenticated;

-- Irreversibly removes a person's data: every row of every table that refers
-- to the account (found through foreign keys, so tables added later are
-- covered), and the personal columns of the account itself. KYC tables
-- (app.kyc*) are kept, restricted, until their AML retention ends.
create function app_private.erase_user(user_id uuid, now timestamptz default now()) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_fk record;
  v_count bigint;
  v_removed jsonb := '{}'::jsonb;
begin
  if exists (select from audit.legal_holds h where h.subject_user_id = erase_user.user_id and h.released_at is null) then
    perform audit.log_event('gdpr.erasure.held', user_id, '{}', 'warning');
    return jsonb_build_object('status', 'held');
  end if;
  for v_fk in
    select c.conrelid::regclass::text as tbl, a.attname::text as col
    from pg_constraint c
    join pg_class t on t.oid = c.conrelid
    join pg_namespace n on n.oid = t.relnamespace
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid = 'app.users'::regclass and array_length(c.conkey, 1) = 1
      and a.attname = 'user_id'  -- other references (referred_by, reviewer_id...) are someone else's record
      and n.nspname in ('app', 'app_private')
      and c.conrelid not in ('app.users'::regclass, 'app_private.account_erasures'::regclass)
      and t.relname !~ '^kyc'
    order by 1
  loop
    execute format('delete from %s where %I = $1', v_fk.tbl, v_fk.col) using user_id;
    get diagnostics v_count = row_count;
    if v_count > 0 then
      v_removed := v_removed || jsonb_build_object(v_fk.tbl, v_count);
    end if;
  end loop;
  update app.users u
     set email = 'erased+' || u.id || '@erased.invalid', phone = null, first_name = null, last_name = null,
         date_of_birth = null, country_code = null, last_login_ip = null, last_login_user_agent = null,
         status = 'deleted', deleted_at = coalesce(u.deleted_at, erase_user.now)
   where u.id = erase_user.user_id;
  -- KYC evidence (app.kyc_records, kyc_documents, kyc_compliance_checks) stays for the AML retention period,
  -- readable only by compliance officers (the account can no longer sign in); then purge_kyc_evidence removes it.
  update app_private.account_erasures e set erased_at = erase_user.now where e.user_id = erase_user.user_id;
  perform audit.log_event('gdpr.erased', user_id, jsonb_build_object('removed', v_removed), 'warning');
  return jsonb_build_object('status', 'erased', 'removed', v_removed);
end
$$;

-- The end of the AML retention period: the verification data and documents go.
create function app_private.purge_kyc_evidence(user_id uuid) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_objects bigint;
  v_checks bigint;
  v_documents bigint;
  v_records bigint;
begin
  delete from app_private.kyc_document_objects o using app.kyc_documents d
   where o.document_id = d.id and d.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_objects = row_count;
  delete from app.kyc_compliance_checks c where c.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_checks = row_count;
  delete from app.kyc_documents d where d.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_documents = row_count;
  delete from app.kyc_records r where r.user_id = purge_kyc_evidence.user_id;
  get diagnostics v_records = row_count;
  return jsonb_build_object('document_objects', v_objects, 'compliance_checks', v_checks, 'documents', v_documents, 'records', v_records);
end
$$;
comment on function app_private.purge_kyc_evidence(uuid) is
  'Deletes a former customer''s KYC evidence once the AML retention period (kyc_retention_years after the relationship ended) is over.';

create function app_private.erase_due_accounts(now timestamptz default now()) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_user uuid;
  v_erased integer := 0;
  v_purged integer := 0;
begin
  for v_user in select e.user_id from app_private.account_erasures e
                 where e.erased_at is null and e.erase_after <= erase_due_accounts.now order by e.erase_after loop
    if app_private.erase_user(v_user, now) ->> 'status' = 'erased' then
      v_erased := v_erased + 1;
    end if;
  end loop;
  -- AML retention over: the KYC evidence goes too.
  for v_user in select e.user_id from app_private.account_erasures e
                 where e.erased_at is not null and e.kyc_purged_at is null and e.kyc_retained_until <= erase_due_accounts.now
                   and not exists (select from audit.legal_holds h where h.subject_user_id = e.user_id and h.released_at is null) loop
    perform app_private.purge_kyc_evidence(v_user);
    update app_private.account_erasures e set kyc_purged_at = erase_due_accounts.now where e.user_id = v_user;
    perform audit.log_event('gdpr.kyc_purged', v_user, '{}', 'info');
    v_purged := v_purged + 1;
  end loop;
  return jsonb_build_object('erased', v_erased, 'kyc_purged', v_purged);
end
$$;

------------------------------------------------------------------------------
-- Retention of operational data
------------------------------------------------------------------------------
create function app_private.apply_retention(now timestamptz default now()) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_attempts bigint;
  v_challenges bigint;
  v_logins bigint;
  v_outbox bigint;
  v_partitions integer;
begin
  delete from app.mfa_verification_attempts a
   where a.created_at < now - make_interval(days => app.setting('mfa_attempt_retention_days', '365')::integer);
  get diagnostics v_attempts = row_count;
  delete from app_private.mfa_challenges c
   where c.expires_at < now - make_interval(days => app.setting('mfa_challenge_retention_days', '7')::integer);
  get diagnostics v_challenges = row_count;
  delete from app_private.mfa_logins l
   where l.expires_at < now - make_interval(days => app.setting('mfa_challenge_retention_days', '7')::integer);
  get diagnostics v_logins = row_count;
  delete from app_private.outbox o
   where (o.sent_at is not null or o.attempts >= 10)
     and o.created_at < now - make_interval(days => app.setting('outbox_retention_days', '30')::integer);
  get diagnostics v_outbox = row_count;
  v_partitions := audit.drop_expired_partitions(now);
  return jsonb_build_object('mfa_attempts', v_attempts, 'mfa_challenges', v_challenges, 'mfa_logins', v_logins,
                            'outbox', v_outbox, 'audit_partitions', v_partitions);
end
$$;

create function api.retention_policies()
  returns table (name text, value text, unit text, applies_to text)
  language sql stable
  set search_path = ''
  as $$
    select p.name, app.setting(p.name, p.fallback), p.unit, p.applies_to
    from (values ('audit_retention_months', '84', 'months', 'audit log partitions (whole months, unless under legal hold)'),
                 ('session_retention_days', '90', 'days', 'ended sessions'),
                 ('mfa_attempt_retention_days', '365', 'days', 'MFA verification attempts'),
                 ('mfa_challenge_retention_days', '7', 'days', 'expired MFA challenges and pending MFA sign-ins'),
                 ('outbox_retention_days', '30', 'days', 'delivered or abandoned SMS/e-mail messages'),
                 ('erasure_grace_days', '30', 'days', 'grace period between a deletion request and erasure'),
                 ('kyc_retention_years', '5', 'years', 'KYC evidence after the relationship ends (AML)')) p(name, fallback, unit, applies_to)
  $$;
comment on function api.retention_policies() is 'The retention periods in force (dwaybank.* settings, with defaults).';
grant execute on function api.retention_policies() to compliance_officer, admin;

------------------------------------------------------------------------------
-- GDPR: export (Art. 15/20). Everything the bank holds about a person, with no
-- secret: profile, sessions, second factors, trusted devices, MFA attempts,
-- KYC data (app.kyc* tables), referrals, and the audit entries about them.
------------------------------------------------------------------------------
create function app_private.export_user_data(user_id uuid) returns jsonb
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_result jsonb;
  v_kyc jsonb := '{}'::jsonb;
  v_tbl record;
  v_rows jsonb;
begin
  -- KYC tables by name: columns that hold ciphertext, hashes or storage keys are left out.
  for v_tbl in
    select c.oid::regclass::text as tbl from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'app' and c.relkind = 'r' and c.relname ~ '^kyc'
      and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped)
    order by 1
  loop
    execute format($q$select coalesce(jsonb_agg((select coalesce(jsonb_object_agg(e.key, e.value), '{}') from jsonb_each(to_jsonb(t)) e
                                                  where e.key !~ '(hash|cipher|encrypted|secret|storage_key|token)')), '[]')
                      from %s t where t.user_id = $1$q$, v_tbl.tbl)
      into v_rows using user_id;
    v_kyc := v_kyc || jsonb_build_object(v_tbl.tbl, v_rows);
  end loop;

  select jsonb_build_object(
    'exported_at', now(),
    'profile', (select jsonb_build_object('id', u.id, 'email', u.email, 'phone', u.phone, 'country_code', u.country_code,
                  'first_name', u.first_name, 'last_name', u.last_name, 'date_of_birth', u.date_of_birth, 'role', u.role,
                  'status', u.status, 'email_verified_at', u.email_verified_at, 'mfa_required', u.mfa_required,
                  'last_login_at', u.last_login_at, 'last_login_ip', u.last_login_ip, 'last_login_user_agent', u.last_login_user_agent,
                  'password_changed_at', u.password_changed_at, 'referral_code', u.referral_code, 'referred_by', u.referred_by,
                  'created_at', u.created_at, 'updated_at', u.updated_at, 'deleted_at', u.deleted_at)
                from app.users u where u.id = export_user_data.user_id),
    'sessions', (select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'device_name', s.device_name,
                   'device_fingerprint', s.device_fingerprint, 'ip', s.ip, 'user_agent', s.user_agent, 'aal', s.aal, 'amr', s.amr,
                   'created_at', s.created_at, 'last_activity_at', s.last_activity_at, 'expires_at', s.expires_at,
                   'revoked_at', s.revoked_at, 'revoked_reason', s.revoked_reason, 'is_suspicious', s.is_suspicious,
                   'suspicious_reasons', s.suspicious_reasons) order by s.created_at), '[]')
                 from app.user_sessions s where s.user_id = export_user_data.user_id),
    'mfa_methods', (select coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'method', c.method, 'status', c.status,
                      'label', c.label, 'device_fingerprint', c.device_fingerprint, 'created_at', c.created_at,
                      'confirmed_at', c.confirmed_at, 'last_used_at', c.last_used_at) order by c.created_at), '[]')
                    from app.mfa_configs c where c.user_id = export_user_data.user_id),
    'trusted_devices', (select coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'device_name', d.device_name,
                          'device_fingerprint', d.device_fingerprint, 'ip', d.ip, 'created_at', d.created_at,
                          'last_used_at', d.last_used_at, 'expires_at', d.expires_at, 'revoked_at', d.revoked_at) order by d.created_at), '[]')
                        from app.trusted_devices d where d.user_id = export_user_data.user_id),
    'mfa_attempts', (select coalesce(jsonb_agg(jsonb_build_object('method', a.method, 'purpose', a.purpose, 'outcome', a.outcome,
                       'ip', a.ip, 'user_agent', a.user_agent, 'created_at', a.created_at) order by a.created_at), '[]')
                     from app.mfa_verification_attempts a where a.user_id = export_user_data.user_id),
    'kyc', v_kyc,
    'referrals', jsonb_build_object(
       'referred_by', (select u.referred_by from app.users u where u.id = export_user_data.user_id),
       'referred', (select coalesce(jsonb_agg(jsonb_build_object('joined_at', r.created_at) order by r.created_at), '[]')
                    from app.users r where r.referred_by = export_user_data.user_id)),
    'audit', (select coalesce(jsonb_agg(jsonb_build_object('occurred_at', a.occurred_at, 'event_type', a.event_type,
                'table', a.table_name, 'operation', a.operation, 'changed_columns', a.changed_columns, 'details', a.details,
                'ip', a.ip, 'user_agent', a.user_agent, 'request_id', a.request_id) order by a.occurred_at), '[]')
              from (select * from audit.audit_log l where l.subject_user_id = export_user_data.user_id
                    order by l.occurred_at desc limit 10000) a))
  into v_result;
  return v_result;
end
$$;

create function api.export_my_data() returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_user uuid := app.current_user_id();
begin
  if v_user is null then
    raise exception 'Sign in first.' using errcode = 'PT401', detail = 'UNAUTHENTICATED', hint = 'Send an access token.';
  end if;
  perform audit.log_event('gdpr.exported', v_user, jsonb_build_object('by', 'self'));
  return app_private.export_user_data(v_user);
end
$$;
comment on function api.export_my_data() is
  'Everything DwayBank holds about the caller, as JSON (GDPR access and portability): profile, sessions, second factors (no secrets), KYC data, referrals and audit entries.
Definer: gathers rows from tables the caller cannot read directly (audit trail, MFA attempts); only the caller''s own.';
grant execute on function api.export_my_data() to authenticated;

create function api.export_user_data(user_id uuid) returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise exception 'Only staff may export another user''s data.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Use /rpc/export_my_data for your own data.';
  end if;
  if not exists (select from app.users u where u.id = export_user_data.user_id) then
    raise exception 'No account has this id.' using errcode = 'PT404', detail = 'USER_NOT_FOUND', hint = 'Check the user id.';
  end if;
  perform audit.log_event('gdpr.exported', user_id, jsonb_build_object('by', app.current_user_id(), 'role', app.caller_role()), 'warning');
  return app_private.export_user_data(user_id);
end
$$;
comment on function api.export_user_data(uuid) is
  'A user''s complete record as JSON, for staff answering a data-subject request (compliance officers, admins). The export is itself audited.
Definer: reads every table about the user; the function checks the caller is staff.';
grant execute on function api.export_user_data(uuid) to compliance_officer, admin;

------------------------------------------------------------------------------
-- Legal holds (compliance officers, admins)
------------------------------------------------------------------------------
create function api.place_legal_hold(reason text, subject_user_id uuid default null,
                                     from_at timestamptz default null, to_at timestamptz default null)
  returns bigint
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_id bigint;
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise exception 'Only staff may place a legal hold.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Ask a compliance officer.';
  end if;
  if reason is null or length(reason) not between 3 and 500 then
    raise exception 'A legal hold needs a reason.' using errcode = 'PT400', detail = 'INVALID_REASON',
      hint = 'Give the case or order reference (3 to 500 characters).';
  end if;
  insert into audit.legal_holds (subject_user_id, period, reason, placed_by)
  values (subject_user_id, tstzrange(from_at, to_at, '[)'), reason, app.current_user_id())
  returning id into v_id;
  perform audit.log_event('audit.legal_hold.placed', subject_user_id, jsonb_build_object('hold_id', v_id), 'warning');
  return v_id;
end
$$;
comment on function api.place_legal_hold(text, uuid, timestamptz, timestamptz) is
  'Places a legal hold: audit partitions overlapping [from_at, to_at) are kept past retention, and the user (if given) is not erased.
Definer: writes audit.legal_holds, which no API role may touch; the function checks the caller is staff.';
grant execute on function api.place_legal_hold(text, uuid, timestamptz, timestamptz) to compliance_officer, admin;

create function api.release_legal_hold(hold_id bigint) returns boolean
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_subject uuid;
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise exception 'Only staff may release a legal hold.' using errcode = 'PT403', detail = 'FORBIDDEN',
      hint = 'Ask a compliance officer.';
  end if;
  update audit.legal_holds h set released_at = now(), released_by = app.current_user_id()
   where h.id = hold_id and h.released_at is null
   returning h.subject_user_id into v_subject;
  if not found then
    raise exception 'No active legal hold has this id.' using errcode = 'PT404', detail = 'HOLD_NOT_FOUND',
      hint = 'List holds with /rpc/legal_holds.';
  end if;
  perform audit.log_event('audit.legal_hold.released', v_subject, jsonb_build_object('hold_id', hold_id), 'warning');
  return true;
end
$$;
comment on function api.release_legal_hold(bigint) is
  'Releases a legal hold. Definer: writes audit.legal_holds; the function checks the caller is staff.';
grant execute on function api.release_legal_hold(bigint) to compliance_officer, admin;

create function api.legal_holds()
  returns table (id bigint, subject_user_id uuid, from_at timestamptz, to_at timestamptz, reason text, placed_by uuid,
                 placed_at timestamptz, released_at timestamptz)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise exception 'Only staff may list legal holds.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Ask a compliance officer.';
  end if;
  return query select h.id, h.subject_user_id, lower(h.period), upper(h.period), h.reason, h.placed_by, h.placed_at, h.released_at
               from audit.legal_holds h order by h.placed_at desc;
end
$$;
comment on function api.legal_holds() is 'Every legal hold, newest first. Definer: reads audit.legal_holds for staff.';
grant execute on function api.legal_holds() to compliance_officer, admin;

------------------------------------------------------------------------------
-- Audit verification for staff
------------------------------------------------------------------------------
create function api.verify_audit_chain(from_at timestamptz default '-infinity', to_at timestamptz default 'infinity')
  returns audit.chain_report
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_report audit.chain_report;
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise exception 'Only staff may verify the audit trail.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Ask a compliance officer.';
  end if;
  v_report := audit.verify_chain(from_at, to_at);
  perform audit.log_event('audit.chain.verified', null,
    jsonb_build_object('ok', v_report.ok, 'checked', v_report.checked, 'reason', v_report.reason), case when v_report.ok then 'info' else 'critical' end);
  return v_report;
end
$$;
comment on function api.verify_audit_chain(timestamptz, timestamptz) is
  'Recomputes the audit hash chain for [from_at, to_at) and compares it with the signed checkpoints: ok, entries checked, first bad seq and reason.
Definer: reads the whole audit trail; the function checks the caller is staff.';
grant execute on function api.verify_audit_chain(timestamptz, timestamptz) to compliance_officer, admin;

create function api.audit_checkpoints(max_rows integer default 50)
  returns table (id bigint, created_at timestamptz, head_seq bigint, head_hash text, signature text,
                 gateway_signature text, gateway_key_id text, gateway_signed_at timestamptz)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise exception 'Only staff may list audit checkpoints.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Ask a compliance officer.';
  end if;
  return query select c.id, c.created_at, c.head_seq, encode(c.head_hash, 'hex'), encode(c.signature, 'hex'),
                      c.gateway_signature, c.gateway_key_id, c.gateway_signed_at
               from audit.checkpoints c order by c.id desc limit least(greatest(max_rows, 1), 1000);
end
$$;
comment on function api.audit_checkpoints(integer) is
  'The newest signed checkpoints of the audit chain (keep copies outside the bank: they prove the trail''s length).
Definer: reads audit.checkpoints for staff.';
grant execute on function api.audit_checkpoints(integer) to compliance_officer, admin;

-- The gateway countersigns checkpoints with its JWT key (a JWS over
-- audit.checkpoint_payload), which no database user holds.
create function app.audit_checkpoints_to_sign(max_rows integer default 20)
  returns table (id bigint, payload text)
  language sql stable security definer
  set search_path = ''
  as $$
    select c.id, audit.checkpoint_payload(c.head_seq, c.head_hash, c.created_at)
    from audit.checkpoints c where c.gateway_signature is null order by c.id limit least(greatest(max_rows, 1), 100)
  $$;
comment on function app.audit_checkpoints_to_sign(integer) is
  'Checkpoints the gateway has not countersigned yet, with the text to sign. Definer: reads audit.checkpoints for the gateway.';
grant execute on function app.audit_checkpoints_to_sign(integer) to :DATABASE_GATEWAY;

create function app.record_audit_checkpoint_signature(id bigint, signature text, key_id text) returns boolean
  language sql volatile security definer
  set search_path = ''
  as $$
    update audit.checkpoints c set gateway_signature = record_audit_checkpoint_signature.signature,
           gateway_key_id = record_audit_checkpoint_signature.key_id, gateway_signed_at = now()
     where c.id = record_audit_checkpoint_signature.id and c.gateway_signature is null
       and length(record_audit_checkpoint_signature.signature) between 16 and 4096
    returning true
  $$;
comment on function app.record_audit_checkpoint_signature(bigint, text, text) is
  'Stores the gateway''s JWS over a checkpoint, once. Definer: writes audit.checkpoints for the gateway.';
grant execute on function app.record_audit_checkpoint_signature(bigint, text, text) to :DATABASE_GATEWAY;

------------------------------------------------------------------------------
-- Reporting: materialized views (unique indexes, so they refresh concurrently),
-- in app_private, reached only through staff api functions.
------------------------------------------------------------------------------
create materialized view app_private.report_daily_auth as
  select (a.occurred_at at time zone 'UTC')::date as day,
         count(*) filter (where a.event_type = 'auth.login.succeeded') as sign_ins,
         count(*) filter (where a.event_type = 'auth.login.failed') as failures,
         count(*) filter (where a.event_type = 'auth.account.locked') as lockouts,
         count(distinct a.subject_user_id) filter (where a.event_type = 'auth.login.succeeded') as users_signed_in
  from audit.audit_log a
  where a.kind = 'event' and a.event_type in ('auth.login.succeeded', 'auth.login.failed', 'auth.account.locked')
  group by 1;
create unique index report_daily_auth_day_idx on app_private.report_daily_auth (day);

create materialized view app_private.report_security_events_daily as
  select (a.occurred_at at time zone 'UTC')::date as day, a.event_type, a.severity, count(*) as events
  from audit.audit_log a
  where a.kind = 'event' and a.severity <> 'info'
  group by 1, 2, 3;
create unique index report_security_events_daily_key_idx on app_private.report_security_events_daily (day, event_type, severity);

create materialized view app_private.report_suspicious_sessions_daily as
  select (s.created_at at time zone 'UTC')::date as day,
         count(*) as sessions,
         count(*) filter (where s.is_suspicious) as suspicious,
         round(avg(s.suspicious_score), 1) as avg_score,
         count(*) filter (where s.revoked_reason = 'refresh_token_reuse') as token_reuse_revocations
  from app.user_sessions s
  group by 1;
create unique index report_suspicious_sessions_daily_day_idx on app_private.report_suspicious_sessions_daily (day);

create materialized view app_private.report_mfa_adoption as
  with active as (select u.id, c.method from app.users u
                  left join app.mfa_configs c on c.user_id = u.id and c.status = 'active'
                  where u.deleted_at is null)
  select coalesce(a.method, 'none') as method, count(distinct a.id) as users,
         round(100.0 * count(distinct a.id) / greatest(1, (select count(*) from app.users u where u.deleted_at is null)), 1) as percent_of_users
  from active a
  group by 1;
create unique index report_mfa_adoption_method_idx on app_private.report_mfa_adoption (method);

create materialized view app_private.report_kyc_funnel as
  select r.level, r.status, count(*) as verifications, count(distinct r.user_id) as users
  from app.kyc_records r
  group by 1, 2;
create unique index report_kyc_funnel_key_idx on app_private.report_kyc_funnel (level, status);

create materialized view app_private.report_kyc_risk as
  select coalesce(r.risk_level, 'unassessed') as risk_level, r.status, count(*) as verifications,
         round(avg(r.risk_score), 1) as avg_score
  from app.kyc_records r
  group by 1, 2;
create unique index report_kyc_risk_key_idx on app_private.report_kyc_risk (risk_level, status);

create function app_private.refresh_reports() returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_view record;
  v_count integer := 0;
begin
  for v_view in select c.oid::regclass::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = 'app_private' and c.relkind = 'm' and c.relname ~ '^report_' order by 1 loop
    execute format('refresh materialized view concurrently %s', v_view.name);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

create function app_private.assert_staff() returns void
  language plpgsql stable
  set search_path = ''
  as $$
begin
  if app.caller_role() not in ('compliance_officer', 'admin') then
    raise exception 'Reports are for staff.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Ask a compliance officer or an admin.';
  end if;
end
$$;

create function api.report_daily_auth(from_day date default null, to_day date default null)
  returns table (day date, sign_ins bigint, failures bigint, lockouts bigint, users_signed_in bigint)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  perform app_private.assert_staff();
  return query select r.day, r.sign_ins, r.failures, r.lockouts, r.users_signed_in from app_private.report_daily_auth r
    where r.day >= coalesce(from_day, current_date - 30) and r.day <= coalesce(to_day, current_date) order by r.day;
end
$$;
comment on function api.report_daily_auth(date, date) is
  'Sign-ins, failed sign-ins and lockouts per day (UTC; default: the last 30 days). Refreshed every 15 minutes.
Definer: reads a materialized view no API role may read; the function checks the caller is staff.';

create function api.report_security_events(from_day date default null, to_day date default null)
  returns table (day date, event_type text, severity text, events bigint)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  perform app_private.assert_staff();
  return query select r.day, r.event_type, r.severity, r.events from app_private.report_security_events_daily r
    where r.day >= coalesce(from_day, current_date - 30) and r.day <= coalesce(to_day, current_date)
    order by r.day, r.events desc;
end
$$;
comment on function api.report_security_events(date, date) is
  'Security events (warning and critical) per day and type. Definer: reads a materialized view for staff.';

create function api.report_suspicious_sessions(from_day date default null, to_day date default null)
  returns table (day date, sessions bigint, suspicious bigint, avg_score numeric, token_reuse_revocations bigint)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  perform app_private.assert_staff();
  return query select r.day, r.sessions, r.suspicious, r.avg_score, r.token_reuse_revocations
    from app_private.report_suspicious_sessions_daily r
    where r.day >= coalesce(from_day, current_date - 30) and r.day <= coalesce(to_day, current_date) order by r.day;
end
$$;
comment on function api.report_suspicious_sessions(date, date) is
  'New sessions per day, how many were flagged suspicious, and refresh-token reuse revocations. Definer: reads a materialized view for staff.';

create function api.report_mfa_adoption()
  returns table (method text, users bigint, percent_of_users numeric)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  perform app_private.assert_staff();
  return query select r.method, r.users, r.percent_of_users from app_private.report_mfa_adoption r order by r.users desc;
end
$$;
comment on function api.report_mfa_adoption() is
  'Active users by second-factor method (''none'' for users without one). Definer: reads a materialized view for staff.';

create function api.report_kyc_funnel()
  returns table (level text, status text, verifications bigint, users bigint)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  perform app_private.assert_staff();
  return query select r.level, r.status, r.verifications, r.users from app_private.report_kyc_funnel r order by r.level, r.status;
end
$$;
comment on function api.report_kyc_funnel() is
  'KYC verifications by level and status (pending, in review, approved, rejected...). Definer: reads a materialized view for staff.';

create function api.report_kyc_risk()
  returns table (risk_level text, status text, verifications bigint, avg_score numeric)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  perform app_private.assert_staff();
  return query select r.risk_level, r.status, r.verifications, r.avg_score from app_private.report_kyc_risk r
    order by r.risk_level, r.status;
end
$$;
comment on function api.report_kyc_risk() is
  'KYC verifications by risk level and status, with the average risk score. Definer: reads a materialized view for staff.';

grant execute on function api.report_daily_auth(date, date), api.report_security_events(date, date),
  api.report_suspicious_sessions(date, date), api.report_mfa_adoption(), api.report_kyc_funnel(), api.report_kyc_risk()
  to compliance_officer, admin;

------------------------------------------------------------------------------
-- Maintenance jobs: one function runs any job by name and records the run in
-- audit.job_runs; pg_cron calls it on a schedule where pg_cron is installed,
-- and admins call it by hand (api.run_maintenance).
------------------------------------------------------------------------------
create table audit.job_runs (
  id bigint generated always as identity primary key,
  job text not null,
  started_at timestamptz not null default pg_catalog.clock_timestamp(),
  finished_at timestamptz,
  status text not null default 'running' constraint job_runs_status_chk check (status in ('running', 'succeeded', 'failed')),
  result jsonb,
  error text,
  run_by text not null
);
comment on table audit.job_runs is 'Every maintenance job run (by pg_cron or by hand) and its outcome.';
create index job_runs_job_idx on audit.job_runs (job, started_at desc);

create function app_private.maintenance_jobs()
  returns table (job text, schedule text, description text)
  language sql immutable
  set search_path = ''
  as $$
    values ('seal', '* * * * *', 'Seal new audit entries into the hash chain'),
           ('checkpoint', '*/15 * * * *', 'Record a signed checkpoint of the audit chain head'),
           ('partitions', '17 3 * * *', 'Create audit partitions three months ahead'),
           ('sessions', '*/5 * * * *', 'End expired sessions, delete ended ones past retention'),
           ('kyc_expiry', '40 2 * * *', 'Flag KYC verifications due for renewal'),
           ('reports', '*/15 * * * *', 'Refresh the reporting materialized views'),
           ('retention', '30 3 * * *', 'Apply retention: MFA attempts, challenges, outbox, audit partitions'),
           ('erasure', '45 3 * * *', 'Erase accounts past their grace period; purge KYC evidence past AML retention')
  $$;

create function app_private.run_job(job text, now timestamptz default now()) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_run bigint;
  v_result jsonb;
  v_error text;
begin
  if not exists (select from app_private.maintenance_jobs() j where j.job = run_job.job) then
    raise exception 'There is no maintenance job with this name.' using errcode = 'PT400', detail = 'UNKNOWN_JOB',
      hint = 'Jobs: seal, checkpoint, partitions, sessions, kyc_expiry, reports, retention, erasure.';
  end if;
  insert into audit.job_runs (job, run_by) values (run_job.job, app.caller_role()) returning id into v_run;
  begin
    v_result := case run_job.job
      when 'seal' then jsonb_build_object('sealed', audit.seal())
      when 'checkpoint' then (select jsonb_build_object('checkpoint_id', c.id, 'head_seq', c.head_seq) from audit.checkpoint() c)
      when 'partitions' then jsonb_build_object('created', audit.create_partitions(3, now))
      when 'sessions' then jsonb_build_object('changed', app.cleanup_expired_sessions(now))
      when 'kyc_expiry' then app_private.run_kyc_expiry()
      when 'reports' then jsonb_build_object('refreshed', app_private.refresh_reports())
      when 'retention' then app_private.apply_retention(now)
      when 'erasure' then app_private.erase_due_accounts(now)
    end;
    update audit.job_runs r set finished_at = clock_timestamp(), status = 'succeeded', result = v_result where r.id = v_run;
  exception when others then
    get stacked diagnostics v_error = message_text;
    update audit.job_runs r set finished_at = clock_timestamp(), status = 'failed', error = left(v_error, 1000) where r.id = v_run;
    perform audit.log_event('maintenance.job_failed', null, jsonb_build_object('job', run_job.job, 'run_id', v_run), 'critical');
    v_result := jsonb_build_object('error', left(v_error, 1000));
  end;
  return jsonb_build_object('job', run_job.job, 'run_id', v_run,
                            'status', (select r.status from audit.job_runs r where r.id = v_run)) || jsonb_build_object('result', v_result);
end
$$;
comment on function app_private.run_job(text, timestamptz) is 'Runs one maintenance job by name and records the run in audit.job_runs (failures too).';

create function app_private.run_kyc_expiry() returns jsonb
  language sql volatile
  set search_path = ''
  as $$ select jsonb_build_object('expired', k.expired, 'renewals_opened', k.renewals_opened) from app.check_kyc_expiry(null) k $$;

create function api.run_maintenance(job text) returns jsonb
  language plpgsql volatile security definer
  set search_path = ''
  as $$
begin
  if app.caller_role() <> 'admin' then
    raise exception 'Only admins may run maintenance jobs.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Ask an admin.';
  end if;
  perform audit.log_event('maintenance.run_by_hand', app.current_user_id(), jsonb_build_object('job', job), 'warning');
  return app_private.run_job(job);
end
$$;
comment on function api.run_maintenance(text) is
  'Runs a maintenance job now: seal, checkpoint, partitions, sessions, kyc_expiry, reports, retention or erasure. Admins only; the run is recorded.
Definer: maintenance writes tables of every user; the function checks the caller is an admin.';
grant execute on function api.run_maintenance(text) to admin;

create function api.maintenance_jobs()
  returns table (job text, schedule text, description text, cron_job_id bigint, cron_active boolean,
                 cron_last_status text, cron_last_run_at timestamptz,
                 last_run_at timestamptz, last_status text, last_result jsonb, last_error text)
  language plpgsql stable security definer
  set search_path = ''
  as $$
declare
  v_cron jsonb := '{}'::jsonb;
begin
  if app.caller_role() <> 'admin' then
    raise exception 'Only admins may list maintenance jobs.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Ask an admin.';
  end if;
  -- pg_cron's own tables exist only where the extension is installed.
  if exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    execute format($q$
      select coalesce(jsonb_object_agg(substr(c.jobname, 10), jsonb_build_object('jobid', c.jobid, 'active', c.active,
               'status', d.status, 'start_time', d.start_time)), '{}'::jsonb)
      from %s c
      left join lateral (select x.status, x.start_time from %s x where x.jobid = c.jobid order by x.start_time desc limit 1) d on true
      where c.jobname like 'dwaybank:%%'$q$, 'cron.job', 'cron.job_run_details')
      into v_cron;
  end if;
  return query
    select j.job, j.schedule, j.description, (v_cron -> j.job ->> 'jobid')::bigint, (v_cron -> j.job ->> 'active')::boolean,
           v_cron -> j.job ->> 'status', (v_cron -> j.job ->> 'start_time')::timestamptz,
           r.started_at, r.status, r.result, r.error
    from app_private.maintenance_jobs() j
    left join lateral (select * from audit.job_runs x where x.job = j.job order by x.started_at desc limit 1) r on true
    order by j.job;
end
$$;
comment on function api.maintenance_jobs() is
  'The scheduled maintenance jobs, whether pg_cron runs them, and the outcome of each job''s last run. Admins only.
Definer: reads audit.job_runs and cron.job; the function checks the caller is an admin.';
grant execute on function api.maintenance_jobs() to admin;

create function api.maintenance_runs(job_name text default null, max_rows integer default 100)
  returns table (id bigint, job text, source text, started_at timestamptz, finished_at timestamptz, status text,
                 result jsonb, error text)
  language plpgsql stable security definer
  set search_path = ''
  as $$
begin
  if app.caller_role() <> 'admin' then
    raise exception 'Only admins may list maintenance runs.' using errcode = 'PT403', detail = 'FORBIDDEN', hint = 'Ask an admin.';
  end if;
  return query select r.id, r.job, r.run_by, r.started_at, r.finished_at, r.status, r.result, r.error
    from audit.job_runs r where maintenance_runs.job_name is null or r.job = maintenance_runs.job_name
    order by r.started_at desc limit least(greatest(max_rows, 1), 1000);
end
$$;
comment on function api.maintenance_runs(text, integer) is
  'Recent maintenance job runs with their outcome (audit.job_runs; pg_cron''s own log is cron.job_run_details). Admins only.
Definer: reads audit.job_runs; the function checks the caller is an admin.';
grant execute on function api.maintenance_runs(text, integer) to admin;

-- pg_cron exists only in the database named by cron.database_name (not in the
-- shadow database, nor where the library is missing): schedule only there.
do $$
declare
  v_job record;
begin
  if exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    for v_job in select * from app_private.maintenance_jobs() loop
      execute 'select cron.schedule($1, $2, $3)'
        using 'dwaybank:' || v_job.job, v_job.schedule, format('select app_private.run_job(%L)', v_job.job);
    end loop;
  end if;
end
$$;
