"""``repro`` on defs whose ``%files`` a rewrite cannot keep, with real builds on busybox.

A locked def written elsewhere must copy what the rough def copies: what
no rewrite keeps (a quoted ``{{ NAME }}`` value, a destination-less glob
spanning directories) is refused before any build, and ``--locked-def-beside``
builds it unchanged.  An image without packages makes an empty archive, and
a latin-1 def round-trips byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "scitex_container"]
pytestmark = pytest.mark.apptainer


def run_cli(*args: object) -> subprocess.CompletedProcess:
    argv = [*CLI, *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def quoted(tmp_path: Path, busybox_sif: Path) -> Path:
    """The tester's case: ``SRC="file 1"`` used as a %files source, a key beside the def."""
    work = tmp_path / "defs"
    work.mkdir()
    (work / "file 1").write_text("one\n")
    (work / "key.pem").write_text("SECRET\n")
    os.symlink(busybox_sif, work / "bb.sif")
    path = work / "q.def"
    path.write_text(
        'Bootstrap: localimage\nFrom: bb.sif\n\n%arguments\n    SRC="file 1"\n\n'
        "%files\n    {{ SRC }} /opt/t/\n"
    )
    return path


def test_a_quoted_template_source_is_refused_before_any_build(quoted: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = run_cli("repro", quoted, "-o", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{quoted}:8:" in proc.stderr and "--locked-def-beside" in proc.stderr
    assert not out.exists()  # nothing built, not even the rough image


def test_beside_builds_the_quoted_template_unchanged(quoted: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = run_cli("--json", "repro", quoted, "-o", out, "--locked-def-beside")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "verified"
    beside = quoted.parent / "q.locked.def"
    assert "    {{ SRC }} /opt/t/\n" in beside.read_text()
    listing = subprocess.run(
        ["apptainer", "exec", data["image"], "/bin/ls", "-AR", "/opt"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listing.split("\n") == ["/opt:", "t", "", "/opt/t:", "file 1", ""]  # no key.pem


def test_beside_never_overwrites_a_file_we_did_not_write(quoted: Path, tmp_path: Path):
    (quoted.parent / "q.locked.def").write_text("mine\n")
    proc = run_cli("repro", quoted, "-o", tmp_path / "out", "--locked-def-beside")
    assert proc.returncode == 2 and "did not generate" in proc.stderr
    assert (quoted.parent / "q.locked.def").read_text() == "mine\n"
    assert not (tmp_path / "out").exists()


def test_a_destinationless_directory_glob_is_refused_before_the_rough_build(
    tmp_path: Path, busybox_sif: Path
):
    for sub in ("d1", "d2"):
        (tmp_path / "data" / sub).mkdir(parents=True)
        (tmp_path / "data" / sub / "s.txt").write_text(sub)
    path = tmp_path / "dglob.def"
    path.write_text(f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%files\n    data/*/s.txt\n")
    proc = run_cli("repro", path, "-o", tmp_path / "out")
    assert proc.returncode == 2 and f"{path}:5:" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="unshare --net needs root")
def test_an_image_without_packages_reproduces_from_an_empty_archive(
    tmp_path: Path, busybox_sif: Path
):
    path = tmp_path / "bb.def"
    path.write_text(f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%post\n    echo hi\n")
    archive = tmp_path / "arc"
    proc = run_cli("repro", path, "-o", tmp_path / "out", "--archive", archive)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = json.loads((archive / "index.json").read_text())
    assert index["artifacts"] == {}


def test_a_latin1_def_is_pinned_byte_for_byte(tmp_path: Path, busybox_sif: Path):
    body = b'\n%labels\n    Author Ren\xe9\n\n%post\n    echo "caf\xe9" > /cafe.txt\n'
    path = tmp_path / "latin.def"
    path.write_bytes(f"Bootstrap: localimage\nFrom: {busybox_sif}\n".encode() + body)
    lock = tmp_path / "empty.lock"
    proc = run_cli("lock", "capture", busybox_sif, "-o", lock)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("lock", "pin", path, lock, "-o", tmp_path / "elsewhere" / "latin.locked.def")
    assert proc.returncode == 0, proc.stderr
    locked = (tmp_path / "elsewhere" / "latin.locked.def").read_bytes()
    assert b"    Author Ren\xe9\n" in locked and b'echo "caf\xe9" > /cafe.txt' in locked


CONFIG_ROUGH = """\
Bootstrap: localimage
From: {base}

%post
    sed -i 's/ main$/ main contrib/' /etc/apt/sources.list
    printf '[global]\\nindex-url = https://pypi.example.org/simple\\n' > /etc/pip.conf
    echo 'deb http://site.example/debian bookworm main' > /etc/apt/sources.list.d/site.list
"""


def _cat(image: str, *paths: str) -> str:
    argv = ["apptainer", "exec", image, "cat", *paths]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="unshare --net needs root")
def test_the_archive_build_keeps_the_config_the_rough_post_wrote(tmp_path: Path, debian_sif: Path):
    path = tmp_path / "cfg.def"
    path.write_text(CONFIG_ROUGH.format(base=debian_sif))
    out = tmp_path / "out"
    proc = run_cli("--json", "repro", path, "-o", out, "--archive", tmp_path / "arc")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    files = ("/etc/apt/sources.list", "/etc/pip.conf", "/etc/apt/sources.list.d/site.list")
    rough = _cat(data["rough_image"], *files)
    assert " main contrib\n" in rough and "pypi.example.org" in rough
    assert _cat(data["image"], *files) == rough
    listing = subprocess.run(
        ["apptainer", "exec", data["image"], "ls", "-A", "/"], capture_output=True, text=True
    ).stdout.split()
    assert not [n for n in listing if n.startswith(".scitex")]  # nothing of the archive left


def test_a_cached_rough_image_is_said_to_be_cached(tmp_path: Path, busybox_sif: Path):
    from scitex_container.apptainer.repro.roundtrip import build_reproducible

    path = tmp_path / "c.def"
    path.write_text(f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%post\n    echo hi\n")
    first: list[str] = []
    build_reproducible(path, tmp_path / "out", progress=first.append)
    again: list[str] = []
    assert build_reproducible(path, tmp_path / "out", progress=again.append).identical
    assert not any("` cached:" in line for line in first)
    assert any("`c-rough` cached" in line for line in again), again


def test_a_locked_def_copying_other_sources_is_refused(tmp_path: Path):
    from scitex_container.apptainer.repro.prebuild import check_same_sources
    from scitex_container.errors import DefFileError

    for d in ("rough", "locked"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "a.txt").write_text(d)
        (tmp_path / d / "x.def").write_text("Bootstrap: scratch\n\n%files\n    a.txt /x\n")
    check_same_sources(tmp_path / "rough" / "x.def", tmp_path / "rough" / "x.def")
    with pytest.raises(DefFileError, match="would copy") as info:
        check_same_sources(tmp_path / "rough" / "x.def", tmp_path / "locked" / "x.def")
    assert info.value.line == 4


def test_build_copies_what_an_unquoted_variable_splits_and_globs_to(
    tmp_path: Path, busybox_sif: Path, monkeypatch
):
    """W='data/a.txt data/b.txt', V='data/*.txt': apptainer copies both, and so do we."""
    from scitex_container.apptainer.deffile import parse_def
    from scitex_container.apptainer.deffile.sources import host_sources

    work = tmp_path / "defs"
    (work / "data").mkdir(parents=True)
    for name in ("a", "b"):
        (work / "data" / f"{name}.txt").write_text(name)
    os.symlink(busybox_sif, work / "bb.sif")
    rough = work / "w.def"
    rough.write_text(
        "Bootstrap: localimage\nFrom: bb.sif\n\n%files\n"
        "    $SCITEX_TEST_W /opt/w/\n    $SCITEX_TEST_V /opt/v/\n"
    )
    monkeypatch.setenv("SCITEX_TEST_W", "data/a.txt data/b.txt")
    monkeypatch.setenv("SCITEX_TEST_V", "data/*.txt")
    found = [p.name for s in host_sources(parse_def(rough)) for p in s.paths]
    assert found == ["a.txt", "b.txt", "a.txt", "b.txt"]
    proc = run_cli("--json", "build", rough, "-o", tmp_path / "out", "--sandbox")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    image = json.loads(proc.stdout)["artifact"]
    got = subprocess.run(
        ["apptainer", "exec", image, "cat", "/opt/w/a.txt", "/opt/w/b.txt", "/opt/v/b.txt"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert got == "abb"
    pin = run_cli("repro", rough, "-o", tmp_path / "out2")  # elsewhere: refused before a build
    assert pin.returncode == 2 and f"{rough}:5:" in pin.stderr, pin.stderr
    assert not (tmp_path / "out2").exists()


def test_image_mode_refuses_a_locked_def_made_beside_its_rough_def(quoted: Path, tmp_path: Path):
    """Its relative sources would resolve against the image store: refused before a build."""
    out = tmp_path / "out"
    proc = run_cli("--json", "repro", quoted, "-o", out, "--locked-def-beside")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rough = json.loads(proc.stdout)["rough_image"]
    (Path(rough).parent / "file 1").write_text("a same-named file in the store\n")
    before = sorted(p.name for p in out.rglob("*"))
    again = run_cli("repro", rough)
    assert again.returncode == 2 and "--locked-def-beside" in again.stderr, again.stderr
    assert sorted(p.name for p in out.rglob("*")) == before  # nothing built, no marker
