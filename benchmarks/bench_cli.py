"""`scitex-container --help` against `python -c pass` (target: at most 3x)."""

from __future__ import annotations

import sys
from pathlib import Path

from harness import compare


def cases(runs: int = 10):
    yield compare(
        "cli --help vs python -c pass",
        [str(Path(sys.executable).with_name("scitex-container")), "--help"],
        [sys.executable, "-c", "pass"],
        runs=runs,
        max_ratio=3.0,
        target="<= 3x",
    )
