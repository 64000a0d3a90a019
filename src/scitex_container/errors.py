"""The package's exception types and the exit code each one maps to.

Library code raises these; only ``scitex_container.cli`` turns them into a
message and an exit code.  Every message is one line that names the thing
that is wrong (a file and line, a field, a tool) and, where it helps, says
what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence

# Exit codes, shared by the CLI and documented in the README.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # a check found drift or a failure (verify, lock diff, repro)
EXIT_BAD_INPUT = 2  # bad input or usage
EXIT_TOOL_MISSING = 3  # a required external tool is missing
EXIT_UNVERIFIED = 4  # verify: nothing failed, but the image's bytes could not be checked
# `session exec`: a command's own exit status passes through, so our failures use
# the codes `env`, `timeout` and `chroot` use for theirs (POSIX shells: 126, 127).
EXIT_STEP_FAILED = 125  # the command could not be run: srun, the node or the instance failed
EXIT_CANNOT_EXECUTE = 126  # the command exists in the container but cannot be run
EXIT_COMMAND_NOT_FOUND = 127  # the command does not exist in the container


class ScitexError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code: int = EXIT_CHECK_FAILED


class BadInputError(ScitexError, ValueError):
    """The caller gave input we refuse: a bad file, field, name or value.

    ``where`` is the location in the form ``file:line`` or a field name.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        self.detail = message
        super().__init__(f"{where}: {message}" if where else message)


class DefFileError(BadInputError):
    """An Apptainer definition file is malformed (``file:line: message``)."""

    def __init__(self, message: str, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(message, where)


class MetadataError(BadInputError):
    """A version's metadata file exists but cannot be read as metadata.

    The file is left exactly as it is (it is evidence); ``path`` names it.
    """

    def __init__(self, message: str, path: str) -> None:
        self.path = path
        super().__init__(message, path)


class NotFoundError(BadInputError, FileNotFoundError):
    """A file, version or object the caller named does not exist."""


class NoSuchStageError(BadInputError, IndexError, KeyError):
    """A def file has no stage with that index or name.

    Also an ``IndexError`` (a number out of range) and a ``KeyError`` (an
    unknown stage name), so callers written against either keep working.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class NotAFileError(BadInputError, IsADirectoryError):
    """A file was expected but the path is a directory (a sandbox, say)."""


class TreeUnreadable(ScitexError):
    """An image cannot be read statically (encrypted, not squashfs, ...).

    Callers that can fall back to running the image catch this one.
    """

    exit_code = EXIT_CHECK_FAILED


class ToolMissingError(ScitexError, FileNotFoundError):
    """A required external command is not installed."""

    exit_code = EXIT_TOOL_MISSING

    def __init__(self, tool: str, hint: str = "") -> None:
        self.tool = tool
        self.hint = hint
        message = f"`{tool}` was not found on PATH"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class NoComposeEngineError(ToolMissingError):
    """No compose engine works; says what was tried and what to install."""

    def __init__(self, message: str, tried: Sequence[tuple[str, str]] = (), hint: str = "") -> None:
        self.tool = "compose"
        self.hint = hint
        self.tried = list(tried)
        Exception.__init__(self, message)


class CheckFailedError(ScitexError):
    """A check (verify, lock comparison, round trip) found drift or failure."""

    exit_code = EXIT_CHECK_FAILED


class SessionStepError(ScitexError):
    """``session exec`` could not run the command: srun, the node or the instance failed.

    Its own exit code (:data:`EXIT_STEP_FAILED`) keeps it apart from the
    command's exit status, which ``session exec`` passes through.
    """

    exit_code = EXIT_STEP_FAILED


class CommandNotFoundInSession(SessionStepError):
    """The command given to ``session exec`` does not exist in the container."""

    exit_code = EXIT_COMMAND_NOT_FOUND


class CommandNotRunnableInSession(SessionStepError):
    """The command given to ``session exec`` exists but cannot be run (permission)."""

    exit_code = EXIT_CANNOT_EXECUTE


class StoreError(ScitexError, RuntimeError):
    """The image store cannot do what was asked (no previous version, ...)."""

    exit_code = EXIT_CHECK_FAILED


class StoreStateError(StoreError):
    """The store's state refuses the request before anything changes (no active
    version, none older, an active link that names no version): exit 2, so a
    dry run's exit 1 keeps meaning only "would change"."""

    exit_code = EXIT_BAD_INPUT


