"""Pull a version from an OCI registry, checked on arrival.

The reference (a tag or a digest) is resolved to the SIF's manifest digest
first; the SIF layer that manifest names is then streamed into the store's
scratch and hashed as it is written (a tag moved meanwhile cannot swap the
content; no cache copy is left beside it).  The proof artifact (see
:mod:`.push`) is found by the referrers tag of that digest; it must name
the same subject.  Then
:func:`.arrival.arrive` checks the SIF's sha256, the proof and the site
policy before anything becomes a version, and records
``origin = {registry reference, manifest digest, ...}`` in the version's
metadata.  The same digest pulled twice is a no-op.
"""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.apptainer.store.metadata import remember_digest
from scitex_container.apptainer.transfer import proof as proofs
from scitex_container.apptainer.transfer.arrival import Arrival, arrive, target_store
from scitex_container.apptainer.transfer.oci_client import Manifest, OciClient
from scitex_container.apptainer.transfer.oci_ref import OciRef, parse_ref
from scitex_container.apptainer.transfer.push import PROOF_TYPE, SIF_LAYER, referrers_tag
from scitex_container.errors import TransferError
from scitex_container.process import runner

#: Policy steps an image pulled into a store passes: arriving, and becoming active.
STEPS = ("pull", "switch")


def _sif_layer(ref: OciRef, manifest: Manifest) -> tuple[str, int]:
    layers = [
        layer
        for layer in manifest.json().get("layers") or []
        if isinstance(layer, dict) and layer.get("mediaType") == SIF_LAYER
    ]
    if len(layers) != 1:
        raise TransferError(
            f"{ref}: not a SIF image (its manifest has {len(layers)} SIF layers)",
            {"reference": str(ref), "manifest": manifest.digest},
        )
    digest, size = layers[0].get("digest"), layers[0].get("size")
    if not (isinstance(digest, str) and digest.startswith("sha256:") and isinstance(size, int)):
        raise TransferError(f"{ref}: the SIF layer's descriptor is malformed")
    return digest, size


def _proof(client: OciClient, ref: OciRef, subject: str) -> dict[str, bytes]:
    """The proof attached to the manifest ``subject`` (empty when none was pushed)."""
    tag = referrers_tag(subject)
    if client.manifest_digest(tag) is None:
        return {}
    manifest = client.manifest(tag).json()
    named = (manifest.get("subject") or {}).get("digest")
    if manifest.get("artifactType") != PROOF_TYPE or named != subject:
        raise TransferError(
            f"{ref}: the proof tagged {tag} is for {named}, not for {subject}",
            {"reference": str(ref), "check": "proof:subject"},
        )
    roles = {title: role for role, (title, _) in proofs.FILES.items()}
    found: dict[str, bytes] = {}
    for layer in manifest.get("layers") or []:
        title = ((layer or {}).get("annotations") or {}).get("org.opencontainers.image.title")
        role = roles.get(title) if isinstance(title, str) else None
        if role is None or role in found:
            raise TransferError(
                f"{ref}: unexpected member {title!r} in the proof",
                {"reference": str(ref), "member": title},
            )
        size = layer.get("size")
        if not isinstance(size, int) or size > proofs.MAX_BYTES:
            raise TransferError(f"{ref}: proof member {title!r} is too large or has no size")
        found[role] = client.blob(str(layer.get("digest")), size)
    return found


def pull_image(
    source: str | OciRef,
    output_dir: str | os.PathLike,
    *,
    name: str | None = None,
    plain_http: bool = False,
) -> Arrival:
    """Pull ``source`` into ``output_dir/<name>/`` as a new active version (see the module)."""
    ref = source if isinstance(source, OciRef) else parse_ref(source, "SOURCE")
    name = name or ref.repository.rsplit("/", 1)[-1]
    store = target_store(output_dir, name)
    client = OciClient(ref, plain_http)
    manifest = client.manifest()
    layer_digest, size = _sif_layer(ref, manifest)
    proof = _proof(client, ref, manifest.digest)
    pinned = ref.at(manifest.digest)
    origin = {
        "kind": "registry",
        "reference": str(ref),
        "manifest_digest": manifest.digest,
        "pinned": str(pinned),
    }

    def fetch(path: Path) -> None:
        if runner.is_dry_run():  # the download is ours, in-process: no command to list
            return
        client.download_blob(layer_digest, size, path)
        remember_digest(path, layer_digest.split(":", 1)[1])  # hashed while written

    return arrive(
        store,
        name,
        layer_digest.split(":", 1)[1],
        fetch,
        proof,
        origin,
        steps=STEPS,
        where=str(ref),
    )
