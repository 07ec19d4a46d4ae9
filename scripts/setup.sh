#!/usr/bin/env bash
# Prepare a Python 3.12 virtual environment with the plugin and its test extras, installed
# against the versions one Saleor release pins: SALEOR_PINS (default 3.24) names
# ci-constraints/saleor-<SALEOR_PINS>.txt, VENV (default .venv) the environment's folder.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
pins=ci-constraints/saleor-${SALEOR_PINS:-3.24}.txt

find_python() {
  for candidate in "${PYTHON:-}" python3.12; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  for candidate in "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    if [ -x "$candidate" ]; then echo "$candidate"; return; fi
  done
  echo "Python 3.12 is required (set PYTHON=/path/to/python3.12)" >&2
  exit 1
}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
  rm -rf "$venv"
  "$(find_python)" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Installed against the versions Saleor pins, so the suite runs on what a Saleor store runs.
"$venv/bin/python" -m pip install --quiet -c "$pins" -e '.[test]'

# Headless Chromium for the browser tests (Debian's package; no browser download).
if [ "${SKIP_BROWSER_INSTALL:-}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }) || true
  fi
fi
