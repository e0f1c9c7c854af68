#!/usr/bin/env bash
# The test suite on a fresh machine: install with test extras, the browser for the end-to-end
# tests (Debian chromium + CJK fonts; never `playwright install`), then pytest.
#   bash scripts/test.sh [pytest args]          every tier (what .ci/run calls); the 25 slowest tests printed
#   bash scripts/test.sh --fast [pytest args]   the fast tier: -m "not slow" (no browser, no real index; < 2 min)
# The tiers and their markers: docs/testing.md.
set -euo pipefail
FAST=0
if [ "${1:-}" = "--fast" ]; then
  FAST=1
  shift
fi
source "$(dirname "${BASH_SOURCE[0]}")/_install.sh" "test,fast,onnx,api,ray"
export KB_CONVERTERS_REQUIRED=1  # the .doc/.wps tests fail, not skip, without LibreOffice
if [ "$FAST" = 1 ]; then
  exec .venv/bin/python -m pytest -m "not slow" --durations=10 "$@"
fi
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
export KB_BROWSER_REQUIRED=1
exec .venv/bin/python -m pytest --durations=25 "$@"
