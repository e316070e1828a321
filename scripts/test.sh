#!/usr/bin/env bash
# Second README command: set everything up (test tools and chromium included) and run every test,
# the browser tests included. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export CAUSALREC_CHROMIUM=${CAUSALREC_CHROMIUM:-/usr/bin/chromium}
exec .venv/bin/python -m pytest tests "$@"
