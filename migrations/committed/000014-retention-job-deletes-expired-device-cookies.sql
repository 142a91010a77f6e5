--! Previous: sha1:5f53cb41a3f93adfe7c181f98c09439198dd59f8
--! Hash: sha1:4da767c80648a6a5b07c56ce763555e59ba4d440
--! Message: retention job deletes expired device cookies

--! split: 1-current.sql
-- Device cookies of accounts that never sign in again expire but were deleted
-- only at the account's next sign-in. The daily retention job now deletes the
-- expired and revoked ones (their issue and revocation are in the audit trail).

create or replace function app_private.apply_retention(now timestamptz default now()) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_attempts bigint;
  v_challenges bigint;
  v_logins bigint;
  v_outbox bigint;
  v_cookies bigint;
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
  delete from app_private.device_cookies d
   where d.expires_at <= now or d.revoked_at is not null;
  get diagnostics v_cookies = row_count;
  v_partitions := audit.drop_expired_partitions(now);
  return jsonb_build_object('mfa_attempts', v_attempts, 'mfa_challenges', v_challenges, 'mfa_logins', v_logins,
                            'outbox', v_outbox, 'device_cookies', v_cookies, 'audit_partitions', v_partitions);
end
$$;
