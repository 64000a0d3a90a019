"""Verify an image: its digest, the def it came from, and its lock against a fresh capture.

``verify`` returns the reference's dict::

    {
        "sif": {"path": "...", "sha256": "...", "exists": True},
        "def_origin": {"status": "pass|fail|skip", "detail": "..."},
        "pip_lock": {"status": "pass|fail|skip", "detail": "...", "diff_count": 0},
        "dpkg_lock": {"status": "pass|fail|skip", "detail": "...", "diff_count": 0},
        "node_lock": {"status": "pass|fail|skip", "detail": "...", "diff_count": 0},
        "lock_origin": {"status": "pass|fail|skip", "detail": "..."},
        "lock_source": {"kind": "lock_dir|sidecar|freeze_files|embedded|none", "path": "..."},
        "overall": "pass|fail|unverified",
    }

(``apk_lock`` too on Alpine images; ``integrity`` with ``recorded_sha256``
and ``tampered`` too.)  The current digest comes from the digest cache
(:func:`.metadata.cached_sha256`, keyed so a restored mtime cannot fool it)
and is compared with the digest recorded when the version was published;
a mismatch fails ``integrity``.  ``overall`` is ``pass`` only when the
image's bytes were checked (a recorded digest that matches, or a verified
signature) and nothing failed; with nothing failed but nothing to check the
bytes against it is ``unverified`` (the CLI's exit 4): the def and lock
checks say what the image claims, not that it is what was published.  A
version or active link in a store that is a link out of it fails
``integrity`` without anything being read through it.  :class:`VerifyReport`
is the typed record (the dict is :meth:`VerifyReport.to_dict`).  The def's sha256 is
compared with, in order: the store's metadata (``inputs.def_sha256`` or
``def_sha256``, else the ``def_text`` snapshot), the provenance embedded in
the SIF, the reference's ``.def-hash`` file beside it, and the def the SIF
itself carries (its Def.FILE object).  The lock used is, in order: the files
in ``lock_dir`` (``<image>.lock``, else its only ``*.lock``, else the
reference's separate files), the ``<image>.lock`` sidecar, the separate
files beside the image, the lock embedded in the SIF.  A lock whose header names another image (its
``image-id``, else its ``image-sha256``) fails ``lock_origin``.  The fresh
capture never launches the container unless the image cannot be read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scitex_container.apptainer.lock.freezefiles import freeze_files_lock
from scitex_container.apptainer.lock.imagecheck import check_image
from scitex_container.apptainer.lock.integrity import Check, integrity, store_link_problem
from scitex_container.apptainer.sif.header import is_sif, read_object, read_sif
from scitex_container.apptainer.store import metadata
from scitex_container.apptainer.store.guard import check_store_of
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX, sidecar
from scitex_container.errors import ProcessError
from scitex_container.files.ownership import follow_trusted

if TYPE_CHECKING:
    from scitex_container.apptainer.lock.lockfile import Lock

# The capture, lock-file and comparison modules load only when a lock is found: every
# import ``verify --key`` skips is CPU left to apptainer's hashing beside it.

SECTIONS = ("pip", "dpkg", "node")


@dataclass(frozen=True)
class VerifyReport:
    """Everything ``verify`` found about one image."""

    path: Path  #: as given (may be the active link)
    exists: bool
    sha256: str | None  #: the current digest
    recorded_sha256: str | None  #: the digest recorded when the version was published
    integrity: Check
    def_origin: Check
    sections: tuple[tuple[str, Check], ...]  #: (pip|dpkg|node|apk, check)
    lock_origin: Check
    lock_source: tuple[str, str | None]  #: (kind, path)
    layout_tampered: bool = False  #: unsigned bytes differ from those recorded at signing

    @property
    def tampered(self) -> bool:
        changed = self.sha256 and self.sha256 != self.recorded_sha256
        return bool(self.recorded_sha256 and changed) or self.layout_tampered

    @property
    def checks(self) -> tuple[Check, ...]:
        return (self.integrity, self.def_origin, self.lock_origin, *(c for _, c in self.sections))

    @property
    def overall(self) -> str:
        """``fail``, ``pass`` (the bytes were checked), else ``unverified``."""
        if not self.exists or any(c.status == "fail" for c in self.checks):
            return "fail"
        return "pass" if self.integrity.status == "pass" else "unverified"

    def to_dict(self) -> dict[str, Any]:
        """The reference's dict (plus integrity, lock_origin, lock_source, node/apk)."""
        out: dict[str, Any] = {
            "sif": {"path": str(self.path), "sha256": self.sha256, "exists": self.exists},
            "integrity": {
                **self.integrity.to_dict(),
                "recorded_sha256": self.recorded_sha256,
                "tampered": self.tampered,
            },
            "def_origin": self.def_origin.to_dict(),
            "lock_origin": self.lock_origin.to_dict(),
            "lock_source": {"kind": self.lock_source[0], "path": self.lock_source[1]},
        }
        for name, check in self.sections:
            out[f"{name}_lock"] = check.to_dict(lock_section=True)
        out["overall"] = self.overall
        return out


