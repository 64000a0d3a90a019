"""The CLI as a user runs it: ``python -m scitex_container ARGS`` in a child process."""

from __future__ import annotations

import subprocess
import sys


def cli(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI with ``args`` (each made a string); output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "scitex_container", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
