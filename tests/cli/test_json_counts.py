"""JSON vocabulary left by issue 21: counts are `*_count`, sizes `*size_bytes`, paths absolute.

`lock archive`'s `fetched` and `sign`'s `replaced_signatures` were counts
without `_count`; `cache prune`'s `freed` was a bare number (sizes are
`size` + `size_bytes` elsewhere); `rollback` lacked `path` (`switch` has
it); `sign` printed the path as given (relative), not absolute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from storekit import make_sif


def run(*args: object, cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "scitex_container", "--json", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    assert done.returncode in (0, 1), (args, done.stdout, done.stderr)
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


def test_rollback_says_the_path_switch_says(tmp_path: Path) -> None:
    store = tmp_path / "demo"
    store.mkdir()
    for seed, stamp in enumerate(("20261206T140148Z", "20261206T150148Z")):
        make_sif(store / f"demo-v{stamp}.sif", seed=seed)
    os.symlink("demo-v20261206T150148Z.sif", store / "demo.sif")
    dry = run("--dry-run", "rollback", "demo", cwd=tmp_path)["result"]
    real = run("rollback", "demo", cwd=tmp_path)
    older = str(store / "demo-v20261206T140148Z.sif")
    assert dry["path"] == real["path"] == older, (dry, real)
    assert real["version"] == "20261206T140148Z" and real["link"] == str(store / "demo.sif")
    switched = run("switch", "20261206T150148Z", "demo", cwd=tmp_path)
    assert set(switched) == set(real), (switched, real)


def test_cache_prune_says_the_freed_size_as_sizes_are_said(tmp_path: Path) -> None:
    (tmp_path / "stages").mkdir()
    for argv in (("--dry-run",), ()):
        said = run(*argv, "cache", "prune", "--all", "--cache-dir", "stages", cwd=tmp_path)
        said = said.get("result", said)
        assert "freed" not in said, said
        assert said["freed_size_bytes"] == 0 and isinstance(said["freed_size"], str), said


def test_lock_archive_counts_are_counts(tmp_path: Path) -> None:
    (tmp_path / "x.lock").write_text("# scitex-container lock\n[pip]\n[dpkg]\n[node]\n")
    for argv in (("--dry-run",), ()):
        said = run(*argv, "lock", "archive", "x.lock", "-o", "arc", cwd=tmp_path)
        said = said.get("result", said)
        assert "fetched" not in said, said
        assert said["fetched_count"] == 0 and said["reused_count"] == 0, said


@pytest.mark.apptainer
def test_sign_says_an_absolute_path_and_counts_as_counts(tmp_path: Path, busybox_sif) -> None:
    shutil.copy(busybox_sif, tmp_path / "bb.sif")
    assert run("key", "new", "keys", cwd=tmp_path)
    said = run("sign", "bb.sif", "--key", "keys/scitex-signing.key", cwd=tmp_path)
    assert said["path"] == str(tmp_path / "bb.sif"), said
    assert "replaced_signatures" not in said and said["replaced_signatures_count"] == 0, said
    again = run("sign", "bb.sif", "--key", "keys/scitex-signing.key", cwd=tmp_path)
    assert again["replaced_signatures_count"] >= 1, again
