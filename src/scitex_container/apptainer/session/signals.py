"""Signals during a session start: every signal that ends a start runs its cleanup.

``signals_interrupt`` turns SIGTERM and SIGHUP into KeyboardInterrupt (as
SIGINT is) while a start waits, so the cleanup (cancel the job, stop the
instance, drop the record) runs whichever signal ended it;
``signals_ignored`` keeps a second signal (``runuser`` forwards one) from
cutting that cleanup short.  Both act in the main thread only.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt (as SIGINT is) while the
    block runs, so every signal that ends a start runs its cleanup."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        # One-shot: `su`/`runuser` forward the same signal a moment later, and
        # a second raise while the first unwinds would skip the cleanup (the
        # job stayed queued); the cleanup then runs under signals_ignored.
        for sig in saved:
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    for sig in saved:
        signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore INT, TERM and HUP while a cleanup runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    saved = {sig: signal.getsignal(sig) for sig in sigs}
    for sig in sigs:
        signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
