"""The reproducible round trip: rough build, capture, pin, rebuild, capture, compare.

:func:`build_reproducible` turns a rough def into a verified image:

1. build the rough def as image ``<name>-rough`` (a separate image, so the
   store's change detection reuses it when the rough inputs are unchanged);
2. capture its lock and snapshot the rough def beside that version;
3. generate the locked def (the rough def plus pins, :mod:`.pin`) beside it;
4. build the locked def as image ``<name>`` (:func:`verify_roundtrip`);
5. capture that version's lock and compare the two version sets.

Beside the final version (and the rough one) it writes the lock
(``.lock``), the locked def (``.locked.def``), the rough def snapshot
(``.rough.def``) and the marker (``.verified.json``) whose ``status`` is
``verified`` when the version sets are identical and ``unverified`` (with
the drift) otherwise.  Drift is a result, not an error: the images stay
usable, and :func:`check_verified` warns (or raises, in strict mode) when
an image without a ``verified`` marker is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scitex_container._version import __version__
from scitex_container.apptainer.building.phases import phase_event
from scitex_container.apptainer.repro import prebuild
from scitex_container.apptainer.repro.marker import (  # the gate is re-exported here
    UnverifiedImageWarning,
    VerifiedMarker,
    VerifyStatus,
    _image_sha256,
    _real,
    check_verified,
    read_marker,
)
from scitex_container.apptainer.store.sidecars import (
    LOCK_SUFFIX,
    LOCKED_DEF_SUFFIX,
    ROUGH_DEF_SUFFIX,
    VERIFIED_SUFFIX,
    sidecar,
)
from scitex_container.errors import CheckFailedError, NotFoundError
from scitex_container.files.fsutil import atomic_write_bytes, sha256_file
from scitex_container.process import runner
from scitex_container.result import Result

log = logging.getLogger(__name__)

__all__ = [
    "ReproResult",
    "UnverifiedImageWarning",
    "VerifyStatus",
    "build_reproducible",
    "check_verified",
    "read_marker",
    "verify_roundtrip",
]

ProgressFn = Callable[[str], None]
#: Image name suffix of the intermediate image built from the rough def.
ROUGH_IMAGE_SUFFIX = "-rough"


@dataclass(frozen=True)
class ReproResult(Result):
    """The outcome of a round trip."""

    identical: bool  #: the rebuild's version set equals the lock's
    summary: str  #: the drift summary ("identical" when none)
    diff: dict[str, Any]  #: the lock comparison, JSON form
    image: Path  #: the version built from the locked def
    rough_image: Path  #: the version whose lock was pinned (built from the rough def)
    lock: Path  #: lock of ``image``
    rough_lock: Path  #: lock of ``rough_image`` (the pins' source)
    locked_def: Path
    rough_def: Path  #: snapshot of the rough def
    verified: Path  #: the marker beside ``image``
    durations: dict[str, float] = field(default_factory=dict)  #: seconds per step

    @property
    def status(self) -> str:
        return "verified" if self.identical else "unverified"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["status"] = self.status
        return data


def _timed(durations: dict[str, float], key: str, start: float) -> None:
    durations[key] = round(time.monotonic() - start, 3)


def _say(progress: ProgressFn | None, message: str) -> None:
    if progress is not None:  # one of our phases: the display names it
        progress(phase_event(message.removeprefix("[repro] ")))
    else:
        log.info("%s", message)


def _copy(src: Path, dst: Path) -> None:
    if src != dst and src.exists():
        atomic_write_bytes(dst, src.read_bytes())


def _capture(image: Path, lock_path: Path):
    from scitex_container.apptainer.lock.capture import capture_lock

    return capture_lock(image, lock_path)


def _compare(a, b):
    from scitex_container.apptainer.lock.compare import compare_locks

    return compare_locks(a, b, a_label="lock", b_label="rebuild")


def _marker(result: ReproResult, command: str) -> VerifiedMarker:
    return VerifiedMarker(
        status=result.status,
        identical=result.identical,
        summary=result.summary,
        diff=result.diff,
        image=result.image.name,
        image_sha256=_image_sha256(result.image),
        rough_image=str(result.rough_image),
        lock=result.lock.name,
        lock_sha256=sha256_file(result.lock) if result.lock.exists() else "",
        rough_lock=str(result.rough_lock),
        locked_def=result.locked_def.name,
        rough_def=result.rough_def.name,
        tool_version=__version__,
        command=command,
    )


def _build(def_path: Path, output_dir: Path, image_name: str, force: bool, progress) -> Path:
    from scitex_container.apptainer.building.versioned import build_version

    done = build_version(
        def_path=def_path,
        output_dir=output_dir,
        image_name=image_name,
        force=force,
        progress=progress,
    )
    if not done.built:
        _say(progress, f"[repro] `{image_name}` cached: its inputs are unchanged")
    return Path(done.path)


def verify_roundtrip(
    image: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    image_name: str | None = None,
    *,
    force: bool = True,
    progress: ProgressFn | None = None,
    command: str | None = None,
    offline: bool = False,
    archive: str | os.PathLike | None = None,
    _durations: dict[str, float] | None = None,
    _build_def: Path | None = None,
) -> ReproResult:
    """Rebuild ``image`` from its locked def and check the rebuild matches its lock.

    ``image`` is an image version (or a link to one) with a ``.lock`` and a
    ``.locked.def`` beside it.  The rebuild is a version of ``image_name``
    under ``output_dir`` (default: the image's own name without ``-rough``,
    in the directory above the image's); ``force`` (default on) rebuilds
    even when the store holds a version of the same locked def.  Writes the
    rebuild's lock, the locked def, the rough def snapshot and the
    ``.verified.json`` marker beside the rebuild, and the marker beside
    ``image`` too.  ``offline`` runs the rebuild with no network but
    loopback (``unshare --net``, root).  With ``archive``, the archive
    must still hold every file the locked def installs, checked before the
    build (NotFoundError, exit 2, lists what is missing and where it
    looked).  Returns the comparison; drift is not an error.

    Args:
        progress: Called with one line of progress text at a time (None: silent).
        command: The command line recorded in the generated files' headers (default: the
            equivalent ``scitex-container`` command).
    """
    from scitex_container.apptainer.lock.lockfile import read_lock

    source = _real(image)
    lock_path = sidecar(source, LOCK_SUFFIX)
    locked_def = sidecar(source, LOCKED_DEF_SUFFIX)
    for needed in (lock_path, locked_def):
        if not needed.exists():
            raise NotFoundError(
                f"`{needed.name}` is missing beside the image; run `scitex-container repro` first",
                str(needed),
            )
    out_dir = Path(output_dir) if output_dir is not None else source.parent.parent
    name = image_name or source.parent.name.removesuffix(ROUGH_IMAGE_SUFFIX)
    durations = dict(_durations or {})
    expected = read_lock(lock_path)
    if _build_def is None:  # image mode: no rough def's directory to resolve against
        prebuild.check_image_mode(locked_def)
    if archive is not None:
        from scitex_container.apptainer.repro import archive_def

        _say(progress, f"[repro] checking the archive {archive} against the locked def")
        archive_def.check_locked_def(locked_def, archive)

    _say(progress, f"[repro] building the locked def as `{name}`")
    start = time.monotonic()
    with runner.offline() if offline else contextlib.nullcontext():
        built = _build(_build_def or locked_def, out_dir, name, force, progress)
    _timed(durations, "locked_build", start)
    final = _real(built)
    if runner.is_dry_run():
        return _dry_result(final, source, durations)

    _say(progress, "[repro] capturing the rebuild's lock")
    start = time.monotonic()
    final_lock = sidecar(final, LOCK_SUFFIX)
    got = _capture(final, final_lock)
    _timed(durations, "locked_capture", start)

    start = time.monotonic()
    diff = _compare(expected, got)
    _timed(durations, "compare", start)
    _copy(locked_def, sidecar(final, LOCKED_DEF_SUFFIX))
    _copy(sidecar(source, ROUGH_DEF_SUFFIX), sidecar(final, ROUGH_DEF_SUFFIX))
    durations["total"] = round(sum(v for k, v in durations.items() if k != "total"), 3)
    result = ReproResult(
        identical=bool(diff.identical),
        summary=diff.summary(),
        diff=diff.to_dict(),
        image=final,
        rough_image=source,
        lock=final_lock,
        rough_lock=lock_path,
        locked_def=sidecar(final, LOCKED_DEF_SUFFIX),
        rough_def=sidecar(final, ROUGH_DEF_SUFFIX),
        verified=sidecar(final, VERIFIED_SUFFIX),
        durations=durations,
    )
    command = command or f"scitex-container repro {source}"
    marker = _marker(result, command)
    marker.write(result.verified)
    if source != final:
        replace(
            marker,
            image=source.name,
            image_sha256=_image_sha256(source),
            lock=lock_path.name,
            lock_sha256=sha256_file(lock_path),
            rebuild=str(final),
        ).write(sidecar(source, VERIFIED_SUFFIX))
    if result.identical:
        from scitex_container.apptainer.building.decision import declare_satisfies

        declare_satisfies(final, source, out_dir, name)
        log.info("round trip verified: %s", final)
    else:
        log.info("round trip drift for %s: %s", final, result.summary)
    return result


def _dry_result(final: Path, source: Path, durations: dict[str, float]) -> ReproResult:
    return ReproResult(
        identical=False,
        summary="dry run: nothing was built",
        diff={},
        image=final,
        rough_image=source,
        lock=sidecar(final, LOCK_SUFFIX),
        rough_lock=sidecar(source, LOCK_SUFFIX),
        locked_def=sidecar(final, LOCKED_DEF_SUFFIX),
        rough_def=sidecar(final, ROUGH_DEF_SUFFIX),
        verified=sidecar(final, VERIFIED_SUFFIX),
        durations=durations,
    )


def build_reproducible(
    def_path: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    image_name: str | None = None,
    *,
    snapshot_mirror: str | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    apt_scope: str = "added",
    pip_options: Sequence[str] | None = None,
    archive: str | os.PathLike | None = None,
    locked_def_beside: bool = False,
) -> ReproResult:
    """Run the whole round trip on the rough def ``def_path``.

    The rough def builds as image ``<image_name>-rough`` and the locked def
    as ``<image_name>`` (default: the def's stem), both under
    ``output_dir`` (default: the def's directory).  ``snapshot_mirror``,
    ``apt_scope`` and ``pip_options`` go to
    :func:`~.pin.generate_locked_def`.  ``force`` rebuilds both images even
    when their inputs are unchanged.  With ``archive`` (an artifact
    archive), the rough image's artifacts are archived, the locked def
    installs only from the archive, and the rebuild runs with the network
    cut off.  ``locked_def_beside`` writes the locked def beside the rough
    def (``<name>.locked.def``) and builds it there, so relative sources need
    no rewriting; otherwise a def whose rewrite cannot keep its meaning is
    refused before any build (:mod:`.prebuild`).  Returns a
    :class:`ReproResult`; ``identical`` is the gate.

    Args:
        progress: Called with one line of progress text at a time (None: silent).
    """
    from scitex_container.apptainer.deffile.lookup import resolve_def
    from scitex_container.apptainer.lock.pin import generate_locked_def

    rough_def = resolve_def("", def_path)
    if archive is not None and os.path.exists(archive) and not os.path.isdir(archive):
        raise NotFoundError("the archive is not a directory", os.fspath(archive))  # before a build
    name = image_name or rough_def.stem
    out_dir = Path(output_dir) if output_dir is not None else rough_def.parent
    durations: dict[str, float] = {}
    def_bytes = rough_def.read_bytes()
    prebuild.check_before_build(rough_def, beside=locked_def_beside, archive=archive is not None)
    beside = prebuild.beside_path(rough_def, name) if locked_def_beside else None

    _say(progress, f"[repro] the rough def as `{name}{ROUGH_IMAGE_SUFFIX}` (built unless cached)")
    start = time.monotonic()
    rough = _real(_build(rough_def, out_dir, name + ROUGH_IMAGE_SUFFIX, force, progress))
    _timed(durations, "rough_build", start)
    if runner.is_dry_run():  # the later steps need the built image
        return _dry_result(out_dir / name / f"{name}.sif", rough, durations)
    atomic_write_bytes(sidecar(rough, ROUGH_DEF_SUFFIX), def_bytes)

    _say(progress, "[repro] capturing the rough image's lock")
    start = time.monotonic()
    lock_path = sidecar(rough, LOCK_SUFFIX)
    _capture(rough, lock_path)
    _timed(durations, "rough_capture", start)
    if archive is not None:
        from scitex_container.apptainer.lock.archive import archive_lock
        from scitex_container.apptainer.repro import archive_def

        _say(progress, f"[repro] archiving the lock's artifacts in {archive}")
        start = time.monotonic()
        saved = archive_def.input_dirs(rough_def)
        try:
            archive_lock(lock_path, archive, image=rough, saved_dirs=saved)
        except CheckFailedError as exc:  # before the locked build: bad input, as from an image
            where = os.fspath(archive)
            raise NotFoundError(f"the archive cannot serve the lock: {exc}", where) from None
        _timed(durations, "archive", start)

    _say(progress, "[repro] generating the locked def")
    start = time.monotonic()
    locked = generate_locked_def(
        rough_def,
        lock_path,
        beside or sidecar(rough, LOCKED_DEF_SUFFIX),
        snapshot_mirror=snapshot_mirror,
        apt_scope=apt_scope,
        pip_options=pip_options,
        archive=archive,
    )
    prebuild.check_same_sources(rough_def, locked)
    _copy(locked, sidecar(rough, LOCKED_DEF_SUFFIX))
    _timed(durations, "pin", start)

    command = prebuild.repro_command(
        def_path,
        output_dir,
        image_name,
        snapshot_mirror,
        apt_scope,
        pip_options,
        archive,
        locked_def_beside,
    )
    return verify_roundtrip(
        rough,
        out_dir,
        name,
        force=force,
        progress=progress,
        command=command,
        offline=archive is not None,
        archive=archive,
        _durations=durations,
        _build_def=beside,
    )
