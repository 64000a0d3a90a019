"""Shared pieces of the session tests that drive the real SLURM cluster."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

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


@contextlib.contextmanager
def batch_script_frozen(job_id: str) -> Iterator[None]:
    """Stop (SIGSTOP) the batch script of ``job_id`` while the block runs, then let it go on.

    The script polls its instance every few seconds and ends the job when it is gone;
    frozen, it cannot, so a test sees a job that runs without its instance.  The script
    is found by its exact path in the node's spool (``job<id>/slurm_script``); the test
    bed's nodes share this machine's process ids.
    """
    needle = f"/job{int(job_id):05d}/slurm_script"
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if entry.isdigit() and any(arg.endswith(needle.encode()) for arg in cmdline):
            pids.append(int(entry))
    assert pids, f"no batch script of job {job_id} found"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
