"""An archive-locked def installs only what was pinned, from an archive only its owner can write.

A hostile co-user who can write the archive between pin and build could
swap a .deb and regenerate ``Packages`` to match; apt and debootstrap would
take it.  The locked def therefore carries the sha256 of every file of the
view and its ``%setup`` checks the build's own copy before anything reads
it.  Most cases run the generated ``%setup`` block with the real ``sh``,
``cp``, ``find`` and ``sha256sum`` against a scratch rootfs; one real
Apptainer build (localimage from the cached Debian base) proves a swapped
.deb fails the build with nothing published, and that the untouched pin
builds.  The .debs are tiny ones made with dpkg-deb (in no index).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import cli
from debs import make_deb
from otheruser import another_user

from scitex_container.apptainer.deffile import parse_def
from scitex_container.apptainer.lock.archive import archive_lock
from scitex_container.apptainer.lock.lockfile import Lock, write_lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.apptainer.repro import archive_def
from scitex_container.errors import BadInputError, UntrustedStateError
from scitex_container.files.fsutil import sha256_file

PKGS = {"scitex-trust-a": "1.0", "scitex-trust-b": "2.0-1"}
SWAPPED = "apt/scitex-trust-a_1.0_all.deb"
SCRATCH = "Bootstrap: scratch\n\n%post\n    true\n"
DEBOOTSTRAP = (
    "Bootstrap: debootstrap\nOSVersion: bookworm\nMirrorURL: http://deb.debian.org/debian\n"
    "\n%post\n    true\n"
)


@pytest.fixture(scope="module")
def archived(tmp_path_factory) -> tuple[Path, Path]:
    """``(archive, lock)``: both .debs archived from saved files."""
    root = tmp_path_factory.mktemp("trust")
    for name, version in PKGS.items():
        make_deb(root / "saved", name, version)
    lock = write_lock(Lock(dpkg=dict(PKGS)), root / "t.lock")
    archive_lock(lock, root / "arc", saved_dirs=(root / "saved",))
    return root / "arc", lock


def pin(archived, tmp_path: Path, rough_text: str = SCRATCH, name: str = "locked") -> Path:
    archive, lock = archived
    rough = tmp_path / f"{name}.rough.def"
    rough.write_text(rough_text)
    out = tmp_path / f"{name}.def"
    return generate_locked_def(rough, lock, out, archive=archive, apt_scope="all")


def view_of(locked: Path) -> Path:
    text = locked.read_text()
    line = next(x for x in text.splitlines() if x.startswith("cp -R ") and "/views/" in x)
    return Path(line.split()[2].removesuffix("/."))


def manifest_lines(locked: Path) -> list[str]:
    body = locked.read_text().split("<<'SCITEX_SHA256SUMS'", 1)[1]
    return body.split("\nSCITEX_SHA256SUMS\n", 1)[0].splitlines()[1:]


def swap_deb(view: Path) -> None:
    """What a co-user with write access would do: another .deb, a matching Packages."""
    target = view / SWAPPED
    os.unlink(target)  # a hard link to the archived blob: replace, never write through
    other = make_deb(view.parent.parent / ".evil", "scitex-trust-a", "1.0", priority="extra")
    shutil.copyfile(other, target)
    packages = subprocess.run(
        ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
        cwd=view / "apt",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (view / "apt" / "Packages").write_text(packages)


def run_setup(locked: Path, rootfs: Path, tmpdir: Path | None = None):
    block = parse_def(locked).generated_block(archive_def.TAG, section="setup")
    assert block is not None
    rootfs.mkdir(exist_ok=True)
    env = {**os.environ, "APPTAINER_ROOTFS": str(rootfs)}
    if tmpdir is not None:
        tmpdir.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(["sh", "-e", "-c", block], env=env, capture_output=True, text=True)


def test_the_locked_def_carries_a_sorted_sha256_manifest_of_every_view_file(archived, tmp_path):
    locked = pin(archived, tmp_path)
    view = view_of(locked)
    files = sorted(p.relative_to(view).as_posix() for p in view.rglob("*") if p.is_file())
    assert files == [
        "apt/Packages",
        "apt/scitex-trust-a_1.0_all.deb",
        SWAPPED.replace("a_1.0", "b_2.0-1"),
    ]
    lines = manifest_lines(locked)
    assert [line.split("  ", 1)[1] for line in lines] == files
    for line in lines:
        sha, rel = line.split("  ", 1)
        assert sha == sha256_file(view / rel)
    text = locked.read_text()
    assert "sha256sum --check --strict --quiet" in text
    assert f"-ne {len(files)} ]" in text
    twice = pin(archived, tmp_path, name="twice")
    assert twice.read_text().replace("twice.", "locked.") == text  # same pins, same text


def test_a_view_changed_before_the_pin_is_remade_not_trusted(archived, tmp_path):
    first = pin(archived, tmp_path)
    view = view_of(first)
    swap_deb(view)  # a pre-planted view under the predictable name
    (view / "wheels" / "extra-1.0-py3-none-any.whl").write_text("planted")
    twice = pin(archived, tmp_path, name="twice")
    assert twice.read_text().replace("twice.", "locked.") == first.read_text()
    assert view_of(twice) == view
    for line in manifest_lines(twice):  # the view holds exactly the pinned files again
        sha, rel = line.split("  ", 1)
        assert sha256_file(view / rel) == sha
    assert not (view / "wheels" / "extra-1.0-py3-none-any.whl").exists()


def test_an_archived_file_that_no_longer_matches_its_index_fails_the_pin(tmp_path):
    make_deb(tmp_path / "saved", "scitex-trust-c", "1.0")
    lock = write_lock(Lock(dpkg={"scitex-trust-c": "1.0"}), tmp_path / "c.lock")
    archive = tmp_path / "arc"
    result = archive_lock(lock, archive, saved_dirs=(tmp_path / "saved",))
    sha = result.artifacts["dpkg:scitex-trust-c"]
    blob = archive / "sha256" / sha[:2] / sha
    os.chmod(blob, 0o644)
    blob.write_bytes(b"not the deb")
    rough = tmp_path / "rough.def"
    rough.write_text(SCRATCH)
    out = tmp_path / "locked.def"
    with pytest.raises(BadInputError) as info:
        generate_locked_def(rough, lock, out, archive=archive, apt_scope="all")
    assert info.value.where == str(blob)
    assert "apt/scitex-trust-c_1.0_all.deb" in str(info.value)
    assert not out.exists()


def test_the_setup_block_uses_only_a_checked_copy_of_the_view(archived, tmp_path):
    locked = pin(archived, tmp_path)
    done = run_setup(locked, tmp_path / "rootfs")
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "rootfs" / ".scitex-archive"
    assert sha256_file(copy / SWAPPED) == sha256_file(view_of(locked) / SWAPPED)
    conf = tmp_path / "rootfs" / ".scitex-archive-conf"
    assert (conf / "sources.list").read_text() == "deb [trusted=yes] file:/.scitex-archive/apt ./\n"
    assert '"/.scitex-archive-conf/sources.list"' in (conf / "apt.conf").read_text()
    assert not (tmp_path / "rootfs" / "etc/apt").exists()  # the image's config is not touched


@pytest.mark.parametrize("change", ["swap", "extra", "link"])
def test_a_view_changed_after_the_pin_fails_the_setup_naming_it(archived, tmp_path, change):
    locked = pin(archived, tmp_path)
    view = view_of(locked)
    try:
        if change == "swap":
            swap_deb(view)
        elif change == "extra":
            (view / "wheels" / "evil-1.0-py3-none-any.whl").write_text("planted")
        else:
            os.unlink(view / SWAPPED)
            os.symlink(archived[0] / "index.json", view / SWAPPED)
        done = run_setup(locked, tmp_path / "rootfs")
    finally:
        pin(archived, tmp_path, name="repair")  # the module's view for the next test
    assert done.returncode != 0
    assert not (tmp_path / "rootfs" / ".scitex-archive-conf").exists()  # stopped before use
    if change == "swap":
        assert f"{SWAPPED}: FAILED" in done.stdout + done.stderr
        assert "apt/Packages: FAILED" in done.stdout + done.stderr
        assert "no longer holds what was pinned" in done.stderr
    elif change == "extra":
        assert "holds 4 files where the pin listed 3" in done.stderr
    else:
        assert f"{SWAPPED}, which is not a regular file" in done.stderr


def test_the_debootstrap_block_checks_its_private_copy_and_always_removes_it(archived, tmp_path):
    locked = pin(archived, tmp_path, DEBOOTSTRAP)
    view = view_of(locked)
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    (rootfs / "keep").write_text("apptainer's base environment")
    swap_deb(view)
    try:
        bad = run_setup(locked, rootfs, tmp_path / "tmp")
    finally:
        pin(archived, tmp_path, DEBOOTSTRAP, name="repair")
    assert bad.returncode != 0
    assert f"{SWAPPED}: FAILED" in bad.stdout + bad.stderr
    assert (rootfs / "keep").exists()  # refused before debootstrap wiped anything
    assert list((tmp_path / "tmp").iterdir()) == []  # the trap removed the private copy

    # Checked and used: debootstrap reads the copy (and fails on these bare
    # packages, which are no base system); the trap still removes the copy.
    used = run_setup(locked, rootfs, tmp_path / "tmp")
    assert used.returncode != 0
    assert "no longer holds" not in used.stderr
    assert f"on file://{tmp_path / 'tmp'}/tmp." in used.stdout  # the private copy, not the view
    assert "I: Validating Packages" in used.stdout
    missing = next(x for x in used.stdout.splitlines() if "Couldn't find these debs:" in x)
    assert "apt" in missing.split(":", 2)[2].split()  # in no base set of ours; order varies
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("what", ["dir", "index"])
def test_a_group_writable_archive_is_refused_for_pin_and_archive(archived, tmp_path, what):
    archive, lock = archived
    target = archive if what == "dir" else archive / "index.json"
    before = os.stat(target).st_mode
    rough = tmp_path / "rough.def"
    rough.write_text(SCRATCH)
    out = tmp_path / "locked.def"
    me = pwd.getpwuid(os.getuid()).pw_name
    os.chmod(target, before | 0o020)
    try:
        pinned = cli("lock", "pin", rough, lock, "--archive", archive, "-o", out)
        stored = cli("lock", "archive", lock, "-o", archive)
    finally:
        os.chmod(target, before)
    for done in (pinned, stored):
        assert done.returncode == 2, done.stdout + done.stderr
        assert str(target) in done.stderr
        assert f"owner {me}" in done.stderr and "writable by other users" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_an_archive_owned_by_another_user_is_refused(tmp_path):
    other = another_user()
    archive = tmp_path / "arc"
    archive.mkdir(mode=0o755)
    os.chown(archive, other.pw_uid, other.pw_gid)
    lock = write_lock(Lock(dpkg=dict(PKGS)), tmp_path / "t.lock")
    done = cli("lock", "archive", lock, "-o", archive)
    assert done.returncode == 2
    assert str(archive) in done.stderr
    assert "owned by another user (owner scitex-test" in done.stderr
    assert list(archive.iterdir()) == []  # nothing written into it


@pytest.mark.parametrize(
    ("where", "how"),
    [
        ("sha256", "world"),
        ("sha256/xx", "group"),
        ("views", "world"),
        ("view", "group"),
        ("view/apt", "world"),
        ("view/apt", "other user"),
    ],
)
def test_an_untrusted_directory_inside_the_archive_is_refused(archived, tmp_path, where, how):
    """Every directory pin and build read is held to the archive's own rule."""
    archive, lock = archived
    locked = pin(archived, tmp_path)  # makes (or reuses) the view
    view = Path(re.search(r"^cp -R (\S+)/\. ", locked.read_text(), re.M).group(1))
    target = {
        "sha256": archive / "sha256",
        "sha256/xx": next((archive / "sha256").iterdir()),
        "views": archive / "views",
        "view": view,
        "view/apt": view / "apt",
    }[where]
    st = os.stat(target)
    if how == "other user":
        other = another_user()
        os.chown(target, other.pw_uid, other.pw_gid)
    else:
        os.chmod(target, st.st_mode | (0o002 if how == "world" else 0o020))
    try:
        pinned = cli(
            "lock",
            "pin",
            tmp_path / "locked.rough.def",
            lock,
            "--archive",
            archive,
            "-o",
            tmp_path / "again.def",
        )
        stored = cli("lock", "archive", lock, "-o", archive) if where.startswith("sha") else None
        if where.startswith("view"):  # what `repro --archive` checks before its build
            with pytest.raises(UntrustedStateError, match="other user"):
                archive_def.check_locked_def(locked, archive)
    finally:
        os.chown(target, st.st_uid, st.st_gid)
        os.chmod(target, st.st_mode)
    assert pinned.returncode == 2, pinned.stdout + pinned.stderr
    assert str(target) in pinned.stderr and len(pinned.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "again.def").exists()
    if stored is not None:  # and `lock archive` will not add to (or vouch for) such a store
        assert stored.returncode == 2 and str(target) in stored.stderr, stored.stderr


