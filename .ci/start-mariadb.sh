#!/usr/bin/env bash
# Starts a throw-away MariaDB for the MySQL/MariaDB connector tests as the `mysql` user (never
# root): loopback only, its own data dir, a self-signed TLS certificate (so TLS can be tested),
# and a `flowservice` login that may create databases. Returns at once when it already answers.
# Prints the URL to use. Usage: .ci/start-mariadb.sh [DATA_DIR] [PORT]
set -euo pipefail
data_dir=${1:-/tmp/flowservice-mariadb}
port=${2:-53306}
socket="$data_dir/mariadb.sock"
if ! id mysql >/dev/null 2>&1; then
  useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin mysql
fi
as_my() { if [ "$(id -u)" = 0 ]; then runuser -u mysql -- "$@"; else "$@"; fi; }
alive() { as_my mariadb-admin --socket="$socket" -u mysql ping >/dev/null 2>&1; }
if ! alive; then
  mkdir -p "$data_dir"
  chown mysql "$data_dir" 2>/dev/null || true
  if [ ! -d "$data_dir/db/mysql" ]; then
    as_my mariadb-install-db --no-defaults --datadir="$data_dir/db" --user=mysql \
      --skip-test-db --auth-root-authentication-method=socket >"$data_dir/install.log" 2>&1
  fi
  if [ ! -f "$data_dir/tls/server-cert.pem" ]; then
    as_my mkdir -p "$data_dir/tls"
    as_my openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=flowservice-test-ca" \
      -keyout "$data_dir/tls/ca-key.pem" -out "$data_dir/tls/ca.pem" >/dev/null 2>&1
    as_my openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$data_dir/tls/server-key.pem" -out "$data_dir/tls/server.csr" >/dev/null 2>&1
    as_my openssl x509 -req -in "$data_dir/tls/server.csr" -days 3650 -CA "$data_dir/tls/ca.pem" \
      -CAkey "$data_dir/tls/ca-key.pem" -CAcreateserial -out "$data_dir/tls/server-cert.pem" \
      >/dev/null 2>&1
  fi
  # --no-defaults: the packaged /etc/mysql config (its socket, log and data paths) stays unused
  as_my nohup mariadbd --no-defaults --datadir="$data_dir/db" --port="$port" \
    --bind-address=127.0.0.1 --socket="$socket" --pid-file="$data_dir/mariadb.pid" \
    --log-error="$data_dir/server.log" --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
    --innodb-buffer-pool-size=256M --innodb-doublewrite=0 --max-connections=300 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --ssl-ca="$data_dir/tls/ca.pem" --ssl-cert="$data_dir/tls/server-cert.pem" \
    --ssl-key="$data_dir/tls/server-key.pem" >/dev/null 2>&1 &
  for _ in $(seq 1 300); do
    alive && break
    sleep 0.1
  done
  alive || { echo "mariadbd did not start; see $data_dir/server.log" >&2; exit 1; }
fi
as_my mariadb --socket="$socket" -u mysql <<'SQL'
CREATE USER IF NOT EXISTS 'flowservice'@'%' IDENTIFIED BY 'flowservice';
CREATE USER IF NOT EXISTS 'flowservice'@'localhost' IDENTIFIED BY 'flowservice';
GRANT ALL PRIVILEGES ON *.* TO 'flowservice'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'flowservice'@'localhost' WITH GRANT OPTION;
SQL
echo "mysql://flowservice:flowservice@127.0.0.1:$port/"
