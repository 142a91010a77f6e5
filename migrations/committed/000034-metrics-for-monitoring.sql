--! Previous: sha1:659dbd6e49d9ad4aef0f029e45e41761b221925e
--! Hash: sha1:85b6b23f75bf7fea7af10c0c1ed205b8f9ba3825
--! Message: Metrics for monitoring: audit sealing and chain, outbox backlog and dead letters, KYC renewals, job failures, read by pg_monitor and the gateway

--! split: 1-current.sql
-- The migration being written. Add N-topic.sql files here (idempotent: they are
-- re-run on every save by `npm run migrate:watch`), then commit them with
-- `npm run migrate:commit -- --message "what it does"`. Committed files in
-- migrations/committed/ are never edited.

--! split: 6-metrics.sql
-- Metrics (issue 17): the product's own figures for prometheus-postgres-exporter
-- (deploy/prometheus/postgres-exporter-queries.yaml) and the gateway's /metrics.
-- Each function returns counts and ages only: never an address, an id or a token.
-- Who may call them: members of PostgreSQL's built-in `pg_monitor` (the exporter's
-- login role `dwaybank_monitor` is one, db/afterReset.sql), and the gateway for the
-- outbox backlog. `pg_monitor` always exists, so this file never depends on a role
-- that an older database lacks. Definer: the figures come from app_private and
-- audit, which no monitoring role may read row by row.

grant usage on schema app to pg_monitor;

-- Audit trail: entries the seal job has not chained yet, and their age.
drop function if exists app.metrics_audit(timestamptz);
create function app.metrics_audit(now timestamptz default now())
returns table (unsealed_entries bigint, oldest_unsealed_age_seconds double precision, head_seq bigint,
               last_checkpoint_age_seconds double precision)
language sql stable security definer
set search_path = ''
as $$
  select (select count(*) from audit.audit_log a where a.seq is null),
         coalesce((select extract(epoch from metrics_audit.now - min(a.occurred_at)) from audit.audit_log a where a.seq is null), 0)::double precision,
         coalesce((select max(a.seq) from audit.audit_log a where a.seq is not null), 0),
         (select extract(epoch from metrics_audit.now - max(c.created_at)) from audit.checkpoints c)::double precision
$$;
comment on function app.metrics_audit(timestamptz) is
  'Unsealed audit entries and the age of the oldest, the chain head and the age of the last checkpoint, for monitoring. Definer: counts audit.audit_log.';

-- Audit chain verification: the chain recomputed over the last `window_minutes`
-- (audit.verify_chain, which also checks the link into the window and the signed
-- checkpoints), and the outcome of the last verification someone recorded
-- (api.verify_audit_chain logs it as the event audit.chain.verified).
drop function if exists app.metrics_audit_chain(integer, timestamptz);
create function app.metrics_audit_chain(window_minutes integer default 60, now timestamptz default now())
returns table (ok integer, checked_entries bigint, last_recorded_ok integer, last_recorded_age_seconds double precision)
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_report audit.chain_report;
begin
  v_report := audit.verify_chain(metrics_audit_chain.now - make_interval(mins => greatest(window_minutes, 1)), 'infinity');
  return query
    select case when v_report.ok then 1 else 0 end, v_report.checked,
           (select case when (e.details ->> 'ok')::boolean then 1 else 0 end from audit.audit_log e
             where e.kind = 'event' and e.event_type = 'audit.chain.verified' order by e.occurred_at desc limit 1),
           (select extract(epoch from metrics_audit_chain.now - max(e.occurred_at)) from audit.audit_log e
             where e.kind = 'event' and e.event_type = 'audit.chain.verified')::double precision;
end
$$;
comment on function app.metrics_audit_chain(integer, timestamptz) is
  'The audit chain verified over the last window_minutes (1 ok, 0 broken) and the last recorded verification''s outcome, for monitoring. Definer: reads the whole audit trail.';

-- Outbox: messages still to deliver, the age of the oldest, those that failed at least once, and those
-- dead-lettered in the last day (app.complete_outbox: no more attempts, the customer never got them).
drop function if exists app.metrics_outbox(timestamptz);
create function app.metrics_outbox(now timestamptz default now())
returns table (backlog bigint, oldest_age_seconds double precision, failing bigint, dead_last_day bigint)
language sql stable security definer
set search_path = ''
as $$
  select count(*) filter (where o.dead_at is null),
         coalesce(extract(epoch from metrics_outbox.now - min(o.created_at) filter (where o.dead_at is null)), 0)::double precision,
         count(*) filter (where o.dead_at is null and o.last_error is not null),
         count(*) filter (where o.dead_at > metrics_outbox.now - interval '1 day')
    from app_private.outbox o where o.sent_at is null
