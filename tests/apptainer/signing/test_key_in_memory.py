"""A decrypted private key never touches a file (apptainer reads it from a memory file).

``sign`` with a password-protected key is SIGKILLed at several moments
(while the key is decrypted, while apptainer signs, at random); afterwards
no file under /tmp, $TMPDIR or the image's directory holds the key's
unencrypted bytes.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec
from images import busybox_sif
from signals import default_signals
from storekit import python_env

from scitex_container import envvars
from scitex_container.apptainer.signing.sign import sign_artifact
from scitex_container.process import runner

pytestmark = pytest.mark.apptainer

PASSWORD = b"correct horse"


@pytest.fixture(scope="module")
def encrypted_key(tmp_path_factory) -> tuple[Path, Path, list[bytes]]:
    """(encrypted key file, public key file, byte strings only the plain key contains)."""
    root = tmp_path_factory.mktemp("enckey")
    key = ec.generate_private_key(ec.SECP256R1())
    enc = root / "enc.key"
    enc.write_bytes(
        key.private_bytes(
            ser.Encoding.PEM,
            ser.PrivateFormat.PKCS8,
            ser.BestAvailableEncryption(PASSWORD),
        )
    )
    pub = root / "enc.pub"
    pub.write_bytes(
        key.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
    )
    plain_pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    der = key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    secret = key.private_numbers().private_value.to_bytes(32, "big")
    body = plain_pem.splitlines()[1]  # a base64 line of the plain PEM
    return enc, pub, [body, der[-40:], secret]


def files_holding(
    roots: list[Path], needles: list[bytes], since: float, depth: int = 99
) -> list[str]:
    """Files under ``roots`` (``depth`` levels down) changed since ``since`` holding a needle."""
    hits = []
    for root in roots:
        top = len(root.parts)
        for dirpath, dirs, files in os.walk(root):
            if len(Path(dirpath).parts) - top >= depth:
                dirs[:] = []
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                    if not os.path.isfile(path) or st.st_mtime < since or st.st_size > 1 << 26:
                        continue
                    with open(path, "rb") as fh:
                        data = fh.read()
                except OSError:
                    continue
                if any(n in data for n in needles):
                    hits.append(path)
    return hits


def leaked(needles: list[bytes], since: float, *roots: Path) -> list[str]:
    """Key bytes in our own folders, or in /tmp's new top-level folders (where a
    temporary key directory would go)."""
    hits = files_holding(list(roots), needles, since)
    return hits + files_holding([Path("/tmp")], needles, since, depth=2)


def test_signing_with_an_encrypted_key_uses_no_file(
    encrypted_key, tmp_path: Path, monkeypatch
) -> None:
    enc, pub, needles = encrypted_key
    monkeypatch.setenv(envvars.KEY_PASSWORD, PASSWORD.decode())
    image = tmp_path / "img.sif"
    shutil.copy(busybox_sif(), image)
    since = time.time() - 1
    done = sign_artifact(image, enc)
    assert done.signer.startswith("sha256:")
    verified = runner.run(["apptainer", "verify", "--key", str(pub), str(image)], check=False)
    assert verified.returncode == 0, verified.stderr
    assert not leaked(needles, since, tmp_path)


#: Stands in front of the real apptainer: at ``sign`` it says so and waits for a
#: go-ahead, so the kill lands while the key is handed over, not by luck.
WRAPPER = """#!/bin/sh
if [ "$1" = sign ]; then
    : > "$SCITEX_TEST_READY"
    while [ ! -e "$SCITEX_TEST_GO" ]; do sleep 0.02; done
fi
exec apptainer "$@"
"""


@pytest.mark.parametrize("moment", ["handed-over", "signing", "loading"])
def test_sigkill_during_sign_leaves_no_key_bytes(
    encrypted_key, tmp_path: Path, moment: str
) -> None:
    enc, _pub, needles = encrypted_key
    image = tmp_path / "img.sif"
    shutil.copy(busybox_sif(), image)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    wrapper = tmp_path / "apptainer-wrapper"
    wrapper.write_text(WRAPPER)
    wrapper.chmod(0o755)
    ready, go = tmp_path / "ready", tmp_path / "go"
    env = {
        **python_env(),
        envvars.KEY_PASSWORD: PASSWORD.decode(),
        envvars.CONTAINER_CMD: str(wrapper),
        "TMPDIR": str(tmpdir),
        "SCITEX_TEST_READY": str(ready),
        "SCITEX_TEST_GO": str(go),
    }
    since = time.time() - 1
    argv = [sys.executable, "-m", "scitex_container", "sign", str(image), "--key", str(enc)]
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    if moment == "loading":
        time.sleep(random.uniform(0.05, 0.4))  # anywhere before apptainer starts
    else:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "apptainer sign never started"
            time.sleep(0.01)
        if moment == "signing":
            go.touch()
            time.sleep(random.uniform(0.0, 0.1))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    hits = leaked(needles, since, tmp_path)  # $TMPDIR is inside it
    assert not hits, f"plain key bytes found in {hits}"
