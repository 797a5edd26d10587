#!/usr/bin/env bash
# Installs what flowservice needs on a fresh Debian machine and prepares .venv.
# Usage: scripts/bootstrap.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-runtime}

# System libraries: mssql-python's bundled ODBC driver needs libltdl; the tests also use
# FreeTDS ODBC (pyodbc) and its tsql client, PostgreSQL and MariaDB servers (metadata DB and
# sources) and Redis (the Celery executor's broker).
packages=(libltdl7)
if [ "$profile" = test ]; then
  # chromium: the console's browser tests (Playwright drives Debian's build, no download)
  packages+=(unixodbc tdsodbc freetds-bin postgresql mariadb-server redis-server chromium)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# the runtime includes the emulator extra so `flowservice demo` works right after serve.sh
target=".[emulator]"
[ "$profile" = test ] && target=".[test]"
# pip's index warnings are noise here; show its output only when it fails
if ! .venv/bin/python -m pip install -q -e "$target" >.venv/pip-install.log 2>&1; then
  cat .venv/pip-install.log >&2
  exit 1
fi
