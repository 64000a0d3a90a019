"""A FIFO or a device given where a lock or a bundle is read: refused at once
(exit 2, "not a regular file"), never read without end nor waited on.  Run as
the real CLI with a timeout: a hang or an endless read fails the test instead
of the suite."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from clirun import checkout_cli

DEF = "Bootstrap: docker\nFrom: busybox:1.36\n\n%post\n    true\n"


def cli(cwd: Path, *args: object):
    """The CLI run in ``cwd``; 60 s: a hang or an endless read fails the test, not the suite."""
    return checkout_cli(*args, cwd=cwd, timeout=60)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    pipe = tmp_path / "FIFO"
    os.mkfifo(pipe)  # no writer: opening it for reading blocks unless we refuse first
    return pipe


def _refused(done: subprocess.CompletedProcess, name: str, kind: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = done.stderr.strip().splitlines()[-1]
    assert name in line and "not a regular file" in line and kind in line, line


@pytest.mark.parametrize("which", ["zero_device", "fifo"])
def test_lock_archive_refuses_a_special_file(tmp_path: Path, which: str, request) -> None:
    special: Path = request.getfixturevalue(which)
    done = cli(tmp_path, "lock", "archive", special.name, "-o", "arch")
    _refused(done, special.name, "device" if which == "zero_device" else "FIFO")
    assert not (tmp_path / "arch").exists()


@pytest.mark.parametrize("which", ["zero_device", "fifo"])
def test_lock_pin_refuses_a_special_lock(tmp_path: Path, which: str, request) -> None:
    special: Path = request.getfixturevalue(which)
    (tmp_path / "hello.def").write_text(DEF)
    done = cli(tmp_path, "lock", "pin", "hello.def", special.name)
    _refused(done, special.name, "device" if which == "zero_device" else "FIFO")


@pytest.mark.parametrize("which", ["zero_device", "fifo"])
def test_bundle_import_refuses_a_special_file(tmp_path: Path, which: str, request) -> None:
    special: Path = request.getfixturevalue(which)
    done = cli(tmp_path, "bundle", "import", special.name, "-o", "out")
    _refused(done, special.name, "device" if which == "zero_device" else "FIFO")


def test_an_oversized_lock_is_refused_unread(tmp_path: Path) -> None:
    from scitex_container.errors import PathKindError
    from scitex_container.files.pathinfo import read_regular

    big = tmp_path / "big.lock"
    big.write_bytes(b"# x\n" * 300)
    with pytest.raises(PathKindError, match="larger than"):
        read_regular(big, "lock file", limit=1024)
    assert read_regular(big, "lock file", limit=4096) == big.read_bytes()