$$;
comment on function app.metrics_outbox(timestamptz) is
  'Undelivered SMS/e-mail messages still being tried, the age of the oldest, how many failed at least once, and how many were dead-lettered in the last day, for monitoring. Definer: counts app_private.outbox.';

-- KYC: customers whose approval expired and who hold no valid one (awaiting renewal),
-- renewals open, and approvals past expiry that the kyc_expiry job has not expired yet.
drop function if exists app.metrics_kyc(timestamptz);
create function app.metrics_kyc(now timestamptz default now())
returns table (expired_awaiting_renewal bigint, renewals_open bigint, approvals_past_expiry bigint)
language sql stable security definer
set search_path = ''
as $$
  select (select count(distinct r.user_id) from app.kyc_records r
           where r.status = 'expired' and r.expires_at <= metrics_kyc.now
             and not exists (select from app.kyc_records a where a.user_id = r.user_id and a.status = 'approved'
                             and a.expires_at > metrics_kyc.now)),
         (select count(*) from app.kyc_records r where r.renewal_of is not null and r.status in ('pending', 'in_review', 'requires_resubmission')),
         (select count(*) from app.kyc_records r where r.status = 'approved' and r.expires_at <= metrics_kyc.now)
$$;
comment on function app.metrics_kyc(timestamptz) is
  'KYC: customers whose verification expired without a valid one since, renewals open, approvals past expiry not yet expired, for monitoring. Definer: counts app.kyc_records (RLS forced).';

-- Scheduled jobs: per job, whether its last run failed, failures in the last hour and the
-- age of its last success. A run fails in app_private.run_job (recorded in audit.job_runs) or
-- before it, in pg_cron itself (cron.job_run_details, where the extension is installed).
drop function if exists app.metrics_jobs(timestamptz);
create function app.metrics_jobs(now timestamptz default now())
returns table (job text, last_run_failed integer, failures_last_hour bigint, last_success_age_seconds double precision)
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_cron jsonb := '{}'::jsonb;
begin
  if exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
    execute format($q$
      select coalesce(jsonb_object_agg(substr(c.jobname, 10), jsonb_build_object(
               'last_failed', (select x.status = 'failed' from %2$s x where x.jobid = c.jobid and x.status in ('succeeded', 'failed')
                               order by x.start_time desc limit 1),
               'failures', (select count(*) from %2$s x where x.jobid = c.jobid and x.status = 'failed'
                            and x.start_time > $1 - interval '1 hour'))), '{}'::jsonb)
      from %1$s c where c.jobname like 'dwaybank:%%'$q$, 'cron.job', 'cron.job_run_details')
      into v_cron using metrics_jobs.now;
  end if;
  return query
    select j.job,
           case when coalesce((v_cron -> j.job ->> 'last_failed')::boolean, false) or last_run.status = 'failed' then 1 else 0 end,
           coalesce((v_cron -> j.job ->> 'failures')::bigint, 0)
             + (select count(*) from audit.job_runs r where r.job = j.job and r.status = 'failed'
                 and r.started_at > metrics_jobs.now - interval '1 hour'),
           (select extract(epoch from metrics_jobs.now - max(r.finished_at)) from audit.job_runs r
             where r.job = j.job and r.status = 'succeeded')::double precision
      from app_private.maintenance_jobs() j
      left join lateral (select r.status from audit.job_runs r where r.job = j.job and r.status <> 'running'
                          order by r.started_at desc limit 1) last_run on true
     order by j.job;
end
$$;
comment on function app.metrics_jobs(timestamptz) is
  'Each maintenance job: last run failed (1/0), failures in the last hour (pg_cron and the job itself), seconds since its last success, for monitoring. Definer: reads audit.job_runs and cron.job_run_details.';

revoke all on function app.metrics_audit(timestamptz), app.metrics_audit_chain(integer, timestamptz),
  app.metrics_outbox(timestamptz), app.metrics_kyc(timestamptz), app.metrics_jobs(timestamptz) from public;
grant execute on function app.metrics_audit(timestamptz), app.metrics_audit_chain(integer, timestamptz),
  app.metrics_outbox(timestamptz), app.metrics_kyc(timestamptz), app.metrics_jobs(timestamptz) to pg_monitor;
-- The gateway reports its outbox's backlog on its own /metrics.
grant execute on function app.metrics_outbox(timestamptz) to :DATABASE_GATEWAY;
