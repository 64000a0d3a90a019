"""Building SIF images and sandboxes with the real ``apptainer build``.

:func:`build_image` is the atomic low-level build: the artifact is built
under a hidden temporary name in its final directory, its metadata written,
and only then is it renamed into place (or handed to a store to publish),
so a failed or killed build never leaves something that looks like an
image.  :func:`build` is the reference function: it builds into the image's
store (:mod:`.store`) as a new version and skips apptainer entirely when
the inputs hash (:mod:`.inputs`) matches the active version's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from scitex_container.apptainer import tool
from scitex_container.apptainer.building.phases import log_event
from scitex_container.apptainer.deffile.lookup import resolve_def
from scitex_container.apptainer.store import access
from scitex_container.apptainer.store.metadata import VersionMeta, write_metadata
from scitex_container.apptainer.store.sidecars import LOG_SUFFIX, sidecar
from scitex_container.apptainer.store.state import build_scratch
from scitex_container.errors import BadInputError, DiskFullError, NoSpaceError, NotFoundError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import output_kind, remove_path, sha256_file
from scitex_container.files.pathinfo import from_oserror, is_no_space
from scitex_container.process import runner
from scitex_container.result import Result

ProgressFn = Callable[[str], None]
#: Called on the finished temporary artifact before it is published; returns
#: extra metadata to record (e.g. embedded provenance).
FinalizeFn = Callable[[Path], dict]
#: Moves the finished temporary artifact (first argument) to its final path,
#: writing its metadata (third argument) under the store lock.
PublishFn = Callable[[Path, Path, VersionMeta], object]
#: Makes the artifact (first argument; sandbox or not) in place of the one
#: ``apptainer build``, with apptainer's environment, the log and a scratch
#: directory; returns the argv to record and metadata to add (the stage cache).
ProduceFn = Callable[
    [Path, bool, "Mapping[str, str] | None", Path, Path], "tuple[tuple[str, ...], dict]"
]


_SIF_MAGIC = b"SIF_MAGIC"
#: Where apptainer (or singularity) puts its build-temp/bundle-temp directories.
_TMPDIR_VARS = ("APPTAINER_TMPDIR", "SINGULARITY_TMPDIR")


@dataclass(frozen=True)
class BuildResult(Result):
    """What a build produced (or, when ``built`` is False, reused)."""

    path: Path
    def_path: Path
    image_name: str
    sandbox: bool
    built: bool
    duration: float
    log_path: Path | None
    command: tuple[str, ...]


def build_command(
    def_path: Path,
    out_path: Path,
    *,
    sandbox: bool = False,
    fakeroot: bool | None = None,
    use_sudo: bool = False,
    build_args: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The argv of one ``apptainer build``."""
    cmd = tool.detect_container_cmd()
    argv = [cmd, "build"]
    if tool.choose_fakeroot(fakeroot):
        argv.append("--fakeroot")
    if sandbox:
        argv.append("--sandbox")
    for key, value in sorted((build_args or {}).items()):
        argv += ["--build-arg", f"{key}={value}"]
    argv += list(extra_args)
    argv += [os.fspath(out_path), os.fspath(def_path)]
    return runner.with_sudo(argv, use_sudo)


def is_image_source(path: Path) -> bool:
    """A SIF file or a sandbox directory (not a def file) to build from."""
    if path.is_dir() or path.suffix == ".sif":
        return True
    try:
        with open(path, "rb") as fh:
            return _SIF_MAGIC in fh.read(128)
    except OSError:
        return False


def check_source(source: Path, build_args: Mapping[str, str] | None) -> None:
    if not source.exists():
        raise NotFoundError(f"build source not found: {source}", str(source))
    if not source.is_dir():  # a FIFO or device would block (or feed apptainer) forever
        from scitex_container.files.pathinfo import open_regular

        open_regular(source, "build source").close()
    if not is_image_source(source):
        from scitex_container.apptainer.deffile import parse_def, validate_files

        validate_files(parse_def(source), build_args=build_args)


