#!/usr/bin/env bash
# First README command: set everything up and start the dashboard on the bundled sample project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PORT=${PORT:-8501}
echo "[run] CausalRec Studio on http://localhost:$PORT (workspace: ${CAUSALREC_HOME:-$HOME/.causalrec})"
exec .venv/bin/python -m streamlit run app.py --server.port "$PORT" --server.headless true \
  --browser.gatherUsageStats false "$@"
