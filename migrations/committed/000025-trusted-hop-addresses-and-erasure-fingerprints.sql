--! Previous: sha1:4ba5ab9feab6c685fe8a4fccf7ae3f4a0b5a1deb
--! Hash: sha1:1b25df6007e230c61796975d0a05f4e6ae5b134e
--! Message: client addresses by trusted hops and erasure that leaves no raw address in the trail

--! split: 6-operations-and-erasure.sql
-- Operations and erasure (issue 15, findings 7, 8, 9).

------------------------------------------------------------------------------
-- Finding 7: per-IP throttles key an IPv6 client by its /64. One customer
-- line gets a whole /64 (RFC 6177); keyed by the exact address, an attacker
-- rotates through 2^64 addresses and is never throttled.

create or replace function app_private.throttle_key(ip inet) returns inet
  language sql immutable strict parallel safe
  return case
    -- An IPv4 client seen on a dual-stack socket is the IPv4 client.
    when family(ip) = 6 and ip <<= '::ffff:0.0.0.0/96'::inet
      then '0.0.0.0'::inet + (host(ip)::inet - '::ffff:0.0.0.0'::inet)
    when family(ip) = 6 then network(set_masklen(ip, 64))::inet
    else set_masklen(ip, 32)
  end;
comment on function app_private.throttle_key(inet) is
  'The key a per-IP throttle counts under: the /64 network of an IPv6 address, the address itself for IPv4 (IPv4-mapped IPv6 counts as IPv4).';
revoke all on function app_private.throttle_key(inet) from public;

create or replace function app_private.count_ip_failure(ip inet, now timestamptz) returns void
  language sql
  begin atomic
    insert into app_private.ip_login_failures as f (ip, bucket, failures)
    values (app_private.throttle_key(count_ip_failure.ip), date_trunc('minute', count_ip_failure.now), 1)
    on conflict (ip, bucket) do update set failures = f.failures + 1;
  end;
comment on function app_private.count_ip_failure(inet, timestamptz) is
  'Counts one failed sign-in from a client (keyed by app_private.throttle_key: an IPv6 client by its /64).';
revoke all on function app_private.count_ip_failure(inet, timestamptz) from public;

create or replace function app_private.ip_retry_after(ip inet, now timestamptz) returns integer
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select case when coalesce(sum(f.failures), 0) >= app.setting('ip_failure_limit', '50')::integer
                      then greatest(1, ceil(extract(epoch from (min(f.bucket) + make_interval(mins => app.setting('ip_failure_window_minutes', '15')::integer) - now))))::integer
                      else 0 end
            from app_private.ip_login_failures f
           where f.ip = app_private.throttle_key(ip_retry_after.ip)
             and f.bucket > now - make_interval(mins => app.setting('ip_failure_window_minutes', '15')::integer));
end
$$;
comment on function app_private.ip_retry_after(inet, timestamptz) is
  'Seconds until a client (keyed by app_private.throttle_key) may try again, 0 if not throttled.';
revoke all on function app_private.ip_retry_after(inet, timestamptz) from public;

