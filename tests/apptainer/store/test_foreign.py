"""The store never destroys what it did not write, and says what is wrong with its link."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clirun import checkout_cli as cli
from storekit import make_sif

from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.naming import FLAT_SIF
from scitex_container.apptainer.store.state import STATE_DIR


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    make_sif(tmp_path / "scitex-v1.0.sif", seed=1)
    make_sif(tmp_path / "scitex-v2.0.sif", seed=2)
    os.symlink("scitex-v2.0.sif", tmp_path / "current.sif")
    return tmp_path


def test_regular_file_at_the_link_path_is_refused_not_deleted(store: Path) -> None:
    (store / "current.sif").unlink()
    (store / "current.sif").write_bytes(b"my own image\n")
    out = cli("switch", "1.0", str(store))
    assert out.returncode == 2 and str(store / "current.sif") in out.stderr
    assert (store / "current.sif").read_bytes() == b"my own image\n"
    out = cli("versions", str(store))
    assert "did not write" in out.stderr
    out = cli("rollback", str(store))
    assert out.returncode != 0 and "did not write" in out.stderr
    assert (store / "current.sif").read_bytes() == b"my own image\n"


@pytest.mark.parametrize("content", [b"", b"not a sif at all, just text\n" * 4])
def test_switch_refuses_an_empty_or_non_sif_version(store: Path, content: bytes) -> None:
    (store / "scitex-v3.0.sif").write_bytes(content)
    out = cli("switch", "3.0", str(store))
    assert out.returncode == 2 and "scitex-v3.0.sif" in out.stderr
    assert os.readlink(store / "current.sif") == "scitex-v2.0.sif"


def test_dangling_and_escaping_links_are_reported_with_what_to_do(store: Path) -> None:
    (store / "current.sif").unlink()
    os.symlink("scitex-v9.sif", store / "current.sif")
    out = cli("versions", str(store))
    assert "does not exist" in out.stderr and "switch VERSION" in out.stderr
    out = cli("rollback", str(store))
    assert out.returncode == 2 and "does not exist" in out.stderr  # refused: nothing changed
    (store / "current.sif").unlink()
    os.symlink("/etc/hostname", store / "current.sif")
    out = cli("versions", str(store))
    assert "points outside the store" in out.stderr
    assert json.loads(cli("--json", "switch", "1.0", str(store)).stdout)["version"] == "1.0"


def test_locks_live_in_the_hidden_state_folder(store: Path, tmp_path: Path) -> None:
    Store(store, FLAT_SIF).switch("1.0")
    assert (store / STATE_DIR / "store.flock").exists()
    assert not list(store.glob("*.lock")) and not list(store.glob(".*.lock"))
    missing = tmp_path / "nx"
    for args in (["versions", str(missing)], ["status", str(missing)]):
        cli(*args)
    assert not missing.exists()