def _record(
    meta: VersionMeta | Mapping | None, argv: list[str], start: float, duration: float
) -> VersionMeta:
    base = meta if isinstance(meta, VersionMeta) else VersionMeta.from_dict(dict(meta or {}))
    return base.with_(
        apptainer_version=tool.container_version(),
        build_command=tuple(argv),
        build_start=datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds"),
        build_duration=round(duration, 3),
    )


def _version_prefetch() -> threading.Thread:
    """Ask ``apptainer --version`` (cached per process) while the build runs, not after it.

    The metadata records it; asking after the build put a process start on
    the critical path of every build.  A failure here is ignored: the
    recording call asks again and reports it.
    """

    def ask() -> None:
        with contextlib.suppress(Exception):
            tool.container_version()

    return threading.Thread(target=ask, name="scitex-version", daemon=True)


def build_image(
    def_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    sandbox: bool = False,
    fakeroot: bool | None = None,
    use_sudo: bool = False,
    build_args: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    log_path: str | os.PathLike | None = None,
    progress: ProgressFn | None = None,
    timeout: float | None = None,
    finalize: FinalizeFn | None = None,
    metadata: VersionMeta | Mapping | None = None,
    publish: PublishFn | None = None,
    produce: ProduceFn | None = None,
) -> BuildResult:
    """Build ``def_path`` (a .def, a SIF or a sandbox) into ``out_path`` atomically.

    A def file is parsed and its %files sources checked before apptainer
    runs (a :class:`~scitex_container.errors.DefFileError` naming
    file:line).  After apptainer succeeds, ``finalize(tmp)`` may add to the
    metadata; the metadata (``metadata`` plus apptainer version, command,
    start, duration and the SIF's sha256) is written beside ``out_path``;
    then ``publish(tmp, out_path, meta)`` moves the artifact into place and
    writes the metadata under the store's lock (default: the metadata
    written, then a rename over ``out_path``).  On failure nothing is left at
    ``out_path`` and a previous artifact there is untouched.
    """
    try:  # a link loop or a path through a file is said as such, not "not found"
        os.stat(def_path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise from_oserror(exc, def_path) from None
    source = Path(def_path).resolve()
    out_path = Path(out_path).absolute()
    check_source(source, build_args)
    if not sandbox and output_kind(out_path) != "replace":  # a directory raises in there
        raise BadInputError(
            "an image is written only to a regular file or a new path "
            "(its log and metadata go beside it)",
            str(out_path),
        )
    # --sudo cannot help: the log and metadata beside the image are written as the caller
    access.require_writable(out_path.parent)
    if not runner.is_dry_run():
        out_path.parent.mkdir(parents=True, exist_ok=True)
    writable = os.access(out_path.parent, os.W_OK)
    log_path = Path(log_path) if log_path else sidecar(out_path, LOG_SUFFIX)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.{time.time_ns()}.building")
    argv = build_command(
        source,
        tmp,
        sandbox=sandbox,
        fakeroot=fakeroot,
        use_sudo=use_sudo,
        build_args=build_args,
        extra_args=extra_args,
    )
    name = out_path.stem if not sandbox else out_path.name
    if runner.is_dry_run():
        runner.stream(argv)
        return BuildResult(out_path, source, name, sandbox, False, 0.0, None, tuple(argv))
    log_path.unlink(missing_ok=True)
    if progress is not None:
        progress(log_event(log_path))  # the display names the log from the first second
    wall_start, start = time.time(), time.monotonic()
    cwd = source.parent if source.is_file() else None
    # apptainer's temporary space is ours, beside the output: removed on every
    # exit path (an interrupt while it is made included), swept by the store's
    # next change if a SIGKILL left it.
    space = build_scratch(out_path.parent, out_path.name) if writable else None
    prefetch = _version_prefetch()
    temporaries.track(tmp)  # apptainer makes it; ours to remove until it is in place
    try:
        with space or contextlib.nullcontext() as scratch:
            env = {k: str(scratch) for k in _TMPDIR_VARS} if scratch is not None else None
            prefetch.start()
            added: dict = {}
            if produce is not None:
                with temporaries.directory(".stages-", scratch) as defs:
                    ran, added = produce(tmp, sandbox, env, log_path, defs)
                argv = list(ran)
            else:
                runner.stream(
                    argv,
                    log_path=log_path,
                    on_line=progress,
                    timeout=timeout,
                    cwd=cwd,
                    env=env,
                    contained=True,
                )
            duration = time.monotonic() - start
            prefetch.join()
            meta = _record(metadata, argv, wall_start, duration)
            if added:
                meta = VersionMeta.from_dict({**meta.to_dict(), **added}, "stage cache")
            if finalize is not None and (extra := finalize(tmp)):
                meta = VersionMeta.from_dict({**meta.to_dict(), **extra}, "finalize")
            if tmp.is_file():
                meta = meta.with_(sha256=sha256_file(tmp))
            if publish is not None:
                publish(tmp, out_path, meta)
                return BuildResult(
                    out_path, source, name, sandbox, True, duration, log_path, tuple(argv)
                )
            if writable:
                write_metadata(out_path, meta)
            if sandbox and out_path.is_dir() and not out_path.is_symlink():
                # A directory cannot be replaced atomically by rename; move the
                # old one aside first, then drop it once the new one is in place.
                # (The old one is a temporary to sweep only once the new is in place.)
                old = out_path.with_name(f".{out_path.name}.{time.time_ns()}.removing")
                os.rename(out_path, old)
                os.rename(tmp, out_path)
                temporaries.track(old)
                remove_path(old)
                temporaries.forget(old)
            else:
                os.replace(tmp, out_path)
    except NoSpaceError as exc:  # the house line: the file being written, then the tool's why
        raise DiskFullError(
            f"{out_path}: no space left on device (apptainer: {exc.reason}; log: {log_path})"
        ) from exc
    except OSError as exc:  # ours (the log, the scratch, a stage's def) on a disk already full
        if isinstance(exc, DiskFullError) or not is_no_space(exc):
            raise
        what = f"writing {exc.filename}" if exc.filename else "writing its log or scratch"
        raise DiskFullError(
            f"{out_path}: no space left on device ({what}; log: {log_path})"
        ) from exc
    finally:
        with contextlib.suppress(RuntimeError):  # an interrupt may land before it started
            prefetch.join()  # a short query; never left running behind us
        remove_path(tmp)
        temporaries.forget(tmp)
    return BuildResult(out_path, source, name, sandbox, True, duration, log_path, tuple(argv))


def default_image_name(def_name: str, def_path: Path | None, resolved: Path) -> str:
    if def_path is not None:
        return resolved.stem
    name = os.path.basename(def_name)
    return name.removesuffix(".def")


def _resolve(def_name: str, def_path, output_dir, image_name) -> tuple[Path, str, Path]:
    resolved = resolve_def(def_name, def_path)
    name = image_name or default_image_name(def_name, def_path, resolved)
    out_dir = Path(output_dir) if output_dir is not None else resolved.parent
    if output_dir is not None and is_image_store(out_dir, name):
        out_dir = out_dir.parent  # `-o images/hello` names hello's store: build into it
    return resolved, name, out_dir


def is_image_store(directory: Path, name: str) -> bool:
    """Is ``directory`` the store of image ``name`` itself (``<dir>/<name>/`` as build
    writes it: its link or a version of it there)?"""
    if directory.name != name:
        return False
    try:
        entries = os.listdir(directory)
    except OSError:
        return False
    marks = (f"{name}.sif", f"{name}-sandbox")
    prefix = f"{name}-v"
    return any(
        e in marks or (e.startswith(prefix) and e[len(prefix) : len(prefix) + 1].isdigit())
        for e in entries
    )
