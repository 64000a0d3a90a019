"""SIGTERM/INT/HUP end the server promptly; a call they (or a closed stdin) cut leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mcp_client import RAW_INIT, raw_server, waiting_build


def _server(tmp_path: Path) -> subprocess.Popen:
    proc = raw_server(
        tmp_path,
        # as a terminal would start it: under `nohup` SIGHUP is inherited ignored, and a
        # signal ignored at start stays ignored (the server keeps nohup's meaning)
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
    )
    _send(proc, *RAW_INIT)
    assert json.loads(proc.stdout.readline())["id"] == 1  # type: ignore[union-attr]
    return proc


def _send(proc: subprocess.Popen, *messages: dict) -> None:
    assert proc.stdin is not None
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    proc.stdin.flush()


def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _processes_naming(text: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if entry.isdigit() and text.encode() in cmdline:
            out.append(int(entry))
    return out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_an_idle_server_ends_on_a_signal(tmp_path, signum):
    proc = _server(tmp_path)
    proc.send_signal(signum)
    try:
        assert proc.wait(timeout=15) == 128 + signum
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.apptainer
@pytest.mark.parametrize("how", ["SIGTERM", "stdin closed"])
def test_a_build_cut_by_a_signal_or_a_closed_stdin_leaves_nothing(tmp_path, busybox_sif, how):
    gate, definition = waiting_build(tmp_path, busybox_sif)
    images = tmp_path / "images"
    proc = _server(tmp_path)
    try:
        call = {
            "name": "build",
            "arguments": {"definition": str(definition), "output_dir": str(images)},
        }
        _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
        assert _until((gate / "started").exists, 120), "the build never reached %post"
        assert _processes_naming(str(definition))  # the build runs
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=30)  # the child's grace period and its cleanup at most
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        (gate / "release").write_text("go\n")  # a surviving build would end now
    assert _until(lambda: not _processes_naming(str(definition)), 10), "a build process survived"
    leftovers = [p.name for p in images.rglob("*")] if images.exists() else []
    assert not any(n.endswith((".building", ".sif")) or ".stage" in n for n in leftovers), leftovers
