#!/usr/bin/env bash
# Installs everything the tests need, starts PostgreSQL, MariaDB and Redis, then runs lint, type check
# and the whole test suite (API tests on SQLite and PostgreSQL). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
export FLOWSERVICE_TEST_POSTGRES_URL=${FLOWSERVICE_TEST_POSTGRES_URL:-$(.ci/start-postgres.sh)}
export FLOWSERVICE_TEST_REDIS_URL=${FLOWSERVICE_TEST_REDIS_URL:-$(.ci/start-redis.sh)}
export FLOWSERVICE_TEST_MARIADB_URL=${FLOWSERVICE_TEST_MARIADB_URL:-$(.ci/start-mariadb.sh)}
echo "== ruff"
.venv/bin/ruff check flowservice mssql_emulator tests bench
.venv/bin/ruff format --check flowservice mssql_emulator tests bench
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
