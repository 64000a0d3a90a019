#!/usr/bin/env bash
# The whole test suite, with all its own set-up.  Extra arguments go to pytest
# (e.g. `scripts/test.sh -m "not slow"` or `scripts/test.sh tests/apptainer`).
set -euo pipefail
source "$(dirname "$0")/bootstrap-env.sh"
cd "$REPO"
export PYTHONDONTWRITEBYTECODE=1
# Gates first: lint, formatting and types are cheap and fail fast.
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy" src
exec "$VENV/bin/python" -m pytest "$@"
