"""The process groups the runner starts: spawn, forward an interrupt, stop.

Only :mod:`scitex_container.process.runner` uses this module.  Every child gets its
own process group (a session), so an interrupt is *forwarded* to it, the
tool gets :data:`GRACE_SECONDS` to clean up, and then the group is killed.
Children started by worker threads are tracked too: an interrupt reaches
only the main thread, so :func:`stop_children` ends the rest.  At exit it
ends any child still not reaped (a query started and never collected), so
none outlives the interpreter, whatever ended it; a forked copy of this
process forgets its parent's children.

A SIGKILL runs none of that, so containment does not rely on us: every
child is started with ``PR_SET_PDEATHSIG`` = SIGKILL (the kernel kills it
when the thread that started it dies; ``setpriv --pdeathsig`` in front of
it, or a ``preexec_fn`` for builds), and a contained command
(:func:`contained_argv`: builds) also runs as the init of its own PID
namespace as root (``unshare --pid --fork --kill-child``: when that init
dies the kernel kills every process in the namespace, mksquashfs
included), or, for other users, under a guardian (:func:`guard`) that kills
the child's process group when our end of its pipe closes without a word.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

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
#: The thread that started each live child (:func:`stop_children` of one thread).
_owner: dict[subprocess.Popen, int] = {}
_live_lock = threading.Lock()


_PR_SET_PDEATHSIG = 1
_prctl = None


def _load_prctl():
    global _prctl
    if _prctl is None:
        import ctypes

        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    return _prctl


def _dies_with(parent: int, prctl) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGKILL when its parent dies, even if already dead."""

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def _with_pdeathsig(argv: tuple[str, ...], env) -> tuple[str, ...] | None:
    """``argv`` behind ``setpriv --pdeathsig KILL`` (None: no setpriv here).

    Cheaper than a ``preexec_fn`` (which makes Python fork the whole
    interpreter instead of using vfork: about 9 ms a child here, against
    under 1 ms).  The tool is looked up first, so a missing one is still a
    :class:`ToolMissingError`, not setpriv's exit 127.
    """
    setpriv = _setpriv()
    if setpriv is None:
        return None
    import shutil

    tool: str | None = argv[0]
    if "/" not in argv[0]:
        path = env.get("PATH") if env is not None else None
        tool = shutil.which(argv[0], path=path)
    elif os.path.isabs(argv[0]) and not os.path.exists(argv[0]):
        tool = None
    if tool is None:
        raise ToolMissingError(argv[0])
    return (setpriv, "--pdeathsig", "KILL", "--", tool, *argv[1:])


_SETPRIV: list[str | None] = []


def _setpriv() -> str | None:
    if not _SETPRIV:
        _SETPRIV.append(which("setpriv"))
    return _SETPRIV[0]


def spawn(
    argv: tuple[str, ...], new_session: bool = True, *, exact: bool = False, **kwargs
) -> subprocess.Popen:
    """Start ``argv``; in its own session (tracked until :func:`reaped`) unless told not to.

    An interrupt during the start takes effect once the child is tracked, so
    :func:`stop_children` (or the exit) can always reach it.  The child
    dies with us (``PR_SET_PDEATHSIG``), even by SIGKILL: set by ``setpriv``
    in front of it, or with ``exact=True`` (or without setpriv) in the
    child before exec, where a parent that died before it was armed is
    noticed too.
    """
    wrapped = None if exact else _with_pdeathsig(argv, kwargs.get("env"))
    arm = None if wrapped is not None else _dies_with(os.getpid(), _load_prctl())
    with interrupts.deferred():
        try:
            proc = subprocess.Popen(
                wrapped or argv, start_new_session=new_session, preexec_fn=arm, **kwargs
            )
        except FileNotFoundError as exc:
            if exc.filename in (argv[0], None):
                raise ToolMissingError(argv[0]) from exc
            raise
        if new_session:
            with _live_lock:
                _live.add(proc)
                _owner[proc] = threading.get_ident()
    return proc


