#!/usr/bin/env bash
# Starts a throw-away redis-server for the test suite (a daemon, no persistence, loopback only)
# if none answers on the port, and prints its URL. Usage: .ci/start-redis.sh [PORT] [DIR]
set -euo pipefail
port=${1:-56379}
dir=${2:-/tmp/flowservice-redis}
if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" \
    --save "" --appendonly no --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
  for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null
fi
echo "redis://127.0.0.1:$port/0"
