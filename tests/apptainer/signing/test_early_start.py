"""``verify IMAGE --key PUB`` starts apptainer before click loads (cli/early.py).

The argument recogniser is our own logic (plain files stand in for the
image); the end-to-end cases run the console-script entry in a subprocess
with the real apptainer behind a wrapper that logs each invocation.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scitex_container.apptainer.sif.magic import MAGIC
from scitex_container.apptainer.signing.early import path_text
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.cli.early import plain_verify


@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    sif = tmp_path / "a.sif"
    sif.write_bytes(b"#!/usr/bin/env run-singularity\n".ljust(32, b"\n") + MAGIC + bytes(86))
    pub = new_keypair(tmp_path / "keys").public
    looks = tmp_path / "looks.pub"  # a PEM public key block that holds no key
    looks.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    priv = tmp_path / "k.key"
    priv.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    text = tmp_path / "plain.txt"
    text.write_text("not a SIF")
    names = {"sif": sif, "pub": pub, "looks": looks, "priv": priv, "text": text}
    return {name: str(path) for name, path in names.items()}


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
        ["verify", "{sif}", "--key", "{looks}"],  # PEM-looking, no key (verify says so)
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
def test_early_start_runs_apptainer_once_with_the_same_result(signed_busybox, tmp_path):
    image, pair = signed_busybox
    done, calls = _cli(tmp_path, "--json", "verify", str(image), "--key", str(pair.public))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["signature"]["ok"] and result["overall"] == "pass"
    assert calls == [f"verify --key {pair.public} --all {image}"]  # claimed, not run twice


@pytest.mark.apptainer
def test_a_private_key_runs_nothing_and_exits_2(signed_busybox, tmp_path):
    image, pair = signed_busybox
    done, calls = _cli(tmp_path, "--json", "verify", str(image), "--key", str(pair.private))
    assert done.returncode == 2
    assert "private key" in json.loads(done.stdout)["error"]
    assert calls == []


@pytest.mark.apptainer
def test_a_bad_option_after_the_plain_form_is_clicks_error(signed_busybox, tmp_path):
    image, pair = signed_busybox
    done, calls = _cli(tmp_path, "verify", str(image), "--key", str(pair.public), "--nope")
    assert done.returncode == 2
    assert "No such option '--nope'" in done.stderr
    assert calls == []


@pytest.mark.apptainer
def test_a_key_off_its_curve_is_claimed_and_exits_2(signed_busybox, tmp_path):
    """Read without cryptography, so it starts early; apptainer refuses it; exit 2."""
    image, pair = signed_busybox
    lines = pair.public.read_bytes().splitlines()
    der = bytearray(base64.b64decode(b"".join(lines[1:-1])))
    der[-1] ^= 1
    bad = tmp_path / "offcurve.pub"
    bad.write_bytes(lines[0] + b"\n" + base64.encodebytes(bytes(der)) + lines[-1] + b"\n")
    done, calls = _cli(tmp_path, "--json", "verify", str(image), "--key", str(bad))
    assert done.returncode == 2, done.stderr
    assert str(bad) in json.loads(done.stdout)["error"]
    assert calls == [f"verify --key {bad} --all {image}"]  # started early, claimed once


@pytest.mark.apptainer
def test_an_unclaimed_early_start_is_stopped_at_exit(signed_busybox, tmp_path):
    """Started early, then the process ends before verify claims it.

    The wrapper stands in for a long check (it sleeps): left alone it would
    outlive the interpreter by half a minute.
    """
    image, pair = signed_busybox
    log, pids = tmp_path / "calls.log", tmp_path / "pids.log"
    wrapper = tmp_path / "apptainer-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho $$ >> {pids}\necho "$*" >> {log}\nexec sleep 30\n')
    wrapper.chmod(0o755)
    code = (
        "import sys, time, pathlib; from scitex_container.cli.early import maybe_prestart\n"
        "maybe_prestart(sys.argv[2:])\n"
        "for _ in range(200):\n"
        "    if pathlib.Path(sys.argv[1]).exists(): break\n"
        "    time.sleep(0.05)\n"
    )
    args = [str(log), "verify", str(image), "--key", str(pair.public)]
    env = dict(os.environ, SCITEX_CONTAINER_CMD=str(wrapper))
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, timeout=60)
    assert log.read_text().splitlines() == [f"verify --key {pair.public} --all {image}"]
    pid = int(pids.read_text().split()[0])
    with pytest.raises(ProcessLookupError):  # stopped and reaped before the interpreter exited
        os.kill(pid, 0)


@given(st.text(alphabet="/.a-", max_size=14))
def test_early_paths_are_spelled_as_pathlib_spells_them(text):
    """The early check is claimed by exact argv, and verify passes Paths."""
    assert path_text(text) == str(PurePosixPath(text))


@pytest.mark.apptainer
def test_an_oddly_spelled_path_is_still_claimed(signed_busybox, tmp_path, monkeypatch):
    """One apptainer run: a second would mean the early one went unclaimed."""
    image, pair = signed_busybox
    monkeypatch.chdir(image.parent)
    odd_image, odd_key = f".//{image.name}", f"{pair.public.parent}//./{pair.public.name}"
    done, calls = _cli(tmp_path, "--json", "verify", odd_image, "--key", odd_key)
    assert done.returncode == 0, done.stderr
    assert calls == [f"verify --key {pair.public} --all {image.name}"]


_INTERRUPTED_DRIVER = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, also when
# the suite runs in the background (a shell starts background jobs with SIGINT ignored)
import scitex_container
ours = os.path.dirname(scitex_container.__file__)
n, reached, seen, armed = int(sys.argv[1]), sys.argv[2], 0, False
WATCHED = {"main", "maybe_prestart", "prestart", "spawn_query", "spawn", "install"}

def trace(frame, event, arg):
    global armed
    code = frame.f_code
    if event == "call" and code.co_name == "main" and "click" in code.co_filename:
        sys.settrace(None)  # the CLI's own handling is in place from here: the last point
        open(reached, "w").write("boundary")
        signal.raise_signal(signal.SIGINT)
    armed = armed or code.co_name == "maybe_prestart"  # from the early start on
    if not armed or not code.co_filename.startswith(ours):
        return None
    return line if code.co_name in WATCHED or code.co_name == "<module>" else None

def line(frame, event, arg):
    global seen
    module_body = frame.f_code.co_name == "<module>"
    if event == "line" and (not module_body or frame.f_lineno % 40 == 0):
        seen += 1
        if seen == n:  # Ctrl-C now: its handler runs where Python next checks for one
            sys.settrace(None)
            signal.raise_signal(signal.SIGINT)
    return line

sys.argv = ["scitex-container", *sys.argv[3:]]
sys.settrace(trace)
from scitex_container.cli.entry import main
main()
"""