LOCALIMAGE = """\
Bootstrap: localimage
From: {base}

%post
    apt-get update
    apt-get install -y --no-install-recommends scitex-trust-a scitex-trust-b
"""


@pytest.mark.apptainer
def test_a_deb_swapped_after_the_pin_fails_the_real_build_and_publishes_nothing(
    archived, tmp_path, debian_sif
):
    from scitex_container.apptainer.building.versioned import build_version
    from scitex_container.errors import ScitexError

    locked = pin(archived, tmp_path, LOCALIMAGE.format(base=debian_sif))
    store = tmp_path / "out" / "locked"
    swap_deb(view_of(locked))
    try:
        with pytest.raises(ScitexError):
            build_version(def_path=locked, output_dir=tmp_path / "out", image_name="locked")
    finally:
        pin(archived, tmp_path, SCRATCH, name="repair")  # the module's view, remade
    log = next(store.glob("*.build.log")).read_text()
    assert f"{SWAPPED}: FAILED" in log
    assert "scitex-container: the archive view" in log and "no longer holds" in log
    assert not list(store.glob("locked-v*.sif")), list(store.iterdir())  # nothing published


# The untouched pin building from its checked copy is proven by
# tests/apptainer/lock/test_archive.py's offline rebuild, which runs the same check.
