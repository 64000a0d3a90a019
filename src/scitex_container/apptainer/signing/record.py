"""What signing records in a version's metadata.

Signing appends signature objects, so a published version's bytes change.
:func:`.rewrite.rewrite_sif` makes that an explicit, recorded step: the new
digest becomes the recorded one and the previous digest is kept in
``digest_history`` with when and by whom it was replaced, so ``verify``
never reports the tool's own signature as tampering.  :func:`signed_fields`
is what a build that signs records from the start.
"""

from __future__ import annotations

from datetime import datetime, timezone
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
