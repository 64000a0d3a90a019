"""One error per cause for every path problem (issue 21, item 4)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from specialfiles import ZERO, can_make_devices, char_device

from scitex_container.errors import (
    EXIT_BAD_INPUT,
    EXIT_CHECK_FAILED,
    AccessDeniedError,
    DiskFullError,
    NotFoundError,
    PathKindError,
)
from scitex_container.files.pathinfo import from_oserror, regular_file


def _real_error(call) -> OSError:
    try:
        call()
    except OSError as exc:
        return exc
    raise AssertionError("no OSError")


def test_each_cause_has_its_class_exit_code_and_names_the_path(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    os.symlink("loop", loop)
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (lambda: os.stat(loop), PathKindError, EXIT_BAD_INPUT, "link loop", loop),
        (
            lambda: os.stat(afile / "x"),
            PathKindError,
            EXIT_BAD_INPUT,
            "not a directory",
            afile / "x",
        ),
        (lambda: os.unlink(tmp_path), PathKindError, EXIT_BAD_INPUT, "is a directory", tmp_path),
        (lambda: os.stat(tmp_path / "none"), NotFoundError, EXIT_BAD_INPUT, "does not exist", None),
    ]
    for call, cls, code, words, where in cases:
        err = from_oserror(_real_error(call))
        assert isinstance(err, cls) and err.exit_code == code, (err, cls)
        assert words in str(err) and "Errno" not in str(err)
        assert str(where or tmp_path / "none") in str(err)
        assert "\n" not in str(err)


def test_full_disk_is_exit_1_and_access_exit_2() -> None:
    full = from_oserror(OSError(errno.ENOSPC, "No space left on device", "/srv/x"))
    assert isinstance(full, DiskFullError) and full.exit_code == EXIT_CHECK_FAILED
    assert str(full) == "/srv/x: no space left on device"
    for code in (errno.EACCES, errno.EPERM, errno.EROFS):
        denied = from_oserror(OSError(code, os.strerror(code), "/srv/x"))
        assert isinstance(denied, AccessDeniedError) and denied.exit_code == EXIT_BAD_INPUT
        assert str(denied).startswith("/srv/x: ")


def test_fifo_and_device_are_not_regular_files_never_not_found(tmp_path: Path) -> None:
    fifo = tmp_path / "a.def"
    os.mkfifo(fifo)
    with pytest.raises(
        PathKindError, match=r"a\.def: the def file is not a regular file \(a FIFO\)"
    ):
        regular_file(fifo, "def file")  # returns at once: a FIFO is never opened
    dev = tmp_path / "zero"
    if can_make_devices():
        char_device(dev, ZERO)
        with pytest.raises(PathKindError, match=r"not a regular file \(a device\)"):
            regular_file(dev, "def file")
    with pytest.raises(PathKindError, match="a directory, not a file"):
        regular_file(tmp_path, "def file")
    with pytest.raises(NotFoundError):
        regular_file(tmp_path / "missing.def", "def file")


def test_tidy_path_drops_dots_but_never_a_links_dot_dot(tmp_path) -> None:
    from scitex_container.files.pathinfo import tidy_path

    assert tidy_path("defs/../images/x.sif") == "images/x.sif"
    assert tidy_path("./a//b/./c/") == "a/b/c/"
    assert tidy_path("x") == "x" and tidy_path("-") == "-" and tidy_path("../x") == "../x"
    (tmp_path / "far" / "deep").mkdir(parents=True)
    os.symlink(tmp_path / "far" / "deep", tmp_path / "link")
    through = f"{tmp_path}/link/../x"
    assert tidy_path(through) == through
