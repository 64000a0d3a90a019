"""The reference builders composed on the real SLURM, and the queue's answers, as the test user."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sessionkit import START, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.apptainer]


COMPOSE = """
import subprocess, sys, time
from scitex_container.apptainer import (
    build_instance_start_script,
    build_sbatch_command,
    build_shell_in_allocation_command,
)
image, home, proj, script = sys.argv[1:5]
open(script, "w").write(build_instance_start_script(
    image, "scitex-test", home, proj, "demo", instance_name="myinst", poll_seconds=1))
out = script[:-3] + ".out"  # the seed's default output is /dev/null: ask for a file
argv = build_sbatch_command(
    "myinst", script, "", "0:05:00", 1, 1, "scitex-test", "demo", output_path=out)
job = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
print("JOB", job, flush=True)
for _ in range(600):
    text = open(out).read() if __import__("os").path.exists(out) else ""
    if "INSTANCE_READY" in text or "INSTANCE_FAILED" in text:
        break
    time.sleep(0.1)
shell = build_shell_in_allocation_command(job, "myinst", "scitex-test", pty=False)
done = subprocess.run(shell, input="echo in-$USER; pwd\\n", capture_output=True, text=True)
print("RC", done.returncode)
print("OUT", done.stdout.replace("\\n", "|"))
print("ERR", done.stderr.replace("\\n", "|"))
subprocess.run(["scancel", job], check=False)
"""


def _jobs_named(ws, suffix: str) -> set[str]:
    out = ws.as_user("squeue", "-h", "--me", "-o", "%i %j").stdout.splitlines()
    return {ln.split()[0] for ln in out if ln.endswith(suffix)}


def test_reference_builders_compose_on_slurm(workspace, user_image: Path) -> None:
    ws = workspace
    script = ws.root / "start.sh"
    done = ws.as_user(
        str(ws.python), "-c", COMPOSE, str(user_image), str(ws.root), str(ws.project), str(script)
    )
    assert done.returncode == 0, done.stderr
    lines = dict(ln.split(" ", 1) for ln in done.stdout.splitlines() if " " in ln)
    job = lines["JOB"]
    assert "INSTANCE_NAME=myinst\n" in (ws.root / "start.out").read_text()  # the given name
    assert lines["RC"] == "0", lines
    assert lines["OUT"] == "in-scitex-test|/home/scitex-test|", lines
    assert "cwd" not in lines["ERR"] and "no instance found" not in lines["ERR"], lines
    deadline = time.monotonic() + 30
    while job in ws.active_jobs() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert job not in ws.active_jobs()


def test_request_slurm_can_never_satisfy_is_refused_before_submission(
    workspace, user_image: Path
) -> None:
    """Checked against the partition's nodes (sinfo) before sbatch: bad input, nothing queued."""
    ws = workspace
    done = ws.cli(
        "session",
        "start",
        "--slurm",
        "--cpus",
        "512",
        "--slug",
        "never",
        str(user_image),
        "-p",
        str(ws.project),
    )
    assert done.returncode == 2, done.stderr
    assert "slurm_cpus" in done.stderr and "512 CPUs" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not _jobs_named(ws, "_never")
    assert ws.records() == [], "a failed start leaves no record"


def test_no_wait_returns_at_submission_and_list_shows_the_job(workspace, user_image: Path) -> None:
    ws = workspace
    done = ws.cli("--json", *START, "--no-wait", str(user_image), "-p", str(ws.project))
    assert done.returncode == 0, done.stderr
    rec = json.loads(done.stdout)
    assert rec["state"] == "submitted" and rec["job_id"]
    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [r["job_id"] for r in listed] == [rec["job_id"]]
    assert listed[0]["state"].split()[0] in ("pending", "configuring", "starting", "running")

    def state() -> str:
        return json.loads(ws.cli("--json", "session", "list").stdout)[0]["state"]

    # Nobody waits for the ready marker, list still tells when the instance runs.
    assert wait_until(lambda: state() == "running", timeout=120), state()
    assert ws.cli("session", "stop", rec["id"]).returncode == 0
    assert rec["job_id"] not in ws.active_jobs()
    assert ws.records() == []


def _reset_signals() -> None:
    import signal

    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_signal_to_a_waiting_start_cancels_its_job(
    workspace, user_image: Path, signame: str
) -> None:
    """A start waiting in the queue shows why, and TERM/HUP cancel its job like Ctrl-C."""
    import os
    import signal
    import subprocess

    ws = workspace
    blocker = ws.as_user(
        "sbatch",
        "--parsable",
        "--cpus-per-task=2",
        "--mem=64M",
        "--time=1",
        "--job-name=sx-test-blocker",
        "--output=/dev/null",
        f"--chdir={ws.root}",
        "--wrap",
        "sleep 30",
    ).stdout.strip()
    assert blocker, "could not submit the blocking job"
    slug = f"sig{signame[3:].lower()}"
    argv = ws.argv(*START, str(user_image), "-p", str(ws.project), "--slug", slug)
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_reset_signals,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "pending (" in first and "waiting" in first, first
        job = first.split()[1]
        assert job in ws.active_jobs()
        os.killpg(proc.pid, getattr(signal, signame))
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0
        deadline = time.monotonic() + 30
        while job in ws.active_jobs() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job not in ws.active_jobs(), (
            f"{signame} left job {job} in the queue (exit {proc.returncode}: {err.strip()})"
        )
        assert ws.records() == []
    finally:
        ws.as_user("scancel", blocker)
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        # (a memory no node has is refused before sbatch: test_session_prechecks.py)
        (("--constraint", "nosuchfeature"), "Invalid feature specification"),
    ],
)
def test_request_sbatch_refuses_fails_with_its_reason(
    workspace, user_image: Path, extra: tuple[str, ...], reason: str
) -> None:
    """Refused at submission: SLURM's reason on one line (JSON on stdout with --json),
    exit 1, no job and no record left."""
    ws = workspace
    before = ws.active_jobs()
    argv = ("--json", "session", "start", "--slurm", str(user_image), "-p", str(ws.project))
    done = ws.cli(*argv, "--slug", "refused", *extra)
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)
    assert error["exit_code"] == 1 and reason in error["error"] and "\n" not in error["error"]
    assert reason in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert ws.active_jobs() <= before and not _jobs_named(ws, "_refused")
    assert ws.records() == [] and not any(ws.state.iterdir())
