"""What an image says about its own signature, read without a key (for sbom and snapshot).

The signer (``sha256:<hex>`` of the key's DER, as ``key new`` and
``verify`` print it) comes from the version's metadata (the ``signature``
field ``sign`` / ``build --sign`` record), and only when its statement
digest matches the statement in the SIF.  ``keyid`` is what the signature
object itself names: apptainer's DSSE envelope carries the key's SSH-style
fingerprint (``SHA256:<base64>``, as ``ssh-keygen -l`` prints it), so a
SIF without metadata still says which key signed it.  Nothing
here is verified: this is a claim, reported as ``verified: false``; use
``verify --key`` (or a site policy) to check it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from scitex_container.apptainer.lock.provenance import STATEMENT_OBJECT
from scitex_container.apptainer.sif.header import SifObject, is_sif, read_object, read_sif

SIGNATURE = 0x4005


def _keyid(path: Path, sig: SifObject) -> str | None:
    try:
        envelope = json.loads(read_object(path, sig))
        keyid = envelope["signatures"][0].get("keyid")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return keyid if isinstance(keyid, str) and keyid else None


def signature_claim(image: str | os.PathLike) -> dict[str, Any] | None:
    """``{"signed", "signer", "keyid", "statement_sha256", "signatures", "verified"}``.

    None if not a SIF.  ``signer`` is the recorded key fingerprint or None
    when unknown; ``keyid`` the newest signature's own key id, or None.
    """
    from scitex_container.apptainer.store.metadata import load_metadata

    path = Path(os.path.realpath(image))
    if path.is_dir() or not is_sif(path):
        return None
    info = read_sif(path)
    sigs = [o for o in info.objects if o.datatype == SIGNATURE]
    signatures = len(sigs)
    found = info.named(STATEMENT_OBJECT)
    statement = None
    if found:
        statement = hashlib.sha256(read_object(path, max(found, key=lambda o: o.id))).hexdigest()
    recorded = load_metadata(path).get("signature")
    if not isinstance(recorded, dict):
        recorded = {}
    consistent = recorded.get("statement_sha256") == statement
    signer = recorded.get("signer") if signatures and statement and consistent else None
    return {
        "signed": signatures > 0,
        "signer": signer if isinstance(signer, str) else None,
        "keyid": _keyid(path, max(sigs, key=lambda o: o.id)) if sigs else None,
        "statement_sha256": statement,
        "signatures": signatures,
        "verified": False,
    }
