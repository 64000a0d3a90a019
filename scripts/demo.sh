#!/usr/bin/env bash
# The main job on the bundled example: the reproducible round trip with real
# Apptainer.  Build examples/demo/demo.def (the rough recipe), capture the
# exact installed versions into a lock, generate the locked def (the recipe
# plus pins), rebuild from it, capture again and compare.  Prints where the
# image, lock, locked def and verdict are and how long each step took; exits
# 0 when the rebuild reproduced the lock, 1 on drift.
set -euo pipefail
source "$(dirname "$0")/bootstrap-env.sh"
cd "$REPO"
out="${1:-$REPO/examples/demo/build}"
exec "$VENV/bin/scitex-container" repro examples/demo/demo.def --output-dir "$out"
