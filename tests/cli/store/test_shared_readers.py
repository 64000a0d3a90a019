"""A store root built and deployed is readable by every user who can read the directory."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import cli
from images import BUSYBOX_DEF
from otheruser import another_user
from uservenv import as_other

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture()
def world_readable() -> Iterator[Path]:
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-shared-", dir="/var/tmp"))
    os.chmod(top, 0o755)
    yield top
    shutil.rmtree(top)


@pytest.mark.apptainer
def test_a_store_root_built_and_deployed_is_read_by_another_user(
    world_readable: Path, busybox_sif: Path
) -> None:
    (world_readable / "hello.def").write_text(BUSYBOX_DEF)
    for _ in range(2):
        built = cli("build", world_readable / "hello.def", "--force")
        assert built.returncode == 0, built.stderr
    store = world_readable / "hello"
    shared = world_readable / "shared"
    deployed = cli("deploy", store, shared)
    assert deployed.returncode == 0, deployed.stderr
    for folder in (store, shared):
        mode = stat.S_IMODE(os.stat(folder / ".scitex").st_mode)
        assert mode & 0o055 == 0o055 & ~_umask(), oct(mode)
    active = os.readlink(store / "hello.sif")
    # the version that is not active (two builds in one second are V and V-2: no name order)
    version = next(v for v in store.glob("hello-v*.sif") if v.name != active)
    for args in (
        ("versions", store),
        ("versions", shared),
        ("verify", version),
        ("status", world_readable),
    ):
        out = as_other(*args)
        assert out.returncode == 0, (args, out.stderr)
        assert "permission denied" not in out.stderr
    dry = as_other("--dry-run", "rollback", store)  # refused as the real run is, below
    assert dry.returncode == 2 and f"{store}: permission denied" in dry.stderr, dry.stderr
    # a store made before `.scitex/` was readable: readers still get through
    os.chmod(store / ".scitex", 0o700)
    assert as_other("versions", store).returncode == 0
    # changing it is still refused, naming the directory
    real = as_other("rollback", store)
    assert real.returncode == 2 and f"{store}: permission denied" in real.stderr
    assert os.readlink(store / "hello.sif") == active


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
