"""The CLI's one error contract (issue 21, item 4): one line naming the path, one code per cause.

The refusals of another user are run as the unprivileged ``scitex-test``
user against a store root owns, through the world-readable test venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from clirun import cli, one_line
from otheruser import another_user
from storekit import make_sif
from uservenv import as_other


@pytest.mark.apptainer
def test_special_files_and_bad_paths_as_def(tmp_path: Path, busybox_sif: Path) -> None:
    fifo = tmp_path / "fifo.def"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.def"
    os.symlink("loop.def", loop)
    afile = tmp_path / "plain.def"
    afile.write_text("Bootstrap: scratch\n")
    out_dir = str(tmp_path / "out")
    for cmd in (("build", "-o", out_dir), ("verify", str(busybox_sif), "--def")):
        for path, words in (
            (fifo, "not a regular file (a FIFO)"),
            (loop, "link loop"),
            (afile / "x.def", "not a directory"),
        ):
            out = cli(*cmd, str(path))
            assert out.returncode == 2, (cmd, out.stderr)
            line = one_line(out)
            assert str(path) in line and words in line, line
    out = cli("status", str(fifo))  # a directory expected
    assert out.returncode == 2 and f"{fifo}: is a FIFO, not a directory" in one_line(out)


def test_usage_error_is_one_line() -> None:
    out = cli("build", "--no-such-option")
    assert out.returncode == 2
    line = one_line(out)
    assert line.startswith("error: No such option") and "scitex-container build --help" in line


@pytest.fixture()
def root_store():
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-errors-", dir="/tmp"))
    os.chmod(top, 0o755)
    yield _fill(top)
    shutil.rmtree(top)


def _fill(tmp_path: Path) -> Path:
    store = tmp_path / "demo"
    store.mkdir()
    for i, ver in enumerate(["20261206T140148Z", "20261206T150148Z"]):
        make_sif(store / f"demo-v{ver}.sif", seed=i)
    os.symlink("demo-v20261206T150148Z.sif", store / "demo.sif")
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    return store


def test_another_users_store_is_refused_naming_directory_owner_and_mode(root_store: Path) -> None:
    for args in (("rollback", str(root_store)), ("cleanup", "-k", "0", str(root_store))):
        out = as_other(*args)
        assert out.returncode == 2, out.stderr
        line = one_line(out)
        assert f"{root_store}: permission denied" in line and "owner root, mode 0755" in line
    assert os.readlink(root_store / "demo.sif") == "demo-v20261206T150148Z.sif"
    hidden = root_store.parent / "private" / "demo.sif"
    out = as_other("verify", str(hidden))
    assert out.returncode == 2
    line = one_line(out)
    assert "permission denied" in line and "cannot enter" in line and "mode 0700" in line


def test_link_loops_and_dangling_links_are_said_as_such_by_every_command(
    tmp_path: Path, busybox_sif: Path
) -> None:
    """Was: "internal error: RuntimeError: Symlink loop" / "File exists" exit 1."""
    store = tmp_path / "store"
    store.mkdir()
    shutil.copy(busybox_sif, store / "demo-v20261206T140148Z.sif")
    os.symlink("demo-v20261206T140148Z.sif", store / "demo.sif")
    os.symlink("loopb", tmp_path / "loopa")
    os.symlink("loopa", tmp_path / "loopb")
    os.symlink("/nonexistent/x", tmp_path / "dangling")
    loop, dangling = str(tmp_path / "loopa"), str(tmp_path / "dangling")
    for args, words in (
        (("deploy", str(store), loop), "link loop"),
        (("deploy", "-t", loop, str(store)), "link loop"),
        (("deploy", str(store), dangling), "a dangling symbolic link (to /nonexistent/x)"),
        (("key", "new", loop), "link loop"),
        (("skills", "install", "--dest", loop), "link loop"),
        (("sandbox", "create", "--dir", loop, str(busybox_sif)), "link loop"),
        (("cache", "prune", "--all", "--cache-dir", loop), "link loop"),
    ):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        line = one_line(out)
        assert words in line and "File exists" not in line, (args, line)
    assert not os.path.lexists("/nonexistent/x")


def test_key_new_on_a_full_disk_names_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    point = tmp_path / "fs"
    point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        fd = os.open(point / "filler", os.O_WRONLY | os.O_CREAT)
        try:  # fill it to the last block
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        out = cli("key", "new", str(point / "keys" / "site"), "--type", "rsa-3072")
        assert out.returncode != 0
        line = one_line(out)
        assert "no space left on device" in line and str(point / "keys") in line, line
        assert not (point / "keys").exists()  # nothing half-made
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_click_path_checks_say_permission_in_the_house_form(root_store: Path) -> None:
    """Was click's "Path '...' is not readable"; now `PATH: permission denied (owner, mode)`."""
    bundle = root_store.parent / "secret.bundle"
    bundle.write_text("x")
    bundle.chmod(0o600)
    out = as_other("bundle", "import", str(bundle), "-o", str(root_store.parent / "out"))
    assert out.returncode == 2, out.stderr
    line = one_line(out)
    assert f"{bundle}: permission denied (owner root, mode 0600)" in line, line


@pytest.mark.apptainer
def test_root_fakeroot_build_into_another_users_directory_says_so(tmp_path: Path) -> None:
    """Was apptainer's raw "mkdir ...: permission denied" FATAL line."""
    from images import BUSYBOX_DEF

    if os.geteuid() != 0:
        pytest.skip("the case of root building into a user's directory")
    another_user()
    definition = tmp_path / "bb.def"
    definition.write_text(BUSYBOX_DEF)
    out_dir = tmp_path / "theirs"
    (out_dir / "bb").mkdir(parents=True)
    shutil.chown(out_dir, "scitex-test")
    shutil.chown(out_dir / "bb", "scitex-test")
    (out_dir / "bb").chmod(0o700)
    out = cli("-q", "build", "--fakeroot", str(definition), "-o", str(out_dir))
    assert out.returncode == 2, out.stderr
    line = one_line(out)
    assert f"{out_dir / 'bb'}: permission denied (owner scitex-test, mode 0700)" in line, line
    assert "FATAL" not in line and "--no-fakeroot" in line
