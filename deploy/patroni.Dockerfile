# PostgreSQL 15 under Patroni 3.0 (Debian bookworm's packages, the versions the local HA stack runs),
# with pg_cron and pgBackRest 2.45. Configured by deploy/ha/patroni.yml plus PATRONI_* variables
# per node (docker-compose.yml, profile `ha`); secrets only from the environment.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-15-cron patroni python3-etcd pgbackrest ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/lib/pgbackrest /var/log/pgbackrest /var/spool/pgbackrest \
 && chown -R postgres:postgres /var/lib/postgresql /var/lib/pgbackrest /var/log/pgbackrest /var/spool/pgbackrest
COPY deploy/ha/patroni.yml /etc/patroni/patroni.yml
COPY deploy/ha/pgbackrest.conf /etc/pgbackrest/pgbackrest.conf
USER postgres
EXPOSE 5432 8008
# docker-compose cannot require these only for the `ha` profile: the node refuses to start without them.
CMD ["sh", "-c", "test -n \"$PATRONI_SUPERUSER_PASSWORD\" && test -n \"$PATRONI_REPLICATION_PASSWORD\" && test -n \"$PGBACKREST_REPO1_CIPHER_PASS\" || { echo 'set POSTGRES_PASSWORD, PATRONI_REPLICATION_PASSWORD and PGBACKREST_CIPHER_PASS' >&2; exit 1; }; exec patroni /etc/patroni/patroni.yml"]
