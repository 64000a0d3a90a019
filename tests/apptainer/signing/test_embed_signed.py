"""`sbom --embed` on a signed image: refused (exit 2) unless `--key` re-signs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clirun import in_process_json
from images import busybox_sif

from scitex_container.apptainer.lock.provenance import SBOM_OBJECT, read_named_object
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.sign_path import sign_image
from scitex_container.apptainer.store import sidecars as layout
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.files.fsutil import sha256_file

pytestmark = pytest.mark.apptainer


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    return new_keypair(root / "a"), new_keypair(root / "b", kind="ed25519")


def _signed_version(tmp_path: Path, key: Path) -> Path:
    """A store version (metadata beside it) signed by ``sign``, its digest recorded."""
    image = tmp_path / "store" / "app-v1.0.sif"
    image.parent.mkdir()
    shutil.copy(busybox_sif(), image)
    layout.sidecar(image, layout.META_SUFFIX).write_text("{}\n")
    sign_image(image, key)
    return image


def test_embedding_into_a_signed_image_is_refused(keys, tmp_path, capsys):
    image = tmp_path / "signed.sif"
    shutil.copy(busybox_sif(), image)
    sign_image(image, keys[0].private)
    before = sha256_file(image)
    code, out = in_process_json(capsys, "sbom", str(image), "--embed")
    assert code == 2
    assert str(image) in out["error"] and "--key" in out["error"]
    assert sha256_file(image) == before  # nothing changed
    code, out = in_process_json(capsys, "verify", str(image), "--key", str(keys[0].public))
    assert code == 0 and out["signature"]["ok"]


def test_key_without_embed_is_bad_usage(keys, tmp_path, capsys):
    image = tmp_path / "plain.sif"
    shutil.copy(busybox_sif(), image)
    code, out = in_process_json(capsys, "sbom", str(image), "--key", str(keys[0].private))
    assert code == 2 and "--embed" in out["error"]


def test_embed_with_key_resigns_and_records(keys, tmp_path, capsys):
    image = _signed_version(tmp_path, keys[0].private)
    recorded = load_metadata(image)["sha256"]
    code, out = in_process_json(
        capsys, "sbom", str(image), "--embed", "--key", str(keys[1].private)
    )
    assert code == 0, out
    assert out["embedded"] and out["signer"] == keys[1].fingerprint and out["recorded"]
    # the new signature covers the SBOM; the old key no longer verifies
    code, out = in_process_json(capsys, "verify", str(image), "--key", str(keys[1].public))
    assert code == 0, out
    assert out["signature"]["ok"] and not out["integrity"]["tampered"]
    code, out = in_process_json(
        capsys, "verify", str(image)
    )  # the recorded digest follows the change
    assert code == 0 and out["integrity"]["status"] == "pass"
    code, out = in_process_json(capsys, "verify", str(image), "--key", str(keys[0].public))
    assert code == 1 and out["signature"]["failed_check"] == "signature:key"
    meta = load_metadata(image)
    assert meta["digest_history"][-1]["sha256"] == recorded
    assert "sbom embedded" in meta["digest_history"][-1]["reason"]
    assert meta["signature"]["signer"] == keys[1].fingerprint
    sbom = json.loads(read_named_object(image, SBOM_OBJECT) or b"{}")
    props = {p["name"]: p["value"] for p in sbom["metadata"]["properties"]}
    assert props["scitex-container:signer"] == keys[1].fingerprint
    assert props["scitex-container:statement_sha256"] == meta["signature"]["statement_sha256"]


def test_embedding_twice_with_key_does_not_stack_signatures(keys, tmp_path, capsys):
    image = _signed_version(tmp_path, keys[0].private)
    for _ in range(2):
        code, _ = in_process_json(
            capsys, "sbom", str(image), "--embed", "--key", str(keys[0].private)
        )
        assert code == 0
    from scitex_container.apptainer.sif.header import read_sif

    objects = read_sif(image).objects
    assert sum(o.datatype == 0x4005 for o in objects) == 1
    assert len([o for o in objects if o.name == SBOM_OBJECT]) == 1
    code, out = in_process_json(capsys, "verify", str(image), "--key", str(keys[0].public))
    assert code == 0, out
