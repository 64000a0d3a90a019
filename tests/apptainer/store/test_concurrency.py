"""16 concurrent switch/rollback/cleanup/build processes on one store.

While they run, the test polls the store: the active link must always
resolve and the protected version must always exist.  Afterwards every
listed version is complete and the active image runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import REPO, python_env, sha256

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.apptainer.store.opening import open_store

pytestmark = pytest.mark.apptainer

DRIVER = REPO / "tests" / "helpers" / "store_drivers.py"
ROLES = ["switch"] * 4 + ["rollback"] * 4 + ["cleanup"] * 4 + ["build"] * 4


def _run(tmp_path: Path, seconds: float) -> None:
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF + "\n%files\n    payload /payload\n")
    out = tmp_path / "out"
    for n in range(3):
        (tmp_path / "payload").write_text(f"seed {n}\n")
        build_version(def_path=tmp_path / "bb.def", output_dir=out)
    store = open_store(out / "bb")
    protected = store.versions()[-1]  # the oldest: cleanup would take it first
    store.protect(protected.version)
    env = {
        **python_env(),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "APPTAINER_TMPDIR": str(tmp_path),
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(DRIVER),
                "worker",
                role,
                str(store.dir),
                str(tmp_path / "bb.def"),
                str(tmp_path / f"payload-{i}" if role != "build" else tmp_path / "payload"),
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i, role in enumerate(ROLES)
    ]
    problems: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not os.path.exists(store.link):
                problems.append(f"active link unresolved: {sorted(os.listdir(store.dir))}")
            if not protected.path.exists():
                problems.append("protected version removed")
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=seconds + 240)
            assert proc.returncode == 0, stderr
            results.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        stop.set()
        watcher.join()
    assert not problems, problems[:3]
    assert [r for r in results if r["unexpected"]] == []
    by_role: dict[str, int] = {}
    for r in results:
        by_role[r["role"]] = by_role.get(r["role"], 0) + r["ok"]
    assert all(by_role[role] > 0 for role in ("switch", "rollback", "cleanup", "build")), by_role
    rows = store.versions()
    assert protected.path in {r.path for r in rows}
    for row in rows:
        assert sha256(row.path) == load_metadata(row.path)["sha256"]
    assert subprocess.run(["apptainer", "exec", str(store.link), "true"]).returncode == 0


def test_sixteen_concurrent_commands(tmp_path: Path) -> None:
    _run(tmp_path, seconds=6)


@pytest.mark.slow
def test_sixteen_concurrent_commands_longer(tmp_path: Path) -> None:
    _run(tmp_path, seconds=25)
