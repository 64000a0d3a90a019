"""What every arriving image goes through before it becomes a version (pull and import).

1. The SIF is complete and its sha256 is the one the sender named.
2. Its proof matches the signed copies inside it (:func:`.proof.check`).
3. The site policy's gate for arriving and for activating images passes
   (``pull`` / ``import``, and ``switch``: the new version becomes active).
4. It is published into the store as a new version under the store's build
   lock, its metadata recording where it came from (``origin``), and made
   active.  The same SIF arriving again (same sha256) is not stored twice:
   the kept version is made active again, through the same gate.

The SIF sits in the store's own scratch until then, so an interrupt at any
point leaves nothing that looks like a version.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scitex_container.apptainer.building.decision import image_store
from scitex_container.apptainer.store import state
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.metadata import VersionMeta, cached_sha256, read_metadata
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX
from scitex_container.apptainer.transfer import proof as proofs
from scitex_container.errors import BadInputError, DiskFullError, TransferError
from scitex_container.files.fsutil import made_dirs
from scitex_container.files.pathinfo import is_no_space
from scitex_container.process import runner
from scitex_container.result import Result


@dataclass(frozen=True)
class Arrival(Result):
    """An image that arrived in a store (by pull or bundle import)."""

    store: str
    version: str
    path: str
    sha256: str
    reused: bool  #: the same SIF was kept already: nothing was copied
    origin: Mapping[str, Any]
    proof: tuple[dict, ...] = ()
    signature: Mapping[str, Any] | None = None  #: the policy's passing verdict, when gated
    extra: Mapping[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def full_disk_named(store_dir: Path) -> Iterator[None]:
    """A full disk while an image arrives is said of the user's store directory, never
    of our hidden ``.scitex/tmp/.../arriving.sif`` (exit 1)."""
    try:
        yield
    except DiskFullError:
        raise DiskFullError(f"{store_dir}: no space left on device") from None
    except OSError as exc:
        if is_no_space(exc):
            raise DiskFullError(f"{store_dir}: no space left on device") from None
        raise


def target_store(output_dir: str | os.PathLike, name: str) -> Store:
    """The store ``build -o OUTPUT_DIR`` would write image ``name`` into."""
    if not name or name.startswith(".") or "/" in name or any(ord(c) < 32 for c in name):
        raise BadInputError(f"invalid image name {name!r}", "--name")
    return image_store(output_dir, name)


def gate(steps: tuple[str, ...], image: Path, shown: str) -> dict | None:
    """The policy gate for an arriving image: one signature check per policy that requires
    one of ``steps`` (the site's, then an added one: each must pass)."""
    from scitex_container.apptainer.signing.policy import check_image, load_policies

    verdict = None
    for policy in load_policies():
        needed = [s for s in steps if policy.requires(s)]
        if needed:
            verdict = check_image(policy, needed[0], image, shown=shown).to_dict()
    return verdict


def kept_version(store: Store, sha256: str) -> Path | None:
    """A version of ``store`` holding exactly the SIF ``sha256``: recorded so, and its bytes
    hash so now (a version's metadata alone is a claim, not a proof)."""
    for row in store.versions():
        if row.path.is_symlink() or not row.path.is_file():
            continue
        meta = read_metadata(row.path)
        if meta is not None and meta.sha256 == sha256 and cached_sha256(row.path) == sha256:
            return row.path
    return None


def arrive(
    store: Store,
    name: str,
    sha256: str,
    fetch: Callable[[Path], None],
    proof: dict[str, bytes],
    origin: dict[str, Any],
    *,
    steps: tuple[str, ...],
    where: str,
    before_publish: Callable[[], None] | None = None,
    lock_authenticated: bool = False,
) -> Arrival:
    """Bring the SIF ``sha256`` into ``store``: ``fetch(path)`` writes it to ``path``.

    Under a dry run nothing is created: the fetch is recorded (it would run)
    unless the store keeps that SIF already.  ``lock_authenticated``: the
    travelling lock's own lines (artifact hashes) were authenticated on the
    way (a bundle manifest signed by a policy key); see :func:`_lock_sidecar`.
    """
    if runner.is_dry_run():
        found = kept_version(store, sha256) if store.dir.is_dir() else None
        if found is None:
            fetch(state.state_dir(store.dir) / "tmp" / "arriving.sif")
        version = store.scheme.version_of(found.name) or "" if found else ""
        return Arrival(str(store.dir), version, str(found or ""), sha256, found is not None, origin)
    with made_dirs(store.dir, empty=state.discard_state), store.build_lock():
        found = kept_version(store, sha256)
        if found is not None:
            verdict = gate(steps, found, where)
            version = store.scheme.version_of(found.name) or ""
            if store.active_version() != version:
                store.switch(version)
            return Arrival(str(store.dir), version, str(found), sha256, True, origin, (), verdict)
        with store.lock():
            store.remove_stale()
        with state.build_scratch(store.dir) as scratch, full_disk_named(store.dir):
            tmp = scratch / "arriving.sif"
            fetch(tmp)
            got = cached_sha256(tmp)
            if got != sha256:
                raise TransferError(
                    f"{where}: the image's sha256 is {got[:16]}..., expected {sha256[:16]}...",
                    {"check": "digest", "expected": sha256, "found": got},
                )
            checks = tuple(c.to_dict() for c in proofs.check(tmp, proof, where))
            verdict = gate(steps, tmp, where)
            if before_publish is not None:  # every check passed: e.g. add artifacts
                before_publish()
            version = store.new_version()
            final = store.path_of(version)
            record = {
                **origin,
                "arrived_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "proof": list(checks),
            }
            meta = VersionMeta(
                image_name=name,
                version=version,
                sha256=sha256,
                extra={"origin": record},
            )
            sidecars = {}
            lock_text = _lock_sidecar(
                tmp, sha256, proof, gated=verdict is not None, authenticated=lock_authenticated
            )
            if lock_text is not None:
                sidecars[LOCK_SUFFIX] = lock_text
            record["lock"] = (
                "travelled"
                if lock_text is not None
                and proofs.LOCK in proof
                and (verdict is None or lock_authenticated)
                else ("embedded" if lock_text else "none")
            )
            os.chmod(tmp, 0o644)
            store.publish(tmp, final, meta=meta, sidecars=sidecars)
    return Arrival(str(store.dir), version, str(final), sha256, False, record, checks, verdict)


def _lock_sidecar(
    sif: Path, sha256: str, proof: dict[str, bytes], *, gated: bool, authenticated: bool
) -> str | None:
    """The ``.lock`` sidecar an arriving version keeps.

    The travelling lock's versions were checked against the lock signed
    inside the SIF, but its other lines (``# artifact:`` hashes) are covered
    by no signature of the image.  So under a policy gate it is kept only
    when it was authenticated on the way; otherwise the version keeps the
    lock signed inside the image (rendered with its digest), or none.
    Without a policy the travelling lock is kept as the user sent it.
    """
    travelled = proof.get(proofs.LOCK)
    if travelled is not None and (not gated or authenticated):
        return travelled.decode("utf-8", "replace")
    from scitex_container.apptainer.lock.provenance import (
        LOCK_OBJECT,
        lock_sidecar_text,
        read_named_object,
    )

    inside = read_named_object(sif, LOCK_OBJECT)
    if inside is None:
        return None
    return lock_sidecar_text(inside.decode("utf-8", "replace"), sha256, f"{sif}#{LOCK_OBJECT}")