-- The MFA throttle counts attempts by address too: the client's /64 (or IPv4
-- address) is a prefix match, which the (ip, created_at) btree index serves.
create or replace function app.check_mfa_rate_limit(user_id uuid, ip inet, max_attempts integer, window_seconds integer,
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
  v_key inet := app_private.throttle_key(check_mfa_rate_limit.ip);
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
           where a.ip <<= v_key and a.created_at > v_since
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
  'Whether a user (max_attempts failures) or a client (dwaybank.ip_failure_limit failures from its IPv4 address or IPv6 /64) has failed too often in the window, and for how many seconds more.
Definer: counts attempts of every user from one address.';

------------------------------------------------------------------------------
-- Finding 8: the client address of a PostgREST request. PostgREST gives SQL
-- no socket address, only headers; X-Forwarded-For is what the client sent
-- plus one entry per proxy of ours. So, as the gateway does with TRUST_PROXY,
-- only the n-th entry from the right is believed, n = dwaybank.trusted_proxy_hops
-- (0, the default: no proxy of ours, believe no entry and record no address).

create or replace function audit.request_context() returns audit.request_context
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
  v_hops_setting text := app.setting('trusted_proxy_hops', '0');
  v_hops integer := case when v_hops_setting ~ '^\s*[0-9]{1,2}\s*$' then v_hops_setting::integer else 0 end;
  v_forwarded text[];
begin
  -- The gateway states the context (app.set_request_context, with the address it computed under its own
  -- TRUST_PROXY); PostgREST requests carry it in claims and headers.
  if v_actor is null or v_session is null or v_ip is null or v_user_agent is null or v_request is null then
    v_claims := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    v_headers := nullif(pg_catalog.current_setting('request.headers', true), '')::jsonb;
    v_actor := coalesce(v_actor, v_claims ->> 'sub');
    v_session := coalesce(v_session, v_claims ->> 'sid');
    if v_ip is null and v_hops > 0 then
      v_forwarded := array(select btrim(h) from pg_catalog.regexp_split_to_table(coalesce(v_headers ->> 'x-forwarded-for', ''), ',') h
                            where btrim(h) <> '');
      if pg_catalog.cardinality(v_forwarded) >= v_hops then
        v_ip := v_forwarded[pg_catalog.cardinality(v_forwarded) - v_hops + 1];
      end if;
    end if;
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
  'Who, from where, in which request: what the gateway stated (app.set_request_context), else the PostgREST claims and headers. The client address from X-Forwarded-For only at the n-th entry from the right, n = dwaybank.trusted_proxy_hops (default 0: none).';
revoke all on function audit.request_context() from public;

------------------------------------------------------------------------------
-- Finding 9: erasure removes the raw client address and user agent from the
-- audit entries of the erased person, and the chain still verifies.
--
-- How the chain stays tamper-evident. Hash version 2 (every entry written from
-- now on, and every older entry after the one-time re-seal below) does not
-- hash the raw address and user agent but their keyed fingerprints
-- (app_private.fingerprint, the HMAC the trail already stores for PII columns).
-- An entry holds either the raw value (the hash covers its fingerprint,
-- computed at verification) or, once erased, only the fingerprint (the hash
-- covers that stored fingerprint). Both give the same hash, so erasure changes
-- no hash and no link, and a checkpoint signed before the erasure still
-- matches. What cannot be done unnoticed: changing a raw value (its
-- fingerprint changes), or storing a fingerprint that is not the erased
-- value's (the hash changes; and the append-only trigger refuses it). Erasure
-- is the only change the trigger allows to an entry: raw value -> its own
-- fingerprint, nothing else. The fingerprint key is thereby part of what
-- verification needs (like the checkpoint key): rotating it needs a re-seal.

alter table audit.audit_log add column if not exists hash_version smallint;
alter table audit.audit_log add column if not exists ip_fingerprint text;
alter table audit.audit_log add column if not exists user_agent_fingerprint text;
alter table audit.audit_log alter column hash_version set default 2;
comment on column audit.audit_log.hash_version is
  'How audit.entry_hash hashes the entry: null = 1 (raw address and user agent), 2 = their keyed fingerprints (so that erasure can remove the raw values).';
comment on column audit.audit_log.ip_fingerprint is 'Once the person is erased: the keyed fingerprint of the client address, which is then null.';
comment on column audit.audit_log.user_agent_fingerprint is 'Once the person is erased: the keyed fingerprint of the user agent, which is then null.';
-- Erasure finds a person's entries as actor as well as subject.
create index if not exists audit_log_actor_idx on audit.audit_log (actor_id) where actor_id is not null;

create or replace function audit.entry_hash(e audit.audit_log) returns bytea
  language sql stable
  set search_path = ''
  set "TimeZone" = 'UTC'
  as $$
    select case when e.hash_version is null then
      extensions.digest(convert_to(jsonb_build_array(
        e.seq, encode(e.prev_hash, 'hex'), e.sealed_at, e.id, e.occurred_at, e.kind, e.event_type, e.severity, e.actor_id,
        e.actor_role, e.session_id, e.subject_user_id, e.table_name, e.row_id, e.operation, e.changed_columns, e.old_values,
        e.new_values, e.details, e.ip::text, e.user_agent, e.request_id, e.txid)::text, 'UTF8'), 'sha256')
    else
      extensions.digest(convert_to(jsonb_build_array(
        'v' || e.hash_version, e.seq, encode(e.prev_hash, 'hex'), e.sealed_at, e.id, e.occurred_at, e.kind, e.event_type,
        e.severity, e.actor_id, e.actor_role, e.session_id, e.subject_user_id, e.table_name, e.row_id, e.operation,
        e.changed_columns, e.old_values, e.new_values, e.details,
        case when e.ip is not null then app_private.fingerprint(host(e.ip)) else e.ip_fingerprint end,
        case when e.user_agent is not null then app_private.fingerprint(e.user_agent) else e.user_agent_fingerprint end,
        e.request_id, e.txid)::text, 'UTF8'), 'sha256')
    end
  $$;
comment on function audit.entry_hash(audit.audit_log) is
  'The chain hash of one audit entry. Version 2 covers the keyed fingerprints of the address and user agent, not the raw values, so that erasure (which keeps only the fingerprints) changes no hash.';
revoke all on function audit.entry_hash(audit.audit_log) from public;

create or replace function audit.tg_audit_log__append_only() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_chain text[] := array['seq', 'prev_hash', 'hash', 'sealed_at'];
  v_redacted text[] := array['ip', 'user_agent', 'ip_fingerprint', 'user_agent_fingerprint'];
begin
  if tg_op = 'UPDATE' then
    -- Sealing: the chain columns of an unsealed entry are filled in.
    if old.seq is null and new.seq is not null
       and (to_jsonb(old) - v_chain) = (to_jsonb(new) - v_chain) then
      return new;
    end if;
    -- Erasure: a raw address or user agent is replaced by its own keyed fingerprint; nothing else changes.
    if old.hash_version = 2 and new.hash_version = 2
       and (to_jsonb(old) - v_redacted) = (to_jsonb(new) - v_redacted)
       and new.ip is null and new.user_agent is null
       and new.ip_fingerprint is not distinct from coalesce(app_private.fingerprint(host(old.ip)), old.ip_fingerprint)
       and new.user_agent_fingerprint is not distinct from coalesce(app_private.fingerprint(old.user_agent), old.user_agent_fingerprint) then
      return new;
    end if;
    -- The one-time move of entries written before hash version 2 (migration 6-operations-and-erasure).
    if old.hash_version is null and new.hash_version = 2 and (old.seq is null) = (new.seq is null)
       and (to_jsonb(old) - v_chain - 'hash_version') = (to_jsonb(new) - v_chain - 'hash_version') then
      return new;
    end if;
  end if;
  raise exception 'The audit log is append-only.' using errcode = 'PT403', detail = 'AUDIT_APPEND_ONLY',
    hint = 'Entries are never changed or removed; retention drops whole partitions (audit.drop_expired_partitions).';
end
$$;
comment on function audit.tg_audit_log__append_only() is
  'Refuses every change to an audit entry but sealing it, and erasure replacing a raw address or user agent by its keyed fingerprint.';
revoke all on function audit.tg_audit_log__append_only() from public;

-- The one-time re-seal of entries hashed under version 1 (the raw values),
-- which erasure could not touch without breaking the chain. Only a chain that
-- verifies is re-sealed; every entry is re-hashed in seq order under version 2,
-- each checkpoint is re-signed for its new head hash, and one event (itself
-- chained) records every old head hash and gateway countersignature next to
-- the new one, so evidence held from before the re-seal can still be matched.
do $$
declare
  v_report audit.chain_report;
  v_prev bytea;
  v_first boolean := true;
  v_old jsonb := '[]';
  v_count bigint := 0;
  r audit.audit_log;
  c audit.checkpoints;
begin
  update audit.audit_log a set hash_version = 2 where a.seq is null and a.hash_version is null;
  if not exists (select from audit.audit_log a where a.seq is not null and a.hash_version is null) then
    return;
  end if;
  perform audit.chain_lock();
  v_report := audit.verify_chain();
  if not v_report.ok then
    raise exception 'The audit chain does not verify (% at seq %): not re-sealing it.', v_report.reason, v_report.first_bad_seq;
  end if;
  for r in select * from audit.audit_log a where a.seq is not null order by a.seq loop
    if v_first then
      v_prev := r.prev_hash;  -- the link into what retention already pruned stays as it was
      v_first := false;
    end if;
    r.prev_hash := v_prev;
    r.hash_version := 2;
    r.hash := audit.entry_hash(r);
    update audit.audit_log a set hash_version = 2, prev_hash = r.prev_hash, hash = r.hash
     where a.id = r.id and a.occurred_at = r.occurred_at;
    v_prev := r.hash;
    v_count := v_count + 1;
  end loop;
  for c in select * from audit.checkpoints order by id loop
    v_old := v_old || jsonb_build_object('checkpoint_id', c.id, 'head_seq', c.head_seq, 'old_head_hash', encode(c.head_hash, 'hex'),
      'old_gateway_signature', c.gateway_signature, 'old_gateway_key_id', c.gateway_key_id);
    update audit.checkpoints k
       set head_hash = a.hash, signature = audit.checkpoint_signature(k.head_seq, a.hash, k.created_at),
           gateway_signature = null, gateway_key_id = null, gateway_signed_at = null
      from audit.audit_log a
     where k.id = c.id and a.seq = k.head_seq;
  end loop;
  perform audit.log_event('audit.chain.resealed', null,
    jsonb_build_object('entries', v_count, 'hash_version', 2, 'checkpoints', v_old), 'warning');
end
$$;

create or replace function app_private.erase_user(user_id uuid, now timestamptz default now()) returns jsonb
  language plpgsql
  set search_path = ''
  as $_$
declare
  v_fk record;
  v_count bigint;
  v_removed jsonb := '{}'::jsonb;
  v_email_fp text;
begin
  if exists (select from audit.legal_holds h where h.subject_user_id = erase_user.user_id and h.released_at is null) then
    perform audit.log_event('gdpr.erasure.held', user_id, '{}', 'warning');
    return jsonb_build_object('status', 'held');
  end if;
  select app_private.fingerprint(u.email::text) into v_email_fp from app.users u where u.id = erase_user.user_id;
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
  -- Password-reset requests are kept by address fingerprint (no user id), with the client address.
  delete from app_private.account_requests r where r.email_fingerprint = v_email_fp;
  get diagnostics v_count = row_count;
  if v_count > 0 then
    v_removed := v_removed || jsonb_build_object('app_private.account_requests', v_count);
  end if;
  update app.users u
     set email = 'erased+' || u.id || '@erased.invalid', phone = null, first_name = null, last_name = null,
         date_of_birth = null, country_code = null, last_login_ip = null, last_login_user_agent = null,
         status = 'deleted', deleted_at = coalesce(u.deleted_at, erase_user.now)
   where u.id = erase_user.user_id;
  -- KYC evidence (app.kyc_records, kyc_documents, kyc_compliance_checks) stays for the AML retention period,
  -- readable only by compliance officers (the account can no longer sign in); then purge_kyc_evidence removes it.
  update app_private.account_erasures e set erased_at = erase_user.now where e.user_id = erase_user.user_id;
  perform audit.log_event('gdpr.erased', user_id, jsonb_build_object('removed', v_removed), 'warning');
  -- Last, so that it covers the entries above too: the trail keeps what happened, but of the addresses and
  -- user agents of entries where the person acted or was acted upon only keyed fingerprints (audit.entry_hash:
  -- the chain still verifies).
  update audit.audit_log a
     set ip_fingerprint = coalesce(app_private.fingerprint(host(a.ip)), a.ip_fingerprint), ip = null,
         user_agent_fingerprint = coalesce(app_private.fingerprint(a.user_agent), a.user_agent_fingerprint), user_agent = null
   where (a.actor_id = erase_user.user_id or a.subject_user_id = erase_user.user_id
          -- and entries written in the same request before the person was known (a password-reset request is
          -- recorded before the address is looked up): the request's other entries name the person
          or a.request_id in (select b.request_id from audit.audit_log b
                               where (b.actor_id = erase_user.user_id or b.subject_user_id = erase_user.user_id)
                                 and b.request_id is not null))
     and (a.ip is not null or a.user_agent is not null);
  get diagnostics v_count = row_count;
  return jsonb_build_object('status', 'erased', 'removed', v_removed, 'audit_entries_redacted', v_count);
end
$_$;
comment on function app_private.erase_user(uuid, timestamptz) is
  'GDPR erasure of one account: its rows removed, its profile blanked, its addresses and user agents in the audit trail replaced by keyed fingerprints; KYC evidence kept for the AML retention period.';
revoke all on function app_private.erase_user(uuid, timestamptz) from public;
