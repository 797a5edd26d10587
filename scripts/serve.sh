#!/usr/bin/env bash
# Installs flowservice (with the emulator the demo uses) and starts it on its embedded defaults (SQLite metadata, local lake
# under FLOWSERVICE_HOME, default ./.flowservice). Extra arguments go to `flowservice serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh runtime
export FLOWSERVICE_HOME=${FLOWSERVICE_HOME:-$PWD/.flowservice}
exec .venv/bin/flowservice serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8080}" "$@"
