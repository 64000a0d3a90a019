"""Changing a SIF's bytes (signing, embedding an SBOM) without ever leaving it half-changed.

:func:`rewrite_sif` is the one path every in-place change of an image
takes: the change is made on a copy beside it (a registered temporary,
:mod:`scitex_container.files.temporaries`); for a store version (its
metadata beside it) the new digest is recorded, the previous one kept in
its history, under the store lock; only then is the copy renamed over the
image.  Any failure (a full disk while copying, while ``apptainer sign``
appends its object, while writing the metadata) leaves the image's bytes
and metadata exactly as they were; ENOSPC becomes the house full-disk
error naming the image (exit 1).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from scitex_container.errors import BadInputError, NoSpaceError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import atomic_write_bytes, fsync_dir, sha256_file, temp_path
from scitex_container.files.pathinfo import from_oserror, is_no_space
from scitex_container.process import runner

T = TypeVar("T")

#: (what the change returned, previous digest) -> (history reason, extra metadata fields)
Recorder = Callable[[Any, str], tuple[str, dict[str, Any]]]


class Rewritten(NamedTuple):
    """What :func:`rewrite_sif` did."""

    value: Any  #: what ``change`` returned
    previous_sha256: str | None  #: a store version's recorded digest before
    sha256: str | None  #: the image's digest after (None in a dry run)
    recorded: bool  #: a store version's digest was re-recorded


def _full(exc: BaseException) -> bool:
    if isinstance(exc, NoSpaceError):
        return True
    return is_no_space(exc)


def _copy(src: Path, dst: Path) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())
    os.chmod(dst, os.stat(src).st_mode & 0o7777)


def rewrite_sif(
    real: Path, change: Callable[[Path], T], record: Recorder | None = None
) -> Rewritten:
    """Apply ``change(copy)`` to a copy of ``real`` and put it in place atomically.

    ``real`` is a resolved SIF path.  A store version (metadata beside it)
    is changed under its store's lock and its digest re-recorded with
    ``record(value, previous)`` -> (reason, extra fields); without
    ``record`` the reason is "rewritten".  A dry run applies ``change`` to
    ``real`` itself (it writes nothing).
    """
    from scitex_container.apptainer.store.metadata import load_metadata, metadata_path
    from scitex_container.apptainer.store.opening import open_store

    if runner.is_dry_run():
        return Rewritten(change(real), None, None, False)
    is_version = metadata_path(real).is_file()
    lock = open_store(real.parent).lock() if is_version else contextlib.nullcontext()
    with lock:
        previous = (load_metadata(real).get("sha256") or sha256_file(real)) if is_version else None
        tmp = temporaries.track(temp_path(real))
        try:
            try:
                _copy(real, tmp)
                value = change(tmp)
                after = sha256_file(tmp)
                if previous is not None:
                    reason, fields = record(value, previous) if record else ("rewritten", {})
                    _publish_version(real, tmp, previous, after, reason, fields)
                else:
                    os.replace(tmp, real)
                    fsync_dir(real.parent)
            except BaseException as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                if _full(exc):
                    raise from_oserror(OSError(errno.ENOSPC, "no space"), real) from exc
                if isinstance(exc, BadInputError) and exc.where == os.fspath(tmp):
                    exc.where = os.fspath(real)  # the copy is ours: name the image
                    exc.args = (f"{real}: {exc.detail}",)
                raise
        finally:
            temporaries.forget(tmp)
    return Rewritten(value, previous, after, previous is not None)


def _publish_version(
    real: Path, tmp: Path, previous: str, after: str, reason: str, fields: dict[str, Any]
) -> None:
    """Record ``after`` as the version's digest, then rename ``tmp`` over it.

    The metadata is written first (atomically), holding the record as it
    was (:data:`~..store.metadata.PENDING`) until the rename is done: if
    that write fails nothing has changed; should the rename fail, the old
    metadata is put back; killed between the two (SIGKILL), every reader
    resolves the record by which digest the bytes match
    (:func:`~..store.metadata.settled`), so ``verify`` never calls our own
    unfinished write tampering.
    """
    from scitex_container.apptainer.store.metadata import (
        commit_rewrite,
        metadata_path,
        remember_digest,
        rerecord_digest,
    )

    meta = metadata_path(real)
    old = meta.read_bytes()
    entry = {
        "sha256": previous,
        "replaced_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reason": reason,
    }
    rerecord_digest(real, after, entry, remember=False, **fields)
    try:
        os.replace(tmp, real)
        fsync_dir(real.parent)
    except BaseException:
        atomic_write_bytes(meta, old)
        raise
    with contextlib.suppress(OSError, ValueError):  # a record left pending resolves by bytes
        commit_rewrite(real)
    with contextlib.suppress(OSError):  # only a cache: a full disk must not undo the change
        remember_digest(real, after)
