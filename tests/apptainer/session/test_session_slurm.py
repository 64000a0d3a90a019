"""Sessions on the real SLURM cluster, run as the unprivileged test user."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sessionkit import START, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.apptainer]


def test_start_exec_attach_stop(workspace, user_image: Path) -> None:
    ws = workspace
    rec = ws.start_json(user_image, "--slug", "demo")
    job, name = rec["job_id"], rec["instance"]
    assert rec["state"] == "running" and rec["backend"] == "slurm"
    assert name == f"sx-scitex-test-demo-{job}", "the instance name must carry the job id"
    assert job in ws.active_jobs()
    assert name in ws.instances()

    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [(r["id"], r["job_id"], r["instance"], r["state"]) for r in listed] == [
        (rec["id"], job, name, "running")
    ]
    assert listed[0]["node"], "a running session names its node"

    # exec: runs in the project directory (rw) with the session's variables; exit code kept.
    done = ws.cli(
        "session",
        "exec",
        rec["id"],
        "--",
        "sh",
        "-c",
        'echo "$SCITEX_PROJECT:$(pwd)" > marker.txt; cat marker.txt; exit 7',
    )
    assert done.returncode == 7, done.stderr
    assert done.stdout.strip() == "demo:/home/scitex-test/proj/demo"
    assert (ws.project / "marker.txt").read_text().strip() == "demo:/home/scitex-test/proj/demo"

    # attach without a terminal: the shell reads commands from the pipe.
    done = ws.cli("session", "attach", rec["id"], input="echo attached-$USER\nexit 0\n")
    assert done.returncode == 0, done.stderr
    assert "attached-scitex-test" in done.stdout

    done = ws.cli("session", "stop", rec["id"])
    assert done.returncode == 0, done.stderr
    assert job not in ws.active_jobs()
    assert name not in ws.instances()
    assert ws.records() == []


def test_scancel_mid_session_stops_the_instance(workspace, user_image: Path) -> None:
    ws = workspace
    rec = ws.start_json(user_image)
    assert rec["instance"] in ws.instances()
    done = ws.as_user("scancel", rec["job_id"])
    assert done.returncode == 0, done.stderr
    # The trap stops the instance; nothing else does (the record still names it).
    assert wait_until(lambda: rec["instance"] not in ws.instances()), (
        "the trap did not stop the instance"
    )
    assert wait_until(lambda: rec["job_id"] not in ws.active_jobs())
    out = (ws.state / rec["id"] / "job.out").read_text()
    assert "INSTANCE_STOPPED" in out
    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [r["state"] for r in listed] == ["ended"]
    # exec into an ended session is refused, stop just forgets it.
    done = ws.cli("session", "exec", rec["id"], "--", "true")
    assert done.returncode == 125 and "not running" in done.stderr  # ours, not the command's
    assert ws.cli("session", "stop", rec["id"]).returncode == 0
    assert ws.records() == []


def test_missing_image_submits_nothing(workspace) -> None:
    ws = workspace
    before = ws.active_jobs()
    done = ws.cli(*START, str(ws.root / "missing.sif"), "-p", str(ws.project))
    assert done.returncode == 2
    assert "missing.sif" in done.stderr and "does not exist" in done.stderr
    assert ws.active_jobs() <= before
    assert ws.records() == []


def test_a_missing_texlive_prefix_is_refused_like_a_missing_mount(workspace, user_image) -> None:
    """Never a session started silently without the TeX Live it was asked for."""
    ws = workspace
    before = ws.active_jobs()
    for extra, path in (("--texlive", "/nonexistent/tl"), ("--mount", "/nonexistent:/data")):
        done = ws.cli(*START, str(user_image), "-p", str(ws.project), extra, path)
        assert done.returncode == 2, done.stderr
        host = path.split(":")[0]  # said in either form: "PATH: does not exist", "...: PATH"
        assert host in done.stderr and "does not exist" in done.stderr, done.stderr
    assert ws.active_jobs() <= before
    assert ws.records() == []


def test_non_sif_or_unreadable_image_is_refused_before_submission(workspace) -> None:
    ws = workspace
    before = ws.active_jobs()
    bad = ws.root / "broken.sif"
    bad.write_text("not an image\n")
    bad.chmod(0o644)
    done = ws.cli(*START, str(bad), "-p", str(ws.project))
    assert done.returncode == 2, done.stderr
    assert "not a SIF image" in done.stderr and str(bad) in done.stderr
    private = ws.root / "private.sif"
    private.write_bytes(b"#!/usr/bin/env run-singularity\n".ljust(32) + b"SIF_MAGIC")
    private.chmod(0o600)  # root's: the test user cannot read it
    done = ws.cli(*START, str(private), "-p", str(ws.project))
    assert done.returncode == 2, done.stderr
    assert f"{private}: permission denied (owner root, mode 0600)" in done.stderr, done.stderr
    assert ws.active_jobs() <= before
    assert ws.records() == []


def test_invalid_input_names_the_field_and_writes_nothing(workspace, user_image: Path) -> None:
    ws = workspace
    cases = [
        (("--time", "25:99:00"), "slurm_time_limit"),
        (("--cpus", "0"), "slurm_cpus"),
        (("--partition", "a;b"), "slurm_partition"),
        (("--slug", "bad slug"), "project_slug"),
        (("--name", "x\ntouch /tmp/pwned"), "instance_name"),
        (("--dev", "pkg=/no/such/dir"), "dev_repos[0]"),
    ]
    for extra, field in cases:
        done = ws.cli(*START, str(user_image), "-p", str(ws.project), *extra)
        assert done.returncode == 2, (extra, done.stderr)
        assert field in done.stderr, (extra, done.stderr)
    assert ws.records() == []
    assert not any(ws.state.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.3, 0.6, 1.0, 1.5])
def test_cancel_during_start_leaves_nothing(workspace, user_image: Path, delay: float) -> None:
    """scancel at varying moments of a start: the start fails (or was already ready) and
    afterwards no job and no instance remain, whichever step the signal interrupted."""
    import subprocess

    ws = workspace
    slug = f"race{int(delay * 10)}"
    argv = ws.argv(*START, str(user_image), "-p", str(ws.project), "--slug", slug)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    job = ""
    deadline = time.monotonic() + 60
    while not job and time.monotonic() < deadline and proc.poll() is None:
        out = ws.as_user("squeue", "-h", "--me", "-o", "%i %j").stdout.split("\n")
        job = next((ln.split()[0] for ln in out if ln.endswith(f"_{slug}")), "")
        time.sleep(0.05)
    assert job, "the job never appeared"
    time.sleep(delay)
    ws.as_user("scancel", job)
    out, err = proc.communicate(timeout=180)
    if proc.returncode != 0:
        assert proc.returncode == 1, err
        assert "did not start" in err or "before the instance was ready" in err, err
    assert wait_until(lambda: job not in ws.active_jobs())
    name = f"sx-scitex-test-{slug}-{job}"
    assert wait_until(lambda: name not in ws.instances(), timeout=15), f"{name} was left running"
