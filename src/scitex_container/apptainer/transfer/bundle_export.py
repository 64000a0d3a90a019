"""``bundle export``: one file an air-gapped site can check and import.

The format is :mod:`.bundle_manifest`'s.

The tar is written to a hidden temporary beside the output and renamed into
place, so an interrupted export leaves no half-made bundle; every member is
hashed while it is written and must still have the digest the manifest
names (a file changed meanwhile aborts the export).  Tar headers carry no
owner, time or mode of ours (deterministic: the same inputs give the same
bytes).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from scitex_container.apptainer.transfer import proof as proofs
from scitex_container.apptainer.transfer.bundle_manifest import (
    IMAGE,
    MANIFEST,
    SIGNATURE,
    BundleManifest,
    Member,
    sign_manifest,
)
from scitex_container.apptainer.transfer.push import check_recorded_digest, source_sif
from scitex_container.errors import BadInputError, NotFoundError, TransferError
from scitex_container.files.fsutil import atomic_output
from scitex_container.process import runner
from scitex_container.result import Result


@dataclass(frozen=True)
class ExportResult(Result):
    bundle: str
    image: str
    sha256: str  #: of the SIF
    members: tuple[str, ...]
    artifact_count: int  #: how many archived artifacts it carries (``artifacts`` is a mapping)
    signed_manifest: str | None  #: the fingerprint of the key that signed the manifest


def _artifacts(
    lock_bytes: bytes | None, archive: str | os.PathLike
) -> tuple[dict[str, dict], bytes]:
    """(sha256 -> {entry: record} for every artifact the lock names, the lock naming each
    artifact's sha256); NotFoundError lists the gaps.  The bundle's lock records what it
    carries, so the importing side checks every artifact against it."""
    from scitex_container.apptainer.lock.archive import artifact_map
    from scitex_container.apptainer.lock.archive_store import entry_key
    from scitex_container.apptainer.lock.lockfile import parse_lock, render_lock

    if lock_bytes is None:
        raise BadInputError("the image has no lock: nothing names its artifacts", "--archive")
    lock = parse_lock(lock_bytes.decode("utf-8", "replace"), "the image's lock")
    versions = lock.version_set()
    out: dict[str, dict] = {}
    hashes = dict(lock.artifacts)
    for key, record in sorted(artifact_map(lock, archive).items()):
        out.setdefault(str(record["sha256"]), {})[entry_key(key, versions[key])] = dict(record)
        hashes[key] = str(record["sha256"])
    if hashes == dict(lock.artifacts):
        return out, lock_bytes
    lock.artifacts = hashes
    return out, render_lock(lock).encode()


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _Hashing(io.RawIOBase):
    """A reader that hashes what tarfile reads through it."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.hash = fh, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.hash.update(data)
        return data


def _add_file(tar: tarfile.TarFile, member: Member, path: Path) -> None:
    with open(path, "rb") as fh:
        reader = _Hashing(fh)
        tar.addfile(_info(member.name, member.size), reader)
    if reader.hash.hexdigest() != member.sha256:
        raise TransferError(f"{path} changed while it was exported", {"member": member.name})


def _write(
    fh: BinaryIO,
    body: bytes,
    signature: bytes | None,
    members: list[Member],
    sif: Path,
    found: dict[str, bytes],
    store_root: Any,
) -> None:
    with tarfile.open(fileobj=fh, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(MANIFEST, len(body)), io.BytesIO(body))
        if signature is not None:
            tar.addfile(_info(SIGNATURE, len(signature)), io.BytesIO(signature))
        for member in members:
            if member.role == "image":
                _add_file(tar, member, sif)
            elif member.role == "artifact":
                _add_file(tar, member, store_root.blob(member.sha256))
            else:
                data = found[member.role]
                tar.addfile(_info(member.name, len(data)), io.BytesIO(data))


def export_bundle(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    archive: str | os.PathLike | None = None,
    key: str | os.PathLike | None = None,
) -> ExportResult:
    """Write the bundle of ``source`` (a SIF or a store's active version) to ``output``."""
    sif = source_sif(source)
    sha256 = check_recorded_digest(sif)
    found = proofs.collect(sif)
    private = None
    if key is not None:
        from scitex_container.apptainer.signing.keys import fingerprint_of, load_private_key

        private = load_private_key(key)
    artifacts: dict[str, dict] = {}
    if archive is not None:
        artifacts, found[proofs.LOCK] = _artifacts(found.get(proofs.LOCK), archive)
    members = [Member(IMAGE, "image", sif.stat().st_size, sha256)]
    for role in ("lock", "statement", "sbom"):
        if role in found:
            data = found[role]
            name = proofs.FILES[role][0]
            members.append(Member(name, role, len(data), hashlib.sha256(data).hexdigest()))
    store_root = None
    if artifacts:
        from scitex_container.apptainer.lock.archive_store import ArchiveStore

        store_root = ArchiveStore(archive)  # type: ignore[arg-type]
        for digest, entries in artifacts.items():
            size = store_root.blob(digest).stat().st_size
            members.append(Member(f"artifacts/sha256/{digest}", "artifact", size, digest, entries))
    from scitex_container.apptainer.signing.claim import signature_claim

    claim = signature_claim(sif)
    manifest = BundleManifest(
        {"name": sif.name.removesuffix(".sif").rsplit("-v", 1)[0], "sha256": sha256},
        tuple(members),
        claim,
    )
    body = manifest.render()
    signature = sign_manifest(body, private) if private is not None else None
    out = Path(output)
    result = ExportResult(
        str(out),
        str(sif),
        sha256,
        tuple(m.name for m in members),
        len(artifacts),
        fingerprint_of(private.public_key()) if private is not None else None,
    )
    if os.fspath(output) != "-" and not out.absolute().parent.is_dir():
        raise NotFoundError("the bundle's directory does not exist", str(out.absolute().parent))
    if runner.is_dry_run():
        return result
    # the one output rule: a device, FIFO, socket or - is written through,
    # a directory refused, a file replaced atomically
    with atomic_output(out) as fh:
        _write(fh, body, signature, members, sif, found, store_root)
    return result
