"""Children that tests signal must start with default signal dispositions.

A suite started as ``nohup pytest &`` (or under ``trap '' INT HUP``) runs
with SIGINT and SIGHUP ignored, and children inherit that: a shell cannot
even trap a signal that was ignored when it started.  Pass
``preexec_fn=default_signals`` to every Popen a test later signals.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESET = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE)


def default_signals() -> None:
    """In the child, before exec: default dispositions and an empty signal mask."""
    for sig in RESET:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def start_driver(code: str, *args: object, **popen: Any) -> subprocess.Popen:
    """A Python child running ``code`` with ``args``, ready to be signalled."""
    argv = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.Popen(argv, preexec_fn=default_signals, **popen)


def wait_for(path: Path, what: str = "the child never started", seconds: float = 30) -> None:
    """Wait until ``path`` exists (a child's readiness mark)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def exit_code(proc: subprocess.Popen, seconds: float = 20) -> int:
    """The child's exit code; a child still running after ``seconds`` fails the test."""
    try:
        return proc.wait(timeout=seconds)
    finally:
        proc.kill()
        proc.wait()
