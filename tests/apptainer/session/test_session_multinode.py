"""Sessions on a node other than the submit host (the test bed's extra SLURM nodes).

scripts/setup-host.sh runs two extra slurmd (``scx-node1``, ``scx-node2``,
partition ``multi``), each in its own network, UTS and mount namespace on a
private bridge, sharing the file system.  The submit host (this machine's
own node) reaches them only through SLURM, as on a real cluster; the tests
look inside a node with ``nsenter`` into its slurmd's namespaces.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sessionkit import START, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.apptainer]

NODE = "scx-node1"
OTHER = "scx-node2"
PARTITION = "multi"
PID_DIR = Path("/run/scitex-cluster")


def _node_pid(name: str) -> str:
    try:
        pid = (PID_DIR / f"{name}.pid").read_text().strip()
    except OSError:
        pid = ""
    state = subprocess.run(
        ["sinfo", "-h", "-N", "-n", name, "-o", "%T"], capture_output=True, text=True
    ).stdout.strip()
    if not pid or state not in ("idle", "mixed", "allocated", "completing"):
        message = f"extra SLURM node {name} is not up (run scripts/setup-host.sh as root)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return pid


@pytest.fixture
def node(workspace) -> str:
    _node_pid(NODE)
    return NODE


def on_node(name: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``argv`` as the test user inside the node's namespaces (as its jobs run)."""
    pid = _node_pid(name)
    full = ["nsenter", "-t", pid, "-m", "-u", "-n", "runuser", "-u", "scitex-test", "--", *argv]
    return subprocess.run(full, capture_output=True, text=True, timeout=timeout, cwd="/")


def node_instances(name: str) -> set[str]:
    done = on_node(name, "apptainer", "instance", "list", "--json")
    assert done.returncode == 0, done.stderr
    return {i["instance"] for i in json.loads(done.stdout).get("instances", [])}


def _node_addr(node: str) -> str:
    """The node's address as SLURM knows it (``NodeAddr=`` in ``scontrol show node``)."""
    import re
    import subprocess

    out = subprocess.run(
        ["scontrol", "show", "node", node], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"NodeAddr=(\S+)", out)
    assert match, out
    return match.group(1)


def test_session_on_another_node(workspace, node: str, user_image: Path) -> None:
    ws = workspace
    # --node alone: the partition holding the node is found (it is not the default one).
    rec = ws.start_json(user_image, "--slug", "remote", "--node", node)
    job, name = rec["job_id"], rec["instance"]
    assert rec["state"] == "running" and rec["node"] == node

    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [(r["id"], r["state"], r["node"]) for r in listed] == [(rec["id"], "running", node)]

    # The instance lives on the node: apptainer keeps instance state per hostname under
    # the (shared) home, so the node lists it and the submit host does not.
    assert name in node_instances(node)
    assert name not in ws.instances()
    assert name not in node_instances(OTHER)

    # exec from the submit host reaches it through the node's slurmd; files land in
    # the shared project directory.
    # The container's hostname is the seed's `scitex-cloud` (build_exec_args), so where the
    # command ran is told by the node's own network address, which only its namespace has.
    addr = _node_addr(node)
    done = ws.cli(
        "session",
        "exec",
        rec["id"],
        "--",
        "sh",
        "-c",
        'cat /proc/net/fib_trie > where.txt; echo "$PWD"; exit 5',
    )
    assert done.returncode == 5, done.stderr
    assert done.stdout.strip() == "/home/scitex-test/proj/remote"
    assert addr in (ws.project / "where.txt").read_text()

    done = ws.cli(
        "session",
        "attach",
        rec["id"],
        input="grep -q ' " + addr + "' /proc/net/fib_trie && echo attached-here\nexit 0\n",
    )
    assert done.returncode == 0, done.stderr
    assert "attached-here" in done.stdout

    done = ws.cli("session", "stop", rec["id"])
    assert done.returncode == 0, done.stderr
    assert job not in ws.active_jobs()
    assert name not in node_instances(node)
    assert ws.records() == []


def test_scancel_on_another_node_stops_the_instance(workspace, node: str, user_image) -> None:
    ws = workspace
    rec = ws.start_json(
        user_image, "--partition", PARTITION, "--constraint", "netns", "--node", node
    )
    assert rec["node"] == node and rec["instance"] in node_instances(node)
    assert ws.as_user("scancel", rec["job_id"]).returncode == 0
    assert wait_until(lambda: rec["instance"] not in node_instances(node)), "the trap did not run"
    assert wait_until(lambda: rec["job_id"] not in ws.active_jobs())
    assert "INSTANCE_STOPPED" in (ws.state / rec["id"] / "job.out").read_text()
    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [r["state"] for r in listed] == ["ended"]


def test_unknown_node_is_refused_before_submitting(workspace, user_image: Path) -> None:
    ws = workspace
    before = ws.active_jobs()
    done = ws.cli(*START, str(user_image), "-p", str(ws.project), "--node", "no-such-node")
    assert done.returncode == 2, done.stderr
    assert "slurm_nodelist" in done.stderr and "no-such-node" in done.stderr
    done = ws.cli(*START, str(user_image), "-p", str(ws.project), "--node", "n1;id")
    assert done.returncode == 2 and "slurm_nodelist" in done.stderr
    # A node list would allocate every node in it for one instance: refused.
    for many in (f"{NODE},{OTHER}", "scx-node[1-2]"):
        done = ws.cli(*START, str(user_image), "-p", str(ws.project), "--node", many)
        assert done.returncode == 2, done.stderr
        assert "one node" in done.stderr and "slurm_nodelist" in done.stderr
    assert ws.active_jobs() <= before
    assert ws.records() == []


@pytest.mark.slow
def test_time_limit_on_another_node_stops_the_instance(workspace, node: str, user_image) -> None:
    """SLURM's time limit (one minute at least, checked every 30 s) ends the job on the
    node; its trap stops the instance there."""
    ws = workspace
    rec = ws.start_json(user_image, "--node", node, "--time", "1")
    assert rec["instance"] in node_instances(node)
    assert wait_until(lambda: rec["job_id"] not in ws.active_jobs(), timeout=150)
    assert rec["instance"] not in node_instances(node)
    shown = ws.as_user("scontrol", "show", "job", rec["job_id"]).stdout
    assert "JobState=TIMEOUT" in shown, shown
    assert "INSTANCE_STOPPED" in (ws.state / rec["id"] / "job.out").read_text()


def test_list_cross_checks_instances_on_each_node(workspace, node: str, user_image) -> None:
    """One session here and one on another node: list confirms each on its own node
    and tells the one whose instance is gone while its job runs on."""
    from sessionkit import batch_script_frozen

    ws = workspace
    here = ws.start_json(user_image, "--slug", "here")
    there = ws.start_json(user_image, "--slug", "there", "--node", node)
    assert here["node"] != node

    def listed() -> dict[str, tuple[str, str]]:
        done = ws.cli("--json", "session", "list")
        assert done.returncode == 0, done.stderr
        return {r["id"]: (r["state"], r["node"]) for r in json.loads(done.stdout)}

    assert listed() == {here["id"]: ("running", here["node"]), there["id"]: ("running", node)}
    with batch_script_frozen(there["job_id"]):
        assert on_node(node, "apptainer", "instance", "stop", there["instance"]).returncode == 0
        assert there["job_id"] in ws.active_jobs()
        assert listed() == {
            here["id"]: ("running", here["node"]),
            there["id"]: ("instance-gone", node),
        }
    assert wait_until(lambda: there["job_id"] not in ws.active_jobs(), timeout=60)
