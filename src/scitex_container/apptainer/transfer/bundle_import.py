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
from scitex_container.apptainer.transfer.arrival import Arrival, arrive, target_store
from scitex_container.apptainer.transfer.bundle_manifest import (
    IMAGE,
    MANIFEST,
    MAX_MANIFEST,
    SIGNATURE,
    BundleManifest,
    parse_manifest,
    signed_by,
)
from scitex_container.errors import NotFoundError, TransferError
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
    try:
        if os.fspath(path) == "-":
            tar = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")  # noqa: SIM115
        else:
            tar = tarfile.open(path, mode="r|")  # noqa: SIM115 (closed by the `with` below)
    except FileNotFoundError:
        raise NotFoundError(f"bundle `{path}` does not exist", str(path)) from None
    except tarfile.TarError as exc:
        raise TransferError(f"bundle {path}: not a tar file ({exc})") from None
    with tar:
        yield tar


def _manifest_signer(
    manifest: BundleManifest, body: bytes, sig: bytes | None, bundle: str
) -> str | None:
    from scitex_container.apptainer.signing.policy import load_policies

    carries_unsigned = any(m.role in ("artifact", "lock") for m in manifest.members)
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
        if policy.requires("import") and carries_unsigned and signer is None:
            raise _refuse(
                bundle,
                MANIFEST,
                f"{which} policy {policy.path} gates import and the bundle carries a lock or "
                "artifacts the image's signature does not cover: the manifest must be signed "
                "by a policy key (`bundle export --key`)",
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
        ):
            files: dict[str, Path] = {}
            while info is not None:
                member = manifest.member(info.name)
                if member is None or info.name in files:
                    what = "listed twice" if info.name in files else "not in the manifest"
                    raise _refuse(shown, info.name, f"unexpected member ({what})", "extra")
                if not info.isreg() or info.size != member.size:
                    raise _refuse(shown, info.name, "not a regular file of the listed size")
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
            return _publish(shown, manifest, files, store, name, archive, signer)


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
    )
    if arrival.reused and not runner.is_dry_run():
        add_artifacts()  # the image was kept already; its artifacts may not be
    kept = len(artifacts) if archive is not None else 0
    return ImportResult(shown, arrival, kept, len(artifacts) - kept, signer)
