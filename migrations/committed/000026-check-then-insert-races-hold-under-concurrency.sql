--! Previous: sha1:1b25df6007e230c61796975d0a05f4e6ae5b134e
--! Hash: sha1:97885ca36fe968535dc628cdced26033c4744fb3
--! Message: check-then-insert races hold under concurrency

--! split: 7-remaining-races.sql
-- The remaining "look, then write" races (issue 15, finding 12): each check
-- below now holds when requests for the same account (or address, or list)
-- arrive together, by a lock taken before the check or by answering the
-- unique violation the way a later request would have been answered.

------------------------------------------------------------------------------
-- Account recovery: two sign-ins (two mfa_tokens) asking at once both found no
-- open recovery and the second insert hit account_recoveries_open_key (500).
-- The loser now waits for the winner's row and answers already_requested. A
-- unique-violation handler rather than a row lock on the user: this function
-- locks the pending sign-in first, and app_private.set_password locks the user
-- first and then the pending sign-ins, so taking the user here could deadlock.

create or replace function app.request_account_recovery(login_id uuid, reason text default null, ip inet default null,
                                                        user_agent text default null, now timestamptz default now())
  returns table (status text, recovery_id uuid, not_before timestamptz)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_login app_private.mfa_logins;
  v_recovery app.account_recoveries;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  select * into v_login from app_private.mfa_logins l where l.id = request_account_recovery.login_id for update;
  if not found or v_login.consumed_at is not null or v_login.expires_at <= now then
    return query select 'invalid_token', null::uuid, null::timestamptz;
    return;
  end if;
  perform app.set_request_context(v_login.user_id, null, ip, user_agent);
  update app_private.mfa_logins l set consumed_at = now where l.id = v_login.id;
  select * into v_recovery from app.account_recoveries r where r.user_id = v_login.user_id and r.status in ('pending', 'approved');
  if found then
    return query select 'already_requested', v_recovery.id, v_recovery.not_before;
    return;
  end if;
  begin
    -- not_before is the earliest completion; the second approval moves it to approval + the waiting period.
    insert into app.account_recoveries (user_id, reason, requested_at, not_before)
    values (v_login.user_id, left(nullif(reason, ''), 500), now,
            now + make_interval(hours => app.setting('recovery_wait_hours', '72')::integer))
    returning * into v_recovery;
  exception when unique_violation then
    -- Another request opened one between our look and our insert (it has committed: the insert waited for it).
    select * into v_recovery from app.account_recoveries r where r.user_id = v_login.user_id and r.status in ('pending', 'approved');
    return query select 'already_requested', v_recovery.id, v_recovery.not_before;
    return;
  end;
  perform app_private.queue_email(v_login.user_id, 'account_recovery_requested',
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before)
      || app_private.recovery_cancel_link(v_login.user_id, now), now);
  perform audit.log_event('account.recovery.requested', v_login.user_id,
    jsonb_build_object('recovery_id', v_recovery.id, 'not_before', v_recovery.not_before), 'warning');
  return query select 'ok', v_recovery.id, v_recovery.not_before;
end
$$;
comment on function app.request_account_recovery(uuid, text, inet, text, timestamptz) is
  'Starts an account recovery for a customer who passed the password step (login_id = the mfa_token''s jti, consumed) but lost every factor; the notice to the verified address carries a cancel link.
not_before is the earliest completion: the waiting period runs from the second approval. Returns ok, already_requested (also to the loser of two requests at once) or invalid_token. Definer: reads pending sign-ins in app_private.';

------------------------------------------------------------------------------
-- Password reset requests: the per-address and per-client limits were counted
-- without a lock, so requests sent together all passed the count. Each request
-- now takes a transaction lock on the address, then on the client's network,
-- before counting (always in that order, so two requests never wait on each
-- other crosswise). The per-client count uses the shared /64 rule.

create or replace function app.request_password_reset(email text, ip inet default null, user_agent text default null,
                                                      now timestamptz default now())
  returns table (status text, retry_after_seconds integer)
  language plpgsql volatile security definer
  set search_path = pg_catalog, extensions, pg_temp
  as $$
