"""`session exec`: the command's status passes through, ours has codes of its own,
srun's report of a non-zero exit is not shown; an ended session says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sessionkit import wait_until

from scitex_container.apptainer.session import ending, steps
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.errors import (
    EXIT_CANNOT_EXECUTE,
    EXIT_COMMAND_NOT_FOUND,
    EXIT_STEP_FAILED,
    SessionStepError,
)
from scitex_container.process import runner

pytestmark = [pytest.mark.slurm, pytest.mark.apptainer]


def test_exec_status_is_the_commands_and_our_failures_are_apart(
    workspace, user_image: Path
) -> None:
    ws = workspace
    rec = ws.start_json(user_image, "--slug", "codes")
    sid = rec["id"]

    done = ws.cli("session", "exec", sid, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "out\n"
    assert done.stderr == "err\n", "srun's 'Exited with exit code 3' must not be shown"

    done = ws.cli("session", "exec", sid, "--", "sh", "-c", "exit 255")
    assert done.returncode == 255 and done.stderr == "", done.stderr  # the command's own 255

    done = ws.cli("session", "exec", sid, "--", "no-such-command-xyz")
    assert done.returncode == EXIT_COMMAND_NOT_FOUND == 127, done.stderr
    assert "'no-such-command-xyz' not found in the container" in done.stderr
    assert "srun: error" not in done.stderr

    done = ws.cli("session", "exec", sid, "--", "/no/such/program")
    assert done.returncode == 127 and "'/no/such/program' not found" in done.stderr

    (ws.project / "data.txt").write_text("not a program\n")
    done = ws.cli("session", "exec", sid, "--", "/home/scitex-test/proj/codes/data.txt")
    assert done.returncode == EXIT_CANNOT_EXECUTE == 126, done.stderr

    done = ws.cli("session", "exec", sid, "--", "/bin")  # a directory: cannot be run
    assert done.returncode == EXIT_CANNOT_EXECUTE, done.stderr
    assert "is a directory" in done.stderr and "FATAL" not in done.stderr  # ours only
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr

    done = ws.cli("--json", "session", "exec", sid, "--", "no-such-command-xyz")
    assert done.returncode == 127
    assert len(done.stdout.strip().splitlines()) == 1, done.stdout  # a final JSON line
    assert json.loads(done.stdout)["exit_code"] == 127

    done = ws.cli("session", "exec", "no-such-session-xyz", "--", "true")  # ours: not 2
    assert done.returncode == EXIT_STEP_FAILED, done.stderr

    # Killed by a signal: 128+9 from srun, without srun's "Killed"/"Force Terminated".
    done = ws.cli("session", "exec", sid, "--", "sh", "-c", "kill -9 $$")
    assert done.returncode == 137 and "srun:" not in done.stderr, done.stderr

    # attach: the shell's own status, without srun's report of it.
    done = ws.cli("session", "attach", sid, input="echo in-shell\nexit 4\n")
    assert done.returncode == 4 and "in-shell" in done.stdout, done.stderr
    assert "srun:" not in done.stderr, done.stderr

    # An ended session says why, from SLURM's record, and keeps it.
    assert ws.as_user("scancel", rec["job_id"]).returncode == 0
    assert wait_until(lambda: rec["job_id"] not in ws.active_jobs())
    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [(r["state"], r["reason"].split(" (")[0]) for r in listed] == [("ended", "cancelled")]
    assert "CANCELLED" in listed[0]["reason"] and "exit code" in listed[0]["reason"]
    assert (ws.state / sid / ending.ENDED_FILE).read_text().strip() == listed[0]["reason"]
    text = ws.cli("session", "list").stdout
    assert "reason" in text and "cancelled" in text
    done = ws.cli("session", "exec", sid, "--", "true")  # not running: ours, not 1
    assert done.returncode == EXIT_STEP_FAILED and "not running" in done.stderr, done.stderr


def test_srun_failing_on_its_own_is_ours_and_shown(tmp_path: Path) -> None:
    """A job step srun cannot launch (here: no such job) is a SessionStepError (125)
    quoting srun's line; its report of a task's status is noise, its errors are not."""
    bogus = "4000000"
    done = runner.relay(["srun", "--overlap", f"--jobid={bogus}", "true"], steps.is_noise)
    assert done.returncode != 0
    with pytest.raises(SessionStepError) as err:
        steps.check_step("s1", ["true"], done.returncode, done.stderr)
    assert err.value.exit_code == EXIT_STEP_FAILED == 125
    assert "srun: error:" in str(err.value) and bogus in str(err.value)
    assert not steps.is_noise("srun: error: Unable to confirm allocation for job 4000000")
    assert steps.is_noise("srun: error: vm: task 0: Exited with exit code 3\n")
    steps.check_step("s1", ["sh"], 3, "srun: error: vm: task 0: Exited with exit code 3")


def test_an_ending_slurm_never_recorded_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCITEX_CONTAINER_SESSIONS_DIR", str(tmp_path / "state"))
    record = SessionRecord("x-1", "slurm", "/i.sif", "u", "p", instance="i", job_id="4000001")
    assert ending.why_ended(record) == ending.UNKNOWN  # real scontrol: no such job
    line = "slurmstepd: error: *** JOB 9 ON vm CANCELLED AT 2026-12-06T10:00 DUE TO TIME LIMIT ***"
    assert ending.parse_output(["x", line]) == "cancelled due to time limit (job output)"
    assert ending.parse_scontrol("JobId=9 JobState=NODE_FAIL Reason=NodeDown ExitCode=0:0") == (
        "node failure (NODE_FAIL, reason NodeDown, exit code 0:0)"
    )
