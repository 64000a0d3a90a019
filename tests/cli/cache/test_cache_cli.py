"""`build --cache` reports each stage; `cache list` / `cache prune`; bad input exits 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from images import STAGED_DEF

RECIPE = STAGED_DEF + "\n%runscript\n    cat /two\n"


@pytest.mark.apptainer
def test_build_says_which_stages_were_reused_then_list_and_prune(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    recipe = tmp_path / "r.def"
    recipe.write_text(RECIPE.format(base=busybox_sif))
    cache = tmp_path / "stages"
    first = sx("build", "--cache-dir", cache, recipe)
    assert first.code == 0, first.err
    assert "stage post-2: built in" in first.err and "stage " not in first.out  # notes
    recipe.write_text(RECIPE.format(base=busybox_sif).replace("echo two", "echo 2"))
    again = sx("--json", "build", "--cache-dir", cache, recipe)
    assert again.code == 0, again.err
    stages = {s["name"]: s for s in again.json()["stages"]}
    assert stages["post-1"]["reused"] and stages["post-1"]["age"] >= 0
    assert not stages["post-2"]["reused"]
    assert stages["bootstrap"]["skipped"] and not stages["bootstrap"]["reused"]
    assert stages["bootstrap"]["lookup"] == "skipped: within the reused post-1"
    status = sx("--json", "status", tmp_path)
    assert status.json()[0]["stages_reused"].startswith("post-1 (")
    cold = sx("--json", "build", "--no-cache", "--force", "--cache-dir", cache, recipe)
    assert cold.code == 0 and cold.json()["stages"] == []
    listed = sx("--json", "cache", "list", "--cache-dir", cache)
    assert sorted(e["stage"] for e in listed.json()) == ["bootstrap", "post-1", "post-2", "post-2"]
    would = sx("--json", "--dry-run", "cache", "prune", "--all", "--cache-dir", cache)
    assert would.code == 1 and would.json()["dry_run"] is True  # the one dry-run shape
    assert len(would.json()["result"]["removed"]) == 4  # said, not done
    assert len(sx("--json", "cache", "list", "--cache-dir", cache).json()) == 4
    pruned = sx("--json", "cache", "prune", "--all", "--cache-dir", cache)
    assert len(pruned.json()["removed"]) == 4
    assert sx("--json", "cache", "list", "--cache-dir", cache).json() == []


@pytest.mark.apptainer
@pytest.mark.stage_cache
def test_build_caches_by_default_under_xdg_and_no_cache_or_env_turns_it_off(
    sx, tmp_path: Path, busybox_sif: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCITEX_CONTAINER_STAGE_CACHE", raising=False)
    recipe = tmp_path / "r.def"
    recipe.write_text(RECIPE.format(base=busybox_sif))
    first = sx("--json", "build", recipe)  # no flag: the per-user cache
    assert first.code == 0, first.err
    assert [s["reused"] for s in first.json()["stages"]] == [False, False, False, False]
    user_cache = Path(os.environ["XDG_CACHE_HOME"]) / "scitex-container" / "stages"
    assert first.json()["stages"] and len(list((user_cache / "entries").iterdir())) == 3
    again = sx("build", "--force", recipe)
    assert again.code == 0, again.err
    assert "stage post-2: reused" in again.err and " old)" in again.err
    assert "stage post-1: skipped: within the reused post-2" in again.err
    cold = sx("--json", "build", "--no-cache", "--force", recipe)
    assert cold.code == 0 and cold.json()["stages"] == []
    monkeypatch.setenv("SCITEX_CONTAINER_STAGE_CACHE", "0")
    off = sx("--json", "build", "--force", recipe)
    assert off.code == 0 and off.json()["stages"] == []
    forced = sx("--json", "build", "--cache", "--force", recipe)  # --cache wins over the env
    assert forced.code == 0 and forced.json()["stages"][-2]["reused"]


def test_a_misplaced_checkpoint_is_refused_with_file_and_line(sx, tmp_path: Path) -> None:
    recipe = tmp_path / "bad.def"
    recipe.write_text(
        "Bootstrap: scratch\n\n%post\n    cat > /f <<EOF\n    # scitex: checkpoint\nEOF\n"
    )
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 2
    assert f"{recipe}:5" in ran.json()["error"] and "here-document" in ran.json()["error"]


def test_a_dry_run_refuses_a_misplaced_checkpoint_as_the_build_does(sx, tmp_path: Path) -> None:
    recipe = tmp_path / "bad.def"
    recipe.write_text("Bootstrap: scratch\n\n%environment\n    # scitex: checkpoint\n")
    ran = sx("--json", "--dry-run", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 2 and f"{recipe}:4" in ran.json()["error"]
    assert not (tmp_path / "stages").exists()  # a dry run makes nothing
    cold = sx("--json", "--dry-run", "build", "--no-cache", recipe)  # the def as written
    assert cold.code == 1, cold.out


def test_a_cache_dir_writable_by_others_is_refused_by_name(sx, tmp_path: Path) -> None:
    cache = tmp_path / "stages"
    (cache / "entries").mkdir(parents=True)
    os.chmod(cache, 0o777)
    ran = sx("--json", "cache", "list", "--cache-dir", cache)
    assert ran.code == 2
    assert str(cache) in ran.json()["error"] and "writable by other users" in ran.json()["error"]


def test_prune_needs_to_be_told_what_to_remove(sx, tmp_path: Path) -> None:
    ran = sx("--json", "cache", "prune", "--cache-dir", tmp_path / "stages")
    assert ran.code == 2 and "--older-than" in ran.json()["error"]
