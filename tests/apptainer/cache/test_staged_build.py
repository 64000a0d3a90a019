"""Builds through the stage cache on the real apptainer: each edit reuses exactly the stages
it should (read from the build's report) and the result equals a cold build's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.store.metadata import load_metadata

pytestmark = pytest.mark.apptainer

RECIPE = """\
Bootstrap: localimage
From: {base}

%arguments
    GREETING=hello

%files
    payload /payload

%post
    echo one > /one
    # scitex: checkpoint
    echo {{{{ GREETING }}}} > /greeting
    echo last > /last

%environment
    export STAGE_TEST=1

%runscript
    cat /last
"""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture()
def project(tmp_path: Path, busybox_sif: Path) -> Path:
    (tmp_path / "r.def").write_text(RECIPE.format(base=busybox_sif))
    (tmp_path / "payload").write_text("v1\n")
    return tmp_path


def build(project: Path, cache: StageCache | None, **kw):
    return build_version(
        def_path=project / "r.def", output_dir=project / "out", stage_cache=cache, **kw
    )


def reused(result) -> list[str]:
    """The stages not run again: the deepest one reused and those skipped inside it."""
    return [s.name for s in result.stages if s.reused or s.skipped]


def cat(image: Path, *files: str) -> str:
    argv = ["apptainer", "exec", str(image), "cat", *files]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def test_each_edit_reuses_exactly_the_stages_before_it(project: Path) -> None:
    cache = StageCache(project / "cache")
    first = build(project, cache)
    assert [s.name for s in first.stages] == ["bootstrap", "post-1", "post-2", "final"]
    assert reused(first) == []
    cases = [
        (("echo last > /last", "echo LAST > /last"), ["bootstrap", "post-1"]),
        (("export STAGE_TEST=1", "export STAGE_TEST=2"), ["bootstrap", "post-1", "post-2"]),
        (("echo one > /one", "echo uno > /one"), ["bootstrap"]),
    ]
    for (old, new), expected in cases:
        edit(project / "r.def", old, new)
        assert reused(build(project, cache)) == expected, (old, new)
    (project / "payload").write_text("v2\n")  # a %files input: post-1 and later rebuild
    assert reused(build(project, cache)) == ["bootstrap"]
    done = build(project, cache, build_args={"GREETING": "hi"})
    assert reused(done) == ["bootstrap", "post-1"]
    assert cat(done.path, "/one", "/payload", "/greeting", "/last") == "uno\nv2\nhi\nLAST\n"
    meta = load_metadata(done.artifact)
    record = meta["stage_cache"]
    # only the entry looked up and verified is "reused"; the bootstrap inside it is skipped
    assert [(r["stage"], r["reused"], r["skipped"]) for r in record] == [
        ("bootstrap", False, True),
        ("post-1", True, False),
        ("post-2", False, False),
        ("final", False, False),
    ]
    assert [r["key"] for r in record] == [s.key for s in done.stages]


def test_a_corrupt_entry_is_rebuilt_and_the_result_equals_a_cold_build(project: Path) -> None:
    cache = StageCache(project / "cache")
    build(project, cache)
    deepest = cache.entries_dir / build(project, cache, force=True).stages[2].key
    (deepest / "rootfs" / "last").write_text("tampered\n")
    again = build(project, cache, force=True)
    assert [(s.name, s.reused, s.lookup) for s in again.stages[1:3]] == [
        ("post-1", True, "hit"),
        ("post-2", False, "corrupt: root fs digest mismatch"),
    ]
    assert cat(again.path, "/last") == "last\n"
    cold = build(project, None, force=True)
    assert cold.stages == () and cold.built
    for result in (again, cold):
        assert (
            cat(result.path, "/one", "/payload", "/greeting", "/last") == "one\nv1\nhello\nlast\n"
        )


def test_a_def_the_cache_cannot_split_is_built_cold_and_says_why(
    tmp_path: Path, busybox_sif: Path
) -> None:
    (tmp_path / "s.def").write_text(
        f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%setup\n    true\n"
    )
    done = build_version(
        def_path=tmp_path / "s.def",
        output_dir=tmp_path / "out",
        stage_cache=StageCache(tmp_path / "cache"),
    )
    assert done.built and done.stages == ()
    assert "%setup" in (done.cache_note or "")


def test_the_signed_statement_records_the_stages_with_their_keys(project: Path) -> None:
    import json

    from scitex_container.apptainer.lock.provenance import STATEMENT_OBJECT
    from scitex_container.apptainer.sif.header import read_object, read_sif
    from scitex_container.apptainer.signing.keys import new_keypair

    pair = new_keypair(project / "keys")
    cache = StageCache(project / "cache")
    build(project, cache)
    edit(project / "r.def", "echo last > /last", "echo LAST > /last")
    done = build(project, cache, sign_key=pair.private)
    info = read_sif(done.artifact)
    found = info.named(STATEMENT_OBJECT)
    assert found
    statement = json.loads(read_object(done.artifact, found[-1]))
    stages = statement["predicate"]["buildDefinition"]["internalParameters"]["stage_cache"]
    assert [(s["stage"], s["reused"], s["key"]) for s in stages] == [
        (s.name, s.reused, s.key) for s in done.stages
    ]
    assert [s["stage"] for s in stages if s["reused"]] == ["post-1"]
    assert [s["stage"] for s in stages if s["skipped"]] == ["bootstrap"]