class CleanupIncompleteError(StoreError):
    """A cleanup stopped part-way: ``removed`` lists what it had removed by then.

    The message is the cause's (naming the file that could not be removed)
    and so is the exit code; ``details`` carries ``removed`` into ``--json``.
    """

    def __init__(self, message: str, removed: Sequence[object], exit_code: int) -> None:
        super().__init__(message)
        self.removed = tuple(removed)
        self.exit_code = exit_code
        self.details = {"removed": [str(p) for p in self.removed]}


class ProcessError(ScitexError, RuntimeError):
    """An external command exited non-zero (or timed out).

    Carries the argv, the exit code and the tail of stderr so callers can
    report or classify the failure (:mod:`scitex_container.process.failures` picks
    one of the subclasses below).  ``reason`` is the line of the tool's own
    output the one-line message quotes: by default the last non-empty one.
    """

    exit_code = EXIT_CHECK_FAILED
    kind = "process_failed"

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int | None,
        stdout: str = "",
        stderr: str = "",
        *,
        timed_out: bool = False,
        log_path: str | None = None,
        reason: str | None = None,
    ) -> None:
        import shlex

        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.log_path = log_path
        self.stderr_tail = _tail(stderr)
        if reason is None:
            last = self.stderr_tail.strip().splitlines()[-1:] or [""]
            reason = last[0]
        self.reason = reason.strip()
        cmd = shlex.join(self.argv)
        head = f"`{cmd}` timed out" if timed_out else f"`{cmd}` exited with code {returncode}"
        message = head + (f": {self.reason}" if self.reason else "")
        if log_path:
            message += f" (log: {log_path})"
        super().__init__(message)


class ImageNotFoundError(ProcessError):
    """The tool could not find or open the image it was given."""

    exit_code = EXIT_BAD_INPUT
    kind = "image_not_found"


class VersionNotFoundError(ProcessError):
    """A package manager (apt, pip) has no such package or version."""

    kind = "version_not_found"


class PermissionDeniedError(ProcessError):
    """The tool was refused access (permissions, a read-only file system).

    Exit 2, like :class:`AccessDeniedError`: one exit code per cause, whether
    we or the tool met it.
    """

    exit_code = EXIT_BAD_INPUT
    kind = "permission_denied"


class NoSpaceError(ProcessError):
    """The tool ran out of disk space (or quota)."""

    kind = "no_space"


class AccessDeniedError(BadInputError, PermissionError):
    """EACCES, EPERM or EROFS on a path: the message names it, its owner and mode."""


class DiskFullError(ScitexError, OSError):
    """ENOSPC or EDQUOT while writing a path (exit 1: the input was fine)."""

    exit_code = EXIT_CHECK_FAILED


class PathKindError(BadInputError, OSError):
    """The path is the wrong kind of thing: a link loop, a component that is
    not a directory, a directory where a file was expected, a FIFO or device
    where a regular file was expected."""


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])


class UntrustedStateError(BadInputError):
    """State (a session record, an artifact archive) that another user owns or could change."""


class SessionGone(NotFoundError):
    """The session's directory was removed (``stop``) while it was in use."""


class PolicyRefusedError(CheckFailedError):
    """The site policy refused an image (unsigned, or not signed by a policy key).

    ``details`` (the policy, the step, the image and the signature verdict)
    is added to the CLI's ``--json`` error output.
    """

    def __init__(self, message: str, details: dict | None = None) -> None:
        self.details = details or {}
        super().__init__(message)


class TransferError(CheckFailedError):
    """A registry or bundle transfer failed: unreachable, missing tag, digest mismatch.

    The message names the reference (``oras://...``) or the bundle member;
    ``details`` (reference, member, expected and found digests) is added to
    the CLI's ``--json`` error output.  Nothing was published.
    """

    def __init__(self, message: str, details: dict | None = None) -> None:
        self.details = details or {}
        super().__init__(message)


class SignedImageError(BadInputError):
    """Adding a data object to a signed SIF would break its signature silently.

    Exit 2 (bad input, like any refused usage): nothing was checked and
    nothing changed; the caller re-runs with a key to re-sign
    (``sbom --embed --key KEY``) or removes the signature first.
    """


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (Ctrl-C stays a plain KeyboardInterrupt).

    Raised by the handlers in :mod:`scitex_container.process.interrupts`;
    ``signum`` is the signal, ``name`` its name (``SIGTERM``).
    """

    def __init__(self, signum: int, name: str = "") -> None:
        self.signum = signum
        super().__init__(name or str(signum))


class UncacheableDef(Exception):
    """A def the stage cache cannot split faithfully: it is built cold, the message is the
    reason the build reports (never reaches the CLI as an error)."""


class StageCacheFallback(Exception):
    """A stage the cache cannot hold (files its user cannot read, a full cache file system):
    the build goes on cold and reports the message (never reaches the CLI as an error)."""
