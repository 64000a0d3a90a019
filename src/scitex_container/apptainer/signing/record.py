"""The one place signing touches a version's metadata.

Signing appends signature objects, so a published version's bytes change.
:func:`record_resign` makes that an explicit, recorded step: the new digest
becomes the recorded one and the previous digest is kept in
``digest_history`` with when and by whom it was replaced, so ``verify``
never reports the tool's own signature as tampering.  :func:`signed_fields`
is what a build that signs records from the start.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def signed_fields(
    signer: str, statement_sha256: str, layout_sha256: str | None = None
) -> dict[str, Any]:
    """The ``signature`` metadata field of a signed version.

    ``layout_sha256`` (the digest of the bytes the signature does not cover,
    :func:`..sif.layout.layout_sha256`) lets ``verify --key`` skip hashing
    the whole file (:mod:`..lock.integrity`).
    """
    field = {"signer": signer, "statement_sha256": statement_sha256, "at": _now()}
    if layout_sha256:
        field["layout_sha256"] = layout_sha256
    return {"signature": field}


def record_resign(
    artifact: str | os.PathLike,
    *,
    previous_sha256: str,
    sha256: str,
    signer: str,
    statement_sha256: str,
    layout_sha256: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Re-record ``artifact``'s digest after signing; the caller holds the store lock."""
    from scitex_container.apptainer.store.metadata import rerecord_digest

    entry = {
        "sha256": previous_sha256,
        "replaced_at": _now(),
        "reason": reason or f"signed by {signer}",
    }
    fields = signed_fields(signer, statement_sha256, layout_sha256)
    return rerecord_digest(Path(artifact), sha256, entry, **fields).to_dict()
