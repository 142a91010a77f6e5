-- Extensions, in schema `extensions`. Runs as a superuser: after graphile-migrate
-- creates a database (the second afterReset step in .gmrc) and, for a database
-- that already exists, before every migrate (scripts/lib/database.mjs and
-- scripts/deploy-migrate.mjs), so a migration that needs a new extension finds
-- it. Idempotent. :DATABASE_OWNER is graphile-migrate's placeholder.

create schema if not exists extensions;
revoke all on schema extensions from public;
grant usage on schema extensions to public;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists citext with schema extensions;
create extension if not exists pg_trgm with schema extensions;
create extension if not exists unaccent with schema extensions;
create extension if not exists pg_stat_statements with schema extensions;
-- Column-by-column row comparison for the audit trigger (000007).
create extension if not exists hstore with schema extensions;

-- pg_cron can only live in the database named by cron.database_name; the shadow
-- database and servers without the library simply run without it
-- (api.run_maintenance(job) does the same work by hand).
do $$
begin
  if current_setting('cron.database_name', true) = current_database()
     and exists (select from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
    grant usage on schema cron to :DATABASE_OWNER;
    grant select on cron.job, cron.job_run_details to :DATABASE_OWNER;
  end if;
end
$$;
