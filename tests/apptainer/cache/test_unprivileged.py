"""The stage cache of an unprivileged user (``scitex-test``, ``--fakeroot`` builds) never gets
stuck: entries holding sub-uid-owned private dirs are removed, one that cannot be removed is
moved aside and reported, and a stage holding files the user cannot read directly is hashed
in the user namespace, stored and reused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from otheruser import another_user
from uservenv import user_python

pytestmark = pytest.mark.apptainer
REPO = Path(__file__).resolve().parents[3]

APT_LIKE = """\
Bootstrap: localimage
From: {base}

%post
    mkdir -p /var/cache/apt/archives/partial; echo x > /var/cache/apt/archives/partial/f
    chown -R 100:100 /var/cache/apt/archives/partial; chmod 700 /var/cache/apt/archives/partial
    # scitex: checkpoint
    echo two > /two
"""
UNREADABLE = """\
Bootstrap: localimage
From: {base}

%post
    mkdir -p /opt; echo s > /opt/f; chmod 000 /opt/f
    # scitex: checkpoint
    echo two > /opt/two
"""


@pytest.fixture
def ws(busybox_sif: Path) -> Iterator[tuple[Path, Path]]:
    """(a workspace owned by the test user, holding base.sif; the user's python)."""
    user = another_user()
    if shutil.which("unshare") is None:
        pytest.skip("unshare is required")
    python = user_python(REPO)
    where = Path(tempfile.mkdtemp(prefix="scitex-cache-user-", dir="/var/tmp"))
    shutil.copy(busybox_sif, where / "base.sif")
    (where / "cache").mkdir()
    for path in (where, where / "base.sif", where / "cache"):
        os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(where, 0o755)
    try:
        yield where, python
    finally:
        subprocess.run(["rm", "-rf", "--", str(where)], check=False)


def _sx(ws: tuple[Path, Path], *args: str) -> subprocess.CompletedProcess:
    where, python = ws
    env = [f"XDG_CACHE_HOME={where / 'cache'}", f"PATH={os.environ['PATH']}", "HOME=/tmp"]
    argv = ["runuser", "-u", "scitex-test", "--", "env", "-i", *env, str(python)]
    return subprocess.run(
        [*argv, "-m", "scitex_container", *args],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _def(ws: tuple[Path, Path], name: str, text: str) -> str:
    path = ws[0] / name
    path.write_text(text.format(base=ws[0] / "base.sif"))
    os.chmod(path, 0o644)
    return str(path)


def test_entries_with_sub_uid_private_dirs_are_pruned_and_a_stuck_one_is_moved_aside(ws) -> None:
    where = ws[0]
    stages = where / "cache" / "scitex-container" / "stages"
    done = _sx(ws, "build", _def(ws, "apt.def", APT_LIKE), "-o", str(where / "out"))
    assert done.returncode == 0, done.stderr
    assert len(os.listdir(stages / "entries")) == 3  # bootstrap, post-1, post-2
    done = _sx(ws, "cache", "prune", "--all")
    assert done.returncode == 0, done.stderr  # it crashed (TypeError: os.open) before
    assert os.listdir(stages / "entries") == [] and os.listdir(stages / "tmp") == []
    # a leftover nobody but root can remove (a dead build's, pid 1 is not ours to wait for)
    stuck = stages / "tmp" / f".{'a' * 64}.999999999.1.making"
    (stuck / "rootfs" / "locked").mkdir(parents=True)
    (stuck / "rootfs" / "locked" / "f").write_text("x")
    os.chmod(stuck / "rootfs" / "locked", 0o700)  # root-owned: outside the user's sub-uids
    os.chown(stuck, where.stat().st_uid, where.stat().st_gid)
    os.chown(stuck / "rootfs", where.stat().st_uid, where.stat().st_gid)
    listed = _sx(ws, "cache", "list", "--json")  # reads only: shows it, moves nothing
    assert listed.returncode == 0, listed.stderr
    assert [r["stage"] for r in json.loads(listed.stdout)] == ["leftover (dead)"]
    assert stuck.exists()
    done = _sx(ws, "cache", "prune", "--older-than", "30d")  # its sweep
    assert done.returncode == 0, done.stderr
    assert "moved aside" in done.stderr
    assert not stuck.exists() and len(os.listdir(stages / "unremovable")) == 1
    again = _sx(ws, "cache", "prune", "--older-than", "30d")
    assert again.returncode == 0 and "moved aside" not in again.stderr  # reported once
    assert "holds files owned by root: ask an administrator" in done.stderr
    # listed and counted; `prune --all` tries again, with advice that fits root's files
    listed = _sx(ws, "cache", "list", "--json")
    assert [r["kind"] for r in json.loads(listed.stdout)] == ["unremovable"]
    retried = _sx(ws, "cache", "prune", "--all")
    assert "could not remove" in retried.stderr and "ask an administrator" in retried.stderr
    aside = stages / "unremovable"
    for path in aside.rglob("*"):  # an administrator hands it back: the next prune removes it
        os.chown(path, where.stat().st_uid, where.stat().st_gid)
    retried = _sx(ws, "cache", "prune", "--all")
    assert "1 unremovable left earlier" in retried.stdout, retried.stderr
    assert os.listdir(aside) == []


def test_another_users_private_entry_is_not_trusted_rebuilt_and_left_in_place(ws) -> None:
    where = ws[0]
    stages = where / "cache" / "scitex-container" / "stages"
    recipe = _def(ws, "apt.def", APT_LIKE)
    assert _sx(ws, "build", recipe, "-o", str(where / "out")).returncode == 0
    rows = json.loads(_sx(ws, "cache", "list", "--json").stdout)
    deepest = stages / "entries" / next(r["key"] for r in rows if r["stage"] == "post-2")
    os.chown(deepest, 0, 0)  # root's now, and private: the user cannot even look inside
    os.chmod(deepest, 0o700)
    done = _sx(ws, "--json", "build", "--force", recipe, "-o", str(where / "out"))
    assert done.returncode == 0, done.stderr
    ran = {s["name"]: s for s in json.loads(done.stdout)["stages"]}
    assert ran["post-1"]["reused"] and not ran["post-2"]["reused"]
    assert ran["post-2"]["lookup"].startswith("untrusted:")
    assert "permission denied" in ran["post-2"]["lookup"]
    pruned = _sx(ws, "cache", "prune", "--all")
    assert pruned.returncode == 0, pruned.stderr
    assert "another user's entry, left in place" in pruned.stderr
    assert deepest.is_dir() and os.listdir(stages / "entries") == [deepest.name]


def test_a_stage_holding_files_the_user_cannot_read_is_stored_and_reused(ws) -> None:
    where = ws[0]
    stages = where / "cache" / "scitex-container" / "stages"
    done = _sx(ws, "build", _def(ws, "z.def", UNREADABLE), "-o", str(where / "out"))
    assert done.returncode == 0, done.stderr  # "permission denied (cannot write in ...)" before
    said = done.stdout + done.stderr
    assert "stage cache:" not in said
    assert len(os.listdir(stages / "entries")) == 3  # read in the user namespace
    sif = next((where / "out").rglob("*.sif"))
    ran = subprocess.run(
        ["apptainer", "exec", str(sif), "cat", "/opt/two"], capture_output=True, text=True
    )
    assert ran.stdout.strip() == "two"
    again = _sx(ws, "build", str(where / "z.def"), "-o", str(where / "out"), "--force")
    assert again.returncode == 0, again.stderr
    assert "stage post-2: reused" in again.stdout + again.stderr  # its digest verified
