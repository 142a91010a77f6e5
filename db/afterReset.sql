-- Runs as a superuser after graphile-migrate creates (or re-creates) a database,
-- for both the real and the shadow database. Roles are cluster-wide, so every
-- statement is idempotent. Names come from .gmrc placeholders.

do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  -- Staff inherit what a signed-in customer may do, then get more by grant/policy.
  if not exists (select from pg_roles where rolname = 'compliance_officer') then
    create role compliance_officer nologin inherit in role authenticated;
  end if;
  if not exists (select from pg_roles where rolname = 'admin') then
    create role admin nologin inherit in role authenticated;
  end if;
  if not exists (select from pg_roles where rolname = ':DATABASE_AUTHENTICATOR') then
    create role :DATABASE_AUTHENTICATOR login noinherit nocreatedb nocreaterole nosuperuser;
  end if;
  if not exists (select from pg_roles where rolname = ':DATABASE_GATEWAY') then
    create role :DATABASE_GATEWAY login noinherit nocreatedb nocreaterole nosuperuser;
  end if;
  -- prometheus-postgres-exporter's role: PostgreSQL's pg_monitor (statistics, replication) and the
  -- app.metrics_* functions granted to it (migrations); no table privilege. Its password is set where
  -- the exporter runs (scripts/lib/monitoring.mjs; in production by the operator).
  if not exists (select from pg_roles where rolname = 'dwaybank_monitor') then
    create role dwaybank_monitor login inherit nocreatedb nocreaterole nosuperuser in role pg_monitor;
  end if;
end
$$;

alter role :DATABASE_AUTHENTICATOR with login noinherit password ':DATABASE_AUTHENTICATOR_PASSWORD';
alter role :DATABASE_GATEWAY with login noinherit password ':DATABASE_GATEWAY_PASSWORD';
-- The owner defines SECURITY DEFINER functions over tables with FORCE ROW LEVEL
-- SECURITY; it bypasses RLS by attribute, never by being a superuser.
alter role :DATABASE_OWNER with bypassrls;

grant anon, authenticated, compliance_officer, admin to :DATABASE_AUTHENTICATOR;

revoke all on database :DATABASE_NAME from public;
grant connect on database :DATABASE_NAME to :DATABASE_AUTHENTICATOR, :DATABASE_GATEWAY, dwaybank_monitor;
grant all on database :DATABASE_NAME to :DATABASE_OWNER;

-- Nobody but the owner may create objects in public.
revoke all on schema public from public;
alter schema public owner to :DATABASE_OWNER;

-- Extensions: db/extensions.sql (the next afterReset step; also run before
-- every `migrate` of an existing database, so a new extension reaches it).
