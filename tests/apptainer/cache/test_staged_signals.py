"""A build through the stage cache stopped mid-stage (SIGINT, SIGKILL) leaves no entry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from signals import default_signals, exit_code

pytestmark = pytest.mark.apptainer

RECIPE = "Bootstrap: localimage\nFrom: {base}\n\n%post\n    sleep 60\n"


def start(tmp_path: Path, busybox_sif: Path) -> tuple[subprocess.Popen, Path]:
    (tmp_path / "r.def").write_text(RECIPE.format(base=busybox_sif))
    cache = tmp_path / "stages"
    cli = Path(sys.executable).parent / "scitex-container"
    argv = [str(cli), "build", "--cache-dir", str(cache), str(tmp_path / "r.def")]
    proc = subprocess.Popen(
        argv, preexec_fn=default_signals, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    # the bootstrap is made and the %post stage's `sleep 60` runs (its trace is in the log)
    while not any("+ sleep 60" in log.read_text() for log in tmp_path.glob("r/*.build.log")):
        assert proc.poll() is None, "the build ended before its %post stage"
        assert time.monotonic() < deadline, "the %post stage never started"
        time.sleep(0.1)
    assert len(list((cache / "tmp").glob(".*.making"))) == 2  # bootstrap and post-1 in the making
    return proc, cache


def stages(cache: Path) -> list[str]:
    from scitex_container.apptainer.cache.entries import StageCache

    return sorted(e.stage for e in StageCache(cache).open().entries())


def test_sigint_mid_stage_leaves_no_partial_entry(tmp_path: Path, busybox_sif: Path) -> None:
    proc, cache = start(tmp_path, busybox_sif)
    proc.send_signal(signal.SIGINT)
    assert exit_code(proc, 30) == 130
    assert list((cache / "tmp").iterdir()) == []
    # the unfinished %post stage never becomes an entry; the finished bootstrap is kept (its
    # record was made while %post ran), so the next build does not make it again
    assert stages(cache) == ["bootstrap"]


def test_sigterm_mid_stage_keeps_the_finished_stage_whole(
    tmp_path: Path, busybox_sif: Path
) -> None:
    """SIGHUP takes the same path (:class:`~scitex_container.errors.Interrupted`)."""
    from scitex_container.apptainer.cache.entries import StageCache

    proc, cache = start(tmp_path, busybox_sif)
    proc.send_signal(signal.SIGTERM)
    assert exit_code(proc, 30) == 128 + signal.SIGTERM
    assert list((cache / "tmp").iterdir()) == []
    (kept,) = StageCache(cache).open().entries()
    assert kept.stage == "bootstrap"
    assert StageCache(cache).open().lookup(kept.key, max_age=3600).why == "hit"  # verified whole


def test_sigkill_mid_stage_leaves_nothing_the_next_use_reads(
    tmp_path: Path, busybox_sif: Path
) -> None:
    proc, cache = start(tmp_path, busybox_sif)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while True:  # the killed build's children end (PDEATHSIG); then the sweep removes its work
        kept = stages(cache)
        if not list((cache / "tmp").iterdir()):
            break
        assert time.monotonic() < deadline, list((cache / "tmp").iterdir())
        time.sleep(0.2)
    assert kept in ([], ["bootstrap"])
