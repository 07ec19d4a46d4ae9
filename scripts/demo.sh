#!/usr/bin/env bash
# Install, then run sample orders through the whole pipeline and print the texts sent.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_BROWSER_INSTALL=1 bash scripts/setup.sh
exec .venv/bin/python -m saleor_sms_plugin demo "$@"
