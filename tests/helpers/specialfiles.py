"""Our own device files (``mknod``), never the machine's: writing to a real /dev node is banned."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

NULL = (1, 3)  #: the numbers of /dev/null: writes vanish, reads end at once
ZERO = (1, 5)  #: the numbers of /dev/zero: a read of it never ends


def can_make_devices() -> bool:
    """Whether this process may ``mknod`` (root only)."""
    return os.geteuid() == 0


def char_device(path: Path, numbers: tuple[int, int] = NULL) -> Path:
    """Make the character device ``numbers`` (major, minor) at ``path``, mode 0666; return it."""
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*numbers))
    return path


def char_device_or_skip(path: Path, numbers: tuple[int, int] = NULL) -> Path:
    """``char_device``, the test skipped where it cannot be made (not root)."""
    if not can_make_devices():
        pytest.skip("mknod needs root")
    return char_device(path, numbers)