declare
  v_fp text := app_private.fingerprint(left(coalesce(request_password_reset.email, ''), 320));
  v_window integer := app.setting('password_reset_window_seconds', '3600')::integer;
  v_since timestamptz := now - make_interval(secs => v_window);
  v_net inet := app_private.throttle_key(request_password_reset.ip);
  v_count integer;
  v_oldest timestamptz;
  v_retry integer := 0;
  v_user app.users;
  v_token record;
begin
  perform app.set_request_context(null, null, ip, user_agent);
  perform pg_advisory_xact_lock(hashtextextended('password_reset:address:' || v_fp, 0));
  if v_net is not null then
    perform pg_advisory_xact_lock(hashtextextended('password_reset:client:' || v_net::text, 0));
  end if;
  select count(*), min(r.created_at) into v_count, v_oldest from app_private.account_requests r
   where r.kind = 'password_reset' and r.email_fingerprint = v_fp and r.created_at > v_since;
  if v_count >= app.setting('password_reset_address_limit', '3')::integer then
    v_retry := ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now)))::integer;
  end if;
  if v_net is not null then
    select count(*), min(r.created_at) into v_count, v_oldest from app_private.account_requests r
     where r.kind = 'password_reset' and r.ip <<= v_net and r.created_at > v_since;
    -- Defaults to the sign-in throttle's limit (lifted for test traffic, which all comes from one address).
    if v_count >= app.setting('password_reset_ip_limit', app.setting('ip_failure_limit', '50'))::integer then
      v_retry := greatest(v_retry, ceil(extract(epoch from (v_oldest + make_interval(secs => v_window) - now)))::integer);
    end if;
  end if;
  if v_retry > 0 then
    perform audit.log_event('account.password_reset.throttled', null, jsonb_build_object('email', v_fp), 'warning');
    return query select 'rate_limited', greatest(1, v_retry);
    return;
  end if;
  -- Stored as the throttle counts it (an IPv6 client's /64, an IPv4-mapped address as IPv4), so every form of one client matches.
  insert into app_private.account_requests (kind, email_fingerprint, ip, created_at) values ('password_reset', v_fp, v_net, now);

  select * into v_user from app.users u
   where u.email = left(coalesce(request_password_reset.email, ''), 320)::extensions.citext and u.deleted_at is null;
  if not found or v_user.status <> 'active' then
    perform audit.log_event('account.password_reset.requested', v_user.id,
      jsonb_build_object('email', v_fp, 'unknown_account', v_user.id is null, 'sent', false));
  else
    perform app.set_request_context(v_user.id, null, ip, user_agent);
    select * into v_token from app_private.issue_account_token(v_user.id, 'password_reset', v_user.email::text,
      make_interval(mins => app.setting('password_reset_minutes', '30')::integer), now);
    perform app_private.queue_email(v_user.id, 'password_reset',
      jsonb_build_object('token', v_token.token, 'expires_at', v_token.expires_at), now);
    perform audit.log_event('account.password_reset.requested', v_user.id,
      jsonb_build_object('email', v_fp, 'sent', true, 'expires_at', v_token.expires_at), 'warning');
  end if;
  return query select 'accepted', null::integer;
end
$$;
comment on function app.request_password_reset(text, inet, text, timestamptz) is
  'Sends a password reset link (30 minutes, single use; a newer request invalidates the older link) if the address has an active account.
Answers `accepted` either way; `rate_limited` after 3 requests per address or 50 (dwaybank.ip_failure_limit) per client network (an IPv6 client by its /64) in an hour,
counted alike for unknown addresses, under a lock on the address and the network so that requests sent together cannot pass the limits.
Definer: writes token hashes and the outbox.';

------------------------------------------------------------------------------
-- MFA codes by SMS or e-mail: the per-user limit was counted without a lock,
-- so parallel sign-in or step-up requests could send more codes than the limit.
-- A transaction lock per user, before counting, serialises the senders. An
-- advisory lock rather than the user's row: callers reach here holding other
-- row locks (the enrolment's factor row), and nothing else takes this one.

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
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('mfa_challenge:' || (config).user_id::text, 0));
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
comment on function app_private.create_challenge(app.mfa_configs, uuid, text, text, timestamptz) is
  'Sends a code for a factor, at most dwaybank.mfa_challenge_limit (5) per user in the window; a per-user transaction lock makes the count hold for requests sent together.';

------------------------------------------------------------------------------
-- Second-factor checks (found by the sweep): the failures in the window were
-- counted, then the new attempt recorded, without a lock, so wrong TOTP or
-- backup codes sent together (one per pending sign-in) were all checked past
-- mfa_max_attempts. A per-user transaction lock before the count serialises
-- them. Callers hold their pending sign-in or session row; nothing else takes
-- this lock, so it adds no wait cycle.

create or replace function app_private.check_factor(user_id uuid, method text, code text, step bigint, purpose text, ip inet,
                                                    user_agent text, device_fingerprint text, now timestamptz)
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
  -- One check of this user's factors at a time: the count of recent failures below holds until this one is recorded.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('mfa_factor:' || check_factor.user_id::text, 0));
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
comment on function app_private.check_factor(uuid, text, text, bigint, text, inet, text, text, timestamptz) is
  'Checks a TOTP step, a backup code or a sent code for a sign-in or step-up, at most dwaybank.mfa_max_attempts failures per user (and per client network) in the window, counted under a per-user lock.';

------------------------------------------------------------------------------
-- KYC expiry job: a customer starting a verification between the job's look
-- and its insert made the renewal collide on kyc_records_one_in_progress_idx,
-- and that one error aborted the whole run for everyone. The customer's own
-- verification wins; the renewal notice still goes out, without a new record.

create or replace function app.check_kyc_expiry(user_id uuid default null, now timestamptz default now())
  returns table (expired integer, renewals_opened integer)
  language plpgsql volatile security definer
  set search_path = ''
  as $$
declare
  v_now timestamptz := app.clock(now);
  v_rec app.kyc_records;
  v_new uuid;
  v_expired integer := 0;
  v_opened integer := 0;
begin
  for v_rec in
    update app.kyc_records r set status = 'expired'
     where r.status = 'approved' and r.expires_at <= v_now
       and (check_kyc_expiry.user_id is null or r.user_id = check_kyc_expiry.user_id)
    returning r.*
  loop
    v_expired := v_expired + 1;
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_rec.user_id, 'email', 'kyc.expired', jsonb_build_object('kyc_id', v_rec.id, 'expired_at', v_rec.expires_at), v_now);
    perform audit.log_event('kyc.expired', v_rec.user_id, jsonb_build_object('kyc_id', v_rec.id, 'expires_at', v_rec.expires_at));
  end loop;

  for v_rec in
    select r.* from app.kyc_records r
     where r.status = 'approved' and r.renewal_requested_at is null
       and r.expires_at <= v_now + make_interval(days => app.setting('kyc_renewal_days', '30')::integer)
       and (check_kyc_expiry.user_id is null or r.user_id = check_kyc_expiry.user_id)
     for update skip locked
  loop
    v_new := null;
    if not exists (select from app.kyc_records p where p.user_id = v_rec.user_id
                     and p.status in ('pending', 'in_review', 'requires_resubmission')) then
      -- A verification the customer started since the look above wins (no renewal record then).
      insert into app.kyc_records as r (user_id, level, legal_first_name, legal_last_name, date_of_birth, nationality,
                                        address_line1, address_line2, city, postal_code, residence_country,
                                        id_document_type, id_document_number, renewal_of, created_at)
      values (v_rec.user_id, v_rec.level, v_rec.legal_first_name, v_rec.legal_last_name, v_rec.date_of_birth, v_rec.nationality,
              v_rec.address_line1, v_rec.address_line2, v_rec.city, v_rec.postal_code, v_rec.residence_country,
              v_rec.id_document_type, v_rec.id_document_number, v_rec.id, v_now)
      on conflict do nothing  -- kyc_records_one_in_progress_idx, the only key a new pending record can meet
      returning r.id into v_new;
      if v_new is not null then
        perform app_private.screen_kyc_record(v_new, array['sanctions', 'pep'], v_now);
        v_opened := v_opened + 1;
      end if;
    end if;
    update app.kyc_records r set renewal_requested_at = v_now where r.id = v_rec.id;
    insert into app_private.outbox (user_id, channel, template, payload, created_at)
    values (v_rec.user_id, 'email', 'kyc.renewal_due',
            jsonb_build_object('kyc_id', v_rec.id, 'renewal_kyc_id', v_new, 'expires_at', v_rec.expires_at), v_now);
    perform audit.log_event('kyc.renewal_opened', v_rec.user_id,
      jsonb_build_object('kyc_id', v_rec.id, 'renewal_kyc_id', v_new, 'expires_at', v_rec.expires_at));
  end loop;
  return query select v_expired, v_opened;
