#!/usr/bin/env bash
# The test suite on a fresh machine: install with test extras, the browser for the end-to-end
# test (Debian chromium + CJK fonts; never `playwright install`), then pytest.
#   bash scripts/test.sh [pytest args]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_install.sh" "test,fast,onnx,api,ray"
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
export KB_BROWSER_REQUIRED=1
export KB_CONVERTERS_REQUIRED=1  # the .doc/.wps tests fail, not skip, without LibreOffice
exec .venv/bin/python -m pytest "$@"
