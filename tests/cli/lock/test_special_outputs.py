"""``-o`` of every command that writes a file: devices and FIFOs written through,
directories refused (exit 2), ``-o -`` is stdout.  Run as the real CLI
(a child process: ``-`` is our file descriptor 1, which in-process capture
does not see)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from clirun import checkout_cli as cli

pytestmark = pytest.mark.apptainer


def test_lock_capture_and_sbom_write_through_a_device(busybox_sif: Path, null_device) -> None:
    for args in (("lock", "capture", busybox_sif), ("sbom", busybox_sif)):
        done = cli(*args, "-o", null_device)
        assert done.returncode == 0, done.stderr
        st = os.lstat(null_device)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


def test_a_named_pipe_gets_the_lock(busybox_sif: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    done = cli("lock", "capture", busybox_sif, "-o", fifo, "--no-date")
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert got and got[0].startswith("# scitex-container lock")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_directory_output_is_refused(busybox_sif: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "link"
    link.symlink_to(folder)
    for target in (folder, link):
        done = cli("lock", "capture", busybox_sif, "-o", target)
        assert done.returncode == 2, done.stderr
        assert "is a directory" in done.stderr
    assert link.is_symlink() and not list(folder.iterdir())


def test_dash_is_stdout_for_every_file_output(busybox_sif: Path, tmp_path: Path) -> None:
    done = cli("lock", "capture", busybox_sif, "-o", "-", "--no-date")
    assert done.returncode == 0 and done.stdout.startswith("# scitex-container lock")
    lock = tmp_path / "img.lock"
    lock.write_text(done.stdout)
    sbom = cli("sbom", busybox_sif, "-o", "-")
    assert sbom.returncode == 0 and '"bomFormat": "CycloneDX"' in sbom.stdout
    snap = cli("snapshot", "-o", "-")
    assert snap.returncode == 0 and snap.stdout.lstrip().startswith("{")
    rough = tmp_path / "img.def"
    rough.write_text(f"Bootstrap: localimage\nFrom: {busybox_sif}\n")
    pin = cli("lock", "pin", rough, lock, "-o", "-")
    assert pin.returncode == 0, pin.stderr
    assert pin.stdout.startswith("# [scitex-container] Locked def")
    assert "wrote -" in pin.stderr and "wrote" not in pin.stdout
    assert not (tmp_path / "-").exists() and not Path("-").exists()