end
$$;
comment on function app.check_kyc_expiry(uuid, timestamptz) is
  'Expires approvals past expires_at and opens renewals (a pending verification and an e-mail) 30 days ahead; one user or all (null).
A verification the customer starts at the same moment wins over the renewal record (the notice still goes out): one customer''s race never aborts the run.
Definer: the scheduler writes every user''s verifications and the outbox.';

------------------------------------------------------------------------------
-- Watchlist loads: two loaders of the same list version both found no row and
-- the second waited for the first, then failed on watchlists_name_version_key.
-- A transaction lock on (name, version), tried without waiting, refuses the
-- second at once with WATCHLIST_LOAD_IN_PROGRESS; once the first has committed,
-- a new load finds the version loaded and skips it, as before.

create or replace function app.begin_watchlist_load(name text, version text, source text default null)
  returns uuid
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_list app.watchlists;
begin
  if not pg_catalog.pg_try_advisory_xact_lock(
       pg_catalog.hashtextextended('watchlist_load:' || begin_watchlist_load.name || E'\n' || begin_watchlist_load.version, 0)) then
    raise exception 'Another load of this watchlist version is running.' using errcode = 'PT409',
      detail = 'WATCHLIST_LOAD_IN_PROGRESS', hint = 'Wait for it to finish: a version that is loaded is skipped when loaded again.';
  end if;
  select * into v_list from app.watchlists w where w.name = begin_watchlist_load.name and w.version = begin_watchlist_load.version for update;
  if found and v_list.status = 'loaded' then
    return null;
  elsif found then
    delete from app.watchlist_entries e where e.watchlist_id = v_list.id;
    return v_list.id;
  end if;
  insert into app.watchlists as w (name, version, source) values (begin_watchlist_load.name, begin_watchlist_load.version, left(source, 500))
  returning w.id into v_list.id;
  return v_list.id;
