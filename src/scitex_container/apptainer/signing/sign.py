"""Signing a SIF with ``apptainer sign --key``: every object, the build statement included.

:func:`sign_artifact` signs a file in place and knows nothing of stores:
``build --sign`` calls it on the temporary artifact before the version is
renamed into place.  :func:`.sign_path.sign_image` is the command: it signs
a copy, re-records a store version's digest under the store lock (the
previous one kept) and renames the copy in (:func:`.rewrite.rewrite_sif`).

Steps: the key is loaded first (bad keys fail before anything changes);
existing signature objects are removed (a new signature replaces them: an
image signed by two keys verifies with neither); the statement is embedded
if the image has none; our objects are moved into object group 1; an
object of someone else outside every group stops the signing (it would
stay unsigned); then ``apptainer sign --key`` signs group 1.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from scitex_container.apptainer import tool
from scitex_container.apptainer.lock.provenance import (
    KNOWN_OBJECTS,
    STATEMENT_OBJECT,
    read_named_object,
    replace_objects,
)
from scitex_container.apptainer.sif.header import is_sif, read_object, read_sif
from scitex_container.apptainer.sif.layout import layout_sha256
from scitex_container.apptainer.sif.magic import STORE_GIVEN, holds_sifs
from scitex_container.apptainer.sif.writer import delete_objects
from scitex_container.apptainer.signing.keys import apptainer_private_key, load_private_key
from scitex_container.apptainer.signing.statement import make_statement, render
from scitex_container.errors import BadInputError
from scitex_container.files.pathinfo import from_oserror, not_found
from scitex_container.process import runner

SIGNATURE = 0x4005
GROUP = 1


def require_sif(path: Path) -> None:
    """Refuse anything but an existing SIF file (exit 2 naming it)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        raise not_found(path, "the image does not exist") from None
    except OSError as exc:  # a link loop, a path through a file, a closed directory
        raise from_oserror(exc, path) from None
    if path.is_dir():
        if holds_sifs(path):
            raise BadInputError(STORE_GIVEN, str(path))
        raise BadInputError("a sandbox directory cannot be signed; sign a SIF", str(path))
    if not is_sif(path):
        raise BadInputError("not a SIF image (no SIF_MAGIC header)", str(path))


def embed_statement(
    sif: str | os.PathLike,
    *,
    name: str,
    record: dict[str, Any],
    live_base: Path | None = None,
    subject_sha256: str | None = None,
) -> str:
    """Write the in-toto statement into ``sif``; returns its sha256."""
    statement = make_statement(
        sif, name=name, record=record, live_base=live_base, subject_sha256=subject_sha256
    )
    data = render(statement)
    replace_objects(sif, {STATEMENT_OBJECT: (data, KNOWN_OBJECTS[STATEMENT_OBJECT])}, signing=True)
    return hashlib.sha256(data).hexdigest()


def _regroup(sif: Path) -> None:
    """Move our ungrouped objects into group 1; refuse foreign ungrouped ones."""
    info = read_sif(sif)
    loose = [o for o in info.objects if o.group != GROUP and o.datatype != SIGNATURE]
    foreign = [o for o in loose if o.name not in KNOWN_OBJECTS]
    if foreign:
        obj = foreign[0]
        raise BadInputError(
            f"object {obj.id} ({obj.kind} {obj.name!r}) is in no object group; "
            "it would stay unsigned (remove it with `apptainer sif del`)",
            str(sif),
        )
    if loose:
        again = {o.name: (read_object(sif, o), KNOWN_OBJECTS[o.name]) for o in loose}
        replace_objects(sif, again, signing=True)


class Signed(NamedTuple):
    """What :func:`sign_artifact` did."""

    signer: str  #: fingerprint of the signing key
    statement_sha256: str
    replaced: int  #: signatures removed first
    layout_sha256: str | None  #: of the bytes the signature does not cover (..sif.layout)


def sign_artifact(
    sif: str | os.PathLike,
    key: str | os.PathLike,
    *,
    name: str | None = None,
    record: dict[str, Any] | None = None,
    live_base: Path | None = None,
    before: Callable[[Path, str], None] | None = None,
) -> Signed:
    """Sign ``sif`` in place.

    ``before(sif, statement_sha256)`` runs once the old signatures are gone
    and the statement is in, before the new signature is made: a step that
    adds objects to a signed image (``sbom --embed --key``) goes there, so
    the new signature covers what it added.
    """
    from scitex_container.apptainer.store.metadata import load_metadata

    sif = Path(sif)
    require_sif(sif)
    loaded = load_private_key(key)  # a bad key fails before the image changes
    cmd = tool.detect_container_cmd()
    old = [o for o in read_sif(sif).objects if o.datatype == SIGNATURE]
    if old and not runner.is_dry_run():  # as `apptainer sif del` each (..sif.writer)
        delete_objects(sif, [o.id for o in old])
    statement = read_named_object(sif, STATEMENT_OBJECT)
    if statement is None:
        meta = record if record is not None else load_metadata(sif)
        digest = embed_statement(sif, name=name or sif.name, record=meta, live_base=live_base)
    else:
        digest = hashlib.sha256(statement).hexdigest()
    if before is not None:
        before(sif, digest)
    if not runner.is_dry_run():
        _regroup(sif)
    with apptainer_private_key(key, loaded) as (keyfile, fingerprint, fds):
        argv = [cmd, "sign", "--key", os.fspath(keyfile), os.fspath(sif)]
        runner.run(argv, timeout=3600, pass_fds=fds)
    layout = None if runner.is_dry_run() else layout_sha256(sif)
    return Signed(fingerprint, digest, len(old), layout)
