#!/usr/bin/env bash
# The main job on the bundled example: build examples/demo/demo.def with real
# Apptainer and say where the image is and how long it took.
set -euo pipefail
source "$(dirname "$0")/bootstrap-env.sh"
cd "$REPO"
out="${1:-$REPO/examples/demo/build}"
exec "$VENV/bin/scitex-container" build examples/demo/demo.def --output-dir "$out"
