"""Each package is locked by the manager that installed it.

A real image (cached: Debian + python3-apt, python3-numpy and npm from
Debian, one wheel and one npm global of ours): the Python distributions
Debian installed (numpy, python-apt, gyp from node-gyp, ...) are recorded as
dpkg's (``# provided-by:``), pinned by the apt stanza and archived as .debs
only; ours stay pip's and npm's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scitex_container.apptainer.lock.archive import artifact_map
from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.capture_static import dpkg_owners
from scitex_container.apptainer.lock.lockfile import read_lock, render_lock
from scitex_container.apptainer.lock.pin import render_locked_def
from scitex_container.errors import NotFoundError


@pytest.fixture(scope="module")
def dpkg_python_sif() -> Path:
    from lockimages import dpkg_python_sif as make

    return make()


def _heredoc(text: str, tag: str) -> list[str]:
    return text.split(f"<<'{tag}'\n")[1].split(f"\n{tag}\n")[0].splitlines()


@pytest.mark.apptainer
def test_debian_python_is_dpkgs_pinned_and_archived_through_dpkg(dpkg_python_sif, tmp_path):
    from lockimages import dpkg_python_def_text

    lock = capture_lock(dpkg_python_sif, tmp_path / "img.lock", captured_at="")
    owners = read_lock(tmp_path / "img.lock").provided_by
    assert owners["pip:numpy"] == "dpkg:python3-numpy"
    assert owners["pip:python-apt"] == "dpkg:python3-apt"
    assert owners["pip:gyp"] == "dpkg:gyp"  # node-gyp's Python half
    assert all(v.startswith("dpkg:") and v[5:] in lock.dpkg for v in owners.values())
    assert "pip:scitex-lock-alpha" not in owners and "node:scitex-tiny-tool" not in owners
    assert "numpy" in lock.pip  # still listed: pip freeze shows it

    rough = tmp_path / "rough.def"
    rough.write_text(dpkg_python_def_text(Path("/base.sif"), Path("/inputs")))
    text = render_locked_def(rough, lock, tmp_path / "locked.def", apt_scope="all")
    assert _heredoc(text, "SCITEX_PIP_PINS") == ["scitex-lock-alpha==1.0.0"]
    apt = _heredoc(text, "SCITEX_APT_PINS")
    assert any(p.startswith("python3-numpy=") for p in apt)
    assert any(p.startswith("python3-apt=") for p in apt)
    assert "# pip: numpy is dpkg:python3-numpy's, pinned with it" in text

    with pytest.raises(NotFoundError) as info:  # an empty archive: what would it need?
        artifact_map(lock, tmp_path / "empty-archive")
    needed = str(info.value)
    assert "dpkg:python3-numpy=" in needed and "pip:scitex-lock-alpha=1.0.0" in needed
    assert "pip:numpy=" not in needed and "pip:python-apt=" not in needed


def test_dpkg_owners_reads_file_lists():
    installed = {
        "pip:numpy": "usr/lib/python3/dist-packages/numpy-1.24.2.egg-info",
        "pip:mine": "usr/local/lib/python3.11/dist-packages/mine-1.0.dist-info",
        "node:gyp-tool": "usr/lib/node_modules/gyp-tool",
    }
    lists = {
        "var/lib/dpkg/info/python3-numpy.list": (
            b"/.\n/usr\n/usr/lib/python3/dist-packages/numpy-1.24.2.egg-info\n"
            b"/usr/lib/python3/dist-packages/numpy-1.24.2.egg-info/PKG-INFO\n"
        ),
        "var/lib/dpkg/info/node-gyp-tool:amd64.list": b"/usr/lib/node_modules/gyp-tool\n",
    }
    assert dpkg_owners(installed, lists) == {
        "node:gyp-tool": "dpkg:node-gyp-tool:amd64",
        "pip:numpy": "dpkg:python3-numpy",
    }
    # a native package's list may carry its architecture; the lock names it plainly
    owners = dpkg_owners(installed, lists, {"node-gyp-tool": "1", "python3-numpy": "1"})
    assert owners["node:gyp-tool"] == "dpkg:node-gyp-tool"


@pytest.mark.apptainer
def test_capture_by_exec_writes_the_same_lock_as_the_static_read(dpkg_python_sif):
    # the lock's text with its provided-by marks, the one both methods must produce
    static = capture_lock(dpkg_python_sif, method="static", captured_at="")
    execd = capture_lock(dpkg_python_sif, method="exec", captured_at="")
    assert execd.provided_by["pip:numpy"] == "dpkg:python3-numpy"
    assert execd.provided_by == static.provided_by
    assert render_lock(execd) == render_lock(static)
