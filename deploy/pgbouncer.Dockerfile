# PgBouncer 1.18 from Debian bookworm (the version the local HA stack runs), configured at start
# from deploy/pgbouncer/pgbouncer.ini.tmpl and the environment (deploy/pgbouncer/entrypoint.sh).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends pgbouncer \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/pgbouncer/pgbouncer.ini.tmpl /etc/pgbouncer/pgbouncer.ini.tmpl
COPY deploy/pgbouncer/entrypoint.sh /usr/local/bin/pgbouncer-entrypoint
USER postgres
EXPOSE 6432
ENTRYPOINT ["/usr/local/bin/pgbouncer-entrypoint"]
