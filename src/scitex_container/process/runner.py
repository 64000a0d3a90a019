"""The one process runner (with :mod:`.procgroup`): the only code that starts processes.

* argv lists only, never a shell;
* the quoted command is logged at DEBUG;
* timeouts kill the whole process group (``stream()`` too, even when the
  child prints nothing);
* an interrupt (SIGINT, or SIGTERM/SIGHUP once :func:`install_signal_handlers`
  made them raise :class:`Interrupted`) is forwarded to the child's process
  group first, so the tool can clean up; after :data:`GRACE_SECONDS` (or a
  second interrupt) the group is killed;
* ``stream()`` sends each output line to a log file and a progress callback
  (long builds);
* failures raise :class:`~scitex_container.errors.ProcessError` carrying argv,
  exit code, stdout and the tail of stderr, or the more specific subclass
  :mod:`~scitex_container.process.failures` picks from the tool's own output;
* in dry-run mode (see :func:`dry_run`) commands that change something are
  recorded instead of run.  Read-only queries (``readonly=True``: version
  probes, listings) still run, so a dry run can plan from real facts.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from scitex_container.process import interrupts
from scitex_container.process.failures import process_error
from scitex_container.process.pipes import MAX_LINE, communicate, drain_killed, lines, wait
from scitex_container.process.procgroup import (
    GRACE_SECONDS,
    end_on_signals,
    kill_group,
    reaped,
    spawn,
    spawn_contained,
    stop_children,
    stop_group,
    which,
)

log = logging.getLogger(__name__)

__all__ = [
    "GRACE_SECONDS",
    "MAX_LINE",
    "Completed",
    "DryRunRecorder",
    "Interrupted",
    "Started",
    "dry_run",
    "end_on_signals",
    "install_signal_handlers",
    "is_dry_run",
    "recorded_commands",
    "relay",
    "run",
    "stop_children",
    "stream",
    "which",
    "with_sudo",
]


#: SIGTERM/SIGHUP as a KeyboardInterrupt (see :mod:`scitex_container.process.interrupts`).
Interrupted = interrupts.Interrupted


def install_signal_handlers() -> None:
    """Make SIGTERM and SIGHUP take the same clean path as Ctrl-C (for the CLI)."""
    interrupts.install()


@dataclass(frozen=True)
class Completed:
    """The outcome of one command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def to_dict(self) -> dict:
        return {
            "argv": list(self.argv),
            "returncode": self.returncode,
            "duration": round(self.duration, 6),
            "dry_run": self.dry_run,
        }


@dataclass
class DryRunRecorder:
    """Collects the commands a dry run would have executed."""

    commands: list[tuple[str, ...]] = field(default_factory=list)

    def record(self, argv: Sequence[str]) -> None:
        self.commands.append(tuple(argv))

    def as_shell(self) -> list[str]:
        return [shlex.join(c) for c in self.commands]


_recorder: contextvars.ContextVar[DryRunRecorder | None] = contextvars.ContextVar(
    "scitex_container_dry_run", default=None
)


@contextlib.contextmanager
def dry_run(recorder: DryRunRecorder | None = None) -> Iterator[DryRunRecorder]:
    """Within this block, mutating commands are recorded, not run."""
    recorder = recorder or DryRunRecorder()
    token = _recorder.set(recorder)
    try:
        yield recorder
    finally:
        _recorder.reset(token)


def is_dry_run() -> bool:
    """True inside :func:`dry_run`; library code also skips its own writes then."""
    return _recorder.get() is not None


def recorded_commands() -> list[tuple[str, ...]]:
    rec = _recorder.get()
    return list(rec.commands) if rec else []


def with_sudo(argv: Sequence[str], use_sudo: bool) -> list[str]:
    """Prefix ``sudo -n`` when asked and not already root (never otherwise)."""
    argv = [str(a) for a in argv]
    if use_sudo and os.geteuid() != 0:
        return ["sudo", "-n", "--", *argv]
    return argv


