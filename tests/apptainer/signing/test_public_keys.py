"""Public keys read without cryptography (signing/spki.py): same answers, same refusals.

The fast reader must give exactly cryptography's fingerprint and kind for the
keys it accepts, hand every other form to cryptography, and every bad --key
must stay exit 2 naming the file, before apptainer runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from scitex_container.apptainer.signing.keys import (
    _load_public_key_strictly,
    load_public_key,
    new_keypair,
)
from scitex_container.apptainer.signing.spki import read_public_pem
from scitex_container.cli.main import main

MAKERS = {
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "rsa2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "rsa3072": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
}


def _pem(der: bytes, label: str = "PUBLIC KEY") -> bytes:
    body = base64.encodebytes(der)
    return f"-----BEGIN {label}-----\n".encode() + body + f"-----END {label}-----\n".encode()


def _write(tmp_path: Path, data: bytes, name: str = "k.pub") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_fast_reading_equals_cryptography(kind, tmp_path):
    public = MAKERS[kind]().public_key()
    pem = public.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
    der = public.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    found = read_public_pem(pem)
    assert found is not None and found[0] == der
    path = _write(tmp_path, pem)
    assert load_public_key(path) == _load_public_key_strictly(path, pem)
    assert found[1] == _load_public_key_strictly(path, pem).kind


def test_fingerprint_is_what_openssl_prints(tmp_path):
    pair = new_keypair(tmp_path)
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(pair.public), "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    assert load_public_key(pair.public).fingerprint == "sha256:" + hashlib.sha256(der).hexdigest()


def _compressed_p256(tmp_path: Path) -> tuple[bytes, bytes]:
    """A valid SPKI with a compressed point (legal, not canonical), and the canonical DER."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(ser.Encoding.X962, ser.PublicFormat.CompressedPoint)
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
    bits = b"\x03" + bytes([len(point) + 1]) + b"\x00" + point
    body = algorithm + bits
    der = b"\x30" + bytes([len(body)]) + body
    return der, public.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)


def test_other_valid_forms_go_to_cryptography(tmp_path):
    compressed, canonical = _compressed_p256(tmp_path)
    assert read_public_pem(_pem(compressed)) is None  # not canonical: not read here
    key = load_public_key(_write(tmp_path, _pem(compressed)))
    assert key.fingerprint == "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert key.kind == "ecdsa-secp256r1"
    # Text around the block, or a long-form length where a short one fits: cryptography's.
    pem = _pem(canonical)
    assert read_public_pem(b"a comment\n" + pem) is None
    long_form = b"\x30\x81" + canonical[1:]
    assert read_public_pem(_pem(long_form)) is None


BAD = {
    "empty": b"",
    "garbage": b"\x00\x01not a key at all\xff",
    "private": None,  # filled in by the test (a real PKCS#8 private key)
    "certificate": _pem(b"\x30\x03\x02\x01\x01", "CERTIFICATE"),
    "pgp": b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF\n-----END PGP PUBLIC KEY BLOCK-----\n",
    "bad-base64": b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
    "truncated": None,  # a real public key cut short
    "wrong-algorithm": _pem(bytes.fromhex("300d06092a864886f70d0101050500")),
}


def _bad_data(name: str) -> bytes:
    data = BAD[name]
    if name == "private":
        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    if name == "truncated":
        public = ec.generate_private_key(ec.SECP256R1()).public_key()
        der = public.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
        return _pem(der[:-5])
    assert data is not None
    return data


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_key_is_refused_naming_the_file(name, tmp_path):
    from scitex_container.errors import BadInputError

    path = _write(tmp_path, _bad_data(name), f"{name}.pub")
    assert read_public_pem(path.read_bytes()) is None
    with pytest.raises(BadInputError) as exc:
        load_public_key(path)
    assert str(path) in str(exc.value)


# --- through the CLI, with the real apptainer behind a wrapper that logs its runs


@pytest.fixture
def logged_apptainer(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "apptainer.log"
    wrapper = tmp_path / "apptainer-logged"
    real = shutil.which("apptainer")
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("SCITEX_CONTAINER_CMD", str(wrapper))
    return log


def _verify(capsys, image: Path, key: Path) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["--json", "verify", str(image), "--key", str(key)])
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.mark.apptainer
@pytest.mark.parametrize("name", ["empty", "garbage", "private", "certificate", "truncated"])
def test_cli_bad_key_exits_2_before_apptainer_runs(
    name, signed_busybox, tmp_path, capsys, logged_apptainer
):
    key = _write(tmp_path, _bad_data(name), f"{name}.pub")
    code, out, err = _verify(capsys, signed_busybox[0], key)
    assert code == 2
    assert str(key) in err and str(key) in json.loads(out)["error"]
    assert not logged_apptainer.exists()  # nothing ran


@pytest.mark.apptainer
def test_cli_key_off_its_curve_is_bad_input(signed_busybox, tmp_path, capsys, logged_apptainer):
    """Well-formed, so read without cryptography; apptainer refuses it; still exit 2."""
    der = bytearray(
        base64.b64decode(b"".join(signed_busybox[1].public.read_bytes().splitlines()[1:-1]))
    )
    der[-1] ^= 1  # the point leaves the curve
    key = _write(tmp_path, _pem(bytes(der)), "offcurve.pub")
    assert read_public_pem(key.read_bytes()) is not None
    code, out, err = _verify(capsys, signed_busybox[0], key)
    assert code == 2 and str(key) in err and "not a PEM public key" in err
    assert json.loads(out)["exit_code"] == 2
    assert logged_apptainer.read_text().count("verify") == 1


@pytest.mark.apptainer
def test_cli_good_and_other_key_with_real_apptainer(
    signed_busybox, tmp_path, capsys, logged_apptainer
):
    image, pair = signed_busybox
    code, out, _ = _verify(capsys, image, pair.public)
    sig = json.loads(out)["signature"]
    assert code == 0 and sig["ok"] and sig["signer"] == pair.fingerprint
    other = new_keypair(tmp_path / "other", kind="ed25519")
    code, out, _ = _verify(capsys, image, other.public)
    sig = json.loads(out)["signature"]
    assert code == 1 and sig["failed_check"] == "signature:key"
    assert logged_apptainer.read_text().count("verify") == 2
    assert os.environ["SCITEX_CONTAINER_CMD"].endswith("apptainer-logged")
