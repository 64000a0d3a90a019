"""Multi-stage defs through the stage cache: each earlier `Stage:` is one entry, reused by a
later build whose final stage changed; the result's lock equals a cold build's."""

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
from scitex_container.apptainer.lock.lockfile import read_lock
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX, sidecar

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


def test_an_earlier_stage_is_keyed_on_its_own_and_feeds_the_stages_that_copy_from_it() -> None:
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


def test_a_files_from_line_the_cache_cannot_rewrite_is_built_cold() -> None:
    quoted = fill().replace("    /built\n", '    "/a b" /c\n')
    assert "cannot rewrite" in (keyed(quoted).plan.uncacheable or "")
    unknown = fill().replace("%files from build", "%files from nowhere")
    assert "names no earlier stage" in (keyed(unknown).plan.uncacheable or "")


@pytest.mark.apptainer
def test_editing_the_final_stage_reuses_the_earlier_one_and_keeps_the_cold_lock(
    tmp_path: Path, busybox_sif: Path
) -> None:
    make_wheel(tmp_path / "wheels", "stage-demo", "1.2.3")
    recipe = tmp_path / "r.def"
    cache = StageCache(tmp_path / "cache")

    def build(last: str, stage_cache):
        recipe.write_text(
            TWO_STAGES.format(
                busybox=busybox_sif, base=busybox_sif, built="b1", install="ls /opt", last=last
            )
        )
        return build_version(
            def_path=recipe, output_dir=tmp_path / "out", stage_cache=stage_cache, force=True
        )

    def listing(image: Path) -> str:
        argv = ["apptainer", "exec", str(image), "ls", "-lnR", "/opt", "/built", "/last"]
        ran = subprocess.run(argv, check=True, capture_output=True, text=True)
        cat = ["apptainer", "exec", str(image), "cat", "/built", "/last"]
        return ran.stdout + subprocess.run(cat, check=True, capture_output=True, text=True).stdout

    first = build("l1", cache)
    assert [(s.name, s.reused) for s in first.stages] == [
        ("stage-build", False),
        ("bootstrap", False),
        ("post-1", False),
        ("final", False),
    ]
    warm = build("l2", cache)  # the final stage's %post changed
    assert [(s.name, s.reused) for s in warm.stages] == [
        ("stage-build", True),
        ("bootstrap", True),
        ("post-1", False),
        ("final", False),
    ]
    assert warm.stages[0].lookup == "hit" and warm.stages[0].age is not None
    again = build("l2", cache)  # the deepest stage reused: the earlier Stage: still reported
    assert [(s.name, s.reused) for s in again.stages] == [
        ("stage-build", True),
        ("bootstrap", True),
        ("post-1", True),
        ("final", False),
    ]
    from scitex_container.apptainer.store.metadata import load_metadata

    assert load_metadata(again.artifact)["stage_cache"][0]["stage"] == "stage-build"
    cold = build("l2", None)
    assert cold.stages == () and cold.built
    assert "stage_demo-1.2.3" in listing(warm.artifact) and "b1\nl2\n" in listing(warm.artifact)
    assert listing(warm.artifact) == listing(cold.artifact)
    warm_lock = read_lock(sidecar(warm.artifact, LOCK_SUFFIX))
    cold_lock = read_lock(sidecar(cold.artifact, LOCK_SUFFIX))
    packages = ("pip", "dpkg", "node", "apk", "tool_version")
    assert [getattr(warm_lock, f) for f in packages] == [getattr(cold_lock, f) for f in packages]
