"""An image's proof: its lock, in-toto statement and SBOM, and how each is checked.

What travels beside a SIF is what a site checks before it trusts it: the
lock (what is installed; the store's ``.lock`` sidecar, with the image's
digest and any ``# artifact:`` lines, else the lock embedded in the SIF),
the in-toto statement (how it was built) and the CycloneDX SBOM, each when
the image has it.  On arrival every file is checked against the signed copy
inside the SIF when there is one: the statement and SBOM byte for byte, the
lock by its package versions (the sidecar adds comment lines).  A file with
no signed copy to compare with is reported as such (``unsigned``), never as
checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.lock.provenance import (
    LOCK_OBJECT,
    SBOM_OBJECT,
    STATEMENT_OBJECT,
    read_named_object,
)
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX, sidecar
from scitex_container.errors import BadInputError, TransferError
from scitex_container.result import Result

LOCK = "lock"
STATEMENT = "statement"
SBOM = "sbom"

#: role -> (file name in a bundle / title in a registry, media type)
FILES: dict[str, tuple[str, str]] = {
    LOCK: ("image.sif.lock", "application/vnd.scitex-container.lock.v1+text"),
    STATEMENT: ("statement.intoto.json", "application/vnd.in-toto+json"),
    SBOM: ("sbom.cdx.json", "application/vnd.cyclonedx+json"),
}
_OBJECTS = {LOCK: LOCK_OBJECT, STATEMENT: STATEMENT_OBJECT, SBOM: SBOM_OBJECT}
#: What a proof file may weigh (they are text; a larger one is refused).
MAX_BYTES = 32 << 20


@dataclass(frozen=True)
class ProofCheck(Result):
    role: str
    status: str  #: ``matches-signed-image`` or ``unsigned`` (nothing to compare with)
    sha256: str


def collect(sif: str | os.PathLike) -> dict[str, bytes]:
    """The proof files of ``sif``: role -> bytes (roles the image has none for are absent)."""
    sif = Path(sif)
    found: dict[str, bytes] = {}
    lock_file = sidecar(sif, LOCK_SUFFIX)
    if lock_file.is_file() and not lock_file.is_symlink():
        found[LOCK] = lock_file.read_bytes()
    for role, name in _OBJECTS.items():
        if role in found:
            continue
        data = read_named_object(sif, name)
        if data is not None:
            found[role] = data
    for role, data in found.items():
        if len(data) > MAX_BYTES:
            raise BadInputError(f"the {role} is larger than {MAX_BYTES} bytes", str(sif))
    return found


def _lock_versions(data: bytes, where: str) -> dict[str, str]:
    from scitex_container.apptainer.lock.lockfile import parse_lock

    return parse_lock(data.decode("utf-8", "replace"), where).version_set()


def check(sif: str | os.PathLike, proof: dict[str, bytes], where: str) -> list[ProofCheck]:
    """Check each proof file against the signed copy in ``sif``; raise on a mismatch.

    ``where`` names the proof's origin (a reference, a bundle) in messages.
    """
    import hashlib

    out: list[ProofCheck] = []
    for role in sorted(proof):
        data = proof[role]
        digest = hashlib.sha256(data).hexdigest()
        inside = read_named_object(sif, _OBJECTS[role])
        if inside is None:
            out.append(ProofCheck(role, "unsigned", digest))
            continue
        if role == LOCK:
            same = _lock_versions(data, f"{where}#{role}") == _lock_versions(
                inside, f"{sif}#{LOCK_OBJECT}"
            )
        else:
            same = data == inside
        if not same:
            raise TransferError(
                f"{where}: the {role} does not match the one signed inside the image",
                {"member": FILES[role][0], "check": f"proof:{role}"},
            )
        out.append(ProofCheck(role, "matches-signed-image", digest))
    return out
