"""The CLI as a user runs it: ``python -m scitex_container ARGS`` in a child process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def cli(
    *args: object,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run the CLI with ``args`` (each made a string); output captured as text.

    ``env`` replaces the environment (None: this process's); ``cwd`` is where it runs.
    """
    return subprocess.run(
        [sys.executable, "-m", "scitex_container", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=None if env is None else dict(env),
        check=False,
    )


def one_line(out: subprocess.CompletedProcess) -> str:
    """The CLI's error: exactly one line on stderr, no errno or traceback in it; returned."""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Errno" not in lines[0] and "Traceback" not in lines[0], lines[0]
    return lines[0]
