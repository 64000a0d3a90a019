#!/usr/bin/env bash
# The main job on the bundled example: the reproducible round trip with real
# Apptainer, from an artifact archive.  Build examples/demo/demo.def (the
# rough recipe: debootstrap bookworm + pip + two local wheels), capture the
# exact installed versions into a lock, keep every .deb and wheel the lock
# names in OUT/archive (content-addressed, checked against the published
# checksums), generate the locked def that installs only from that archive
# (debootstrap from its local mirror, apt, pip --require-hashes), rebuild from
# it with the network cut off, capture again and compare.  Prints where the
# image, lock, locked def and verdict are and how long each step took; exits
# 0 when the offline rebuild reproduced the lock, 1 on drift.  Re-running
# reuses the images and the archive when nothing changed.
set -euo pipefail
source "$(dirname "$0")/bootstrap-env.sh"
cd "$REPO"
out="${1:-$REPO/examples/demo/build}"
exec "$VENV/bin/scitex-container" repro examples/demo/demo.def --output-dir "$out" \
    --archive "$out/archive"
