"""No link is followed out of a store: root on a user's store is not steered by it.

The store belongs to the unprivileged ``scitex-test``, who plants a link
(as that user): ``.scitex`` to a root-owned folder, ``.scitex/tmp`` to
elsewhere, a version file to a root-only 0600 file, the lock file to a
root file.  Every store command run as root must refuse (exit 2, naming the
path and its owner) and leave everything outside the store untouched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from clirun import checkout_cli as cli
from otheruser import another_user

pytestmark = pytest.mark.apptainer

NAME = "img"
V1, V2 = "20260101T000000Z", "20260102T000000Z"


def as_user(user: str, *argv: object) -> None:
    subprocess.run(["runuser", "-u", user, "--", *map(str, argv)], check=True)


def fingerprint(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind, size, mode, owner, mtime and content digest."""
    out: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath) / name
            st = os.lstat(path)
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            out[str(path.relative_to(root))] = (
                st.st_mode,
                st.st_size,
                st.st_uid,
                st.st_mtime_ns,
                digest,
            )
    return out


@pytest.fixture
def world(busybox_sif: Path):
    """(user, def file, store, outside): a user's store with two versions; root's things."""
    user = another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-links-", dir="/var/tmp"))
    os.chmod(top, 0o755)
    outside = top / "outside"  # root's: what a planted link points at
    (outside / "tmp" / "123-victim").mkdir(parents=True)
    (outside / "tmp" / "123-victim" / "data").write_text("root's data")
    (outside / "store.flock").write_text("root's lock")
    (outside / "secret").write_text("root only secret")
    os.chmod(outside / "secret", 0o600)
    os.chmod(outside, 0o700)
    home = top / "home"
    home.mkdir()
    definition = home / f"{NAME}.def"
    definition.write_text(f"Bootstrap: localimage\nFrom: {busybox_sif}\n")
    store = home / NAME
    store.mkdir()
    for version in (V1, V2):
        shutil.copy(busybox_sif, store / f"{NAME}-v{version}.sif")
    os.symlink(f"{NAME}-v{V2}.sif", store / f"{NAME}.sif")
    (store / ".scitex").mkdir()
    subprocess.run(["chown", "-hR", f"{user.pw_name}:", str(home)], check=True)
    yield user.pw_name, definition, store, outside
    shutil.rmtree(top, ignore_errors=True)


def plant(kind: str, user: str, store: Path, outside: Path) -> Path:
    """Plant one link as ``user``; returns the planted path."""
    state = store / ".scitex"
    if kind == ".scitex":
        as_user(user, "rmdir", state)
        as_user(user, "ln", "-s", outside, state)
        return state
    if kind == ".scitex/tmp":
        as_user(user, "ln", "-s", outside / "tmp", state / "tmp")
        return state / "tmp"
    if kind == "version":
        path = store / f"{NAME}-v20260103T000000Z.sif"
        as_user(user, "ln", "-s", outside / "secret", path)
        return path
    path = state / "store.flock"  # the lock file
    as_user(user, "ln", "-s", outside / "store.flock", path)
    return path


COMMANDS = {
    "cleanup": lambda d, s: ("cleanup", s, "--keep", "1"),
    "build --force": lambda d, s: ("build", d, "-o", s.parent, "--force"),
    "verify": lambda d, s: ("verify", s / f"{NAME}.sif"),
    "switch": lambda d, s: ("switch", V1, s),
    "versions": lambda d, s: ("versions", s),
}


@pytest.mark.parametrize("kind", [".scitex", ".scitex/tmp", "version", "lock file"])
def test_root_refuses_a_store_with_a_planted_link(world, kind: str) -> None:
    user, definition, store, outside = world
    planted = plant(kind, user, store, outside)
    before = fingerprint(outside)
    active = os.readlink(store / f"{NAME}.sif")
    for name, args in COMMANDS.items():
        done = cli(*args(definition, store))
        assert done.returncode == 2, f"{name}: {done.returncode} {done.stdout} {done.stderr}"
        message = done.stderr.strip().splitlines()[-1]
        assert str(planted) in message and user in message, f"{name}: {message}"
        assert "secret" not in done.stdout + done.stderr.replace(str(outside / "secret"), "")
        assert fingerprint(outside) == before, f"{name} touched {outside}"
        assert os.readlink(store / f"{NAME}.sif") == active
    assert planted.is_symlink()


def test_root_works_on_a_clean_user_store(world) -> None:
    """The guard refuses only what it must: root may switch and list a user's store."""
    _user, _definition, store, _outside = world
    assert cli("versions", store).returncode == 0
    done = cli("switch", V1, store)
    assert done.returncode == 0, done.stderr
    assert os.readlink(store / f"{NAME}.sif") == f"{NAME}-v{V1}.sif"


def test_scratch_removal_never_goes_through_a_link_swapped_in_late(world) -> None:
    """The sweep itself (past the guard) opens .scitex and tmp without following links."""
    from scitex_container.apptainer.store.state import remove_scratch

    user, _definition, store, outside = world
    real = store / ".scitex" / "tmp" / "99999999-1-img"
    as_user(user, "mkdir", "-p", real / "rootfs" / "etc")
    remove_scratch(real)  # root on the user's store: removed relative to descriptors
    assert not real.exists()
    as_user(user, "rmdir", store / ".scitex" / "tmp")
    plant(".scitex/tmp", user, store, outside)  # as if swapped after the guard looked
    before = fingerprint(outside)
    with pytest.raises(OSError):
        remove_scratch(store / ".scitex" / "tmp" / "123-victim")
    assert fingerprint(outside) == before


# -- found by a hostile tester ------------------------------------------------------------
def test_root_refuses_a_store_directory_that_is_a_users_link_to_roots_store(world) -> None:
    """``user/x -> root's store``: root's build and cleanup must not act there."""
    user, definition, store, outside = world
    roots = outside.parent / "roots-store"
    shutil.copytree(store, roots / NAME, symlinks=True)
    subprocess.run(["chown", "-hR", "root:", str(roots)], check=True)
    before = fingerprint(roots)
    lure = store.parent / "lure"
    as_user(user, "mkdir", lure)
    as_user(user, "ln", "-s", roots / NAME, lure / NAME)
    for args in (
        ("build", definition, "-o", lure, "--force"),
        ("cleanup", "-k", "0", lure / NAME / f"{NAME}.sif"),
    ):
        done = cli(*args)
        assert done.returncode == 2, f"{args}: {done.stdout} {done.stderr}"
        assert str(lure / NAME) in done.stderr and user in done.stderr
    assert fingerprint(roots) == before


def test_root_does_not_sign_through_a_users_version_link(world, tmp_path) -> None:
    user, _definition, store, outside = world
    roots = outside.parent / "roots-image.sif"
    shutil.copy(store / f"{NAME}-v{V1}.sif", roots)
    before = roots.read_bytes()
    planted = store / f"{NAME}-v20991231T000000Z.sif"
    as_user(user, "ln", "-s", roots, planted)
    assert cli("key", "new", tmp_path / "k").returncode == 0
    done = cli("sign", planted, "--key", tmp_path / "k" / "scitex-signing.key")
    assert done.returncode == 2, done.stderr
    assert str(planted) in done.stderr and "another user's link" in done.stderr
    assert roots.read_bytes() == before