def test_an_interrupt_anywhere_before_the_cli_handles_it_leaves_no_check_running(files, tmp_path):
    """Ctrl-C at each line of the early start (before, during and after the
    spawn), during the CLI's imports, and as the CLI begins: exit 130 with
    the JSON error, and the started check (a long sleep standing in for
    apptainer) is never left running."""
    pids, reached = tmp_path / "pids", tmp_path / "reached"
    wrapper = tmp_path / "apptainer-wrapper"
    wrapper.write_text(f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 30\n")
    wrapper.chmod(0o755)
    env = dict(os.environ, SCITEX_CONTAINER_CMD=str(wrapper))
    args = ["--json", "verify", files["sif"], "--key", files["pub"]]
    n = 0
    while not reached.exists():
        n += 1
        assert n < 500, "the CLI's own handling was never reached"
        done = subprocess.run(
            [sys.executable, "-c", _INTERRUPTED_DRIVER, str(n), str(reached), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 130, (n, done.stderr)
        assert json.loads(done.stdout) == {"error": "aborted", "exit_code": 130}, n
        for pid in pids.read_text().split() if pids.exists() else []:
            with pytest.raises(ProcessLookupError):  # stopped and reaped
                os.kill(int(pid), 0)
    assert pids.exists()  # the check did start early in the later runs
