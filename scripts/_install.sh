# Shared by run.sh and test.sh: create .venv in the repo root and install kb into it.
# torch is pinned first: a bare `torch` requirement (from sentence-transformers) would pull
# several GB of CUDA packages; with 2.13.0 (a CPU wheel here) installed, nothing more is fetched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
STAMP=".venv/.kb-installed-$(cat pyproject.toml | sha1sum | cut -c1-12)${EXTRAS:+-$EXTRAS}"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
  touch "$STAMP"
fi
# Programs kb runs beside Python: LibreOffice (headless) reads legacy Word .doc and WPS .wps files.
if ! command -v soffice >/dev/null 2>&1 && ! command -v libreoffice >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libreoffice-writer-nogui >/dev/null
fi
