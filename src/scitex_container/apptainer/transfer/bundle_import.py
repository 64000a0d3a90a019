"""``bundle import``: check every member of a bundle, then publish it (see :mod:`.bundle_manifest`).

The tar is read as a stream, once, member by member, into the store's own
scratch: the first member must be ``manifest.json``; every other member
must be listed there, a regular file (no link, device or directory), not
seen before, of the listed size and sha256.  An unlisted member, a missing
one or a changed byte is refused naming the member (exit 1), before
anything is published.  The signed image then goes through
:func:`.arrival.arrive` (its proof, the policy's ``import`` and ``switch``
steps); the artifacts join the archive (stored once, by content) only once
every check passed, just before the version is published.

The manifest's own signature authenticates what the SIF's signature does
not cover (the lock's artifact lines, the artifacts).  When the policy
gates ``import`` and the bundle carries artifacts, the manifest must be
signed by one of the policy's keys; otherwise a signature is checked
against the policy's keys when there are any, and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scitex_container.apptainer.store import state
from scitex_container.apptainer.transfer import proof as proofs
from scitex_container.apptainer.transfer.arrival import (
    Arrival,
    arrive,
    full_disk_named,
    target_store,
)
from scitex_container.apptainer.transfer.bundle_manifest import (
    IMAGE,
    MANIFEST,
    MAX_MANIFEST,
    SIGNATURE,
    BundleManifest,
    Member,
    parse_manifest,
    signed_by,
)
from scitex_container.errors import BadInputError, NotFoundError, PathKindError, TransferError
from scitex_container.files.fsutil import made_dirs
from scitex_container.process import runner
from scitex_container.result import Result

#: Policy steps an imported image passes: arriving, and becoming active.
STEPS = ("import", "switch")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ImportResult(Result):
    bundle: str
    arrival: Arrival
    artifacts_added: int
    artifacts_skipped: int  #: carried but not kept (no ``--archive``)
    manifest_signer: str | None  #: the policy key that verified the manifest, if any


def _refuse(bundle: str, member: str, detail: str, check: str = "member") -> TransferError:
    return TransferError(f"bundle {bundle}: {member}: {detail}", {"member": member, "check": check})


def _read_small(tar: tarfile.TarFile, info: tarfile.TarInfo, limit: int, bundle: str) -> bytes:
    if not info.isreg() or info.size > limit:
        raise _refuse(bundle, info.name, f"must be a regular file of at most {limit} bytes")
    fh = tar.extractfile(info)
    return fh.read() if fh is not None else b""


def _copy_member(fh: IO[bytes], dest: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(dest, "xb") as out:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


@contextlib.contextmanager
def _opened(path: str | os.PathLike) -> Iterator[tarfile.TarFile]:
    """The bundle as a tar stream; a truncated or garbled stream is one line naming it."""
    try:
        with _opened_raw(path) as tar:
            yield tar
    except (tarfile.ReadError, tarfile.StreamError, EOFError) as exc:
        raise TransferError(
            f"bundle {os.fspath(path)}: truncated or not a tar stream ({exc})",
            {"member": None, "check": "tar"},
        ) from None


@contextlib.contextmanager
def _opened_raw(path: str | os.PathLike) -> Iterator[tarfile.TarFile]:
    from scitex_container.files.pathinfo import open_regular

    raw = None
    try:
        if os.fspath(path) == "-":
            tar = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")  # noqa: SIM115
        else:  # a FIFO or device is refused on the opened descriptor, never read
            try:
                raw = open_regular(path, "bundle")
            except PathKindError as exc:  # a FIFO would block for a writer that may never come
                if os.path.isdir(path):
                    raise
                raise PathKindError(f"{exc}; to stream a bundle, pipe it to `-`") from None
            tar = tarfile.open(fileobj=raw, mode="r|")  # noqa: SIM115 (closed below)
    except NotFoundError:
        raise NotFoundError(f"bundle `{path}` does not exist", str(path)) from None
    except tarfile.TarError as exc:
        if raw is not None:
            raw.close()
        raise BadInputError(f"not a tar file ({exc})", f"bundle {path}") from None
    except PathKindError:
        raise  # said already (an OSError too)
    except OSError as exc:  # a directory, permission...: said naming the path
        from scitex_container.files.pathinfo import from_oserror

        raise from_oserror(exc, path) from None
    try:
        with tar:
            yield tar
    finally:
        if raw is not None:
            raw.close()


def _manifest_signer(
    manifest: BundleManifest, body: bytes, sig: bytes | None, bundle: str
) -> str | None:
    from scitex_container.apptainer.signing.policy import load_policies

    first: str | None = None
    for policy in load_policies():  # the site's, then an added one: each must pass
        which = "site" if policy.site else "added"
        keys = list(policy.keys)
        signer = signed_by(body, sig, keys) if sig is not None and keys else None
        if sig is not None and keys and signer is None:
            raise _refuse(
                bundle,
                SIGNATURE,
                f"not made by any key of the {which} policy {policy.path}",
                "manifest:signature",
            )
        if policy.requires("import") and signer is None:
            raise _refuse(
                bundle,
                MANIFEST,
                f"{which} policy {policy.path} gates import: the manifest must be signed by a "
                "policy key (`bundle export --key`), so no member can be swapped or dropped, "
                "another signed image included",
                "manifest:signature",
            )
        first = first or signer
    return first


def import_bundle(
    bundle: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    archive: str | os.PathLike | None = None,
    name: str | None = None,
) -> ImportResult:
    """Check and import ``bundle`` into ``output_dir/<name>/`` (see the module docstring)."""
    shown = os.fspath(bundle)
    with _opened(bundle) as tar:
        first = tar.next()
        if first is None or first.name != MANIFEST:
            raise _refuse(shown, MANIFEST, "missing (it must be the first member)")
        body = _read_small(tar, first, MAX_MANIFEST, shown)
        manifest = parse_manifest(body)
        info = tar.next()
        sig = None
        if info is not None and info.name == SIGNATURE:
            sig = _read_small(tar, info, 1 << 16, shown)
            info = tar.next()
        signer = _manifest_signer(manifest, body, sig, shown)
        name = name or str(manifest.image.get("name") or "")
        store = target_store(output_dir, name)
        if runner.is_dry_run():  # checked the manifest; the members would be read next
            return _publish(shown, manifest, {}, store, name, archive, signer)
        with (
            made_dirs(store.dir, empty=state.discard_state),
            state.build_scratch(store.dir) as scratch,
            full_disk_named(store.dir),
        ):
            files: dict[str, Path] = {}
            order = [m.name for m in manifest.members]
            while info is not None:
                member = manifest.member(info.name)
                if member is None or info.name in files:
                    what = "listed twice" if info.name in files else "not in the manifest"
                    raise _refuse(shown, info.name, f"unexpected member ({what})", "extra")
                if order[len(files)] != info.name:
                    raise _refuse(
                        shown,
                        info.name,
                        f"out of the manifest's order (expected {order[len(files)]} here)",
                        "order",
                    )
                if not info.isreg() or info.size != member.size:
                    raise _refuse(shown, info.name, "not a regular file of the listed size")
                _check_header(shown, info)
                dest = scratch / f"m{len(files)}"
                fh = tar.extractfile(info)
                size, digest = _copy_member(fh, dest) if fh is not None else (0, "")
                if size != member.size or digest != member.sha256:
                    raise _refuse(
                        shown,
                        info.name,
                        f"sha256 {digest[:16]}... differs from the manifest's",
                        "digest",
                    )
                files[info.name] = dest
                info = tar.next()
            missing = [m.name for m in manifest.members if m.name not in files]
            if missing:
                raise _refuse(shown, missing[0], "missing from the bundle", "missing")
            _check_end(shown, bundle, tar)
            return _publish(shown, manifest, files, store, name, archive, signer)


def _check_header(shown: str, info: tarfile.TarInfo) -> None:
    """Members carry exactly the headers `bundle export` writes: a header changed is refused."""
    if (
        info.mode != 0o644
        or info.uid
        or info.gid
        or info.uname
        or info.gname
        or info.mtime
        or info.pax_headers
    ):
        raise _refuse(
            shown,
            info.name,
            "its tar header was changed (mode, owner, time or pax records)",
            "header",
        )


def _check_end(shown: str, bundle: str | os.PathLike, tar: tarfile.TarFile) -> None:
    """Nothing after the archive's end: a regular file is exactly as long as export makes it."""
    if os.fspath(bundle) == "-" or not Path(bundle).is_file():
        return  # a stream: what follows the end is never read
    record = tarfile.RECORDSIZE
    expected = -(-(tar.offset + 2 * tarfile.BLOCKSIZE) // record) * record
    size = Path(bundle).stat().st_size
    if size != expected:
        raise _refuse(
            shown,
            "(end of archive)",
            f"{size - expected:+d} bytes beyond the archive's end",
            "trailing",
        )


def _check_artifacts(
    shown: str,
    artifacts: list[Member],
    lock_bytes: bytes | None,
    archive: str | os.PathLike | None,
) -> None:
    """Every artifact entry is one the bundle's lock names with that sha256, and none would
    replace what the target archive already maps to another file."""
    from scitex_container.apptainer.lock.archive_store import ArchiveStore
    from scitex_container.apptainer.lock.lockfile import parse_lock

    if lock_bytes is None:
        raise _refuse(shown, artifacts[0].name, "artifacts without a lock naming them", "artifact")
    lock = parse_lock(lock_bytes.decode("utf-8", "replace"), f"bundle {shown}#lock")
    versions = lock.version_set()
    existing = ArchiveStore(archive).read_index() if archive is not None else {}
    for member in artifacts:
        for entry in member.entries or {}:
            key, _, version = entry.rpartition("=")
            if versions.get(key) != version or lock.artifacts.get(key) != member.sha256:
                raise _refuse(
                    shown, member.name, f"`{entry}` is not an artifact the lock names", "artifact"
                )
            held = existing.get(entry)
            if isinstance(held, dict) and held.get("sha256") != member.sha256:
                raise _refuse(
                    shown,
                    member.name,
                    f"the archive {archive} maps `{entry}` to another file "
                    f"(sha256 {str(held.get('sha256'))[:16]}...); nothing was replaced",
                    "artifact",
                )


def _publish(
    shown: str,
    manifest: BundleManifest,
    files: dict[str, Path],
    store: Any,
    name: str,
    archive: str | os.PathLike | None,
    signer: str | None,
) -> ImportResult:
    proof = {
        role: files[title].read_bytes()
        for role, (title, _) in proofs.FILES.items()
        if title in files
    }
    artifacts = [m for m in manifest.members if m.role == "artifact"]
    if artifacts and files:
        _check_artifacts(shown, artifacts, proof.get(proofs.LOCK), archive)

    def add_artifacts() -> None:
        if archive is None or not artifacts:
            return
        from scitex_container.apptainer.lock.archive_store import ArchiveStore, Artifact

        target = ArchiveStore(archive)
        entries = {}
        for member in artifacts:
            target.add_file(files[member.name], member.sha256)
            for entry, record in (member.entries or {}).items():
                key, _, version = entry.rpartition("=")
                entries[entry] = Artifact(
                    key,
                    version,
                    member.sha256,
                    str(record.get("filename", "")),
                    member.size,
                    str(record.get("source", "")),
                )
        target.merge_index(entries)

    where = "stdin" if shown == "-" else os.path.abspath(shown)
    origin = {"kind": "bundle", "bundle": where, "manifest_signer": signer}
    arrival = arrive(
        store,
        name,
        manifest.image["sha256"],
        lambda path: os.replace(files[IMAGE], path) if IMAGE in files else None,
        proof,
        origin,
        steps=STEPS,
        where=f"bundle {shown}",
        before_publish=add_artifacts,
        lock_authenticated=signer is not None,
    )
    if arrival.reused and not runner.is_dry_run():
        add_artifacts()  # the image was kept already; its artifacts may not be
    kept = len(artifacts) if archive is not None else 0
    return ImportResult(shown, arrival, kept, len(artifacts) - kept, signer)
