"""Reading a child's pipes in short slices, for :mod:`.runner`.

No call here blocks for longer than :data:`SLICE`: a signal that lands just
before a blocking system call (after Python last checked for one) runs its
handler only when the call returns, so an interrupt is never held up for
long.  A deadline turns into ``subprocess.TimeoutExpired``.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import selectors
import subprocess
import time
from collections.abc import Iterator

#: The longest the runner blocks in one system call.  A signal that lands
#: just before a blocking call (after Python last checked for one) runs its
#: handler only when the call returns, so no call may block for long.
SLICE = 0.25


def remaining(deadline: float | None) -> float:
    if deadline is None:
        return SLICE
    left = deadline - time.monotonic()
    if left <= 0:
        raise subprocess.TimeoutExpired("", 0)
    return min(SLICE, left)


def communicate(
    proc: subprocess.Popen, input: str | None, deadline: float | None
) -> tuple[str | None, str | None]:
    """``proc.communicate`` in short slices (see :data:`SLICE`) until ``deadline``."""
    first = True
    while True:
        piece = remaining(deadline)  # raises at the deadline
        try:
            return proc.communicate(input=input if first else None, timeout=piece)
        except subprocess.TimeoutExpired:
            first = False


#: How long the pipes of a killed child may stay open before we stop reading them.
DRAIN_SECONDS = 2.0


def drain_killed(proc: subprocess.Popen) -> tuple[str, str]:
    """What a child killed at its timeout still had in its pipes, waiting boundedly.

    A grandchild that left the child's process group (``setsid``) may hold
    the pipes open for ever: after :data:`DRAIN_SECONDS` we close our ends
    (its output is lost, not waited for) and wait, boundedly too, for the
    killed child itself.
    """
    try:
        out, err = communicate(proc, None, time.monotonic() + DRAIN_SECONDS)
        return out or "", err or ""
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            wait(proc, time.monotonic() + DRAIN_SECONDS)
        return "", ""


def wait(proc: subprocess.Popen, deadline: float | None) -> int:
    """``proc.wait`` in short slices until ``deadline``."""
    while True:
        piece = remaining(deadline)  # raises at the deadline
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=piece)


#: A child's line longer than this is passed on in pieces (memory stays bounded).
MAX_LINE = 1 << 20


def lines(fd: int, deadline: float | None) -> Iterator[str]:
    """The lines a child writes to ``fd`` (the last may lack its newline), never
    blocking longer than a slice, and raising TimeoutExpired at ``deadline``."""
    # as text=True reads: UTF-8 with replacement, and \r\n or \r end a line too
    decoder = io.IncrementalNewlineDecoder(
        codecs.getincrementaldecoder("utf-8")(errors="replace"), translate=True
    )
    partial: list[str] = []  # of the line not yet ended: joined once, when it ends
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            if not selector.select(remaining(deadline)):
                continue
            chunk = os.read(fd, 65536)
            text = decoder.decode(chunk, final=not chunk)
            if "\n" in text:
                first, *middle, last = text.split("\n")
                yield "".join(partial) + first + "\n"
                yield from (line + "\n" for line in middle)
                partial, size = [last], len(last)
            else:
                partial.append(text)
                size += len(text)
            if size > MAX_LINE or (not chunk and size):  # a line never ended: pass it on
                yield "".join(partial)
                partial, size = [], 0
            if not chunk:
                return
