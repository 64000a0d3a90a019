"""Building SIF images and sandboxes from .def files with the real ``apptainer build``.

The artifact is built under a temporary name in its final directory and
renamed into place only when the build succeeded, so a failed or killed
build never leaves something that looks like an image.  The build log is
kept beside the artifact.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import runner
from ..errors import BadInputError
from ..result import Result
from . import tool
from .paths import resolve_def

ProgressFn = Callable[[str], None]


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


def remove_path(path: Path) -> None:
    """Remove a file, link or directory tree, even one with read-only dirs."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return

    def _onerror(func, p, _exc):  # make parents writable, then retry once
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
        func(p)

    shutil.rmtree(path, onerror=_onerror)


def build_command(
    def_path: Path,
    out_path: Path,
    *,
    sandbox: bool = False,
    fakeroot: bool | None = None,
    use_sudo: bool = False,
    build_args: dict[str, str] | None = None,
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


def build_image(
    def_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    sandbox: bool = False,
    fakeroot: bool | None = None,
    use_sudo: bool = False,
    build_args: dict[str, str] | None = None,
    extra_args: Sequence[str] = (),
    log_path: str | os.PathLike | None = None,
    progress: ProgressFn | None = None,
    timeout: float | None = None,
) -> BuildResult:
    """Build ``def_path`` into ``out_path`` atomically.

    The def file is parsed and its %files sources checked before apptainer
    runs (a bad def is a :class:`~scitex_container.errors.DefFileError`
    naming file:line).  On failure nothing is left at ``out_path`` and a
    previous artifact there is untouched.
    """
    from .deffile import parse_def, validate_files

    def_path = Path(def_path).resolve()
    out_path = Path(out_path).absolute()
    validate_files(parse_def(def_path))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out_path.parent, os.W_OK) and not use_sudo:
        raise BadInputError("output directory is not writable", str(out_path.parent))
    log_path = Path(log_path) if log_path else out_path.with_name(out_path.name + ".build.log")
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.{time.time_ns()}.building")
    argv = build_command(
        def_path, tmp, sandbox=sandbox, fakeroot=fakeroot, use_sudo=use_sudo,
        build_args=build_args, extra_args=extra_args,
    )
    start = time.monotonic()
    if runner.is_dry_run():
        runner.stream(argv)
        return BuildResult(out_path, def_path, out_path.stem, sandbox, False, 0.0, None, tuple(argv))
    log_path.unlink(missing_ok=True)
    try:
        runner.stream(
            argv, log_path=log_path, on_line=progress, timeout=timeout, cwd=def_path.parent
        )
        if sandbox and out_path.is_dir() and not out_path.is_symlink():
            # A directory cannot be replaced atomically by rename; move the
            # old one aside first, then drop it once the new one is in place.
            old = out_path.with_name(f".{out_path.name}.{time.time_ns()}.old")
            os.rename(out_path, old)
            os.rename(tmp, out_path)
            remove_path(old)
        else:
            os.replace(tmp, out_path)
    finally:
        remove_path(tmp)
    duration = time.monotonic() - start
    return BuildResult(
        out_path, def_path, out_path.stem, sandbox, True, duration, log_path, tuple(argv)
    )


def artifact_path(output_dir: Path, image_name: str, sandbox: bool) -> Path:
    """``<output_dir>/<image_name>/<image_name>.sif`` (or ``-sandbox`` dir)."""
    leaf = f"{image_name}-sandbox" if sandbox else f"{image_name}.sif"
    return output_dir / image_name / leaf


def build(
    def_name: str = "scitex-cloud-shared-v0.1.0",
    output_dir: str | os.PathLike | None = None,
    force: bool = False,
    sandbox: bool = False,
    *,
    def_path: str | os.PathLike | None = None,
    image_name: str | None = None,
    use_sudo: bool = False,
    fakeroot: bool | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """Build Apptainer/Singularity SIF or sandbox from .def file.

    The artifact lands at ``<output_dir>/<image_name>/<image_name>.sif``
    (``<image_name>-sandbox/`` for a sandbox).  ``output_dir`` defaults to the
    directory of the resolved .def; ``image_name`` to ``def_name`` (or the
    .def's stem when ``def_path`` is given).

    Returns:
        Path to the built .sif file or sandbox directory.
    """
    resolved = resolve_def(def_name, def_path)
    name = image_name or (resolved.stem if def_path is not None else Path(def_name).stem)
    out_dir = Path(output_dir) if output_dir is not None else resolved.parent
    target = artifact_path(out_dir, name, sandbox)
    del force  # every call rebuilds until change detection lands (image store)
    return build_image(
        resolved, target, sandbox=sandbox, fakeroot=fakeroot, use_sudo=use_sudo, progress=progress
    ).path
