#!/usr/bin/env bash
# Install everything and run the whole suite on the local PostgreSQL and Redis, against the
# versions the newest and the oldest supported Saleor releases pin (ci-constraints/).
# Arguments go to pytest. SALEOR_VERSIONS chooses the releases (default: "3.24 3.22").
set -euo pipefail
cd "$(dirname "$0")/.."

run_suite() {  # run_suite <venv> [pytest args]
  local venv=$1; shift
  set +e
  "$venv/bin/python" -m pytest "$@"
  local status=$?
  set -e
  # pytest exits 5 when it collects nothing: a failure to find tests, said loudly.
  if [ "$status" = 5 ]; then
    echo "pytest collected no tests" >&2
    return 1
  fi
  return "$status"
}

status=0
first=1
for version in ${SALEOR_VERSIONS:-3.24 3.22}; do
  venv=.venv
  [ "$first" = 1 ] || venv=.venv-saleor-$version
  echo "== Saleor $version's pins ($venv)"
  SALEOR_PINS=$version VENV=$venv bash scripts/setup.sh
  if [ "$first" = 1 ]; then
    "$venv/bin/ruff" check .
    "$venv/bin/mypy" saleor_sms_plugin
  fi
  run_suite "$venv" "$@" || status=1
  first=0
done
exit "$status"
