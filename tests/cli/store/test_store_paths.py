"""One path model on the command line: a version path is its store, a shared dir lists all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from storekit import make_sif

STAMPS = ["20261206T140148Z", "20261206T150148Z", "20261206T160148Z"]


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scitex_container", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def image(where: Path, name: str) -> None:
    where.mkdir(exist_ok=True)
    for i, stamp in enumerate(STAMPS):
        make_sif(where / f"{name}-v{stamp}.sif", seed=i)
    os.symlink(f"{name}-v{STAMPS[-1]}.sif", where / f"{name}.sif")


def test_a_path_the_versions_table_prints_is_accepted_as_store(tmp_path: Path) -> None:
    image(tmp_path / "demo", "demo")
    rows = json.loads(cli("--json", "versions", tmp_path / "demo").stdout)
    listed = rows[-1]["path"]
    again = cli("--json", "versions", listed)
    assert again.returncode == 0 and json.loads(again.stdout) == rows
    out = cli("rollback", listed)
    assert out.returncode == 0, out.stderr
    assert "move it away" not in out.stderr and f"note: {listed} is version" in out.stderr
    assert os.readlink(tmp_path / "demo" / "demo.sif") == f"demo-v{STAMPS[1]}.sif"


def test_a_deploy_target_with_several_images_lists_rolls_back_and_cleans_each(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    image(shared, "alpha")
    image(shared, "beta")
    rows = json.loads(cli("--json", "versions", shared).stdout)
    assert sorted({(r["image"], r["version"]) for r in rows}) == sorted(
        (i, s) for i in ("alpha", "beta") for s in STAMPS
    )
    text = cli("versions", shared).stdout.splitlines()
    assert text[0].split()[:2] == ["image", "version"] and len(text) == 7
    refused = cli("rollback", shared)
    assert (
        refused.returncode == 2 and "alpha.sif" in refused.stderr and "beta.sif" in refused.stderr
    )
    assert cli("rollback", shared / "beta.sif").returncode == 0
    assert os.readlink(shared / "beta.sif") == f"beta-v{STAMPS[1]}.sif"
    assert os.readlink(shared / "alpha.sif") == f"alpha-v{STAMPS[2]}.sif"
    dry = cli("--json", "--dry-run", "cleanup", "-k", "1", shared)
    assert dry.returncode == 1
    would = json.loads(dry.stdout)["result"]["removed"]
    real = cli("--json", "cleanup", "-k", "1", shared)
    assert real.returncode == 0 and json.loads(real.stdout)["removed"] == would
    assert {Path(p).name.split("-v")[0] for p in would} == {"alpha", "beta"}
    assert all(not Path(p).exists() for p in would)
