"""`session stop` on a node that failed: pending, never "stopped", until the node returns.

The one node-failure test (slow tier): a session runs on ``scx-node2``; its
slurmd is stopped (the job's batch script and instance live on, as on a
real node whose daemon died); once SLURM no longer hears from the node,
``session stop`` exits 1 and keeps the record, marked ``stop pending: node
scx-node2 not responding``, while the instance still runs.  The node is
brought back with ``scripts/setup-host.sh`` (also in teardown, whatever
happened); then ``session list`` finishes the stop: the record goes and the
instance has ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from sessionkit import wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.apptainer, pytest.mark.slow]

NODE = "scx-node2"  # other helpers prefer scx-node1
PID_FILE = Path("/run/scitex-cluster") / f"{NODE}.pid"
REPO = Path(__file__).resolve().parents[3]


def _state(node: str) -> str:
    return subprocess.run(
        ["sinfo", "-h", "-N", "-n", node, "-o", "%T"], capture_output=True, text=True
    ).stdout.strip()


def _instance_alive(name: str) -> bool:
    """Any process of the instance ``name`` on the machine (the nodes share its pids)."""
    needle = f"[{name}]".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if b"Apptainer instance" in cmdline and needle in cmdline:
            return True
    return False


def _restore() -> None:
    """scripts/setup-host.sh brings the node's slurmd back; once more if the node was
    still busy ending the orphaned job when its own srun check ran."""
    for _attempt in range(2):
        done = subprocess.run(
            [str(REPO / "scripts" / "setup-host.sh")], capture_output=True, text=True, timeout=600
        )
        if done.returncode == 0:
            return
        wait_until(lambda: _state(NODE) in ("idle", "mixed", "allocated"), timeout=120)
    raise AssertionError(f"setup-host.sh failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")


def test_stop_on_a_failed_node_stays_pending_until_the_node_returns(workspace, user_image):
    if _state(NODE) not in ("idle", "mixed", "allocated") or not PID_FILE.exists():
        pytest.skip(f"node {NODE} is not up (scripts/setup-host.sh)")
    rec = workspace.start_json(user_image, "--partition", "multi", "--node", NODE)
    sid, instance = rec["id"], rec["instance"]
    assert wait_until(lambda: _instance_alive(instance), timeout=30)
    killed = False
    try:
        os.kill(int(PID_FILE.read_text().strip()), signal.SIGTERM)
        killed = True
        # SLURM stops hearing from the node after its ping fails (SlurmdTimeout 60 s)
        assert wait_until(lambda: "*" in _state(NODE) or "down" in _state(NODE), timeout=180)
        done = workspace.cli("session", "stop", sid, timeout=200)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"stop pending: node {NODE} not responding" in done.stderr
        assert "stopped" not in done.stdout
        [kept] = workspace.records()
        assert kept["id"] == sid and kept["state"] == f"stop pending: node {NODE} not responding"
        assert _instance_alive(instance)  # what a "stopped" would have hidden
        listed = json.loads(workspace.cli("--json", "session", "list", timeout=200).stdout)
        assert [r["state"] for r in listed if r["id"] == sid] == [kept["state"]]
    finally:
        if killed:
            _restore()

    # the node is back: it ends the orphaned job, whose script stops the instance
    def finished() -> bool:
        out = workspace.cli("--json", "session", "list", timeout=200)
        return out.returncode == 0 and not workspace.records()

    assert wait_until(finished, timeout=180), workspace.records()
    assert not _instance_alive(instance)