def _skip(detail: str, diff: bool = True) -> Check:
    return Check("skip", detail, 0 if diff else None)


# --- def origin -------------------------------------------------------------------


def _stored_def_hashes(image: Path) -> list[tuple[str, str]]:
    """(source, sha256) candidates for the def that built ``image``, best first."""
    out: list[tuple[str, str]] = []
    meta = metadata.read_metadata(image)
    if meta is not None and meta.def_sha256:
        out.append(("metadata", meta.def_sha256))
    elif meta is not None and meta.def_text is not None:
        out.append(("metadata def snapshot", hashlib.sha256(meta.def_text.encode()).hexdigest()))
    if image.is_file() and is_sif(image):
        from scitex_container.apptainer.lock.provenance import embedded_provenance

        prov = embedded_provenance(image) or {}
        if isinstance(prov.get("def_sha256"), str):
            out.append(("embedded provenance", prov["def_sha256"]))
    hash_file = image.parent / ".def-hash"
    if hash_file.is_file():
        out.append((".def-hash", hash_file.read_text().strip()))
    if image.is_file() and is_sif(image):
        for obj in read_sif(image).objects:
            if obj.datatype == 0x4001:
                out.append(
                    ("the image's own def", hashlib.sha256(read_object(image, obj)).hexdigest())
                )
                break
    return out


def check_def_origin(image: Path, def_path: str | os.PathLike | None) -> Check:
    if def_path is None:
        return _skip("No .def provided", diff=False)
    def_path = Path(def_path)
    if not def_path.is_file():
        return Check("fail", f".def not found: {def_path}")
    current = hashlib.sha256(def_path.read_bytes()).hexdigest()
    stored = _stored_def_hashes(image)
    if not stored:
        return Check("fail", "No stored def hash found (metadata, provenance, .def-hash)")
    source, value = stored[0]
    if current == value:
        from scitex_container.apptainer.building.drift import inputs_changed

        changed = inputs_changed(image, def_path)
        if changed:
            return Check("fail", changed)
        return Check("pass", f"def hash matches ({source}): {current[:16]}...")
    return Check(
        "fail", f"def hash mismatch ({source}): current={current[:16]}... stored={value[:16]}..."
    )


# --- the lock to compare against --------------------------------------------------------


def _read_lock(path: Path) -> Lock:
    from scitex_container.apptainer.lock.lockfile import read_lock

    return read_lock(path)


def find_lock(
    image: Path, lock_dir: str | os.PathLike | None
) -> tuple[Lock | None, dict[str, Any], list[str]]:
    """The lock to verify against, where it came from, and the sections it covers."""
    combined = sidecar(image, LOCK_SUFFIX)
    if lock_dir is not None:
        directory = Path(lock_dir)
        in_dir = directory / combined.name
        if not in_dir.is_file():
            others = sorted(directory.glob("*" + LOCK_SUFFIX))
            in_dir = others[0] if len(others) == 1 else in_dir
        if in_dir.is_file():
            return _read_lock(in_dir), {"kind": "lock_dir", "path": str(in_dir)}, list(SECTIONS)
        got = freeze_files_lock(directory)
        if got:
            return got[0], {"kind": "lock_dir", "path": str(directory)}, got[1]
        return None, {"kind": "none", "path": str(directory)}, []
    if combined.is_file():
        return _read_lock(combined), {"kind": "sidecar", "path": str(combined)}, list(SECTIONS)
    got = freeze_files_lock(image.parent)
    if got:
        return got[0], {"kind": "freeze_files", "path": str(image.parent)}, got[1]
    if image.is_file():
        from scitex_container.apptainer.lock.provenance import LOCK_OBJECT, embedded_lock

        lock = embedded_lock(image)
        if lock is not None:
            return lock, {"kind": "embedded", "path": f"{image}#{LOCK_OBJECT}"}, list(SECTIONS)
    return None, {"kind": "none", "path": None}, []


