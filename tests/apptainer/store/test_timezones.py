"""Builds under two time zones: versions are named in UTC and ordered by build time."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from clirun import checkout_cli
from images import BUSYBOX_DEF

pytestmark = pytest.mark.apptainer


def cli(tmp_path: Path, tz: str, *args: str) -> subprocess.CompletedProcess:
    return checkout_cli(*args, extra={"TZ": tz, "XDG_CACHE_HOME": str(tmp_path / "cache")})


def test_builds_under_two_time_zones_order_and_roll_back(tmp_path: Path) -> None:
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    out = str(tmp_path / "out")
    store = tmp_path / "out" / "bb"
    first = cli(tmp_path, "Pacific/Kiritimati", "build", str(tmp_path / "bb.def"), "-o", out)
    assert first.returncode == 0, first.stderr
    older = os.readlink(store / "bb.sif")
    second_of_first = int(time.time())
    while int(time.time()) == second_of_first:  # the next build's name is a later second
        time.sleep(0.01)
    second = cli(
        tmp_path, "Pacific/Pago_Pago", "build", str(tmp_path / "bb.def"), "-o", out, "--force"
    )
    assert second.returncode == 0, second.stderr
    newer = os.readlink(store / "bb.sif")
    assert older.endswith("Z.sif") and newer.endswith("Z.sif") and older < newer
    back = cli(tmp_path, "Pacific/Kiritimati", "rollback", str(store))
    assert back.returncode == 0, back.stderr
    assert os.readlink(store / "bb.sif") == older


def test_old_local_names_order_by_the_recorded_build_time(tmp_path: Path) -> None:
    """Old names written under a +14 h zone, then a -11 h zone: the name order is wrong."""
    import json

    from storekit import make_sif

    from scitex_container.apptainer.store.core import Store
    from scitex_container.apptainer.store.naming import image_scheme

    store = Store(tmp_path, image_scheme("bb"))
    first, second = "20261202_230000", "20261202_020000"  # 09:00Z, then 13:00Z
    for version, start in (
        (first, "2026-12-02T09:00:00+00:00"),
        (second, "2026-12-02T13:00:00+00:00"),
    ):
        path = store.path_of(version)
        make_sif(path, seed=hash(version) % 100)
        path.with_name(path.name + ".meta.json").write_text(json.dumps({"build_start": start}))
    os.symlink(store.path_of(second).name, store.link)
    assert [r.version for r in store.versions()] == [second, first]
    assert store.rollback() == first
