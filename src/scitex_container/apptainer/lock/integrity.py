"""The ``integrity`` check of ``verify``: the image against the digest recorded at publish.

Without a signature the whole file is hashed (through the digest cache) and
compared with the recorded sha256: a mismatch is ``tampered``.

With a signature that apptainer has just verified (``verify --key``), every
signed object's bytes have been hashed by apptainer already, and the bytes
it does not sign passed :func:`..sif.layout.check_layout`.  The file is then
not hashed a second time: a digest still in the cache is used as it is;
else, when signing recorded the layout digest (``signature.layout_sha256``
in the version's metadata, see :mod:`..signing.record`), that digest of
the unsigned bytes is compared instead (a mismatch is ``tampered`` too);
only a version with a recorded sha256 but no recorded layout digest (signed
by hand after publishing) is hashed whole as before.  A signature that
verified counts as the integrity check when no digest was recorded.

Without a recorded digest and without a verified signature nothing tells
whether the bytes are the ones published: the check is ``skip`` and
``verify``'s verdict is ``unverified`` (never ``pass``).

A store's version replaced by a link, and an active link that points out
of its store or at another link, fail the check before anything is read
through them (:func:`store_link_problem`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.store.metadata import VersionMeta
from scitex_container.apptainer.store.sidecars import META_SUFFIX, sidecar
from scitex_container.files.digests import DigestCache


@dataclass(frozen=True)
class Check:
    """One check of a verification: pass, fail or skip, and why."""

    status: str  #: ``pass``, ``fail`` or ``skip``
    detail: str
    diff_count: int | None = None  #: lock sections only; None when not compared
    changes: dict | None = None  #: changed/added/removed of a failed section

    def to_dict(self, *, lock_section: bool = False) -> dict:
        out: dict = {"status": self.status, "detail": self.detail}
        if lock_section:
            out["diff_count"] = -1 if self.diff_count is None else self.diff_count
        if self.changes:
            out.update(self.changes)
        return out


@dataclass(frozen=True)
class Integrity:
    sha256: str | None  #: the current digest, when it was taken
    check: Check
    tampered: bool


def check_integrity(current: str | None, recorded: str | None) -> Check:
    """The current digest against the one recorded when the version was published."""
    if current is None:
        return Check("skip", "a sandbox has no single digest")
    if recorded is None:
        return Check("skip", "no digest was recorded for this image")
    if current == recorded:
        return Check("pass", f"sha256 matches the recorded digest {recorded[:16]}...")
    return Check(
        "fail",
        f"tampered: sha256 {current[:16]}... differs from the digest recorded at publish "
        f"{recorded[:16]}...",
    )


def _whole(image: Path, recorded: str | None) -> Integrity:
    from scitex_container.apptainer.lock.capture import image_digest

    sha256 = image_digest(image) or None
    tampered = bool(recorded and sha256 and sha256 != recorded)
    return Integrity(sha256, check_integrity(sha256, recorded), tampered)


def integrity(image: Path, meta: VersionMeta | None, signed_layout: str | None) -> Integrity:
    """``image``'s integrity; ``signed_layout`` is the layout digest of a verified signature."""
    recorded = meta.sha256 if meta is not None else None
    if signed_layout is None or image.is_dir():
        return _whole(image, recorded)
    cached = DigestCache().lookup(image, os.stat(image))
    covered = (
        "apptainer verified every signed object and the unsigned bytes passed the layout check"
    )
    if recorded is None:
        return Integrity(cached, Check("pass", f"no digest was recorded; {covered}"), False)
    if cached is not None:
        return Integrity(cached, check_integrity(cached, recorded), cached != recorded)
    signature = (meta.extra.get("signature") if meta is not None else None) or {}
    layout = signature.get("layout_sha256") if isinstance(signature, dict) else None
    if not isinstance(layout, str):
        return _whole(image, recorded)
    if layout == signed_layout:
        detail = f"{covered}; they match the layout digest recorded at signing {layout[:16]}..."
        return Integrity(None, Check("pass", detail), False)
    detail = (
        f"tampered: bytes outside the signed objects (header, descriptors, padding) differ "
        f"from those recorded at signing (layout sha256 {signed_layout[:16]}..., "
        f"recorded {layout[:16]}...)"
    )
    return Integrity(None, Check("fail", detail), True)


def _in_store(path: Path) -> bool:
    """Is ``path`` an entry of a store (its own metadata, or versions with metadata beside it)?"""
    if os.path.lexists(sidecar(path, META_SUFFIX)):
        return True
    try:
        with os.scandir(path.parent) as it:
            return any(e.name.endswith(META_SUFFIX) for e in it)
    except OSError:
        return False


def store_link_problem(given: Path) -> str | None:
    """Why ``given``, a link in a store, is not one the store wrote (None when it is fine).

    A version is a file or directory, never a link; the active link points
    at an entry in its own directory that is not itself a link.  Outside a
    store a link is followed as usual.
    """
    given = given.absolute()
    if not given.is_symlink() or not _in_store(given):
        return None
    target = os.readlink(given)
    if os.path.lexists(sidecar(given, META_SUFFIX)):
        return f"the version {given} is a link (to {target}), not the file the store published"
    parent = os.path.dirname(target.rstrip("/"))
    if parent and os.path.realpath(given.parent / parent) != os.path.realpath(given.parent):
        return f"the link {given} points outside its store (to {target})"
    if (given.parent / target).is_symlink():
        return f"the link {given} points at {target}, which is itself a link"
    return None
