"""Signing an image by path: a plain SIF, or a published store version.

A store version is signed under its store's lock and its recorded digest
is re-recorded (the previous one kept in its history), so ``verify`` sees
the signature as a recorded step, never as tampering.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.signing.keys import load_private_key
from scitex_container.apptainer.signing.record import record_resign
from scitex_container.apptainer.signing.sign import require_sif, sign_artifact
from scitex_container.apptainer.store.guard import check_store_of
from scitex_container.apptainer.store.metadata import load_metadata, metadata_path
from scitex_container.apptainer.store.opening import open_store
from scitex_container.files.fsutil import sha256_file
from scitex_container.files.ownership import follow_trusted
from scitex_container.process import runner
from scitex_container.result import Result


@dataclass(frozen=True)
class SignResult(Result):
    """What :func:`sign_image` did."""

    path: Path
    signer: str  #: fingerprint of the signing key
    statement_sha256: str
    replaced_signatures: int
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
    if not metadata_path(real).is_file():
        done = sign_artifact(real, key, before=before)
        after = None if runner.is_dry_run() else sha256_file(real)
        return SignResult(
            path, done.signer, done.statement_sha256, done.replaced, None, after, False
        )
    with open_store(real.parent).lock():
        previous = load_metadata(real).get("sha256") or sha256_file(real)
        done = sign_artifact(real, key, before=before)
        if runner.is_dry_run():
            return SignResult(
                path, done.signer, done.statement_sha256, done.replaced, previous, None, False
            )
        after = sha256_file(real)
        record_resign(
            real,
            previous_sha256=previous,
            sha256=after,
            signer=done.signer,
            statement_sha256=done.statement_sha256,
            layout_sha256=done.layout_sha256,
            reason=reason,
        )
    return SignResult(
        path, done.signer, done.statement_sha256, done.replaced, previous, after, True
    )