def check_lock_origin(lock: Lock, image: Path, sha256: str | None) -> Check:
    """Is this lock about this image? (id first: it survives ``sif add``)."""
    image_id = read_sif(image).image_id if image.is_file() and is_sif(image) else ""
    if lock.image_id and image_id:
        if lock.image_id == image_id:
            return Check("pass", f"lock is from this image (id {image_id})")
        return Check(
            "fail", f"lock is from a different image (id {lock.image_id}, this image {image_id})"
        )
    if lock.image_sha256 and sha256:
        if lock.image_sha256 == sha256:
            return Check("pass", "lock is from this image (sha256 matches)")
        return Check(
            "fail",
            f"lock is from a different image (sha256 {lock.image_sha256[:16]}..., "
            f"this image {sha256[:16]}...)",
        )
    return _skip("lock header names no image", diff=False)


def seed_count(name: str, fresh: Lock, default: int) -> int:
    """How many packages the seed's verify counted in the image (its "All N packages match").

    pip: the lines of ``pip freeze`` (which omits pip, setuptools, wheel); dpkg:
    the distinct ``name=version`` lines of ``dpkg-query -W`` (no architecture, so
    ``libc6`` and ``libc6:i386`` at one version are one; removed packages with
    config files left count too).
    """
    from scitex_container.apptainer.lock.compare import FREEZE_OMITS
    from scitex_container.apptainer.lock.syntax import pip_identity

    if name == "pip":
        return sum(1 for k in fresh.pip if pip_identity(k) not in FREEZE_OMITS)
    if name == "dpkg":
        both = [*fresh.dpkg.items(), *fresh.dpkg_config_files.items()]
        return len({(k.split(":", 1)[0], v) for k, v in both})
    return default


def _section_result(name: str, diff, total: int) -> Check:
    """``detail`` in the seed's words (a changed version is a line new and one
    missing); ``diff_count`` counts packages, ``summary`` names the changes."""
    if diff.identical:
        return Check("pass", f"All {total} packages match", 0)
    words = ("changed/new", "missing/changed") if name == "dpkg" else ("new", "missing")
    counts = (len(diff.changed) + len(diff.only_in_b), len(diff.changed) + len(diff.only_in_a))
    seed_parts = [f"{s}{n} {w}" for s, n, w in zip("+-", counts, words, strict=True) if n]
    parts = []
    if diff.changed:
        sample = ", ".join(
            f"{k.split(':', 1)[1]} {a} -> {b}" for k, (a, b) in sorted(diff.changed.items())[:5]
        )
        parts.append(f"{len(diff.changed)} changed ({sample})")
    if diff.only_in_b:
        parts.append(f"+{len(diff.only_in_b)} new")
    if diff.only_in_a:
        parts.append(f"-{len(diff.only_in_a)} missing")
    strip = len(name) + 1
    changes = {
        "summary": ", ".join(parts),
        "changed": {
            k[strip:]: {"lock": a, "image": b} for k, (a, b) in sorted(diff.changed.items())
        },
        "added": sorted(k[strip:] for k in diff.only_in_b),
        "removed": sorted(k[strip:] for k in diff.only_in_a),
    }
    detail = f"Package mismatch: {', '.join(seed_parts)}"
    return Check("fail", detail, diff.diff_count, changes)


