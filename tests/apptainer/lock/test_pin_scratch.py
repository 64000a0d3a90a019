"""A pinned build keeps its scratch inside the image: nothing lands in the host's /tmp.

``apptainer build`` binds the host's ``/tmp`` into ``%post``, so a pin
stanza's ``mktemp -d`` there used to leave a directory on the host whenever
the build failed before the stanza cleaned up.  The test builds a locked def
whose pip pin does not exist (``pip install --no-index`` fails, the build
fails) and looks for the stanza's files anywhere directly under /tmp and
/var/tmp.  Other users share /tmp, so the test recognises the stanza's
directory by the pin it wrote, not by counting entries.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.lock.lockfile import Lock
from scitex_container.apptainer.lock.pin import render_locked_def
from scitex_container.errors import ScitexError

pytestmark = pytest.mark.apptainer

PIN = "scitex-no-such-package"


def _pin_dirs(root: Path) -> list[Path]:
    """Directories directly under ``root`` holding a pin file that names PIN."""
    found = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            for name in ("pip-pins", "pip-todo", "pip-freeze"):
                path = Path(entry.path) / name
                if path.is_file() and PIN in path.read_text(errors="replace"):
                    found.append(Path(entry.path))
                    break
        except OSError:
            continue  # another user's directory we cannot read, or gone meanwhile
    return found


def test_failed_pinned_build_leaves_nothing_in_host_tmp(tmp_path: Path, debian_sif: Path) -> None:
    rough = tmp_path / "rough.def"
    rough.write_text(
        textwrap.dedent(
            f"""\
            Bootstrap: localimage
            From: {debian_sif}

            %post
                true
            """
        )
    )
    lock = Lock(pip={PIN: "9.9.9"}, captured_at="2026-12-01T00:00:00Z")
    locked = tmp_path / "locked.def"
    locked.write_text(render_locked_def(rough, lock, locked, pip_options=["--no-index"]))
    assert f"{PIN}==9.9.9" in locked.read_text()
    before = {p for root in (Path("/tmp"), Path("/var/tmp")) for p in _pin_dirs(root)}
    with pytest.raises(ScitexError):
        build_version(def_path=locked, output_dir=tmp_path / "out", image_name="locked")
    after = {p for root in (Path("/tmp"), Path("/var/tmp")) for p in _pin_dirs(root)}
    assert after - before == set()
    log = next((tmp_path / "out" / "locked").glob("*.build.log")).read_text()
    assert PIN in log and "/.scitex-container-pins." in log  # the stanza ran and failed
    store = tmp_path / "out" / "locked"
    assert not list(store.glob("locked-v*.sif")), list(store.iterdir())
