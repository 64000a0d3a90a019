"""What podman-compose 1.0.x prints, and the exit code it should have returned.

podman-compose 1.0.x runs one ``podman`` command per step, echoes it, and
prints ``exit code: N`` after it -- but itself exits 0 even when a step
failed (a ``RUN false`` in a Dockerfile, a container that cannot start).
:func:`effective_returncode` reads the echoed steps back and returns the
first real failure, so our callers get honest exit codes.  Steps that fail
harmlessly are not failures:

* ``stop``/``rm`` of a container that is already gone (``down`` twice);
* a ``run -d`` that fails because the container exists, when the ``start``
  podman-compose tries next succeeds.

Run it with ``PYTHONUNBUFFERED=1`` so its echoes and podman's own output
arrive in order.  Newer podman-compose releases that exit non-zero by
themselves, or print no ``exit code:`` lines, are judged by their own code.

:class:`LogFilter` removes podman-compose's chatter around ``logs`` output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_EXIT_RE = re.compile(r"^exit code: (-?\d+)\s*$")
_ECHO_RE = re.compile(r"^(?:\S*/)?podman\s+(\S+)(.*)$")
_GONE = ("no such container", "no such pod", "no such network", "no such volume")
_REMOVALS = ("stop", "rm", "kill", "pod", "network", "volume")


@dataclass(frozen=True)
class Step:
    """One ``podman`` command podman-compose ran: its echo, exit code and output."""

    command: str
    verb: str
    code: int
    output: tuple[str, ...]

    @property
    def gone(self) -> bool:
        text = "\n".join(self.output).lower()
        return any(g in text for g in _GONE)


def steps(lines: Iterable[str]) -> list[Step]:
    """The echoed ``podman ...`` commands paired with the ``exit code:`` after them."""
    found: list[Step] = []
    echo: tuple[str, str] | None = None
    body: list[str] = []
    for line in lines:
        exit_match = _EXIT_RE.match(line)
        if exit_match and echo is not None:
            found.append(Step(echo[0], echo[1], int(exit_match.group(1)), tuple(body)))
            echo, body = None, []
            continue
        echo_match = _ECHO_RE.match(line)
        if echo_match:
            echo, body = (line, echo_match.group(1)), []
            continue
        if echo is not None:
            body.append(line)
    return found


def failed_step(found: list[Step]) -> Step | None:
    """The first step whose failure matters (see the module doc)."""
    for index, step in enumerate(found):
        if step.code == 0:
            continue
        if step.verb in _REMOVALS and step.gone:
            continue
        if step.verb == "run":
            after = found[index + 1] if index + 1 < len(found) else None
            if after is not None and after.verb == "start" and after.code == 0:
                continue
        return step
    return None


def effective_returncode(lines: Iterable[str], returncode: int) -> int:
    """podman-compose's own code if non-zero, else the first failing step's code."""
    if returncode != 0:
        return returncode
    step = failed_step(steps(lines))
    return step.code if step is not None else 0


class LogFilter:
    """Pass through only what ``podman logs`` printed inside ``podman-compose logs``.

    Drops everything before the echoed ``podman logs ...`` line (version
    banner, the echo itself) and the final ``exit code: N``.  Feed lines with
    :meth:`feed`; each call returns the lines that are ready to show.
    """

    def __init__(self) -> None:
        self._started = False
        self._held: str | None = None
        self.dropped: list[str] = []

    def feed(self, line: str) -> list[str]:
        if not self._started:
            self.dropped.append(line)
            match = _ECHO_RE.match(line)
            if match and match.group(1) == "logs":
                self._started = True
            return []
        ready = [self._held] if self._held is not None else []
        self._held = None
        if _EXIT_RE.match(line):
            self._held = line
        else:
            ready.append(line)
        return ready

    def close(self) -> list[str]:
        """End of output: a held ``exit code:`` line was podman-compose's, drop it."""
        if self._held is not None:
            self.dropped.append(self._held)
        self._held = None
        return []
