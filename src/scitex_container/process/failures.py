"""Classify a failed command from its own output, as python-on-whales does.

:func:`process_error` reads the last lines of what apptainer, sbatch, a
compose engine, apt or pip printed, picks the most specific
:class:`~scitex_container.errors.ProcessError` subclass, and makes the
one-line message quote the line that says why (apt's
``E: Version '99.9-1' for 'python3-pip' was not found`` rather than
apptainer's closing ``FATAL: ... exit status 100``).  Lines are read from
the end: the reason a command stopped is printed last, and an older,
harmless warning in a long build log must not win.  Only stderr is read
(``stream`` merges a build's output into it); stdout is data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scitex_container.errors import (
    ImageNotFoundError,
    NoSpaceError,
    PermissionDeniedError,
    ProcessError,
    VersionNotFoundError,
)

#: How many of the last output lines are searched for a reason.
SCAN_LINES = 40

#: (subclass, pattern), most specific first; the first pattern a line
#: matches decides.
PATTERNS: tuple[tuple[type[ProcessError], re.Pattern[str]], ...] = (
    (NoSpaceError, re.compile(r"no space left on device|disk quota exceeded", re.I)),
    (
        VersionNotFoundError,
        re.compile(
            r"E: Version '[^']*' for '[^']*' was not found"
            r"|E: Unable to locate package"
            r"|E: Package '[^']*' has no installation candidate"
            r"|No matching distribution found for"
            r"|Could not find a version that satisfies the requirement",
            re.I,
        ),
    ),
    (
        ImageNotFoundError,
        re.compile(
            r"could not open image .*(no such file|not a directory)"
            r"|failed to retrieve path for .*no such file"
            r"|no such image|image not known|manifest unknown"
            r"|unable to find image|pull access denied|repository does not exist"
            r"|no instance found",
            re.I,
        ),
    ),
    (
        PermissionDeniedError,
        re.compile(r"permission denied|operation not permitted|read-only file system", re.I),
    ),
)


def classify(output: str) -> tuple[type[ProcessError], str | None]:
    """(subclass, reason line) for ``output``; ``(ProcessError, None)`` if nothing matches."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines[-SCAN_LINES:]):
        for cls, pattern in PATTERNS:
            if pattern.search(line):
                return cls, line
    return ProcessError, None


def process_error(
    argv: Sequence[str],
    returncode: int | None,
    stdout: str = "",
    stderr: str = "",
    *,
    timed_out: bool = False,
    log_path: str | None = None,
) -> ProcessError:
    """The :class:`ProcessError` (or a more specific subclass) for a failed command."""
    if timed_out:
        return ProcessError(argv, returncode, stdout, stderr, timed_out=True, log_path=log_path)
    cls, reason = classify(stderr)
    return cls(argv, returncode, stdout, stderr, log_path=log_path, reason=reason)
