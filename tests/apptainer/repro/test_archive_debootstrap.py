"""Debootstrap from the artifact archive: the generated mirror, read by the real debootstrap.

A tiny Debian package set made with dpkg-deb (versions no mirror has: the
vanished-upstream case) is archived from saved files; the locked def of a
``Bootstrap: debootstrap`` def must name no network source, and the host's
debootstrap, run with the exact command the def holds (plus
``--download-only``), must resolve and verify exactly the base from the
archive's mirror.  The full build of the bundled example from the archive,
offline, is in ``test_repro_full.py`` (slow tier).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from debs import make_deb

from scitex_container.apptainer.lock.archive import archive_lock
from scitex_container.apptainer.lock.lockfile import Lock, write_lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.apptainer.repro.archive_debootstrap import mirror_packages
from scitex_container.errors import BadInputError, NotFoundError

ROUGH = """\
Bootstrap: debootstrap
OSVersion: bookworm
MirrorURL: http://deb.debian.org/debian
Include: scitex-inc

%setup
    touch "${APPTAINER_ROOTFS}/rough-setup-ran"

%post
    true
"""
BASE = {  # name: (version, priority, depends); versions no Debian mirror serves
    "scitex-req": ("1.0-1", "required", ""),
    "usr-is-merged": ("99.scitex1", "required", ""),  # bookworm's debootstrap adds it
    "apt": ("99.scitex1", "important", ""),  # minbase's base
    "scitex-inc": ("2.0", "optional", "scitex-dep (>= 3.0)"),
    "scitex-dep": ("3.0-1", "optional", ""),
}
EXTRA = {"scitex-extra": "1.0"}  # in the lock but not part of the base (a %post install)


@pytest.fixture(scope="module")
def archived(tmp_path_factory) -> tuple[Path, Path, Path]:
    """``(archive, lock, saved dir)``: every .deb from saved files (in no index)."""
    root = tmp_path_factory.mktemp("debootstrap-archive")
    saved = root / "saved"
    for name, (version, priority, depends) in BASE.items():
        make_deb(saved, name, version, priority=priority, depends=depends)
    make_deb(saved, "scitex-extra", EXTRA["scitex-extra"], priority="optional")
    make_deb(saved, "scitex-foreign", "1.0", arch="i386", priority="required")
    dpkg = {n: v for n, (v, _, _) in BASE.items()} | EXTRA | {"scitex-foreign:i386": "1.0"}
    lock = write_lock(Lock(dpkg=dpkg), root / "base.lock")
    archive_lock(lock, root / "arc", saved_dirs=(saved,))
    return root / "arc", lock, saved


def debootstrap_line(text: str) -> str:
    """The generated def's debootstrap command (the plain-root branch)."""
    lines = (line.strip() for line in text.splitlines())
    return next(line for line in lines if line.startswith("debootstrap "))


def test_locked_def_of_a_debootstrap_def_names_no_network_source(archived, tmp_path):
    archive, lock, _ = archived
    rough = tmp_path / "rough.def"
    rough.write_text(ROUGH)
    text = generate_locked_def(rough, lock, tmp_path / "locked.def", archive=archive).read_text()
    assert re.search(r"^Bootstrap: scratch$", text, flags=re.MULTILINE)
    assert not re.search(r"^\s*(OSVersion|MirrorURL|Include)\s*:", text, flags=re.I | re.M)
    read = "".join(
        ln for ln in text.splitlines(True) if not ln.startswith("# scitex-container was:")
    )
    urls = re.findall(r"https?://\S+", read)  # (the header kept as a comment is never read)
    assert urls == ["http://deb.debian.org/debian"]  # only the restored sources.list line
    setup = text.split("%setup\n", 1)[1]
    restore = setup.index("echo 'deb http://deb.debian.org/debian bookworm main' > ")
    # ... written by debootstrap's step; the archive's own sources are apart from /etc,
    assert "deb [trusted=yes] file:/.scitex-archive/apt ./' > " in setup[restore:]
    assert "export APT_CONFIG=/.scitex-archive-conf/apt.conf" in text.split("%post", 1)[1]
    # ... and the base is made before the rough def's own %setup runs on it.
    assert setup.index("debootstrap ") < setup.index("rough-setup-ran")
    line = debootstrap_line(text)
    assert "--variant=minbase --exclude=openssl,udev,debconf-i18n,e2fsprogs" in line
    assert "--include=apt,scitex-inc" in line and "--no-check-gpg bookworm" in line
    assert line.endswith('file://"$_scx_arc"/apt')  # the build's checked copy of the view
    assert re.search(r"^cp -R \S+/views/[0-9a-f]{16}/\. \"\$_scx_arc\"/$", setup, flags=re.M)
    again = generate_locked_def(rough, lock, tmp_path / "again.def", archive=archive)
    assert again.read_text().replace("again.def", "locked.def") == text  # deterministic


