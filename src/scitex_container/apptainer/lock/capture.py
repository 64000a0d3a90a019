"""Capture an image's exact package versions into a lock, and freeze them.

``capture_lock`` reads the image's package databases directly
(:mod:`.capture_static`: no container is started; about 0.1-0.3 s) and falls
back to one isolated ``apptainer exec`` (:mod:`.capture_exec`) only where
the image cannot be read that way.  Both apply the same rules, so they give
the same version set:

* pip: what ``pip freeze --all`` prints (pip, setuptools and wheel
  included: they are installed packages like any other), names
  canonicalized, per Python environment: ``[pip]`` is the one the image's
  runtime ``PATH`` finds first, the others are kept whole (:mod:`.pyenvs`);
* dpkg: packages whose status is installed, foreign architectures qualified;
* node: ``npm list -g --depth=0``; apk: the apk database.

Within the system environment a name is recorded once, from the
highest-priority site directory (``/usr/local`` before ``/usr``, as on
``sys.path``).  The static reading applies the image's ``%environment``
only to find the runtime ``PATH`` (a ``PATH`` it cannot read falls back to exec).

``freeze`` writes the reference's separate files from the same capture.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import shlex
from dataclasses import replace
from pathlib import Path

from scitex_container import envvars
from scitex_container._version import __version__
from scitex_container.apptainer.lock.capture_exec import exec_capture
from scitex_container.apptainer.lock.capture_static import Found, static_capture
from scitex_container.apptainer.lock.imagecheck import check_image as check_image
from scitex_container.apptainer.lock.lockfile import (
    PIP_CAPTURE_ALL,
    Lock,
    node_json_from_versions,
    write_lock,
)
from scitex_container.apptainer.lock.pyenvs import SYSTEM
from scitex_container.apptainer.sif.header import read_sif
from scitex_container.apptainer.sif.tree import TreeUnreadable
from scitex_container.apptainer.store import metadata
from scitex_container.apptainer.store.sidecars import FREEZE_FILES
from scitex_container.errors import BadInputError
from scitex_container.files.fsutil import atomic_write_text
from scitex_container.process import runner

log = logging.getLogger(__name__)

METHODS = ("auto", "static", "exec")
#: Extra freeze file for Alpine images (the reference has none).
APK_FREEZE_FILE = "apk-lock.txt"


def capture_found(image: str | os.PathLike, method: str = "auto") -> Found:
    """The versions in ``image`` (static read, else one isolated exec)."""
    path = check_image(image)
    if method not in METHODS:
        raise BadInputError(
            f"unknown capture method `{method}` (use {', '.join(METHODS)})", "method"
        )
    if method in ("auto", "static"):
        try:
            return static_capture(path)
        except TreeUnreadable as exc:
            if method == "static":
                raise BadInputError(
                    f"cannot be read without launching it: {exc}", str(path)
                ) from None
            log.info("static capture impossible (%s); using apptainer exec", exc)
    found = exec_capture(path)
    if path.is_file():
        found = replace(found, image_id=read_sif(path).image_id, method="exec")
    return found


def capture_date(value: str | None = None) -> str:
    """``value`` if given ("" leaves the date out), else now in UTC.

    ``SOURCE_DATE_EPOCH`` fixes "now" for reproducible outputs.
    """
    if value is not None:
        return value
    epoch = os.environ.get(envvars.SOURCE_DATE_EPOCH, "").strip()
    when = (
        _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
        if epoch.isdigit()
        else _dt.datetime.now(_dt.timezone.utc)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_digest(image: Path) -> str:
    """sha256 of a SIF (through the digest cache, never saved in a dry run); "" for a sandbox."""
    if image.is_dir():
        return ""
    return metadata.cached_sha256(image)


def lock_from_found(
    found: Found,
    *,
    image_sha256: str = "",
    captured_at: str = "",
    command: str = "",
) -> Lock:
    return Lock(
        pip=found.pip,
        dpkg=found.dpkg,
        node=node_json_from_versions(found.node),
        apk=found.apk,
        tool_version=f"scitex-container {__version__}",
        image_sha256=image_sha256,
        image_id=found.image_id,
        captured_at=captured_at,
        command=command,
        pip_capture=PIP_CAPTURE_ALL,
        provided_by=found.owners,
        dpkg_config_files=found.dpkg_config_files,
        pip_envs=found.pip_envs,
        # recorded where it matters: several environments, or [pip] is not the system's
        pip_environment=found.pip_environment
        if found.pip_envs or found.pip_environment not in ("", SYSTEM)
        else "",
    )


def capture_lock(
    sif_path: str | os.PathLike,
    lock_path: str | os.PathLike | None = None,
    *,
    method: str = "auto",
    captured_at: str | None = None,
    with_digest: bool = True,
) -> Lock:
    """Capture the exact installed versions of an image into a Lock.

    Parameters:
        sif_path: a SIF file or a sandbox directory.
        lock_path: where to write the lock (atomically); None writes nothing.
        method: "auto" (static read, else exec), "static" or "exec".
        captured_at: the header's capture date; "" leaves it out (byte-stable
            output), None means now (or ``SOURCE_DATE_EPOCH``).
        with_digest: record the image's sha256 in the header (cached in the
            image's metadata after the first time).

    Raises:
        NotFoundError: the image does not exist.
        BadInputError: it is neither a SIF nor a sandbox.
    """
    image = check_image(sif_path)
    found = capture_found(image, method)
    argv = ["scitex-container", "lock", "capture", os.fspath(image)]
    if lock_path is not None:
        argv += ["-o", os.fspath(lock_path)]
    lock = lock_from_found(
        found,
        image_sha256=image_digest(image) if with_digest else "",
        captured_at=capture_date(captured_at),
        command=shlex.join(argv),
    )
    if lock_path is not None:
        write_lock(lock, lock_path)
    log.info("captured %s (%s): %s", image, found.method, lock.counts())
    return lock


def freeze(
    sif_path: str | os.PathLike, output_dir: str | os.PathLike | None = None
) -> dict[str, Path]:
    """Extract pinned versions from a built image into the reference's files.

    Writes ``requirements-lock.txt`` (pip freeze lines), ``dpkg-lock.txt``
    (``name=version``) and ``node-lock.txt`` (npm's JSON; ``{}`` when the
    image has no global npm packages or no npm), so the result always has
    the keys pip, dpkg and node; ``apk-lock.txt`` on Alpine.  Isolated
    from the host like :func:`capture_lock`.

    Args:
        sif_path: The SIF image (or store version, or active link) to verify or read.
        output_dir: Where the lock files are written (default: beside the image).

    Returns:
        Mapping of lock file type to path: {pip, dpkg, node}.
    """
    image = check_image(sif_path)
    out_dir = Path(output_dir) if output_dir is not None else image.parent
    found = capture_found(image)
    command = shlex.join(
        ["scitex-container", "lock", "freeze", os.fspath(image)]
        + (["-o", os.fspath(out_dir)] if output_dir is not None else [])
    )
    head = f"# generated by scitex-container {__version__}: {command}\n"
    texts = {
        "pip": head
        + "".join(f"{k}=={v}\n" if v else f"{k}\n" for k, v in sorted(found.pip.items())),
        "dpkg": head + "".join(f"{k}={v}\n" for k, v in found.dpkg.items()),
    }
    # Always a node file (the reference returns {pip, dpkg, node}): ``{}`` when
    # the image has no npm or no global packages, which reads as none.
    texts["node"] = (node_json_from_versions(found.node) or "{}") + "\n"
    if found.apk:
        texts["apk"] = head + "".join(f"{k}={v}\n" for k, v in found.apk.items())
    paths = {}
    for kind, text in texts.items():
        path = out_dir / FREEZE_FILES.get(kind, APK_FREEZE_FILE)
        if not runner.is_dry_run():
            atomic_write_text(path, text)
        paths[kind] = path
    return paths
