"""Push a version to an OCI registry with its proof attached.

The SIF goes by ``apptainer push`` (so any apptainer can ``pull`` it; its
signature and embedded objects are inside it).  Then the proof (lock,
statement, SBOM) goes as an OCI artifact of type :data:`PROOF_TYPE` whose
``subject`` is the SIF's manifest, tagged ``sha256-<hex of that manifest>``
(the OCI 1.1 referrers tag scheme, which registries without the referrers
API serve): a client finds the proof of an image from its digest alone,
without the SIF.  The artifact is deterministic (no timestamps), so
pushing the same image twice writes the same manifest.

A store version whose recorded digest no longer matches is refused before
anything is sent.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer import tool
from scitex_container.apptainer.sif.magic import is_sif
from scitex_container.apptainer.store.link import empty_line
from scitex_container.apptainer.transfer import proof as proofs
from scitex_container.apptainer.transfer.oci_client import OCI_MANIFEST, OciClient, sha256_digest
from scitex_container.apptainer.transfer.oci_ref import OciRef, parse_ref
from scitex_container.errors import BadInputError, CheckFailedError, NotFoundError, StoreStateError
from scitex_container.files.pathinfo import broken_link
from scitex_container.process import runner
from scitex_container.result import Result

PROOF_TYPE = "application/vnd.scitex-container.proof.v1"
EMPTY_CONFIG = b"{}"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
SIF_LAYER = "application/vnd.sylabs.sif.layer.v1.sif"


@dataclass(frozen=True)
class PushResult(Result):
    reference: str
    image: str
    manifest_digest: str  #: the SIF's manifest: pull by ``oras://...@<this>``
    sif_sha256: str
    proof_digest: str | None  #: the proof artifact's manifest (None: the image has no proof)
    proof: tuple[str, ...]  #: roles attached: lock, statement, sbom


def source_sif(source: str | os.PathLike) -> Path:
    """The SIF a push or export sends: a SIF file, or a store's active version."""
    path = Path(source)
    if (broken := broken_link(path)) is not None or not os.path.lexists(path):
        raise broken or NotFoundError(f"`{path}` does not exist", str(path))
    if path.is_file() and not path.is_symlink() and is_sif(path):
        return path
    from scitex_container.apptainer.store.opening import open_store

    store = open_store(path)
    active = store.active_path()
    if active is None and (empty := empty_line(store.dir, store.scheme)) is not None:
        raise StoreStateError(empty)  # exit 2, the line every store command says
    if active is None:
        raise BadInputError(
            "not a SIF file, and no active version to send"
            + (f" ({problem})" if (problem := store.link_problem()) else ""),
            str(path),
        )
    if active.is_symlink():
        raise CheckFailedError(
            f"{active}: the version was replaced by a link (to {os.readlink(active)}); "
            "refusing to send what it points at"
        )
    if not (active.is_file() and is_sif(active)):
        raise BadInputError("the active version is not a SIF (a sandbox cannot travel)", str(path))
    return active


def check_recorded_digest(sif: Path) -> str:
    """The SIF's sha256; refuse a store version that no longer matches its recorded digest."""
    from scitex_container.apptainer.store.metadata import cached_sha256, read_metadata

    digest = cached_sha256(sif)
    meta = read_metadata(sif)
    if meta is not None and meta.sha256 and meta.sha256 != digest:
        raise CheckFailedError(
            f"{sif}: tampered: sha256 {digest[:16]}... differs from the digest recorded at "
            f"publish {meta.sha256[:16]}...; refusing to send it"
        )
    return digest


def proof_manifest(subject: dict, blobs: list[dict], sif_sha256: str) -> bytes:
    """The proof artifact's manifest (deterministic JSON)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": PROOF_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": sha256_digest(EMPTY_CONFIG), "size": 2},
        "layers": blobs,
        "subject": subject,
        "annotations": {"dev.scitex-container.sif.sha256": sif_sha256},
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def referrers_tag(digest: str) -> str:
    """The tag the OCI 1.1 referrers fallback gives the artifacts of ``digest``."""
    return digest.replace(":", "-")


def push_image(
    source: str | os.PathLike, target: str | OciRef, *, plain_http: bool = False
) -> PushResult:
    """Push ``source`` (a SIF, or a store's active version) to ``target`` with its proof."""
    ref = target if isinstance(target, OciRef) else parse_ref(target, "TARGET")
    if ref.digest:
        raise BadInputError("push to a tag, not a digest (the registry computes it)", "TARGET")
    sif = source_sif(source)
    sif_sha256 = check_recorded_digest(sif)
    found = proofs.collect(sif)
    argv = [tool.detect_container_cmd(), "push"]
    if ref.plain_http(plain_http):
        argv.append("--no-https")
    runner.run([*argv, sif, str(ref)], timeout=6 * 3600)
    if runner.is_dry_run():
        return PushResult(str(ref), str(sif), "", sif_sha256, None, tuple(sorted(found)))
    client = OciClient(ref, plain_http)
    manifest = client.manifest(ref.tag)
    layers = manifest.json().get("layers") or []
    if not any(
        isinstance(layer, dict) and layer.get("digest") == f"sha256:{sif_sha256}"
        for layer in layers
    ):
        raise CheckFailedError(
            f"{ref}: the registry's manifest does not name the SIF that was sent "
            f"(sha256:{sif_sha256[:16]}...); another push may have moved the tag"
        )
    proof_digest = None
    if found:
        blobs = []
        for role in sorted(found):
            title, media_type = proofs.FILES[role]
            descriptor = client.put_blob(found[role], media_type)
            descriptor["annotations"] = {"org.opencontainers.image.title": title}
            blobs.append(descriptor)
        client.put_blob(EMPTY_CONFIG, EMPTY_TYPE)
        subject = {
            "mediaType": manifest.media_type or OCI_MANIFEST,
            "digest": manifest.digest,
            "size": len(manifest.body),
        }
        body = proof_manifest(subject, blobs, sif_sha256)
        proof_digest = client.put_manifest(referrers_tag(manifest.digest), body)
    return PushResult(
        str(ref), str(sif), manifest.digest, sif_sha256, proof_digest, tuple(sorted(found))
    )
