#!/usr/bin/env bash
# Install everything and run the whole suite on the local PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy saleor_sms_plugin
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
# pytest exits 5 when it collects nothing: report it as a failure to find tests, loudly.
if [ "$status" = 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
