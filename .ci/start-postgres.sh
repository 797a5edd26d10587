#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for the test suite as the `postgres` user (it refuses root)
# and prints the SQLAlchemy URL to use. Usage: .ci/start-postgres.sh [DATA_DIR] [PORT] [tls]
# With `tls` the server also accepts TLS, with a self-signed certificate made in DATA_DIR/tls
# (the PostgreSQL source's TLS tests start such a second server).
set -euo pipefail
data_dir=${1:-/tmp/flowservice-pg}
port=${2:-55432}
tls=${3:-}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  mkdir -p "$data_dir"
  chown postgres "$data_dir" 2>/dev/null || true
  if [ ! -f "$data_dir/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data_dir" -U postgres --auth=trust >/dev/null
  fi
  options="-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
  if [ "$tls" = tls ]; then
    if [ ! -f "$data_dir/tls/server.crt" ]; then
      as_pg mkdir -p "$data_dir/tls"
      as_pg openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -keyout "$data_dir/tls/server.key" -out "$data_dir/tls/server.crt" >/dev/null 2>&1
      as_pg chmod 600 "$data_dir/tls/server.key"
    fi
    options="$options -c ssl=on -c ssl_cert_file=$data_dir/tls/server.crt"
    options="$options -c ssl_key_file=$data_dir/tls/server.key"
  fi
  as_pg "$bin/pg_ctl" -D "$data_dir" -l "$data_dir/server.log" -w -o "$options" start >/dev/null
fi
as_pg "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'flowservice') THEN
    CREATE ROLE flowservice LOGIN PASSWORD 'flowservice' CREATEDB;
  END IF;
END\$\$;
SQL
if ! as_pg "$bin/psql" -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres \
     -c "SELECT 1 FROM pg_database WHERE datname = 'flowservice'" | grep -q 1; then
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres -O flowservice flowservice
fi
echo "postgresql+psycopg://flowservice:flowservice@127.0.0.1:$port/flowservice"
