"""Multi-stage defs through the stage cache: built cold (an earlier `Stage:` nothing copies
from would not be built).  The code that caches each earlier `Stage:` as one entry is kept
behind `stages.MULTI_STAGE_COLD`: the tests of it turn the flag off."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from wheels import make_wheel

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.cache.stage_keys import StageContext
from scitex_container.apptainer.cache.staged import prepare
from scitex_container.apptainer.deffile import parse_def_text

TWO_STAGES = """\
Bootstrap: localimage
From: {busybox}
Stage: build

%files
    wheels /wheels

%post
    echo {built} > /built

Bootstrap: localimage
From: {base}
Stage: final

%files from build
    /wheels /opt/wheels
    /built

%post
    {install}
    echo {last} > /last

%runscript
    cat /built
"""


def keyed(text: str):
    context = StageContext("1.4.5", "x86_64", True)
    return prepare(parse_def_text(text, "r.def"), build_args=None, context=context)


def fill(**kw: str) -> str:
    values = {"busybox": "bb.sif", "base": "bb.sif", "built": "b1", "install": "true"}
    return TWO_STAGES.format(**{**values, "last": "l1", **kw})


@pytest.fixture()
def split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multi-stage defs split into stages (the code kept behind the flag)."""
    from scitex_container.apptainer.cache import stages

    monkeypatch.setattr(stages, "MULTI_STAGE_COLD", False)


def test_every_multi_stage_def_builds_cold() -> None:
    unused = fill().replace("%files from build\n    /wheels /opt/wheels\n    /built\n", "")
    assert "%files from" not in unused
    assert keyed(unused).plan.uncacheable == "multi-stage defs build cold"
    assert keyed(fill()).plan.uncacheable == "multi-stage defs build cold"


def test_files_from_builds_cold_a_host_copy_is_not_the_stage_copy(split) -> None:
    # apptainer's host %files copy follows links and makes directories anew (a tester's
    # symlink came out a file, 0755 came out 0775): a copy from a cached stage is built cold
    why = keyed(fill()).plan.uncacheable or ""
    assert "`%files from build`" in why and "follows links" in why


def test_an_earlier_stage_is_keyed_on_its_own_and_feeds_the_stages_that_copy_from_it(
    monkeypatch, split
) -> None:
    from scitex_container.apptainer.cache import multistage

    monkeypatch.setattr(multistage, "REWRITE_FILES_FROM", True)  # the keys, were it exact
    first = keyed(fill())
    assert first.plan.uncacheable is None
    assert [s.name for s in first.plan.earlier] == ["stage-build"]
    assert [s.name for s in first.plan.stages] == ["bootstrap", "post-1", "final"]
    assert first.plan.stages[1].sources == ("build",)
    assert "%files from" not in first.plan.stages[1].body
    assert "Stage:" not in first.plan.earlier[0].body + first.plan.stages[0].body
    last = keyed(fill(last="l2"))  # the final stage's %post: the earlier stage keeps its key
    assert last.earlier == first.earlier and last.keys[0] == first.keys[0]
    assert last.keys[1] != first.keys[1]
    built = keyed(fill(built="b2"))  # the earlier stage: it and what copies from it change
    assert built.earlier != first.earlier
    assert built.keys[0] == first.keys[0] and built.keys[1] != first.keys[1]
    text = first.plan.stages[1].def_text("/base", "", {"build": "/c/e/rootfs"})
    assert "    /c/e/rootfs/wheels /opt/wheels\n" in text
    assert "    /c/e/rootfs/built /built\n" in text


def test_a_files_from_line_the_cache_cannot_rewrite_is_built_cold(monkeypatch, split) -> None:
    from scitex_container.apptainer.cache import multistage

    monkeypatch.setattr(multistage, "REWRITE_FILES_FROM", True)
    quoted = fill().replace("    /built\n", '    "/a b" /c\n')
    assert "cannot rewrite" in (keyed(quoted).plan.uncacheable or "")
    unknown = fill().replace("%files from build", "%files from nowhere")
    assert "names no earlier stage" in (keyed(unknown).plan.uncacheable or "")


@pytest.mark.apptainer
def test_a_def_copying_from_an_earlier_stage_builds_cold_and_equal_with_the_cache_on(
    tmp_path: Path, busybox_sif: Path
) -> None:
    make_wheel(tmp_path / "wheels", "stage-demo", "1.2.3")
    recipe = tmp_path / "r.def"
    recipe.write_text(
        TWO_STAGES.format(
            busybox=busybox_sif, base=busybox_sif, built="b1", install="ls /opt", last="l1"
        )
    )

    def build(stage_cache):
        return build_version(
            def_path=recipe, output_dir=tmp_path / "out", stage_cache=stage_cache, force=True
        )

    def listing(image: Path) -> str:
        argv = ["apptainer", "exec", str(image), "ls", "-lnR", "/opt", "/built", "/last"]
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout

    cached = build(StageCache(tmp_path / "cache"))
    assert cached.stages == () and cached.built
    assert cached.cache_note == "multi-stage defs build cold"
    cold = build(None)
    assert listing(cached.artifact) == listing(cold.artifact)


def test_a_copy_from_an_old_network_stage_builds_cold_so_its_age_cannot_be_bypassed(
    split,
) -> None:
    # the stage that copies from `build` would be rebuilt on its (possibly 6-day-old)
    # network entry: today no such stage is cached at all, the whole def builds cold
    networked = fill(built="b1").replace("    echo b1 > /built", "    hostname > /built")
    plan = keyed(networked).plan
    assert plan.uncacheable is not None and "`%files from build`" in plan.uncacheable
    # nor can a recipe reach the copy path by writing the cache's placeholder itself
    literal = fill().replace("echo l1 > /last", "cp -r @scitex-stage:build@/x /last")
    assert "reserved" in (keyed(literal).plan.uncacheable or "")
    alone = "Bootstrap: scratch\n\n%post\n    echo @scitex-stage:x@ > /a\n"  # was a KeyError
    assert "reserved" in (keyed(alone).plan.uncacheable or "")


@pytest.mark.apptainer
def test_a_stage_copying_from_an_old_network_stage_inherits_its_clock(
    tmp_path: Path, busybox_sif: Path, monkeypatch: pytest.MonkeyPatch, split
) -> None:
    import json
    import time

    from scitex_container.apptainer.cache import multistage

    monkeypatch.setattr(multistage, "REWRITE_FILES_FROM", True)  # were the copy exact
    make_wheel(tmp_path / "wheels", "stage-demo", "1.2.3")
    recipe = tmp_path / "r.def"
    cache = StageCache(tmp_path / "cache")

    def build(last: str):
        text = TWO_STAGES.format(
            busybox=busybox_sif, base=busybox_sif, built="b1", install="true", last=last
        )
        recipe.write_text(text.replace("    echo b1 > /built", "    hostname > /built"))
        done = build_version(
            def_path=recipe, output_dir=tmp_path / "out", stage_cache=cache, force=True
        )
        return {s.name: s for s in done.stages}

    first = build("l1")
    assert first["stage-build"].network and not first["post-1"].network  # its own text
    record = cache.entries_dir / first["stage-build"].key / "entry.json"
    raw = json.loads(record.read_text())
    raw["made"] = raw["network_since"] = time.time() - 5 * 86400
    record.write_text(json.dumps(raw))
    second = build("l2")
    assert second["stage-build"].reused and not second["post-1"].reused
    made = cache.read(second["post-1"].key)
    assert made.age() < 3600 and made.network_age() > 4.9 * 86400  # the ancestor's clock
