"""The output rule (``fsutil.output_kind``): what is not a regular file is never replaced.

Devices are made by the test (``mknod``), never the machine's own.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from otheruser import another_user

from scitex_container.errors import BadInputError, NotAFileError
from scitex_container.files.fsutil import atomic_write_bytes, atomic_write_text, output_kind


def test_a_character_device_is_written_through_not_replaced(null_device: Path) -> None:
    before = os.lstat(null_device)
    atomic_write_text(null_device, "lock text\n")
    after = os.lstat(null_device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert [p.name for p in null_device.parent.iterdir()] == ["null"]  # no temporary left


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write_bytes(fifo, b"through the pipe")
    reader.join(timeout=30)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_socket_is_written_through(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.fspath(path))
    server.listen(1)
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            chunks = []
            while data := conn.recv(65536):
                chunks.append(data)
            got.append(b"".join(chunks))

    thread = threading.Thread(target=serve)
    thread.start()
    atomic_write_bytes(path, b"to the socket")
    thread.join(timeout=30)
    server.close()
    assert got == [b"to the socket"]
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_dash_is_stdout(capfd) -> None:
    atomic_write_text("-", "on stdout\n")
    assert capfd.readouterr().out == "on stdout\n"
    assert not os.path.lexists("-")


def test_dev_stdout_onto_a_file_writes_the_file_not_the_link(tmp_path: Path) -> None:
    target = tmp_path / "captured"
    target.write_text("old old old old\n")
    with open(target, "r+b") as fh:
        link = tmp_path / "stdout"
        link.symlink_to(f"/proc/self/fd/{fh.fileno()}")  # what /dev/stdout is
        assert output_kind(link) == "through"
        atomic_write_text(link, "new\n")
        assert link.is_symlink()
    assert target.read_text() == "new\n"


@pytest.mark.parametrize("how", ["directory", "link to a directory"])
def test_a_directory_is_refused(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep").write_text("k")
    path = folder
    if how != "directory":
        path = tmp_path / "link"
        path.symlink_to(folder)
    with pytest.raises(NotAFileError) as err:
        atomic_write_text(path, "x")
    assert err.value.exit_code == 2 and str(path) in str(err.value)
    assert (folder / "keep").read_text() == "k" and folder.is_dir()
    assert path.is_symlink() == (how != "directory")


def test_a_block_device_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    dev = tmp_path / "loop"
    os.mknod(dev, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    with pytest.raises(BadInputError, match="block device"):
        atomic_write_text(dev, "x")
    assert stat.S_ISBLK(os.lstat(dev).st_mode)


def test_another_users_link_to_a_device_is_not_followed(null_device: Path) -> None:
    user = another_user()
    link = null_device.parent / "planted"
    link.symlink_to(null_device)
    os.lchown(link, user.pw_uid, user.pw_gid)
    with pytest.raises(BadInputError, match="scitex-test") as err:
        atomic_write_text(link, "x")
    assert err.value.exit_code == 2
    assert link.is_symlink() and stat.S_ISCHR(os.lstat(null_device).st_mode)


def test_a_regular_file_and_a_new_path_are_replaced_atomically(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.write_text("before")
    inode = os.lstat(old).st_ino
    atomic_write_text(old, "after")
    assert old.read_text() == "after" and os.lstat(old).st_ino != inode
    atomic_write_text(tmp_path / "new", "fresh")
    assert (tmp_path / "new").read_text() == "fresh"


def test_a_drop_box_the_user_cannot_read_takes_the_output_and_says_success() -> None:
    """A directory another user may write and enter but not read (0773): the output is written
    and the command succeeds (it wrote the file, then failed syncing the directory, exit 2)."""
    import tempfile

    from uservenv import as_other

    another_user()
    box = Path(tempfile.mkdtemp(prefix="scitex-dropbox-", dir="/var/tmp"))
    try:
        os.chmod(box, 0o773)
        done = as_other("snapshot", "-o", box / "s.json")
        assert done.returncode == 0, done.stderr
        assert (box / "s.json").stat().st_size > 0
    finally:
        os.chmod(box, 0o755)
        for child in box.iterdir():
            child.unlink()
        box.rmdir()
