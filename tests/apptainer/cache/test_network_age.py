"""A network stage's age limit holds through the stages built on it: a later stage built on
a reused old network stage keeps its clock, and the report gives each stage its own age."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache

pytestmark = pytest.mark.apptainer

RECIPE = """\
Bootstrap: localimage
From: {base}

%post
    hostname > /net
    # scitex: checkpoint
    echo {last} > /last
"""
DAY = 86400.0


def _build(where: Path, cache: StageCache, last: str, **kw):
    (where / "r.def").write_text(RECIPE.format(base=where / "base.sif", last=last))
    return build_version(
        def_path=where / "r.def", output_dir=where / "out", stage_cache=cache, **kw
    )


def _age_record(cache: StageCache, key: str, days: float) -> None:
    path = cache.entries_dir / key / "entry.json"
    raw = json.loads(path.read_text())
    raw["made"] = raw["network_since"] = time.time() - days * DAY
    path.write_text(json.dumps(raw))


def test_a_stage_built_on_an_old_network_stage_keeps_its_clock(
    tmp_path: Path, busybox_sif: Path
) -> None:
    (tmp_path / "base.sif").symlink_to(busybox_sif)
    cache = StageCache(tmp_path / "cache")
    first = _build(tmp_path, cache, "a")
    post1 = next(s for s in first.stages if s.name == "post-1")
    assert post1.network  # `hostname` is not a known offline command
    _age_record(cache, post1.key, 5)  # made 5 days ago, within the 7-day limit
    second = _build(tmp_path, cache, "b")
    runs = {s.name: s for s in second.stages}
    assert runs["post-1"].reused and not runs["post-2"].reused
    assert runs["post-1"].age > 4.9 * DAY  # its own age
    # inside the reused post-1: skipped, not looked up, so no age claimed for it
    assert runs["bootstrap"].skipped and not runs["bootstrap"].reused
    assert runs["bootstrap"].age is None
    made = cache.read(runs["post-2"].key)
    assert made.age() < DAY and made.network_age() > 4.9 * DAY  # inherited: restarted before
    third = _build(tmp_path, cache, "b", cache_max_age=4 * DAY, force=True)
    assert [s.name for s in third.stages if s.reused] == ["bootstrap"]  # post-2 expired too
