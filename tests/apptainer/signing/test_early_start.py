"""``verify IMAGE --key PUB`` starts apptainer before click loads (cli/early.py).

The argument recogniser is our own logic (plain files stand in for the
image); the end-to-end cases run the console-script entry in a subprocess
with the real apptainer behind a wrapper that logs each invocation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from images import busybox_sif

from scitex_container.apptainer.sif.magic import MAGIC
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.sign import sign_artifact
from scitex_container.cli.early import plain_verify


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    sif = tmp_path / "a.sif"
    sif.write_bytes(b"#!/usr/bin/env run-singularity\n".ljust(32, b"\n") + MAGIC + bytes(86))
    pub = tmp_path / "k.pub"
    pub.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    priv = tmp_path / "k.key"
    priv.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    text = tmp_path / "plain.txt"
    text.write_text("not a SIF")
    return {"sif": str(sif), "pub": str(pub), "priv": str(priv), "text": str(text)}


def test_the_plain_form_is_recognised(files, tmp_path):
    sif, pub = files["sif"], files["pub"]
    assert plain_verify(["verify", sif, "--key", pub]) == (sif, pub)
    assert plain_verify(["--json", "verify", f"--key={pub}", sif, "--json"]) == (sif, pub)
    extra = ["--def", files["text"], "--lock-dir", str(tmp_path)]
    assert plain_verify(["verify", sif, "--key", pub, *extra]) == (sif, pub)


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "{sif}"],  # no key
        ["verify", "{sif}", "--key", "{pub}", "--dry-run"],
        ["--dry-run", "verify", "{sif}", "--key", "{pub}"],
        ["verify", "{sif}", "--key", "{pub}", "--key", "{pub}"],  # repeated
        ["verify", "{sif}", "--keyring", "{dir}"],
        ["verify", "{sif}", "--key", "{pub}", "--help"],
        ["verify", "{sif}", "{sif}", "--key", "{pub}"],  # two images
        ["verify", "{sif}", "--key", "{priv}"],  # a private key
        ["verify", "{sif}", "--key", "{text}"],  # not PEM
        ["verify", "{sif}", "--key", "{dir}"],  # a directory
        ["verify", "{text}", "--key", "{pub}"],  # not a SIF
        ["verify", "{dir}/missing.sif", "--key", "{pub}"],
        ["verify", "{sif}", "--key", "{pub}", "--def", "{dir}/missing.def"],
        ["verify", "{sif}", "--key", "{pub}", "--lock-dir", "{text}"],
        ["verify", "{sif}", "--key"],
        ["sign", "{sif}", "--key", "{pub}"],
        ["-v", "-v", "--bogus", "verify", "{sif}", "--key", "{pub}"],
    ],
)
def test_anything_else_starts_nothing(files, tmp_path, args):
    filled = [a.format(dir=tmp_path, **files) for a in args]
    assert plain_verify(filled) is None


# --- end to end, with the real apptainer ---------------------------------------------------


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    root = tmp_path_factory.mktemp("early")
    pair = new_keypair(root / "keys")
    image = root / "signed.sif"
    shutil.copy(busybox_sif(), image)
    sign_artifact(image, pair.private)
    return image, pair


def _cli(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run the console-script entry with apptainer behind a logging wrapper."""
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "apptainer-wrapper"
    real = shutil.which("apptainer")
    pids = tmp_path / "pids.log"
    wrapper.write_text(f'#!/bin/sh\necho $$ >> {pids}\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    env = dict(os.environ, SCITEX_CONTAINER_CMD=str(wrapper))
    code = "from scitex_container.cli.entry import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return done, calls


@pytest.mark.apptainer
def test_early_start_runs_apptainer_once_with_the_same_result(signed, tmp_path):
    image, pair = signed
    done, calls = _cli(tmp_path, "--json", "verify", str(image), "--key", str(pair.public))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["signature"]["ok"] and result["overall"] == "pass"
    assert calls == [f"verify --key {pair.public} --all {image}"]  # claimed, not run twice


@pytest.mark.apptainer
def test_a_private_key_runs_nothing_and_exits_2(signed, tmp_path):
    image, pair = signed
    done, calls = _cli(tmp_path, "--json", "verify", str(image), "--key", str(pair.private))
    assert done.returncode == 2
    assert "private key" in json.loads(done.stdout)["error"]
    assert calls == []


@pytest.mark.apptainer
def test_a_bad_option_after_the_plain_form_is_clicks_error(signed, tmp_path):
    image, pair = signed
    done, calls = _cli(tmp_path, "verify", str(image), "--key", str(pair.public), "--nope")
    assert done.returncode == 2
    assert "No such option '--nope'" in done.stderr
    assert calls == []


@pytest.mark.apptainer
def test_an_unclaimed_early_start_is_stopped_at_exit(signed, tmp_path):
    """A file that looks like a public key passes the early check but not the parse."""
    image, _ = signed
    fake = tmp_path / "fake.pub"
    fake.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    done, calls = _cli(tmp_path, "--json", "verify", str(image), "--key", str(fake))
    assert done.returncode == 2, done.stderr
    assert str(fake) in json.loads(done.stdout)["error"]
    assert len(calls) == 1  # started early, never claimed
    pid = int((tmp_path / "pids.log").read_text().split()[0])
    with pytest.raises(ProcessLookupError):  # stopped and reaped before the CLI exited
        os.kill(pid, 0)