def _environ(env: Mapping[str, str] | None, env_remove: Sequence[str]) -> dict[str, str] | None:
    if env is None and not env_remove:
        return None
    merged = dict(os.environ)
    for key in env_remove:
        merged.pop(key, None)
    if env:
        merged.update(env)
    return merged


#: The prefix that runs a command in a new network namespace with only loopback up.
OFFLINE_PREFIX = ("unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh")
_offline: contextvars.ContextVar[bool] = contextvars.ContextVar("scitex_offline", default=False)


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Run every command started inside with no network but loopback.

    Each argv gets :data:`OFFLINE_PREFIX` (``unshare --net``, which needs
    root): the honest proof that a build needs nothing from a network.
    """
    token = _offline.set(True)
    try:
        yield
    finally:
        _offline.reset(token)


def _normalize(argv: Sequence[str | os.PathLike]) -> tuple[str, ...]:
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a sequence of arguments, not a string")
    out = tuple(os.fspath(a) for a in argv)
    if not out:
        raise ValueError("argv is empty")
    return OFFLINE_PREFIX + out if _offline.get() else out


def run(
    argv: Sequence[str | os.PathLike],
    *,
    check: bool = True,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    env_remove: Sequence[str] = (),
    cwd: str | os.PathLike | None = None,
    input: str | None = None,
    readonly: bool = False,
    capture: bool = True,
    interactive: bool = False,
    pass_fds: Sequence[int] = (),
    contained: bool = False,
) -> Completed:
    """Run ``argv`` to completion and return its output.

    ``contained=True`` (not with ``interactive``) starts it so that nothing
    it starts outlives us even when we are SIGKILLed (as :func:`stream`'s).

    ``readonly=True`` marks a query that is safe to run during a dry run.
    ``capture=False`` lets the child write straight to our stdout/stderr.
    ``interactive=True`` also hands it our stdin and keeps it in our session
    and process group, so a terminal (and job control) works (a shell); as
    ``system(3)`` does, we ignore Ctrl-C while it runs: the terminal sends it
    to the shell too, which decides (it ends the shell's command, not the shell).
    """
    args = _normalize(argv)
    log.debug("run: %s", shlex.join(args))
    if is_dry_run() and not readonly:
        _recorder.get().record(args)  # type: ignore[union-attr]
        return Completed(args, 0, dry_run=True)
    pipe = subprocess.PIPE if capture and not interactive else None
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    began = time.monotonic()
    proc = (spawn_contained if contained and not interactive else spawn)(
        args,
        stdin=None if interactive and input is None else stdin,
        stdout=pipe,
        stderr=pipe,
        cwd=cwd,
        env=_environ(env, env_remove),
        text=True,
        errors="replace",
        new_session=not interactive,
        pass_fds=tuple(pass_fds),
    )
    with interrupts.ctrl_c_ignored() if interactive else contextlib.nullcontext():
        return _collect(
            Started(args, proc, began), input, timeout, check, own_group=not interactive
        )


def _collect(
    started: Started, input: str | None, timeout: float | None, check: bool, own_group: bool
) -> Completed:
    args, proc, began = started.argv, started.proc, started.start
    try:
        out, err = communicate(proc, input, None if timeout is None else began + timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = drain_killed(proc)  # bounded: a grandchild may hold the pipes
        raise process_error(args, None, out, err, timed_out=True) from None
    except BaseException as exc:
        stop_group(proc, exc, own_group=own_group)
        raise
    finally:
        reaped(proc)
    done = Completed(args, proc.returncode, out or "", err or "", time.monotonic() - began)
    log.debug("exit %s after %.3fs: %s", done.returncode, done.duration, args[0])
    if check and done.returncode != 0:
        raise process_error(args, done.returncode, done.stdout, done.stderr)
    return done


def relay(
    argv: Sequence[str | os.PathLike],
    keep: Callable[[str], bool],
    *,
    env: Mapping[str, str] | None = None,
    interactive: bool = False,
) -> Completed:
    """Run ``argv`` with its stdout ours and its stderr relayed line by line.

    A stderr line reaches our stderr only when ``keep(line)`` (a wrapper's
    own noise can be left out); the returned ``stderr`` holds the last
    lines of all of it, kept or not, so the caller can tell what failed.
    Never raises on the exit code; ``interactive`` as for :func:`run`.
    """
    args = _normalize(argv)
    log.debug("relay: %s", shlex.join(args))
    if is_dry_run():
        _recorder.get().record(args)  # type: ignore[union-attr]
        return Completed(args, 0, dry_run=True)
    began = time.monotonic()
    proc = spawn(
        args,
        new_session=not interactive,
        stdin=None if interactive else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_environ(env, ()),
        bufsize=0,
    )
    with interrupts.ctrl_c_ignored() if interactive else contextlib.nullcontext():
        return _relayed(args, proc, keep, began, own_group=not interactive)


def _relayed(args: tuple, proc: subprocess.Popen, keep, began: float, own_group: bool) -> Completed:
    tail: list[str] = []
    try:
        assert proc.stderr is not None
        for line in lines(proc.stderr.fileno(), None):
            tail.append(line.rstrip("\n"))
            del tail[:-200]
            data = line.encode("utf-8", "replace") if keep(line) else b""
            while data:
                data = data[os.write(2, data) :]
        wait(proc, None)
    except BaseException as exc:
        stop_group(proc, exc, own_group=own_group)
        raise
    finally:
        reaped(proc)
        proc.stderr.close()  # type: ignore[union-attr]
    return Completed(args, proc.returncode, "", "\n".join(tail), time.monotonic() - began)


@dataclass(frozen=True)
class Started:
    """A child :func:`run` started and waits for."""

    argv: tuple[str, ...]
    proc: subprocess.Popen
    start: float


def stream(
    argv: Sequence[str | os.PathLike],
    *,
    log_path: str | os.PathLike | None = None,
    on_line: Callable[[str], None] | None = None,
    check: bool = True,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    env_remove: Sequence[str] = (),
    cwd: str | os.PathLike | None = None,
    contained: bool = False,
) -> Completed:
    """Run a long command, merging stderr into stdout, line by line.

    Each line goes to ``log_path`` (appended, flushed) and ``on_line``.  The
    returned ``stderr`` holds the last lines of the merged output, which is
    also what a raised :class:`ProcessError` carries.  ``contained=True``
    (builds): nothing the command starts outlives us, even by SIGKILL
    (:func:`.procgroup.spawn_contained`).
    """
    args = _normalize(argv)
    log.debug("stream: %s", shlex.join(args))
    if is_dry_run():
        _recorder.get().record(args)  # type: ignore[union-attr]
        return Completed(args, 0, dry_run=True)
    began = time.monotonic()
    tail: list[str] = []
    logf = open(log_path, "a", encoding="utf-8", errors="surrogateescape") if log_path else None  # noqa: SIM115
    proc = (spawn_contained if contained else spawn)(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=_environ(env, env_remove),
        bufsize=0,
    )
    deadline = None if timeout is None else began + timeout
    timed_out = False
    try:
        if logf:
            logf.write(f"$ {shlex.join(args)}\n")
            logf.flush()
        assert proc.stdout is not None
        for line in lines(proc.stdout.fileno(), deadline):
            if logf:
                logf.write(line)
                logf.flush()
            tail.append(line.rstrip("\n"))
            del tail[:-200]
            if on_line:
                on_line(line.rstrip("\n"))
        wait(proc, deadline)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        proc.wait()
    except BaseException as exc:
        stop_group(proc, exc)
        raise
    finally:
        reaped(proc)
        proc.stdout.close()  # type: ignore[union-attr]
        if logf:
            logf.close()
    text = "\n".join(tail)
    done = Completed(args, proc.returncode, "", text, time.monotonic() - began)
    logp = os.fspath(log_path) if log_path else None
    if timed_out:
        raise process_error(args, None, "", text, timed_out=True, log_path=logp)
    if check and done.returncode != 0:
        raise process_error(args, done.returncode, "", text, log_path=logp)
    return done
