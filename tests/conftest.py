"""Shared fixtures: real-tool requirements and cached base images.

A test marked ``apptainer``, ``slurm`` or ``compose`` needs that real tool.
Locally a missing tool skips the test; in CI (``CI=true``) it fails the run,
so a broken test bed can never pass as green.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "helpers"))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[1]

_TOOLS = {
    "apptainer": ["apptainer"],
    "slurm": ["sbatch", "srun", "squeue", "scancel", "sinfo"],
    "compose": ["podman", "podman-compose"],
    "registry": ["apptainer"],
}
#: The test bed's local OCI registry (scripts/setup-host.d/registry.sh).
REGISTRY = "127.0.0.1:5000"


def _missing(marker: str) -> str | None:
    for tool in _TOOLS[marker]:
        if shutil.which(tool) is None:
            return tool
    if marker == "compose":
        probe = subprocess.run(
            ["podman", "image", "exists", "localhost/busybox:test"], capture_output=True
        )
        if probe.returncode != 0:
            return "the podman image localhost/busybox:test"
    if marker == "registry":
        import urllib.request

        try:
            urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
        except OSError as exc:
            return f"the registry on {REGISTRY} ({exc})"
    if marker == "slurm":
        probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
        if probe.returncode != 0:
            return f"a responding slurmctld (sinfo: {probe.stderr.strip()})"
    return None


_cache: dict[str, str | None] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in _TOOLS:
        if item.get_closest_marker(marker) is None:
            continue
        if marker not in _cache:
            _cache[marker] = _missing(marker)
        missing = _cache[marker]
        if missing:
            message = f"{missing} is required (run scripts/setup-host.sh as root)"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)


#: Test-bed knobs (for example SCITEX_TEST_IMAGE_CACHE) configure the suite, not the package.
_KEEP_PREFIX = "SCITEX_TEST_"
_REAL_HOME = Path.home()


@pytest.fixture(autouse=True)
def _isolated_env(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """No test sees the caller's environment: SCITEX_* variables, caches or HOME.

    Every ``SCITEX_*`` variable is removed (test-bed knobs ``SCITEX_TEST_*``
    stay); ``HOME`` and ``XDG_CACHE_HOME`` point to fresh directories, so
    ``~/.scitex/...`` and ``~/.cache/scitex-container`` start empty (pyenv's
    root stays pinned to the real home so ``python3`` still resolves).  The
    stage cache ``build`` uses by default is off (``SCITEX_CONTAINER_STAGE_CACHE=0``)
    except in tests marked ``stage_cache``.
    """
    for key in list(os.environ):
        if key.startswith("SCITEX_") and not key.startswith(_KEEP_PREFIX):
            monkeypatch.delenv(key)
    root = tmp_path_factory.mktemp("env")
    pyenv = _REAL_HOME / ".pyenv"  # pyenv's shims find their root through HOME
    if "PYENV_ROOT" not in os.environ and pyenv.is_dir():
        monkeypatch.setenv("PYENV_ROOT", str(pyenv))
    (root / "home").mkdir()
    (root / "cache").mkdir()
    monkeypatch.setenv("HOME", str(root / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    if request.node.get_closest_marker("stage_cache") is None:
        # `build` caches stages by default; that costs every building test time and disk
        # (a sandbox copy per stage), so only the tests about the cache keep it on
        monkeypatch.setenv("SCITEX_CONTAINER_STAGE_CACHE", "0")


@pytest.fixture(scope="session")
def image_cache() -> Path:
    """Directory where built test base images are kept between runs."""
    from images import cache_dir

    return cache_dir()


@pytest.fixture(scope="session")
def busybox_sif(image_cache: Path) -> Path:
    """A tiny ``Bootstrap: scratch`` image with busybox (builds in well under a second)."""
    from images import busybox_sif as make

    return make()


@pytest.fixture(scope="session")
def shells_sif(image_cache: Path) -> Path:
    """busybox (``/bin/sh``) with the host's dash and bash: each shell a ``%post`` may run."""
    from images import shells_sif as make

    return make()


@pytest.fixture(scope="session")
def debian_sif(image_cache: Path) -> Path:
    """A Debian bookworm base with python3-pip (debootstrap; about 70 s once, then cached)."""
    from images import debian_sif as make

    return make()


@pytest.fixture(scope="session")
def lock_sif(debian_sif: Path) -> Path:
    """Debian base + hello, python3-yaml, libc6:i386, nodejs, npm; pip from an index dir,
    a direct wheel path and an editable project; two npm globals from local tarballs."""
    from lockimages import lock_sif as make

    return make()


# -- the CLI in-process (`sx`): tests/cli/ and tests/mcp/ ------------------------------
@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture()
def sx(capsys: pytest.CaptureFixture[str]):
    """``sx(*args)`` runs ``scitex-container ARGS`` and returns its exit code and output."""
    from scitex_container.cli.main import main

    def run(*args: object) -> Ran:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


@pytest.fixture()
def null_device(tmp_path: Path) -> Path:
    """Our own /dev/null (``tmp_path/null``, made by mknod); the test skipped without root."""
    from specialfiles import NULL, char_device_or_skip

    return char_device_or_skip(tmp_path / "null", NULL)


@pytest.fixture()
def zero_device(tmp_path: Path) -> Path:
    """Our own /dev/zero (``tmp_path/zero``): a read of it never ends; skipped without root."""
    from specialfiles import ZERO, char_device_or_skip

    return char_device_or_skip(tmp_path / "zero", ZERO)
