"""The reference builder's job launches for a user who cannot write the script's directory.

The seed's ``build_sbatch_command`` sent the output to ``/dev/null``; a
default output file beside the script made such a job fail to launch
(``JobLaunchFailure``).  Submitted for real, as the unprivileged test user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sessionkit import wait_until

from scitex_container.apptainer.session.sbatch_script import build_sbatch_command

USER = "scitex-test"


def _job_state(job_id: str) -> str:
    done = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, check=False
    )
    fields = dict(w.split("=", 1) for w in done.stdout.split() if "=" in w)
    return f"{fields.get('JobState', '?')} {fields.get('Reason', '')}"


def test_a_job_in_a_directory_the_user_cannot_write_launches() -> None:
    if os.geteuid() != 0 or not shutil.which("sbatch"):
        pytest.skip("needs root (runuser) and SLURM")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        pytest.skip(f"no user {USER}")
    where = Path(tempfile.mkdtemp(prefix="scx-sbatch-", dir="/var/tmp"))
    try:
        where.chmod(0o755)  # root's: readable, not writable by the user
        script = where / "start.sh"
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
        # partition "": the cluster's default; 1 CPU, 1 GB fit every node
        argv = build_sbatch_command("sx-probe", str(script), "", "2", 1, 1)
        assert "--output=/dev/null" in argv
        done = subprocess.run(
            ["runuser", "-u", USER, "--", *argv],
            cwd="/tmp",
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        job_id = done.stdout.strip().split(";")[0]
        states: list[str] = []
        ended = wait_until(
            lambda: (
                states.append(_job_state(job_id))
                or not states[-1].startswith(("PENDING", "RUNNING", "CONFIGURING", "COMPLETING"))
            ),
            timeout=120,
        )
        assert ended, states[-1:]
        assert states[-1].startswith("COMPLETED"), states[-1]
    finally:
        shutil.rmtree(where, ignore_errors=True)
