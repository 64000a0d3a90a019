"""Cases where our parser and apptainer 1.4.5 disagreed, checked against a real build.

Each def is built with ``apptainer build --sandbox`` on the busybox base
and read with :func:`parse_def` (``check_files``, as ``build`` does before
calling apptainer): both accept it or both refuse it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer.deffile import parse_def
from scitex_container.errors import DefFileError

pytestmark = pytest.mark.apptainer

ONE_STAGE = "Bootstrap: localimage\nFrom: bb.sif\nStage: one\n\n"
CASES = {
    # apptainer: WARNING Skipping "NOEQ" in 'arguments' section; the build goes on
    "arguments line without =": (
        "Bootstrap: localimage\nFrom: bb.sif\n\n%arguments\n    NOEQ\n    A=1\n\n"
        "%files\n    {{ A }}.txt /opt/\n",
        True,
    ),
    # apptainer: builds, copies nothing
    "files from two names": (
        ONE_STAGE + "Bootstrap: localimage\nFrom: bb.sif\n\n%files from one two\n    /bin/sh /x\n",
        True,
    ),
    "bare files from": (
        "Bootstrap: localimage\nFrom: bb.sif\n\n%files from\n    /bin/sh /x\n",
        True,
    ),
    "files with other arguments": (
        "Bootstrap: localimage\nFrom: bb.sif\n\n%files to x y\n    a b\n",
        True,
    ),
    # apptainer: "invalid header keyword found: target"
    "Target header": ("Bootstrap: localimage\nFrom: bb.sif\nTarget: x\n", False),
    "Frontend header": ("Bootstrap: localimage\nFrom: bb.sif\nFrontend: x\n", False),
    "Filename header": ("Bootstrap: localimage\nFrom: bb.sif\nFilename: x\n", False),
    "Buildargs header": ("Bootstrap: localimage\nFrom: bb.sif\nBuildargs: x\n", False),
    # apptainer: "header key bb.sif had no val"
    "From continued from nothing": ("Bootstrap: localimage\nFrom: \\\n    bb.sif\n", False),
    # apptainer: "invalid section(s) specified: files\tfrom\tone"
    "tab after a section name": (
        ONE_STAGE + "Bootstrap: localimage\nFrom: bb.sif\n\n%files\tfrom\tone\n    /bin/sh /x\n",
        False,
    ),
    "tab among the section arguments": (
        ONE_STAGE + "Bootstrap: localimage\nFrom: bb.sif\n\n%files from\tone\n    /bin/sh /x\n",
        True,
    ),
    # apptainer renders templates first: the stage is `one`
    "templated files from": (
        ONE_STAGE + "Bootstrap: localimage\nFrom: bb.sif\n\n%arguments\n    S=one\n\n"
        "%files from {{ S }}\n    /bin/sh /x\n",
        True,
    ),
    "undefined template in help": (
        "Bootstrap: localimage\nFrom: bb.sif\n\n%help\n    use {{ X }}\n",
        False,
    ),
    # apptainer: "invalid build source LocalImage" (agent names are case-sensitive)
    "capitalised agent": ("Bootstrap: LocalImage\nFrom: bb.sif\n", False),
    # apptainer: "build var X is not defined through either --build-arg ... or 'arguments'"
    "undefined template": (
        "Bootstrap: localimage\nFrom: bb.sif\n\n%runscript\n    echo {{ X }}\n",
        False,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_we_accept_what_apptainer_builds_and_refuse_what_it_refuses(
    case: str, tmp_path: Path, busybox_sif: Path
):
    text, builds = CASES[case]
    os.symlink(busybox_sif, tmp_path / "bb.sif")
    (tmp_path / "1.txt").write_text("one")
    path = tmp_path / "case.def"
    path.write_text(text)
    done = subprocess.run(
        ["apptainer", "build", "--sandbox", tmp_path / "sb", path],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode == 0) == builds, done.stderr
    if builds:
        parse_def(path, check_files=True)
    else:
        with pytest.raises(DefFileError, match=r"case\.def:\d+: "):
            parse_def(path, check_files=True)
