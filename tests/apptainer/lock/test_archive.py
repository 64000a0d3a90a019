"""The artifact archive: real apt/pip fetches, a shared content-addressed store,
and a locked def that rebuilds with the network cut off.

Fetches are small: Debian's ``hello`` (53 kB) and wheels made by the test.
The one Apptainer case builds a localimage rough image once (cached by
content) and the locked def once, inside ``unshare --net``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from debs import make_deb
from lockimages import ARCHIVE_ROUGH, archive_rough
from wheels import make_wheel

from scitex_container.apptainer.lock.archive import archive_lock
from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import Lock, read_lock, write_lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.errors import CheckFailedError, NotFoundError
from scitex_container.files.fsutil import sha256_file
from scitex_container.process import runner

HELLO = ("hello", "2.10-3")
GONE = ("base-files", "12.4+deb12u14")  # a previous point release the mirror dropped


def apt_index_sha256(name: str, version: str) -> str:
    out = subprocess.run(
        ["apt-get", "download", "--print-uris", f"{name}={version}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split("SHA256:")[1].split()[0]


def blobs(archive: Path) -> list[Path]:
    return sorted(p for p in (archive / "sha256").rglob("*") if p.is_file())


@pytest.fixture
def wheel(tmp_path) -> Path:
    return make_wheel(tmp_path / "w", "scitex-arc-tiny", "1.0")


def test_archive_stores_verified_artifacts_once_and_hashes_the_lock(tmp_path, wheel):
    archive = tmp_path / "arc"
    url = f"scitex-arc-tiny @ file://{wheel}"
    first = write_lock(Lock(pip={url: ""}, dpkg=dict([HELLO])), tmp_path / "a.lock")
    result = archive_lock(first, archive)

    hello_sha = apt_index_sha256(*HELLO)
    assert result.artifacts == {"dpkg:hello": hello_sha, f"pip:{url}": sha256_file(wheel)}
    assert result.fetched_count == 2
    assert sha256_file(archive / "sha256" / hello_sha[:2] / hello_sha) == hello_sha
    index = json.loads((archive / "index.json").read_text())
    assert index["artifacts"]["dpkg:hello=2.10-3"]["filename"] == "hello_2.10-3_amd64.deb"
    assert read_lock(first).artifacts == result.artifacts  # recorded in the lock
    index_bytes = (archive / "index.json").read_bytes()

    # A second image's lock sharing `hello`: reused, stored once, index unchanged.
    second = write_lock(Lock(dpkg=dict([HELLO])), tmp_path / "b.lock")
    again = archive_lock(second, archive)
    assert (again.fetched_count, again.reused_count) == (0, 1)
    assert len(blobs(archive)) == 2
    assert (archive / "index.json").read_bytes() == index_bytes


def test_a_version_no_source_has_is_listed_and_the_lock_is_left_alone(tmp_path):
    lock_path = write_lock(Lock(dpkg=dict([HELLO, GONE])), tmp_path / "old.lock")
    before = lock_path.read_bytes()
    with pytest.raises(CheckFailedError) as info:
        archive_lock(lock_path, tmp_path / "arc")
    message = str(info.value)
    assert "dpkg:base-files=12.4+deb12u14" in message
    assert "apt sources" in message
    assert "dpkg:hello" not in message
    assert lock_path.read_bytes() == before
    assert info.value.exit_code == 1


def test_pin_with_an_archive_lacking_an_artifact_fails_before_writing(tmp_path):
    archive = tmp_path / "arc"
    archive_lock(write_lock(Lock(dpkg=dict([HELLO])), tmp_path / "h.lock"), archive)
    rough = tmp_path / "rough.def"
    rough.write_text("Bootstrap: scratch\n\n%post\n    true\n")
    lock = Lock(dpkg=dict([HELLO, GONE]))
    out = tmp_path / "locked.def"
    with pytest.raises(NotFoundError) as info:
        generate_locked_def(rough, lock, out, archive=archive, apt_scope="all")
    assert "dpkg:base-files=12.4+deb12u14" in str(info.value)
    assert "index.json" in str(info.value)
    assert info.value.exit_code == 2
    assert not out.exists()


@pytest.mark.apptainer
@pytest.mark.skipif(os.geteuid() != 0, reason="unshare --net needs root")
def test_locked_def_from_the_archive_rebuilds_offline_and_reproduces(tmp_path, debian_sif):
    rough_text, rough_sif = archive_rough()
    rough_def = tmp_path / "rough.def"
    rough_def.write_text(rough_text)
    lock_path = tmp_path / "rough.lock"
    capture_lock(rough_sif, lock_path, captured_at="")

    archive = tmp_path / "arc"
    archive_lock(lock_path, archive, image=rough_sif)
    locked = generate_locked_def(rough_def, lock_path, tmp_path / "locked.def", archive=archive)
    text = locked.read_text()
    assert "--no-index --require-hashes" in text
    assert "deb [trusted=yes] file:/.scitex-archive/apt ./" in text
    assert "http" not in text.replace(str(debian_sif), "")  # no network source

    out = tmp_path / "locked.sif"
    with runner.offline():
        runner.run(["apptainer", "build", "--fakeroot", out, locked], timeout=900, cwd=tmp_path)
    rebuilt = capture_lock(out, None, captured_at="")
    diff = compare_locks(read_lock(lock_path), rebuilt)
    assert diff.identical, diff.summary()
    assert rebuilt.dpkg["hello"] == HELLO[1]


def test_offline_commands_have_no_network(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("unshare --net needs root")
    with runner.offline():
        done = runner.run(["ip", "-o", "link"], readonly=True)
    assert [line.split(":")[1].strip() for line in done.stdout.splitlines()] == ["lo"]


def test_diff_and_sbom_work_with_and_without_artifact_hashes(tmp_path):
    import subprocess as sp
    import sys

    digest = "cd" * 32
    plain = Lock(pip={"six": "1.16.0"}, dpkg=dict([HELLO]))
    hashed = Lock(pip={"six": "1.16.0"}, dpkg=dict([HELLO]), artifacts={"dpkg:hello": digest})
    a = write_lock(plain, tmp_path / "plain.lock")
    b = write_lock(hashed, tmp_path / "hashed.lock")
    cli = [sys.executable, "-m", "scitex_container"]
    diff = sp.run([*cli, "lock", "diff", a, b], capture_output=True, text=True, check=False)
    assert diff.returncode == 0, diff.stderr
    docs = {}
    for path in (a, b):
        out = tmp_path / f"{path.stem}.cdx.json"
        done = sp.run([*cli, "sbom", path, "-o", out], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        docs[path.stem] = {c["name"]: c for c in json.loads(out.read_text())["components"]}
    assert "hashes" not in docs["plain"]["hello"]
    assert docs["hashed"]["hello"]["hashes"] == [{"alg": "SHA-256", "content": digest}]


@pytest.mark.slow
@pytest.mark.apptainer
@pytest.mark.skipif(os.geteuid() != 0, reason="unshare --net needs root")
def test_repro_with_an_archive_rebuilds_offline_from_the_cli(tmp_path, debian_sif):
    import subprocess as sp
    import sys

    wheel = make_wheel(tmp_path / "w", "scitex-arc-cli", "1.0")
    rough = tmp_path / "rough.def"
    rough.write_text(ARCHIVE_ROUGH.format(base=debian_sif, wheel=wheel, wheel_name=wheel.name))
    archive = tmp_path / "arc"
    argv = [sys.executable, "-m", "scitex_container", "repro", rough, "-o", tmp_path / "out"]
    done = sp.run([*argv, "--archive", archive], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reproduced" in done.stdout
    lock = read_lock(next((tmp_path / "out" / "rough-rough").rglob("*.lock")))
    assert lock.artifacts["dpkg:hello"] == apt_index_sha256(*HELLO)
    locked_def = next((tmp_path / "out" / "rough").rglob("*.locked.def")).read_text()
    assert "--require-hashes" in locked_def


def saved_deb(directory: Path, name: str, version: str) -> Path:
    """A real, tiny ``Architecture: all`` package built with dpkg-deb (in no index)."""
    return make_deb(directory / "saved", name, version)


def test_a_vanished_version_is_archived_from_a_saved_deb_and_pinned(tmp_path):
    import sys

    deb = saved_deb(tmp_path, "scitex-vanished", "1.0-1")
    lock_path = write_lock(
        Lock(dpkg={"scitex-vanished": "1.0-1", "hello": HELLO[1]}), tmp_path / "v.lock"
    )
    archive = tmp_path / "arc"
    cli = [sys.executable, "-m", "scitex_container", "lock", "archive", lock_path, "-o", archive]
    without = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert without.returncode == 1
    assert "dpkg:scitex-vanished=1.0-1: looked in this host's apt sources" in without.stderr

    result = archive_lock(lock_path, archive, saved_dirs=(deb.parent,))
    assert result.artifacts["dpkg:scitex-vanished"] == sha256_file(deb)
    index = json.loads((archive / "index.json").read_text())
    assert "saved file" in index["artifacts"]["dpkg:scitex-vanished=1.0-1"]["source"]

    rough = tmp_path / "rough.def"
    rough.write_text("Bootstrap: scratch\n\n%post\n    true\n")
    locked = generate_locked_def(
        rough, lock_path, tmp_path / "locked.def", archive=archive, apt_scope="all"
    )
    assert "scitex-vanished=1.0-1" in locked.read_text()
    packages = next((archive / "views").glob("*/apt/Packages")).read_text()
    assert "Package: scitex-vanished\n" in packages
    assert f"SHA256: {sha256_file(deb)}" in packages


def test_a_damaged_stored_file_is_found_and_replaced(tmp_path):
    """One byte appended to a stored file: the default re-run (sizes) replaces it; a
    same-size change needs --verify (every sha256), which replaces it too."""
    import sys

    debs = [saved_deb(tmp_path, f"scitex-damage-{n}", "1.0") for n in "ab"]
    lock_path = write_lock(
        Lock(dpkg={f"scitex-damage-{n}": "1.0" for n in "ab"}), tmp_path / "d.lock"
    )
    archive = tmp_path / "arc"
    first = archive_lock(lock_path, archive, saved_dirs=(debs[0].parent,))
    assert first.fetched_count == 2 and first.repaired == ()
    blob = archive / "sha256" / sha256_file(debs[0])[:2] / sha256_file(debs[0])
    with open(blob, "ab") as fh:  # the damage of the issue: one byte appended
        fh.write(b"x")
    again = archive_lock(lock_path, archive, saved_dirs=(debs[0].parent,))
    assert again.repaired == ("dpkg:scitex-damage-a",) and again.fetched_count == 1
    assert sha256_file(blob) == sha256_file(debs[0])

    data = bytearray(blob.read_bytes())  # same size, other bytes: only a full check sees it
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    cli = [sys.executable, "-m", "scitex_container", "lock", "archive", lock_path, "-o", archive]
    cli += ["--from", debs[0].parent, "--verify"]
    proc = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "1 damaged and replaced" in proc.stdout
    assert sha256_file(blob) == sha256_file(debs[0])

    with open(blob, "ab") as fh:  # damaged again, and now no source has it
        fh.write(b"x")
    with pytest.raises(CheckFailedError) as info:
        archive_lock(lock_path, archive)
    assert f"its stored file {blob} is damaged and was kept" in str(info.value)
    assert blob.exists()


def test_a_saved_npm_tarball_is_taken_when_its_package_json_names_the_entry(tmp_path):
    from lockimages import npm_tarball

    from scitex_container.apptainer.lock.archive_fetch import fetch_saved

    good = npm_tarball(tmp_path / "saved", "@scx/saved-tool", "0.2.0")
    (tmp_path / "saved" / "other-9.9.9.tgz").write_bytes(b"not a tarball")
    found, _ = fetch_saved(
        {"node:@scx/saved-tool": "0.2.0", "node:other": "9.9.9"}, (tmp_path / "saved",)
    )
    assert list(found) == ["node:@scx/saved-tool"]
    assert found["node:@scx/saved-tool"].path == good
    assert "package.json matches" in found["node:@scx/saved-tool"].source


def test_npm_tarballs_come_from_one_pack_and_a_missing_one_is_named(tmp_path):
    """One ``npm pack`` for every entry; when npm fails them all for one that is
    missing, each is packed alone and only that one is reported."""
    from scitex_container.apptainer.lock.archive_fetch import fetch_npm

    found, missing = fetch_npm({"ms": "2.1.3", "scitex-no-such-package-26": "1.0.0"}, tmp_path)
    assert list(found) == ["node:ms"] and found["node:ms"].path.name == "ms-2.1.3.tgz"
    assert "sha512-" in found["node:ms"].source  # the registry's integrity, recorded
    assert list(missing) == ["node:scitex-no-such-package-26"]
    found, missing = fetch_npm({"ms": "2.1.3", "is-number": "7.0.0"}, tmp_path / "b")
    assert sorted(found) == ["node:is-number", "node:ms"] and not missing
