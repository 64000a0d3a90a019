"""`repro IMAGE --archive DIR` checks DIR against the locked def before any build.

A lock naming a version the archive lost used to cost a full build and end
as DRIFT; now the missing files are listed, with where they were looked
for, and nothing is built (exit 2).  The .debs are tiny ones from dpkg-deb.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from debs import make_deb

from scitex_container.apptainer.lock.archive import archive_lock
from scitex_container.apptainer.lock.lockfile import Lock, write_lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.apptainer.repro import archive_def
from scitex_container.apptainer.repro.roundtrip import verify_roundtrip
from scitex_container.errors import NotFoundError

PKGS = {"scitex-pre-a": "1.0", "scitex-pre-b": "2.0-1"}


@pytest.fixture()
def image(tmp_path: Path) -> tuple[Path, Path]:
    """``(image, archive)``: a rough 'image' with its lock and archive-locked def beside it."""
    for name, version in PKGS.items():
        make_deb(tmp_path / "saved", name, version)
    store = tmp_path / "store" / "demo-rough"
    store.mkdir(parents=True)
    sif = store / "demo-rough-v1.sif"
    sif.write_bytes(b"not built: the check comes first")
    lock = write_lock(Lock(dpkg=dict(PKGS)), store / "demo-rough-v1.sif.lock")
    archive = tmp_path / "arc"
    archive_lock(lock, archive, saved_dirs=(tmp_path / "saved",))
    rough = tmp_path / "demo.def"
    rough.write_text("Bootstrap: scratch\n\n%post\n    true\n")
    generate_locked_def(rough, lock, store / "demo-rough-v1.sif.locked.def", archive=archive)
    return sif, archive


def test_a_complete_archive_passes(image):
    sif, archive = image
    locked = sif.with_name("demo-rough-v1.sif.locked.def")
    assert archive_def.check_locked_def(locked, archive) >= len(PKGS)


def test_a_vanished_file_fails_before_the_build(image, tmp_path: Path):
    sif, archive = image
    view = next((archive / "views").iterdir())
    gone = next((view / "apt").glob("scitex-pre-b_*.deb"))
    gone.unlink()
    with pytest.raises(NotFoundError) as info:
        verify_roundtrip(sif, tmp_path / "out", "demo", archive=archive)
    assert f"apt/{gone.name}" in str(info.value) and str(view) in str(info.value)
    assert info.value.exit_code == 2
    assert not (tmp_path / "out").exists()  # nothing was built


def test_a_changed_file_is_named(image):
    sif, archive = image
    view = next((archive / "views").iterdir())
    target = next((view / "apt").glob("scitex-pre-a_*.deb"))
    data = target.read_bytes()
    target.unlink()  # a hard link into the archive: replace it, never write through
    target.write_bytes(data + b"x")
    with pytest.raises(NotFoundError, match="missing or changed"):
        archive_def.check_locked_def(sif.with_name("demo-rough-v1.sif.locked.def"), archive)


def test_a_nonexistent_or_other_archive_is_refused(image, tmp_path: Path):
    sif, archive = image
    with pytest.raises(NotFoundError, match="no such directory"):
        verify_roundtrip(sif, tmp_path / "out", "demo", archive=tmp_path / "nowhere")
    other = tmp_path / "other"
    shutil.copytree(archive, other, symlinks=True)
    os.chmod(other, 0o755)
    with pytest.raises(NotFoundError, match="pinned against the archive"):
        verify_roundtrip(sif, tmp_path / "out", "demo", archive=other)
    assert not (tmp_path / "out").exists()


VANISHED = """\
Bootstrap: localimage
From: {base}

%post
    mkdir -p /opt/scx-pkg/DEBIAN
    cd /opt/scx-pkg/DEBIAN
    printf 'Package: scitex-made-here\\nVersion: 1.0\\nArchitecture: all\\n' > control
    printf 'Maintainer: t <t@t>\\nDescription: t\\n' >> control
    cd /
    dpkg-deb --build /opt/scx-pkg /opt/scitex-made-here.deb
    dpkg -i /opt/scitex-made-here.deb
    rm -rf /opt/scx-pkg /opt/scitex-made-here.deb
"""


@pytest.mark.apptainer
@pytest.mark.slow  # about a minute: a Debian rough build and its ~200 .debs archived
def test_repro_from_a_def_refuses_a_version_no_source_has_before_the_locked_build(
    tmp_path: Path, debian_sif: Path
):
    """A package built inside %post is in no apt source and no saved file: exit 2, and the
    locked build never starts."""
    from scitex_container.apptainer.repro.roundtrip import build_reproducible

    rough = tmp_path / "made.def"
    rough.write_text(VANISHED.format(base=debian_sif))
    with pytest.raises(NotFoundError) as info:
        build_reproducible(rough, tmp_path / "out", "made", archive=tmp_path / "arc")
    assert info.value.exit_code == 2
    assert "dpkg:scitex-made-here=1.0: looked in" in str(info.value)
    assert not (tmp_path / "out" / "made").exists()  # no locked build


@pytest.mark.parametrize(
    "assignment",
    ["export APT_CONFIG=/etc/mine.conf", "PIP_INDEX_URL=https://x/simple pip install a"],
)
def test_a_post_that_overrides_the_archive_config_is_refused_before_any_build(
    tmp_path: Path, assignment: str
):
    """Its own APT_CONFIG / PIP_* would win over the archive's: offline rebuild would fail."""
    from scitex_container.apptainer.repro.roundtrip import build_reproducible
    from scitex_container.errors import DefFileError

    rough = tmp_path / "o.def"
    rough.write_text(f"Bootstrap: scratch\n\n%post\n    # APT_CONFIG=ok\n    {assignment}\n")
    out = tmp_path / "out"
    with pytest.raises(DefFileError, match="archive") as info:
        build_reproducible(rough, out, archive=tmp_path / "arc")
    assert info.value.line == 5 and not out.exists()
