"""A SIGKILL during `sign` / `sbom --embed` leaves the rewrite's temporaries
(``.NAME.sif.<pid>.<hex>.tmp`` and ``.NAME.sif.meta.json.<pid>.<hex>.tmp``,
named by ``fsutil.temp_path``) in the store: `cleanup` names and removes
them once their writer is gone, and keeps those of a live writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from storekit import make_sif, python_env

VERSION = "img-v20260101T000000Z.sif"

#: A writer that names its temporaries as the rewrite does, writes them, and is killed.
KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from scitex_container.files.fsutil import temp_path
    version = Path(sys.argv[1])
    for final in (version, version.with_name(version.name + ".meta.json")):
        temp_path(final).write_bytes(b"half of a rewrite")
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "img"
    store.mkdir()
    make_sif(store / VERSION)
    os.symlink(VERSION, store / "img.sif")
    return store


def test_cleanup_removes_the_temporaries_of_a_killed_rewrite(sx, tmp_path) -> None:
    store = _store(tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, store / VERSION], env=python_env(), check=False
    )
    assert killed.returncode == -signal.SIGKILL
    left = sorted(p.name for p in store.iterdir() if p.name.endswith(".tmp"))
    assert len(left) == 2, left
    assert left[0].startswith(f".{VERSION}.") and ".meta.json." in left[1]
    ran = sx("cleanup", store)  # fresh (within the age grace): the dead pid is enough
    assert ran.code == 0, ran.err
    for name in left:
        assert f"{store / name} (left by a killed command)" in ran.out, ran.out
        assert not (store / name).exists()
    assert (store / VERSION).exists() and (store / "img.sif").resolve().name == VERSION


def test_cleanup_keeps_a_live_writers_temporary(sx, tmp_path) -> None:
    from scitex_container.files.fsutil import temp_path

    store = _store(tmp_path)
    ours = temp_path(store / VERSION)  # this process is alive: its write may be under way
    ours.write_bytes(b"being written")
    ran = sx("cleanup", store)
    assert ran.code == 0, ran.err
    assert ours.exists() and ours.name not in ran.out
