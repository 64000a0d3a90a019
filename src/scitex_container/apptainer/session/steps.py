"""A command run in a session (``session exec``): its status, or ours, never confused.

The command's own exit status passes through.  What failed on our side is
told apart by what the tools said on stderr, and raised with an exit code
of its own (:mod:`scitex_container.errors`: 125 srun/node/instance, 126 not
runnable, 127 not found in the container):

* ``apptainer exec`` exits 255 for its own failures, with a ``FATAL:`` line
  (``"x": executable file not found in $PATH``, ``stat /x: no such file or
  directory``, ``permission denied``,
  ``no instance found with name ...``); a command that itself exits 255
  prints no such line;
* srun's own failures (no such job, a node it cannot reach, a step it
  cannot launch) are ``srun: error:`` / ``srun: fatal:`` lines other than
  its report of the task's exit status, and ``slurmstepd: error:`` lines.

srun's report of a command's non-zero exit (``srun: error: NODE: task 0:
Exited with exit code 3``) is noise to the user, who gets the code itself:
it is not shown (:func:`is_noise`); every other line is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from scitex_container.errors import (
    CommandNotFoundInSession,
    CommandNotRunnableInSession,
    SessionStepError,
)

log = logging.getLogger(__name__)

#: srun's words for a task that ended with a status of its own (the status is passed on).
_NOISE = (
    re.compile(
        r"srun: error: \S+: tasks? [0-9,\-]+: "
        r"(Exited with exit code \d+|Killed|Terminated|Aborted|Segmentation fault"
        r"|Interrupt|Hangup|Broken pipe|User defined signal \d)( \(core dumped\))?"
    ),
    re.compile(r"srun: Force Terminated (job )?StepId=\S+"),
)
_NOT_FOUND = re.compile(
    r'FATAL:\s+(?:"(.*)": executable file not found in \$PATH'
    r"|stat (/.*): no such file or directory)"
)
_DENIED = re.compile(r"FATAL:\s+.*(permission denied|is a directory|exec format error).*")
_FATAL = re.compile(r"FATAL:\s+(.*)")
_OURS = re.compile(r"(srun: (?:error|fatal): .*|slurmstepd\S*: error: .*)")


def is_noise(line: str) -> bool:
    """True for srun's own report of a command's exit status or signal."""
    text = line.rstrip("\n")
    return any(p.fullmatch(text) for p in _NOISE)


def shown(line: str) -> bool:
    """Whether a step's stderr line reaches the user (``relay``'s ``keep``).

    srun's report of the exit status is noise; apptainer's own ``FATAL:``
    line is said by our one-line message instead (it goes to the ``-v`` log).
    """
    if _FATAL.fullmatch(line.strip()):
        log.debug("apptainer: %s", line.rstrip("\n"))
        return False
    return not is_noise(line)


def check_step(session_id: str, argv: Sequence[str], returncode: int, stderr: str) -> None:
    """Raise when the step failed on our side; return when the status is the command's."""
    if returncode == 0:
        return
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    where = f"session {session_id}"
    if returncode == 255:
        for line in lines:
            if found := _NOT_FOUND.fullmatch(line):
                name = found.group(1) or found.group(2)
                raise CommandNotFoundInSession(
                    f"{where}: command {name!r} not found in the container"
                )
            if _DENIED.fullmatch(line):
                why = _DENIED.fullmatch(line).group(1)  # type: ignore[union-attr]
                raise CommandNotRunnableInSession(
                    f"{where}: command {argv[0]!r} cannot be run in the container ({why})"
                )
        for line in lines:
            if found := _FATAL.fullmatch(line):
                raise SessionStepError(f"{where}: apptainer failed: {found.group(1)}")
    ours = [ln for ln in lines if _OURS.fullmatch(ln) and not is_noise(ln)]
    if ours:
        raise SessionStepError(f"{where}: the job step failed: {ours[-1]}")
