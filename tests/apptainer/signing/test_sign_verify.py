"""Signing and verifying with the real apptainer: sign, verify, tamper, re-sign, strip."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from images import busybox_sif
from storekit import flip_byte

from scitex_container.apptainer.sif.header import read_sif
from scitex_container.apptainer.signing.keys import load_public_key, new_keypair
from scitex_container.apptainer.signing.sign import sign_artifact
from scitex_container.apptainer.signing.signature_check import verify_signature
from scitex_container.cli.main import main

pytestmark = pytest.mark.apptainer


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    return new_keypair(root / "a"), new_keypair(root / "b", kind="ed25519")


@pytest.fixture(scope="module")
def signed(tmp_path_factory, keys) -> Path:
    image = tmp_path_factory.mktemp("img") / "signed.sif"
    shutil.copy(busybox_sif(), image)
    sign_artifact(image, keys[0].private)
    return image


def _copy(src: Path, tmp_path: Path, name: str = "t.sif") -> Path:
    out = tmp_path / name
    shutil.copy(src, out)
    return out


def _run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    _run.err = captured.err  # type: ignore[attr-defined]
    return exc.value.code, captured.out


def test_key_new_refuses_to_overwrite(tmp_path, capsys):
    code, _ = _run(capsys, "key", "new", str(tmp_path / "k"))
    assert code == 0
    assert (tmp_path / "k" / "scitex-signing.key").stat().st_mode & 0o777 == 0o600
    before = (tmp_path / "k" / "scitex-signing.key").read_bytes()
    code, _ = _run(capsys, "key", "new", str(tmp_path / "k"))
    assert code == 2
    assert (tmp_path / "k" / "scitex-signing.key").read_bytes() == before


def test_signed_image_verifies_and_reports_signer(signed, keys, capsys):
    code, out = _run(capsys, "--json", "verify", str(signed), "--key", str(keys[0].public))
    assert code == 0
    sig = json.loads(out)["signature"]
    assert sig["ok"] and sig["signer"] == keys[0].fingerprint
    assert sig["builder"].startswith("pkg:pypi/scitex-container@")
    # every object, the statement included, is in the signed group
    assert all(o.group == 1 for o in read_sif(signed).objects if o.datatype != 0x4005)
    assert (
        subprocess.run(
            ["apptainer", "verify", "--all", "--key", str(keys[0].public), str(signed)]
        ).returncode
        == 0
    )


def test_other_key_fails(signed, keys):
    verdict = verify_signature(signed, [load_public_key(keys[1].public)])
    assert not verdict.ok and verdict.failed_check == "signature:key"


@pytest.mark.parametrize(
    ("where", "check"),
    [
        ("squashfs", "signature:object"),
        ("statement", "signature:object"),
        ("header", "signature:header"),
    ],
)
def test_tampering_fails(signed, keys, tmp_path, where, check, capsys):
    image = _copy(signed, tmp_path)
    info = read_sif(image)
    if where == "squashfs":
        part = info.primary_partition()
        offset = part.offset + part.size // 2
    elif where == "statement":
        obj = info.named("scitex-container.intoto.json")[0]
        offset = obj.offset + 10
    else:
        offset = 50  # inside the image UUID
    flip_byte(image, offset)
    code, out = _run(capsys, "--json", "verify", str(image), "--key", str(keys[0].public))
    assert code == 1
    assert json.loads(out)["signature"]["failed_check"].startswith(check)


def test_resigned_with_another_key_fails(signed, keys, tmp_path):
    image = _copy(signed, tmp_path)
    subprocess.run(["apptainer", "sign", "--key", str(keys[1].private), str(image)], check=True)
    verdict = verify_signature(image, [load_public_key(keys[0].public)])
    assert verdict.failed_check == "signature:key"


def test_stripped_signature_fails(signed, keys, tmp_path):
    image = _copy(signed, tmp_path)
    sig = next(o for o in read_sif(image).objects if o.datatype == 0x4005)
    subprocess.run(["apptainer", "sif", "del", str(sig.id), str(image)], check=True)
    verdict = verify_signature(image, [load_public_key(keys[0].public)])
    assert verdict.failed_check == "signature:missing"


def test_statement_from_another_image_fails(signed, keys, tmp_path):
    """A statement copied from another image, then signed: the subject check catches it."""
    other = tmp_path / "other.sif"
    shutil.copy(busybox_sif(), other)
    from scitex_container.apptainer.lock.provenance import embed_object, read_named_object

    statement = json.loads(read_named_object(signed, "scitex-container.intoto.json"))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    embed_object(other, "scitex-container.intoto.json", json.dumps(statement).encode())
    sign_artifact(other, keys[0].private)  # keeps the (foreign) statement
    verdict = verify_signature(other, [load_public_key(keys[0].public)])
    assert verdict.failed_check == "subject"


def test_keyring_and_bad_keys(signed, keys, tmp_path, capsys):
    ring = tmp_path / "ring"
    ring.mkdir()
    shutil.copy(keys[1].public, ring / "b.pub")
    shutil.copy(keys[0].public, ring / "a.pub")
    code, _ = _run(capsys, "verify", str(signed), "--keyring", str(ring))
    assert code == 0
    code, _ = _run(capsys, "verify", str(signed), "--key", str(tmp_path / "missing.pub"))
    assert code == 2 and "missing.pub" in _run.err  # type: ignore[attr-defined]
    code, _ = _run(capsys, "sign", str(_copy(signed, tmp_path)), "--key", str(keys[0].public))
    assert code == 2
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec

    enc = tmp_path / "enc.key"
    enc.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.BestAvailableEncryption(b"pw")
        )
    )
    image = _copy(signed, tmp_path, "u.sif")
    before = image.read_bytes()
    code, _ = _run(capsys, "sign", str(image), "--key", str(enc))
    assert code == 2
    assert "enc.key" in _run.err and "password" in _run.err  # type: ignore[attr-defined]
    assert image.read_bytes() == before
