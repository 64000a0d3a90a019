"""An entry is stored while the next stage builds: a failing next stage still keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.errors import ScitexError

pytestmark = pytest.mark.apptainer

RECIPE = """\
Bootstrap: localimage
From: {base}

%post
    echo one > /one
    # scitex: checkpoint
    {second}
"""


def test_a_failed_stage_keeps_the_one_below_and_the_fix_reuses_it(
    tmp_path: Path, busybox_sif: Path
) -> None:
    recipe = tmp_path / "r.def"
    cache = StageCache(tmp_path / "cache")
    recipe.write_text(RECIPE.format(base=busybox_sif, second="false"))
    with pytest.raises(ScitexError):
        build_version(def_path=recipe, output_dir=tmp_path / "out", stage_cache=cache)
    kept = {e.stage for e in cache.entries()}
    assert kept == {"bootstrap", "post-1"}
    assert not list(cache.tmp_dir.iterdir())  # the failed stage left nothing behind
    recipe.write_text(RECIPE.format(base=busybox_sif, second="echo two > /two"))
    done = build_version(def_path=recipe, output_dir=tmp_path / "out", stage_cache=cache)
    assert [(s.name, s.reused or s.skipped) for s in done.stages] == [
        ("bootstrap", True),
        ("post-1", True),
        ("post-2", False),
        ("final", False),
    ]
    assert all(s.stored >= 0 for s in done.stages)
    assert done.stages[2].stored > 0  # its entry was committed after the final stage built