def contained_argv(argv: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """``argv`` as the init of its own PID namespace when we can make one (root).

    Returns the argv and whether it is so contained; otherwise the caller
    guards the child's group (:func:`spawn_contained` does both).
    """
    unshare = which("unshare") if os.geteuid() == 0 else None
    if unshare is None:
        return argv, False
    # The namespace's init is a shell that waits for the command, not the
    # command itself: apptainer --fakeroot changes its credentials, which
    # clears the parent-death signal ``--kill-child`` gave it; the shell keeps
    # it.  ``--mount-proc``: newuidmap checks the pids fakeroot gives it.
    ns = (unshare, "--pid", "--fork", "--kill-child", "--mount-proc")
    return (*ns, "--", "/bin/sh", "-c", '"$@"; exit $?', "sh", *argv), True


#: The guardian: waits on a pipe only we hold; "done" from us ends it quietly,
#: end of file (we died, however) kills the child's process group.
_GUARD_SCRIPT = 'read -r _ || exec "$1" -s KILL -- "-$2"'
_guards: dict[subprocess.Popen, tuple[subprocess.Popen, int]] = {}


def spawn_contained(argv: tuple[str, ...], **kwargs) -> subprocess.Popen:
    """Start ``argv`` so that nothing it starts outlives us, even by SIGKILL of us.

    As root: in its own PID namespace.  Otherwise the child's process group
    is watched by a guardian (``sh``, in a session of its own so that a kill
    of our group does not reach it) that kills the group when we die.
    """
    full, in_namespace = contained_argv(argv)
    proc = spawn(full, exact=True, **kwargs)
    if not in_namespace and (kill := which("kill")) is not None:
        read_end, write_end = os.pipe()
        try:
            guard = subprocess.Popen(
                ("/bin/sh", "-c", _GUARD_SCRIPT, "sh", kill, str(proc.pid)),
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        with _live_lock:
            _guards[proc] = (guard, write_end)
    return proc


def _release_guard(proc: subprocess.Popen) -> None:
    with _live_lock:
        entry = _guards.pop(proc, None)
    if entry is None:
        return
    guard, write_end = entry
    with contextlib.suppress(OSError):
        os.write(write_end, b"done\n")
    os.close(write_end)
    with contextlib.suppress(subprocess.TimeoutExpired):
        guard.wait(timeout=5)


def which(name: str) -> str | None:
    """``shutil.which`` in one place, so tool lookup is uniform."""
    import shutil

    return shutil.which(name)


def reaped(proc: subprocess.Popen) -> None:
    with _live_lock:
        _live.discard(proc)
        _owner.pop(proc, None)
    _release_guard(proc)


def stop_children(signum: int = signal.SIGTERM, thread: int | None = None) -> int:
    """Forward ``signum`` to every live child's group, then kill what is left.

    The CLI calls this on its way out after an interrupt, so a child started
    by a worker thread (which the interrupt never reaches) does not outlive
    it.  ``thread``: only the children that thread started (a cancelled call
    of a server).  Returns how many children were still running.
    """
    with _live_lock:
        procs = [
            p for p in _live if p.poll() is None and (thread is None or _owner.get(p) == thread)
        ]
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


def end_on_signals(cleanup: Callable[[], object], exit_now: Callable[[int], object]) -> None:
    """SIGINT/TERM/HUP end this process promptly (a server whose main thread is an event loop).

    Every child gets the signal (its grace period, then killed), ``cleanup()``
    runs, then ``exit_now(128 + signum)`` (the caller's ``os._exit``: the
    process ends without waiting for its worker threads).
    """

    def end(signum: int) -> None:
        try:
            stop_children(signum)
            cleanup()
        finally:
            exit_now(128 + signum)

    interrupts.on_ending(end)


def _forget_inherited() -> None:
    """In a forked child: its parent's children are not its own to stop."""
    global _live_lock
    _live_lock = threading.Lock()  # the parent's may have been held at the fork
    _live.clear()
    _owner.clear()
    _guards.clear()


os.register_at_fork(after_in_child=_forget_inherited)
atexit.register(stop_children)
