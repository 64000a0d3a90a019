"""Shared pieces of the session tests that drive the real SLURM cluster."""

from __future__ import annotations

import time
from collections.abc import Callable

#: ``session start`` on SLURM with the smallest resources the test cluster grants.
START = ("session", "start", "--slurm", "--cpus", "1", "--mem-gb", "1", "--timeout", "120")


def wait_until(predicate: Callable[[], object], timeout: float = 60.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return bool(predicate())
