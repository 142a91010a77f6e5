# PostgreSQL 15 with the extensions the schema and its tests use.
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check \
 && rm -rf /var/lib/apt/lists/*
# Every cluster this image creates: no bind parameter (passwords!) in the server
# log, on success or on error, and log files readable by their owner only
# (docker-compose.yml states the same on the command line).
RUN printf '%s\n' "log_parameter_max_length = 0" "log_parameter_max_length_on_error = 0" "log_file_mode = 0600" \
      >> /usr/share/postgresql/postgresql.conf.sample
