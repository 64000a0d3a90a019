"""Children that tests signal must start with default signal dispositions.

A suite started as ``nohup pytest &`` (or under ``trap '' INT HUP``) runs
with SIGINT and SIGHUP ignored, and children inherit that: a shell cannot
even trap a signal that was ignored when it started.  Pass
``preexec_fn=default_signals`` to every Popen a test later signals.
"""

from __future__ import annotations

import signal

RESET = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE)


def default_signals() -> None:
    """In the child, before exec: default dispositions and an empty signal mask."""
    for sig in RESET:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
