#!/usr/bin/env bash
# The whole test suite, with all its own set-up.  Extra arguments go to pytest
# (e.g. `scripts/test.sh -m "not slow"` or `scripts/test.sh tests/apptainer`).
set -euo pipefail
source "$(dirname "$0")/bootstrap-env.sh"
cd "$REPO"
export PYTHONDONTWRITEBYTECODE=1
exec "$VENV/bin/python" -m pytest "$@"