def _lock_checks(report: VerifyReport, image: Path, lock_dir) -> VerifyReport:
    """``lock_source``, ``lock_origin`` and the sections, from a fresh static capture."""
    no_lock = report.sections
    lock, source, sections = find_lock(image, lock_dir)
    report = replace(report, lock_source=(source["kind"], source["path"]))
    if lock is None:
        return report
    from scitex_container.apptainer.lock.capture import capture_found, image_digest, lock_from_found
    from scitex_container.apptainer.lock.compare import comparable_sets, compare_version_sets

    sha256 = None
    if lock.image_sha256 and not lock.image_id:
        sha256 = image_digest(image) or None  # only such a lock needs the whole-file digest
    report = replace(report, lock_origin=check_lock_origin(lock, image, sha256))
    try:
        fresh = lock_from_found(capture_found(image))
    except ProcessError as exc:  # a missing apptainer is not a failed check: it raises (exit 3)
        failed = Check("fail", f"capture failed: {exc}")
        return replace(
            report, sections=tuple((n, failed if n in sections else c) for n, c in no_lock)
        )
    # A seed lock is compared with the fresh capture seen as the seed saw it.
    stored_set, fresh_set, omitted = comparable_sets(lock, fresh)
    if lock.apk or fresh.apk:
        sections = [*sections, "apk"]
    results = dict(no_lock)
    for name in sections:
        prefix = name + ":"
        a = {k: v for k, v in stored_set.items() if k.startswith(prefix)}
        b = {k: v for k, v in fresh_set.items() if k.startswith(prefix)}
        if not a and not b and name in ("node", "apk"):
            results[name] = _skip(f"No {name} packages in the lock or the image")
            continue
        diff = compare_version_sets(a, b, a_label="lock", b_label="image", ignore=omitted)
        results[name] = _section_result(name, diff, seed_count(name, fresh, len(b)))
    return replace(report, sections=tuple(results.items()))


def verify_image(
    sif_path: str | os.PathLike,
    def_path: str | os.PathLike | None = None,
    lock_dir: str | os.PathLike | None = None,
    *,
    signed_layout: str | Callable[[], str | None] | None = None,
) -> VerifyReport:
    """The whole verification of ``sif_path`` (the active link is followed).

    The version's own sidecars (metadata, ``.lock``) are used, also when
    ``sif_path`` is the store's active link.  ``signed_layout``: the image's
    signature was verified and this is its layout digest, so the file is
    not hashed again (see :mod:`.integrity`); a callable is asked only after
    the def and lock checks, so they can run while apptainer checks the
    signature.
    """
    given = Path(sif_path)
    no_lock = tuple((n, _skip("No lock file found")) for n in SECTIONS)
    report = VerifyReport(
        given,
        False,
        None,
        None,
        _skip("image not found", diff=False),
        _skip("No .def provided", diff=False),
        no_lock,
        _skip("No lock file found", diff=False),
        ("none", None),
    )
    if not given.exists() and not given.is_symlink():
        return report
    problem = store_link_problem(given)
    if problem is not None:  # nothing is read through it
        return replace(report, exists=True, integrity=Check("fail", problem))
    if not given.exists():
        return report
    check_store_of(given)  # refuse a store another user could steer us with
    image = follow_trusted(given)  # another user's link is not followed out of its store
    check_image(image)
    meta = metadata.read_metadata(image)
    report = replace(
        report,
        exists=True,
        recorded_sha256=meta.sha256 if meta is not None else None,
        def_origin=check_def_origin(image, def_path),
    )
    report = _lock_checks(report, image, lock_dir)
    layout = signed_layout() if callable(signed_layout) else signed_layout
    state = integrity(image, meta, layout)
    return replace(
        report,
        sha256=state.sha256,
        integrity=state.check,
        layout_tampered=state.tampered and state.sha256 is None,
    )


def verify(
    sif_path: str | os.PathLike,
    def_path: str | os.PathLike | None = None,
    lock_dir: str | os.PathLike | None = None,
) -> dict:
    """Verify container integrity.

    Checks: 1. the image ``sif_path`` exists, and its SHA256 against the digest recorded
    when it was published (``integrity``; ``tampered`` on a mismatch);
    2. if ``def_path`` is given, its hash against the stored def hash;
    3. if a lock exists (``lock_dir``, the ``.lock`` sidecar, the separate
    lock files beside the image, or the lock embedded in the SIF), the
    versions in the image, read afresh, against it.

    Returns:
        The reference's dict: sif, def_origin, pip_lock, dpkg_lock (plus
        node_lock, lock_origin, lock_source), overall "pass" or "fail".
    """
    return verify_image(sif_path, def_path, lock_dir).to_dict()
