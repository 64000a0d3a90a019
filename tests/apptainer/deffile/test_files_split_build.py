"""The one ``%files`` splitter agrees with apptainer's own build, and every reader uses it.

One real build (a busybox base) copies several quoted/space/glob lines; where
each file lands in the image is what :func:`split_line` plus the resolver
predict.  A property test then checks that the def checks' reading of a line
(:meth:`DefFile.files_entries`) and the resolver's (:func:`split_line`) never
disagree, whatever quotes, blanks and templates the line holds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scitex_container.apptainer.deffile import parse_def_text
from scitex_container.apptainer.deffile.sources import host_sources, split_line
from scitex_container.apptainer.deffile.text import split_fields
from scitex_container.errors import DefFileError

LINES = [
    '"my dir/f 1" /opt/one',
    'plain "/opt/two dir/p"',
    "sp?ace /opt/three",
    '"sp ace" /opt/four',
    "data/*.csv",
    '"a"b',  # apptainer: source `a`, destination `b`
    "x{1,2} /opt/braces/",
]
FILES = ["my dir/f 1", "plain", "sp ace", "data/a.csv", "data/b.csv", "a", "x1", "x2"]


def _predicted(tree: Path, text: str) -> set[str]:
    out = set()
    for source in host_sources(parse_def_text(text, str(tree / "t.def"))):
        for path in source.paths:
            rel = os.path.relpath(path, tree)
            if not source.dst:
                out.add("/" + rel)
            elif source.dst.endswith("/") or len(source.paths) > 1:
                out.add(source.dst.rstrip("/") + "/" + os.path.basename(rel))
            else:
                out.add(source.dst if source.dst.startswith("/") else "/" + source.dst)
    return out


@pytest.mark.apptainer
def test_a_real_build_puts_quoted_and_spaced_sources_where_the_splitter_says(
    tmp_path: Path, busybox_sif: Path
):
    for rel in FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    text = f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%files\n" + "".join(
        f"    {line}\n" for line in LINES
    )
    (tmp_path / "t.def").write_text(text)
    subprocess.run(
        ["apptainer", "build", "--fakeroot", "t.sif", "t.def"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    found = subprocess.run(
        ["apptainer", "exec", "t.sif", "busybox", "find", "/opt", "/data", "/b", "-type", "f"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split("\n")
    assert {f for f in found if f} == _predicted(tmp_path, text)
    assert split_line('"a"b') == ("a", "b")  # the case the old check-side splitter read as `ab`


PIECES = st.sampled_from(["a", "b c", "'", '"', " ", "\t", "{{ N }}", "/", "*", "#", "x y"])


@given(st.lists(PIECES, min_size=1, max_size=8).map("".join))
def test_the_def_checks_and_the_resolver_read_a_line_alike(line: str):
    body = line.strip()
    if not body or body.startswith("#"):
        return
    text = f"Bootstrap: docker\nFrom: x\n%arguments\n    N=v\n%files\n    {body}\n"
    src, dst = split_line(body)
    if not split_fields(body):  # quotes only: apptainer's parser crashes, ours names the line
        with pytest.raises(DefFileError, match="no source field"):
            parse_def_text(text)
        return
    entries = parse_def_text(text).files_entries()
    assert [(e.src, e.dest or "") for e in entries] == [(src, dst)]
