#!/usr/bin/env bash
# Shared set-up for scripts/test.sh and scripts/demo.sh: host tools (as root,
# through scripts/setup-host.sh, which is idempotent) and the project's
# virtualenv in .venv/ with the package installed editable.
# Source it; it sets VENV and REPO.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCITEX_VENV:-$REPO/.venv}"

if [ "$(id -u)" -eq 0 ]; then
    "$REPO/scripts/setup-host.sh"
else
    "$REPO/scripts/setup-host.sh" --check || {
        echo "bootstrap: host tools are missing; run 'scripts/setup-host.sh' as root once" >&2
        exit 3
    }
fi

stamp="$VENV/.scitex-installed"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# Reinstall only when the package metadata changed since the last install.
want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$REPO[test]"
    echo "$want" > "$stamp"
fi
