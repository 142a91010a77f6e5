#!/bin/sh
# Renders /etc/pgbouncer/pgbouncer.ini.tmpl as scripts/lib/proxy.mjs does locally (the same three
# aliases of one database), writes the auth file from the environment (0600, never in the image),
# and runs PgBouncer in the foreground.
set -eu
db="${DATABASE_NAME:-dwaybank}"
dir=/tmp/pgbouncer
mkdir -p "$dir"
umask 077
target="host=${DATABASE_HOST:-db} port=${DATABASE_PORT:-5432} dbname=$db"
admin_password="${PGBOUNCER_ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}"
q() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }
{
  printf '%s %s\n' "$(q "${DATABASE_GATEWAY:-dwaybank_gateway}")" "$(q "$DATABASE_GATEWAY_PASSWORD")"
  printf '%s %s\n' "$(q "${DATABASE_AUTHENTICATOR:-authenticator}")" "$(q "$DATABASE_AUTHENTICATOR_PASSWORD")"
  printf '%s %s\n' "$(q pgbouncer_admin)" "$(q "$admin_password")"
} > "$dir/userlist.txt"
# The client address comes from the proxy (the database's dwaybank.trusted_proxy_hops), so no
# connect_query sets it here; the gateway's statement timeout is set again on its alias.
databases="$db = $target
${db}_gateway = $target connect_query='set statement_timeout = 15000'
${db}_listen = $target pool_mode=session pool_size=4"
awk -v databases="$databases" -v dir="$dir" '{
  gsub(/\{\{databases\}\}/, databases); gsub(/\{\{host\}\}/, "0.0.0.0"); gsub(/\{\{port\}\}/, "6432");
  gsub(/\{\{pidfile\}\}/, dir "/pgbouncer.pid"); gsub(/\{\{authFile\}\}/, dir "/userlist.txt");
  gsub(/\{\{adminUser\}\}/, "pgbouncer_admin"); gsub(/\{\{maxClientConn\}\}/, "5000"); gsub(/\{\{poolSize\}\}/, "20");
  print }' /etc/pgbouncer/pgbouncer.ini.tmpl > "$dir/pgbouncer.ini"
if grep -q '{{' "$dir/pgbouncer.ini"; then echo "pgbouncer.ini: a placeholder is left" >&2; exit 1; fi
exec pgbouncer "$dir/pgbouncer.ini"
