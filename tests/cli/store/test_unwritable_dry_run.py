"""A user who cannot write the store: every dry run refuses as its real run does.

Run as the real unprivileged user ``scitex-test`` on a root-owned store,
each dry run first, then the real run; both must refuse with the same line
and exit code 2, change nothing, and give advice that can work: ``--sudo``
only where the command has it and a sudo program exists (this host has
none), otherwise a directory the user can write, which then works.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dryrun import fails_alike, tree
from images import BUSYBOX_DEF
from otheruser import another_user
from storekit import make_sif
from uservenv import as_other

REPO = Path(__file__).resolve().parents[3]
STAMPS = ["20261206T100148Z", "20261206T110148Z", "20261206T120148Z"]


@pytest.fixture()
def root_owned() -> Iterator[Path]:
    """A root-owned directory every user can read, holding a store of three versions."""
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-unwritable-", dir="/var/tmp"))
    os.chmod(top, 0o755)
    store = top / "demo"
    store.mkdir(mode=0o755)
    for i, stamp in enumerate(STAMPS):
        make_sif(store / f"demo-v{stamp}.sif", seed=i)
    os.symlink(f"demo-v{STAMPS[-1]}.sif", store / "demo.sif")
    (top / "shared").mkdir(mode=0o755)
    (top / "hello.def").write_text(BUSYBOX_DEF)
    os.chmod(top / "hello.def", 0o644)
    yield top
    shutil.rmtree(top)


def test_every_store_change_is_refused_alike_by_dry_and_real_run(root_owned: Path) -> None:
    store = root_owned / "demo"
    cases: list[tuple[list[object], Path]] = [
        (["switch", STAMPS[0], store], store),
        (["rollback", store], store),
        (["cleanup", "-k", "0", store], store),
        (["versions", store, "--protect", STAMPS[0]], store),
        (["deploy", store, root_owned / "shared"], root_owned / "shared"),
        (["deploy", store, root_owned / "new-target"], root_owned),  # it would be made there
        (["sandbox", "cleanup", "-k", "0", store], store),
        (["build", root_owned / "hello.def", "-o", root_owned], root_owned),
        (["sandbox", "create", root_owned / "hello.def", "-d", root_owned / "sb"], root_owned),
        (["sandbox", "rollback", store], store),
    ]
    has_sudo = shutil.which("sudo") is not None
    for args, refuser in cases:
        error = fails_alike(root_owned, args, as_other)
        assert error["exit_code"] == 2, (args, error)
        assert error["error"].startswith(f"{refuser}: permission denied (owner root"), error
        if "--sudo" in error["error"]:  # advised only where it exists and sudo is there
            assert has_sudo and "--sudo" in as_other(*args[:1], "--help").stdout, args
        else:
            assert "a directory you can write" in error["error"], error
    assert not has_sudo, "this host has no sudo: no advice above may have named --sudo"
    assert os.readlink(store / "demo.sif") == f"demo-v{STAMPS[-1]}.sif"


def test_the_advice_followed_works(root_owned: Path) -> None:
    """'use a directory you can write': the same command into one the user owns works."""
    mine = Path(tempfile.mkdtemp(prefix="scitex-mine-", dir="/var/tmp"))
    try:
        user = another_user()
        os.chown(mine, user.pw_uid, user.pw_gid)
        before = tree(root_owned)
        dry = as_other("--dry-run", "deploy", root_owned / "demo", mine / "shared")
        assert dry.returncode == 1 and "would copy" in dry.stdout, dry.stderr
        real = as_other("deploy", root_owned / "demo", mine / "shared")
        assert real.returncode == 0, real.stderr
        assert os.readlink(mine / "shared" / "demo.sif") == f"demo-v{STAMPS[-1]}.sif"
        planned = as_other("--dry-run", "build", root_owned / "hello.def", "-o", mine)
        assert planned.returncode == 1 and "apptainer" in planned.stdout, planned.stderr
        assert tree(root_owned) == before
    finally:
        shutil.rmtree(mine)
