"""The registry of temporaries an interrupt may leave: what it sweeps and what it must not."""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.files import temporaries


def test_sweep_removes_what_is_still_registered_and_forgets_it(tmp_path: Path) -> None:
    made = temporaries.new_dir("t-", tmp_path)
    (made / "f").write_text("x")
    kept = temporaries.track(tmp_path / "kept")
    kept.write_text("x")
    temporaries.forget(kept)  # renamed into place, say
    assert made.stat().st_mode & 0o777 == 0o700
    assert made in temporaries.sweep()
    assert not made.exists() and kept.exists()
    assert temporaries.sweep() == []  # nothing is swept twice


def test_a_file_that_belongs_to_what_was_put_in_place_is_kept(tmp_path: Path) -> None:
    version = tmp_path / "v1.sif"
    meta = temporaries.track(tmp_path / "v1.sif.meta.json", unless=version)
    meta.write_text("{}")
    version.write_text("image")  # the rename happened, the forget did not
    temporaries.sweep()
    assert meta.exists()
    orphan = temporaries.track(tmp_path / "v2.sif.meta.json", unless=tmp_path / "v2.sif")
    orphan.write_text("{}")
    temporaries.sweep()  # its version never appeared: a record of nothing
    assert not orphan.exists()


def test_a_forked_child_never_sweeps_its_parents_temporaries(tmp_path: Path) -> None:
    path = temporaries.track(tmp_path / "parents")
    path.write_text("x")
    pid = os.fork()
    if pid == 0:  # the child's atexit would sweep too: os._exit skips it, sweep() is explicit
        os._exit(0 if temporaries.sweep() == [] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert path.exists()
    temporaries.remove(path)
    assert not path.exists() and temporaries.pending() == []


def test_a_directory_name_taken_by_someone_else_is_skipped_not_swept(
    tmp_path: Path, monkeypatch
) -> None:
    names = iter(["taken", "free"])
    monkeypatch.setattr(temporaries.secrets, "token_hex", lambda _n: next(names))
    (tmp_path / "t-taken").mkdir()
    made = temporaries.new_dir("t-", tmp_path)
    assert made.name == "t-free"
    temporaries.sweep()
    assert (tmp_path / "t-taken").is_dir() and not made.exists()


def test_a_tree_with_a_sub_uid_owned_private_dir_is_removed_by_its_unprivileged_owner() -> None:
    """A ``--fakeroot`` build leaves dirs owned by the user's sub-uids, mode 0700 (Debian's
    ``_apt`` partial dir): the user removes them inside a user namespace (it crashed with a
    TypeError from ``os.open`` in the retry before)."""
    import pwd
    import shutil
    import subprocess
    import sys
    import tempfile

    import pytest

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
    from otheruser import another_user
    from uservenv import user_python

    user = another_user()
    ranges = [line.split(":") for line in Path("/etc/subuid").read_text().splitlines()]
    first = next((int(r[1]) for r in ranges if r[0] == user.pw_name), None)
    if first is None or shutil.which("unshare") is None:
        pytest.skip("the test user needs sub-uids and unshare")
    python = user_python(Path(__file__).resolve().parents[2])
    ws = Path(tempfile.mkdtemp(prefix="scitex-subuid-", dir="/var/tmp"))
    try:
        tree = ws / "entry"
        (tree / "rootfs" / "partial").mkdir(parents=True)
        (tree / "rootfs" / "partial" / "f").write_text("x")
        for path in (ws, tree, tree / "rootfs"):
            os.chown(path, user.pw_uid, user.pw_gid)
        for path in (tree / "rootfs" / "partial", tree / "rootfs" / "partial" / "f"):
            os.chown(path, first + 99, first + 99)  # container uid 100 (_apt)
        os.chmod(tree / "rootfs" / "partial", 0o700)
        code = "import sys; from scitex_container.files.temporaries import remove_path as r; "
        code += "r(sys.argv[1])"
        done = subprocess.run(
            [
                "runuser",
                "-u",
                pwd.getpwuid(user.pw_uid).pw_name,
                "--",
                str(python),
                "-c",
                code,
                str(tree),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert not tree.exists()
    finally:
        shutil.rmtree(ws, ignore_errors=True)
