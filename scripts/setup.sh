#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment. Idempotent: a second run with unchanged
# requirements does nothing. Usage: scripts/setup.sh [--dev]
#   --dev  also installs the test requirements and Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
dev=0
[ "${1:-}" = "--dev" ] && dev=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
reqs=(-r requirements.txt)
[ $dev = 1 ] && reqs+=(-r requirements-dev.txt)
stamp="$VENV/.causalrec-setup-$dev"
want=$(cat requirements.txt pyproject.toml $([ $dev = 1 ] && echo requirements-dev.txt) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing Python packages (torch is pinned in requirements.txt)"
  # One pip command for everything, so the torch pin constrains every other package.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
else
  echo "[setup] Python packages up to date"
fi

if [ $dev = 1 ] && [ ! -x /usr/bin/chromium ]; then
  echo "[setup] installing Debian's chromium for the browser tests"
  SUDO=""
  [ "$(id -u)" != 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