end
$$;
comment on function app.begin_watchlist_load(text, text, text) is
  'Starts loading a watchlist version; null if it is already loaded. Raises WATCHLIST_LOAD_IN_PROGRESS (PT409) while another transaction is loading the same version.';

------------------------------------------------------------------------------
-- Device cookies: parallel sign-ins of one account each trimmed to (limit - 1)
-- and inserted one, ending above dwaybank.device_cookies_per_user. A per-user
-- transaction lock before the trim serialises them: inside the sign-in's one
-- statement, so no round trip, and nothing else takes it. Not the user's row:
-- an MFA sign-in reaches here holding its pending sign-in, which a password
-- change (holding the user's row) also wants, and that could deadlock.

create or replace function app.issue_device_cookie(user_id uuid, session_id uuid, presented text default null,
                                                   now timestamptz default now())
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
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('device_cookies:' || issue_device_cookie.user_id::text, 0));
  -- Expired and revoked cookies go, and live ones beyond the newest (limit - 1),
  -- to make room for the new one.
  delete from app_private.device_cookies d
   where d.user_id = issue_device_cookie.user_id
     and (d.expires_at <= now or d.revoked_at is not null
          or d.token_hash in (select k.token_hash from app_private.device_cookies k
                               where k.user_id = issue_device_cookie.user_id and k.expires_at > now and k.revoked_at is null
                               order by coalesce(k.last_used_at, k.created_at) desc
                              offset greatest(app.setting('device_cookies_per_user', '20')::integer - 1, 0)));
  v_token := app_private.new_token();
  insert into app_private.device_cookies (token_hash, user_id, created_at, expires_at)
  values (app_private.token_hash(v_token), issue_device_cookie.user_id, now,
          now + make_interval(days => app.setting('device_cookie_days', '180')::integer));
  return v_token;
end
$$;
comment on function app.issue_device_cookie(uuid, uuid, text, timestamptz) is
  'After a sign-in (a session opened in the last 5 minutes): keeps the device cookie the client presented if it is valid for
this user (sliding expiry), else issues a new one (returned once, stored hashed), deletes the account''s expired and revoked
ones, and keeps at most dwaybank.device_cookies_per_user (20) live ones, the most recently used (under a per-user lock, so parallel sign-ins keep the cap).
Definer: writes app_private.device_cookies, which no API role may touch.';
