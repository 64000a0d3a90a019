"""The process groups the runner starts: spawn, forward an interrupt, stop.

Only :mod:`scitex_container.process.runner` uses this module.  Every child gets its
own process group (a session), so an interrupt is *forwarded* to it, the
tool gets :data:`GRACE_SECONDS` to clean up, and then the group is killed.
Children started by worker threads are tracked too: an interrupt reaches
only the main thread, so :func:`stop_children` ends the rest.  At exit it
ends any child still not reaped (a query started and never collected), so
none outlives the interpreter, whatever ended it; a forked copy of this
process forgets its parent's children.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time

from scitex_container.errors import ToolMissingError
from scitex_container.process import interrupts

#: How long an interrupted child gets to clean up before its group is killed.
GRACE_SECONDS = 4.0


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.kill()


def _signal_of(exc: BaseException) -> int | None:
    """The signal an interrupt stands for (runner.Interrupted carries its own)."""
    if not isinstance(exc, KeyboardInterrupt):
        return None
    return int(getattr(exc, "signum", signal.SIGINT))


def stop_group(proc: subprocess.Popen, exc: BaseException, own_group: bool = True) -> None:
    """Forward the interrupt to the child's group, give it a grace period, then kill it.

    Any other exception kills at once.  A second interrupt during the grace
    period kills at once too.  Always waits for the child.
    """
    signum = _signal_of(exc)
    if signum is not None and own_group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.wait(timeout=GRACE_SECONDS)
    if own_group:
        kill_group(proc)  # also reaps what the child left in its group
    elif proc.poll() is None:
        with contextlib.suppress(Exception):
            proc.kill()
    while True:
        try:
            proc.wait()
            return
        except KeyboardInterrupt:
            continue


#: Children started in their own process group and not yet reaped, from any
#: thread: an interrupt reaches only the main thread's child directly, so
#: :func:`stop_children` ends the ones worker threads started.
_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


def spawn(argv: tuple[str, ...], new_session: bool = True, **kwargs) -> subprocess.Popen:
    """Start ``argv``; in its own session (tracked until :func:`reaped`) unless told not to.

    An interrupt during the start takes effect once the child is tracked, so
    :func:`stop_children` (or the exit) can always reach it.
    """
    with interrupts.deferred():
        try:
            proc = subprocess.Popen(argv, start_new_session=new_session, **kwargs)
        except FileNotFoundError as exc:
            if exc.filename in (argv[0], None):
                raise ToolMissingError(argv[0]) from exc
            raise
        if new_session:
            with _live_lock:
                _live.add(proc)
    return proc


def which(name: str) -> str | None:
    """``shutil.which`` in one place, so tool lookup is uniform."""
    import shutil

    return shutil.which(name)


def reaped(proc: subprocess.Popen) -> None:
    with _live_lock:
        _live.discard(proc)


def stop_children(signum: int = signal.SIGTERM) -> int:
    """Forward ``signum`` to every live child's group, then kill what is left.

    The CLI calls this on its way out after an interrupt, so a child started
    by a worker thread (which the interrupt never reaches) does not outlive
    it.  Returns how many children were still running.
    """
    with _live_lock:
        procs = [p for p in _live if p.poll() is None]
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)
    deadline = time.monotonic() + GRACE_SECONDS
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
        reaped(proc)
    return len(procs)


def _forget_inherited() -> None:
    """In a forked child: its parent's children are not its own to stop."""
    global _live_lock
    _live_lock = threading.Lock()  # the parent's may have been held at the fork
    _live.clear()


os.register_at_fork(after_in_child=_forget_inherited)
atexit.register(stop_children)
