#!/usr/bin/env bash
# The main job on a fresh machine: install, build the demo index from data/samples, start the UI.
#   bash scripts/run.sh            → http://localhost:8501
# Set KB_INDEX to use another index directory; PORT to use another port.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_install.sh" fast,onnx
INDEX="${KB_INDEX:-index}"
.venv/bin/kb ingest data/samples --index "$INDEX"
.venv/bin/kb docs --index "$INDEX"
export KB_INDEX="$INDEX"
exec .venv/bin/streamlit run ui/app.py --server.port "${PORT:-8501}" --server.headless true \
  --browser.gatherUsageStats false
