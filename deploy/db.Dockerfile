# PostgreSQL 15 with the extensions the schema and its tests use.
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check \
 && rm -rf /var/lib/apt/lists/*
