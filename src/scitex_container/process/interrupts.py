"""How SIGINT, SIGTERM and SIGHUP end a command: the tool's only signal handlers.

* :func:`install` (the CLI calls it once) makes SIGTERM and SIGHUP raise
  :class:`Interrupted`, a KeyboardInterrupt, so they take Ctrl-C's clean path:
  the runner forwards the signal to its child's process group, gives it a
  grace period, and the command exits ``128 + signum``.
* A repeat of the same signal within :data:`REPEAT_SECONDS` is the same
  request, not a second one: ``su``/``runuser`` forward a copy of the signal
  they get a moment later, and a second raise would cut the first one's
  cleanup (and the child's grace period) short.
* :func:`raising` does the same for a block only, one-shot (a start that must
  run its cleanup whichever signal ends it); :func:`ignored` shields a cleanup;
  :func:`deferred` holds a signal until a step that must not be cut in two
  (start a child, track it) is done;
  :func:`ctrl_c_ignored` leaves Ctrl-C to an interactive child (a shell).

All act in the main thread only (Python runs handlers there).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from scitex_container.errors import Interrupted

#: A second copy of the same signal within this many seconds is ignored.
REPEAT_SECONDS = 0.5

_ENDING = (signal.SIGTERM, signal.SIGHUP)
_last: dict[str, float] = {}  # signal name -> when it last raised
#: The clock the repeat window is measured on (a test may substitute a fake one).
clock = time.monotonic


def _repeat(signum: int) -> bool:
    """Is this the copy of a signal that raised a moment ago?  Records it if not."""
    name, now = signal.Signals(signum).name, clock()
    if now - _last.get(name, float("-inf")) < REPEAT_SECONDS:
        return True
    _last[name] = now
    return False


def _raise(signum: int, _frame: object) -> None:
    if not _repeat(signum):
        raise Interrupted(signum, signal.Signals(signum).name)


def install() -> None:
    """Make SIGTERM and SIGHUP take the same clean path as Ctrl-C (for the CLI).

    A signal ignored when we started (``nohup``) stays ignored.
    """
    for signum in _ENDING:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _raise)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _handled(sigs: tuple[int, ...], handler: Any) -> Iterator[None]:
    """``handler`` for ``sigs`` while the block runs, then the old ones (main thread only)."""
    if not _in_main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in sigs}
    for sig in sigs:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def raising() -> contextlib.AbstractContextManager[None]:
    """While the block runs, SIGTERM and SIGHUP raise :class:`Interrupted`, once.

    One-shot: after the first, further TERM/HUP are ignored until the block
    ends, so nothing cuts the block's own cleanup short (use :func:`ignored`
    around the cleanup to shield it from Ctrl-C as well).
    """

    def once(signum: int, frame: object) -> None:
        for sig in _ENDING:
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signum, signal.Signals(signum).name)

    return _handled(_ENDING, once)


def ignored(
    sigs: tuple[int, ...] = (signal.SIGINT, *_ENDING),
) -> contextlib.AbstractContextManager[None]:
    """Ignore INT, TERM and HUP while a cleanup runs (main thread only)."""
    return _handled(sigs, signal.SIG_IGN)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """INT, TERM and HUP that arrive while the block runs take effect when it ends.

    For a step that must not be cut in two: a child started but not yet
    tracked would outlive an interrupt landing between the two.  The first
    signal that came is raised again at the end (its usual handler then
    acts); one ignored stays ignored.  Main thread only, like every handler.
    """
    caught: list[int] = []
    held = tuple(
        sig
        for sig in (signal.SIGINT, *_ENDING)
        if signal.getsignal(sig) not in (signal.SIG_IGN, None)
    )
    try:
        with _handled(held, lambda signum, _frame: caught.append(signum)):
            yield
    finally:
        if caught:
            signal.raise_signal(caught[0])


def finished() -> None:
    """The command's work is done: INT, TERM and HUP are ignored until the process exits.

    Python's finalization resets the handlers it installed to the default
    action, so a signal during the exit itself killed a process whose work
    was complete (a build published, then "killed by SIGTERM").  SIG_IGN is
    left alone by finalization.  Main thread only, like every handler.
    """
    if _in_main_thread():
        for sig in (signal.SIGINT, *_ENDING):
            signal.signal(sig, signal.SIG_IGN)


def ctrl_c_ignored() -> contextlib.AbstractContextManager[None]:
    """Ignore SIGINT only: while an interactive child (a shell) has the terminal."""
    return ignored((signal.SIGINT,))


def on_ending(handler: Any) -> None:
    """Call ``handler(signum)`` on SIGINT, SIGTERM or SIGHUP (a server's way to end).

    For a process whose main thread sits in an event loop, where a raised
    interrupt would wait for worker threads: the handler ends the process
    itself.  A signal ignored when we started stays ignored.
    """
    for signum in (signal.SIGINT, *_ENDING):
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, lambda n, _f: handler(n))
