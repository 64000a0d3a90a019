#!/usr/bin/env bash
# Install scitex-container once for every user of this machine (run as root).
#
#   scripts/install-site.sh [PREFIX [BINDIR]]
#
# Builds a wheel of this checkout and installs it into a virtualenv made
# with the system Python (/usr/bin/python3) at PREFIX (default
# /opt/scitex-container), owned by root and readable by everyone, then links
# BINDIR/scitex-container (default /usr/local/bin) to it.  Idempotent: a
# re-run replaces the package with this checkout's and keeps the venv.
# Nothing under the checkout (its .venv, caches) goes into the wheel.
set -euo pipefail

PREFIX=${1:-/opt/scitex-container}
BINDIR=${2:-/usr/local/bin}
PYTHON=/usr/bin/python3
REPO=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "error: run as root: it installs into $PREFIX and links $BINDIR/scitex-container" >&2
    exit 2
fi
if [ ! -x "$PYTHON" ] || ! "$PYTHON" -m venv --help >/dev/null 2>&1; then
    echo "error: $PYTHON with the venv module is required (apt-get install python3-venv)" >&2
    exit 3
fi
case "$PREFIX" in /*) ;; *) echo "error: PREFIX must be absolute: $PREFIX" >&2; exit 2 ;; esac
case "$BINDIR" in /*) ;; *) echo "error: BINDIR must be absolute: $BINDIR" >&2; exit 2 ;; esac

umask 022
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
mkdir -p -- "$work/pkg"
cp -- "$REPO/pyproject.toml" "$REPO/README.md" "$work/pkg/"
cp -R -- "$REPO/src" "$work/pkg/src"
find "$work/pkg" -name __pycache__ -prune -exec rm -rf -- {} +

if [ ! -x "$PREFIX/bin/python" ]; then
    "$PYTHON" -m venv -- "$PREFIX"
fi
pip=("$PREFIX/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" wheel --no-deps -w "$work/wheel" "$work/pkg"
wheel=$(ls "$work"/wheel/scitex_container-*.whl)
"${pip[@]}" install "$wheel"                                  # dependencies, first time
"${pip[@]}" install --no-deps --force-reinstall "$wheel"      # this checkout's code, always

chown -R root:root -- "$PREFIX"
chmod -R go-w,a+rX -- "$PREFIX"
mkdir -p -- "$BINDIR"
ln -sfn -- "$PREFIX/bin/scitex-container" "$BINDIR/scitex-container"
echo "installed $("$BINDIR/scitex-container" --version) in $PREFIX; $BINDIR/scitex-container -> $PREFIX/bin/scitex-container"
