"""Signing an image by path: a plain SIF, or a published store version.

A copy is signed and renamed over the image only once everything
succeeded (:func:`.rewrite.rewrite_sif`); a store version's recorded
digest is re-recorded first (the previous one kept in its history), under
its store's lock, so ``verify`` sees the signature as a recorded step,
never as tampering, and a failure (a full disk) changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.signing.keys import load_private_key
from scitex_container.apptainer.signing.record import signed_fields
from scitex_container.apptainer.signing.rewrite import rewrite_sif
from scitex_container.apptainer.signing.sign import Signed, require_sif, sign_artifact
from scitex_container.apptainer.store.guard import check_store_of
from scitex_container.files.ownership import follow_trusted
from scitex_container.result import Result


@dataclass(frozen=True)
class SignResult(Result):
    """What :func:`sign_image` did."""

    path: Path
    signer: str  #: fingerprint of the signing key
    statement_sha256: str
    replaced_signatures_count: int
    previous_sha256: str | None
    sha256: str | None
    recorded: bool  #: a store version's digest was re-recorded


def sign_image(
    image: str | os.PathLike,
    key: str | os.PathLike,
    *,
    before: Callable[[Path, str], None] | None = None,
    reason: str | None = None,
) -> SignResult:
    """Sign ``image`` (a SIF, or a store's active link / version) with ``key``.

    A store version (a ``.meta.json`` beside it) is signed under its
    store's lock and its digest re-recorded with the previous one kept in
    its history, so ``verify`` sees the signature as a recorded step.
    ``before`` (see :func:`.sign.sign_artifact`) changes the image under
    the same lock, before it is signed; ``reason`` goes to the history.
    """
    path = Path(image)
    require_sif(path)
    real = follow_trusted(path)  # never another user's link out of its folder
    if real.parent != Path(os.path.abspath(path)).parent:
        check_store_of(Path(os.path.abspath(path)))  # the store named: no planted link in it
    load_private_key(key)

    def record(done: Signed, previous: str) -> tuple[str, dict]:
        fields = signed_fields(done.signer, done.statement_sha256, done.layout_sha256)
        return reason or f"signed by {done.signer}", fields

    # A copy is signed; a store version's digest is recorded before it is renamed in.
    out = rewrite_sif(real, lambda copy: sign_artifact(copy, key, before=before), record)
    done = out.value
    return SignResult(
        Path(os.path.abspath(path)),  # absolute, as every command's `path`
        done.signer,
        done.statement_sha256,
        done.replaced,
        out.previous_sha256,
        out.sha256,
        out.recorded,
    )