@pytest.mark.skipif(shutil.which("debootstrap") is None, reason="needs debootstrap")
@pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap needs root")
def test_the_real_debootstrap_takes_exactly_the_base_from_the_archive_mirror(archived, tmp_path):
    archive, lock, _ = archived
    rough = tmp_path / "rough.def"
    rough.write_text(ROUGH)
    text = generate_locked_def(rough, lock, tmp_path / "locked.def", archive=archive).read_text()
    line = debootstrap_line(text).replace("debootstrap ", "debootstrap --download-only ", 1)
    target = tmp_path / "rootfs"
    view = next(archive.glob("views/*/apt")).parent  # what the build's checked copy holds
    env = {**os.environ, "APPTAINER_ROOTFS": str(target), "_scx_arc": str(view)}
    done = subprocess.run(["sh", "-c", line], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    got = sorted(p.name for p in (target / "var/cache/apt/archives").glob("*.deb"))
    want = sorted(f"{n}_{v}_all.deb" for n, (v, _, _) in BASE.items())
    assert got == want  # required + apt + Include + its dependency; not the extra/foreign ones
    assert "Validating scitex-dep 3.0-1" in done.stdout

    # A .deb that is not the archived one fails debootstrap's sha256 check.
    view_deb = next(archive.glob("views/*/apt/scitex-dep_3.0-1_all.deb"))
    os.unlink(view_deb)  # a hard link to the archived blob: replace, never write through
    make_deb(tmp_path / "other", "scitex-dep", "3.0-1", priority="extra")
    shutil.copyfile(tmp_path / "other" / "scitex-dep_3.0-1_all.deb", view_deb)
    shutil.rmtree(target)
    bad = subprocess.run(["sh", "-c", line], env=env, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "scitex-dep_3.0-1_all.deb was corrupt" in bad.stdout + bad.stderr
    assert "E: Couldn't download packages: scitex-dep" in bad.stdout + bad.stderr


def test_a_base_deb_missing_from_the_archive_fails_before_the_build(archived, tmp_path):
    archive, _, _ = archived
    rough = tmp_path / "rough.def"
    rough.write_text(ROUGH)
    vanished = Lock(dpkg={"scitex-req": "1.0-1", "base-files": "12.4+deb12u14"})
    out = tmp_path / "locked.def"
    with pytest.raises(NotFoundError) as info:  # apt scope none: the base still needs it
        generate_locked_def(rough, vanished, out, archive=archive, apt_scope="none")
    assert "1 artifact(s)" in str(info.value)
    assert "dpkg:base-files=12.4+deb12u14" in str(info.value)
    assert "index.json" in str(info.value)
    assert not out.exists()


def test_a_network_base_the_archive_cannot_serve_is_refused_in_one_line(tmp_path):
    rough = tmp_path / "rough.def"
    rough.write_text("Bootstrap: docker\nFrom: debian:bookworm\n\n%post\n    true\n")
    lock = write_lock(Lock(dpkg={"hello": "2.10-3"}), tmp_path / "a.lock")
    (tmp_path / "arc").mkdir()
    with pytest.raises(BadInputError) as info:
        generate_locked_def(rough, lock, tmp_path / "locked.def", archive=tmp_path / "arc")
    assert info.value.where == str(rough)
    cli = [sys.executable, "-m", "scitex_container", "lock", "pin", rough, lock]
    done = subprocess.run(
        [*cli, "-o", tmp_path / "l.def", "--archive", tmp_path / "arc"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and str(rough) in done.stderr
    assert "`Bootstrap: docker`" in done.stderr


def test_mirror_packages_keep_this_arch_and_all_sorted_with_root_relative_files():
    scanned = (
        "Package: b\nVersion: 1\nArchitecture: amd64\nFilename: ./b_1_amd64.deb\n\n"
        "Package: a\nVersion: 2\nArchitecture: all\nFilename: ./a_2_all.deb\n\n"
        "Package: c\nVersion: 1\nArchitecture: i386\nFilename: ./c_1_i386.deb\n"
    )
    out = mirror_packages(scanned, "amd64")
    assert [m for m in re.findall(r"^Filename: (.*)$", out, flags=re.M)] == [
        "a_2_all.deb",
        "b_1_amd64.deb",
    ]


def test_a_suite_alias_gets_the_codename_of_the_archived_base_files(tmp_path):
    """debootstrap acts on the Release codename: `stable` must say bookworm, as Debian's did."""
    shown = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", "base-files"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    version = re.search(r"^Version: (\S+)$", shown, flags=re.M).group(1)
    lock = write_lock(Lock(dpkg={"base-files": version}), tmp_path / "b.lock")
    archive_lock(lock, tmp_path / "arc")
    rough = tmp_path / "rough.def"
    rough.write_text(ROUGH.replace("OSVersion: bookworm", "OSVersion: stable"))
    generate_locked_def(rough, lock, tmp_path / "locked.def", archive=tmp_path / "arc")
    release = next((tmp_path / "arc").glob("views/*/apt/dists/stable/Release")).read_text()
    codename = re.search(
        r"^VERSION_CODENAME=(\S+)$", Path("/etc/os-release").read_text(), flags=re.M
    ).group(1)  # this host is Debian of the same release as its apt sources
    assert "Suite: stable\n" in release and f"Codename: {codename}\n" in release


def _body(text: str) -> str:
    """A locked def without its generated header (which names the paths it came from)."""
    return "".join(
        ln for ln in text.splitlines(keepends=True) if not ln.startswith("# [scitex-container] ")
    )


@pytest.mark.parametrize("bootstrap", ["debootstrap", "scratch"])
def test_repinning_an_archive_locked_def_without_archive_drops_the_whole_archive_stanza(
    archived, tmp_path, bootstrap
):
    archive, lock, _ = archived
    rough = tmp_path / "rough.def"
    text = ROUGH if bootstrap == "debootstrap" else "Bootstrap: scratch\n\n%post\n    true\n"
    rough.write_text(text)
    kw = {"apt_scope": "all"}
    locked = generate_locked_def(rough, lock, tmp_path / "a.def", archive=archive, **kw)
    assert "scitex-container archive" in locked.read_text()
    again = generate_locked_def(locked, lock, tmp_path / "b.def", **kw).read_text()
    plain = generate_locked_def(rough, lock, tmp_path / "c.def", **kw).read_text()
    assert "scitex-archive" not in again  # neither the %setup block nor the restore step
    assert _body(again) == _body(plain)  # the re-pin is the rough def's pin, nothing kept
    if bootstrap == "debootstrap":
        assert re.search(r"^Bootstrap: debootstrap$", again, flags=re.MULTILINE)
    # and re-pinning with the archive again gives the first archive pin back
    back = generate_locked_def(locked, lock, tmp_path / "a2.def", archive=archive, **kw)
    assert _body(back.read_text()) == _body(locked.read_text())
