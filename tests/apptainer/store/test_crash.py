"""Crash consistency: SIGKILL builds, switches and deploys at random moments.

After every kill the active link must resolve to a complete image (checked
structurally every time: SIF header and the sha256 its metadata records or
a known one; and with ``apptainer exec IMAGE true`` on a sample), and no
half-written artifact may be listed as a version.  The non-slow tier runs
30 trials of each; the slow tier runs more, with other seeds (the suite runs both tiers,
so the slow one adds trials rather than repeating the first 30).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import REPO, kill_tree, looks_like_sif, make_sif, python_env, sha256

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.apptainer.store.opening import open_store
from scitex_container.apptainer.store.sidecars import SIDECAR_SUFFIXES

pytestmark = pytest.mark.apptainer

DRIVER = REPO / "tests" / "helpers" / "store_drivers.py"
TRIALS = 30
SLOW_TRIALS = 60
EXEC_EVERY = 5


def start(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**python_env(), **(env_extra or {})}
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read()
    return proc


def check_store(store_dir: Path, known: set[str] | None, exec_it: bool) -> None:
    store = open_store(store_dir)
    active = store.active_path()
    assert active is not None, f"active link lost: {sorted(os.listdir(store_dir))}"
    listed = {row.path for row in store.versions()}
    assert active in listed
    for path in listed:
        assert looks_like_sif(path), path
        expected = load_metadata(path).get("sha256")
        if known is not None:
            assert sha256(path) in known, f"{path} is not a complete copy"
        else:
            assert expected and sha256(path) == expected, f"{path} does not match its metadata"
    for name in os.listdir(store_dir):
        if not name.startswith(".") and name != store.scheme.active:
            assert store.scheme.version_of(name) or any(
                name.endswith(s) for s in SIDECAR_SUFFIXES
            ), f"unexpected visible entry {name}"
    if exec_it:
        out = subprocess.run(["apptainer", "exec", str(store.link), "true"], capture_output=True)
        assert out.returncode == 0, out.stderr


def run_trials(n: int, launch, check, max_delay: float, seed: int) -> None:
    rng = random.Random(seed)
    for trial in range(n):
        proc = launch()
        time.sleep(rng.uniform(0.0, max_delay))
        kill_tree(proc)
        check(trial % EXEC_EVERY == 0)


# -- build -------------------------------------------------------------------


@pytest.fixture()
def build_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF + "\n%files\n    payload /payload\n")
    (tmp_path / "payload").write_text("first\n")
    build_version(def_path=tmp_path / "bb.def", output_dir=tmp_path / "out")
    return tmp_path


def _build_crash(project: Path, trials: int, seed: int = 1) -> None:
    apptmp = project / "apptainer-tmp"
    apptmp.mkdir()
    env = {"APPTAINER_TMPDIR": str(apptmp), "XDG_CACHE_HOME": str(project / "cache")}
    store_dir = project / "out" / "bb"
    run_trials(
        trials,
        lambda: start(
            "build",
            str(project / "bb.def"),
            str(project / "out"),
            str(project / "payload"),
            env_extra=env,
        ),
        lambda exec_it: check_store(store_dir, None, exec_it),
        max_delay=2.0,
        seed=seed,
    )
    # Recovery: the next build works and stale temporaries of the dead builders go.
    (project / "payload").write_text("after the crashes\n")
    assert build_version(def_path=project / "bb.def", output_dir=project / "out").built
    open_store(store_dir).cleanup(100)
    assert not [n for n in os.listdir(store_dir) if n.endswith((".building", ".link", ".removing"))]
    check_store(store_dir, None, True)


def test_killed_builds_never_break_the_active_image(build_project: Path) -> None:
    _build_crash(build_project, TRIALS)


@pytest.mark.slow
def test_killed_builds_many_trials(build_project: Path) -> None:
    _build_crash(build_project, SLOW_TRIALS - TRIALS, seed=11)


# -- switch ------------------------------------------------------------------


@pytest.fixture()
def flat_store(tmp_path: Path, busybox_sif: Path) -> tuple[Path, set[str]]:
    store = tmp_path / "store"
    store.mkdir()
    known = {make_sif(store / f"scitex-v1.{i}.sif", busybox_sif, seed=i) for i in range(5)}
    os.symlink("scitex-v1.4.sif", store / "current.sif")
    return store, known


def _switch_crash(flat: tuple[Path, set[str]], trials: int, seed: int = 2) -> None:
    store, known = flat
    run_trials(
        trials,
        lambda: start("switch", str(store)),
        lambda exec_it: check_store(store, known, exec_it),
        max_delay=0.3,
        seed=seed,
    )
    assert len(open_store(store).versions()) == 5


def test_killed_switches_never_lose_the_link(flat_store) -> None:
    _switch_crash(flat_store, TRIALS)


@pytest.mark.slow
def test_killed_switches_many_trials(flat_store) -> None:
    _switch_crash(flat_store, SLOW_TRIALS * 2 - TRIALS, seed=12)


# -- deploy ------------------------------------------------------------------


@pytest.fixture()
def deploy_pair(tmp_path: Path, busybox_sif: Path) -> tuple[Path, Path, set[str]]:
    source = tmp_path / "source"
    source.mkdir()
    known = {
        make_sif(source / f"scitex-v{i}.0.sif", busybox_sif, pad=24 << 20, seed=i) for i in range(3)
    }
    os.symlink("scitex-v0.0.sif", source / "current.sif")
    return source, tmp_path / "target", known


def _deploy_crash(pair, trials: int, seed: int = 3) -> None:
    source, target, known = pair

    def check(exec_it: bool) -> None:
        if os.path.lexists(target / "current.sif"):
            check_store(target, known, exec_it)
        for name in os.listdir(target) if target.exists() else []:
            assert name.startswith(".") or name == "current.sif" or name.startswith("scitex-v"), (
                name
            )

    run_trials(
        trials, lambda: start("deploy", str(source), str(target)), check, max_delay=0.6, seed=seed
    )
    assert os.path.lexists(target / "current.sif"), "no deploy completed in any trial"


def test_killed_deploys_never_expose_a_partial_image(deploy_pair) -> None:
    _deploy_crash(deploy_pair, TRIALS)


@pytest.mark.slow
def test_killed_deploys_many_trials(deploy_pair) -> None:
    _deploy_crash(deploy_pair, SLOW_TRIALS - TRIALS, seed=13)
