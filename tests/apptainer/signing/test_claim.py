"""`sbom` and `snapshot` report the signer and statement digest of a signed image."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from images import busybox_sif

from scitex_container.apptainer.signing.claim import signature_claim
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.sign_path import sign_image
from scitex_container.apptainer.store import sidecars as layout
from scitex_container.cli.main import main
from scitex_container.host.snapshot import env_snapshot, snapshot_schema

pytestmark = pytest.mark.apptainer


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A flat store whose active version 2.0 is signed (recorded) and 1.0 is not."""
    root = tmp_path_factory.mktemp("claim")
    pair = new_keypair(root / "keys")
    store = root / "store"
    store.mkdir()
    for version in ("1.0", "2.0"):
        image = store / f"scitex-v{version}.sif"
        shutil.copy(busybox_sif(), image)
        layout.sidecar(image, layout.META_SUFFIX).write_text("{}\n")
    signed = sign_image(store / "scitex-v2.0.sif", pair.private)
    os.symlink("scitex-v2.0.sif", store / "current.sif")
    return store, pair, signed


def _sbom(capsys, image: Path) -> dict:
    with pytest.raises(SystemExit) as exc:
        main(["sbom", str(image)])
    assert exc.value.code == 0
    return json.loads(capsys.readouterr().out)


def test_sbom_names_the_signer_and_statement(store, capsys):
    directory, pair, signed = store
    props = {
        p["name"]: p["value"]
        for p in _sbom(capsys, directory / "current.sif")["metadata"].get("properties", [])
    }
    assert props["scitex-container:signer"] == pair.fingerprint
    assert props["scitex-container:statement_sha256"] == signed.statement_sha256
    unsigned = _sbom(capsys, directory / "scitex-v1.0.sif")["metadata"]
    assert not any(
        p["name"].startswith("scitex-container:") for p in unsigned.get("properties", [])
    )


def test_snapshot_records_the_active_signer(store):
    directory, pair, signed = store
    snap = env_snapshot(directory)
    jsonschema.validate(snap, snapshot_schema())
    assert snap["container"]["image_signer"] == pair.fingerprint
    claim = snap["container"]["images"][0]["signature"]
    assert claim["signed"] and claim["statement_sha256"] == signed.statement_sha256
    assert claim["verified"] is False


def test_a_signer_recorded_for_another_statement_is_not_claimed(store, tmp_path):
    directory, _, _ = store
    image = tmp_path / "copy.sif"
    shutil.copy(directory / "scitex-v2.0.sif", image)
    meta = {"signature": {"signer": "sha256:" + "0" * 64, "statement_sha256": "f" * 64}}
    layout.sidecar(image, layout.META_SUFFIX).write_text(json.dumps(meta))
    claim = signature_claim(image)
    assert claim is not None and claim["signed"] and claim["signer"] is None
    assert signature_claim(directory / "scitex-v1.0.sif")["signed"] is False


def _ssh_keyid(public: Path) -> str:
    """``SHA256:<base64>`` of the key's SSH wire form (what `ssh-keygen -l` prints)."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization as ser

    key = ser.load_pem_public_key(public.read_bytes())
    wire = base64.b64decode(
        key.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).split()[1]
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(wire).digest()).decode().rstrip("=")


def test_an_image_signed_by_hand_still_names_its_key(store, tmp_path, capsys):
    """Signed with plain `apptainer sign` (no signer recorded): the signature's own key id
    goes to the sbom and the snapshot."""
    _, pair, _ = store
    project = tmp_path / "hand"
    project.mkdir()
    image = project / "scitex-v1.0.sif"
    shutil.copy(busybox_sif(), image)
    layout.sidecar(image, layout.META_SUFFIX).write_text("{}\n")
    subprocess.run(["apptainer", "sign", "--key", str(pair.private), str(image)], check=True)
    claim = signature_claim(image)
    assert claim is not None and claim["signed"] and claim["signer"] is None
    assert claim["keyid"] == _ssh_keyid(pair.public)
    props = {p["name"]: p["value"] for p in _sbom(capsys, image)["metadata"]["properties"]}
    assert props["scitex-container:signature_keyid"] == claim["keyid"]
    assert props["scitex-container:signer"] == "unknown"
    os.symlink(image.name, project / "current.sif")
    snap = env_snapshot(project)
    jsonschema.validate(snap, snapshot_schema())
    assert snap["container"]["image_signer"] == claim["keyid"]
