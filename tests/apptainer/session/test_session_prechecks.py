"""`session start` refuses, before anything is submitted, what could never work.

Run as the unprivileged test user against the real cluster: a project
directory the user cannot enter or write, a partition SLURM does not have, a
node outside the partition, more CPUs or memory than any node of the
partition has.  Each is exit 2 naming the field; no job and no record are
left.
"""

from __future__ import annotations

import pytest
from sessionkit import START

pytestmark = [pytest.mark.slurm, pytest.mark.apptainer]


def _our_jobs(workspace) -> list[str]:
    """Jobs whose script lies in this workspace (other tests share the test user)."""
    done = workspace.as_user("squeue", "-h", "--me", "-o", "%i|%o")
    assert done.returncode == 0, done.stderr
    return [ln for ln in done.stdout.splitlines() if str(workspace.root) in ln]


def _refused(workspace, image, *extra: str, project: str | None = None):
    done = workspace.cli(*START, str(image), "-p", project or str(workspace.project), *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    assert _our_jobs(workspace) == [] and workspace.records() == []
    assert not list(workspace.state.iterdir())  # not even a session directory
    return done.stderr


def test_a_project_directory_the_user_cannot_enter_is_refused(workspace, user_image) -> None:
    err = _refused(workspace, user_image, project="/root")
    assert "/root" in err and "cannot enter and write" in err and "owner root" in err


def test_a_project_directory_the_user_cannot_write_is_refused(workspace, user_image) -> None:
    readonly = workspace.root / "ro"
    readonly.mkdir(mode=0o555)
    err = _refused(workspace, user_image, project=str(readonly))
    assert str(readonly) in err and "mode 0555" in err


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        (("--partition", "nosuchpart"), "slurm_partition", "no partition 'nosuchpart'"),
        (("--partition", "compute", "--node", "scx-node2"), "slurm_node", "not in partition"),
        (("--partition", "multi", "--mem-gb", "64"), "slurm_memory_gb", "the most a node"),
    ],
)
def test_a_request_the_partition_cannot_hold_is_refused_before_submission(
    workspace, user_image, extra, field, words
) -> None:
    # START asks for 1 CPU and 1 GB; the later option wins (click)
    err = _refused(workspace, user_image, *extra)
    assert field in err and words in err, err


def test_more_cpus_than_any_node_has_is_refused(workspace, user_image) -> None:
    err = _refused(workspace, user_image, "--partition", "multi", "--cpus", "64")
    assert "slurm_cpus" in err and "64 CPUs" in err


def test_a_dry_run_gives_the_refusal_the_real_run_gives(workspace, user_image) -> None:
    """--dry-run shows what the real run does: here, refuse (not a planned submission)."""
    done = workspace.cli(
        "--dry-run",
        *START,
        str(user_image),
        "-p",
        str(workspace.project),
        "--partition",
        "nosuchpart",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "slurm_partition" in done.stderr and "no partition 'nosuchpart'" in done.stderr
