"""A small tmpfs the test mounts itself (a full disk on demand); skips without root or mount(8)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted_tmpfs(point: Path, size: str, mode: str = "0755") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (e.g. ``4m``) on ``point`` (made if missing); unmount after."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    point.mkdir(exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode={mode}", "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(fs: Path, leave: int, *, exact: bool = False) -> Path:
    """Preallocate ``fs/filler`` so that about ``leave`` bytes stay free on ``fs``; return it.

    By default the filler is whole pages, so at least ``leave`` stays free (up to a page
    more).  ``exact``: the filler is free minus ``leave`` bytes to the byte; tmpfs gives
    whole pages, so at most ``leave`` stays free (a ``leave`` of 10 KiB leaves 8 KiB).
    """
    st = os.statvfs(fs)
    free = st.f_bavail * st.f_frsize
    page = os.sysconf("SC_PAGE_SIZE")
    size = free - leave if exact else max(0, free - leave) // page * page
    filler = fs / "filler"
    with open(filler, "wb") as fh:
        if size:
            os.posix_fallocate(fh.fileno(), 0, size)
    return filler
