"""Every store function is reachable at its reference path, whatever was imported first."""

from __future__ import annotations

import subprocess
import sys

import pytest
from storekit import python_env

APPTAINER = [
    "build",
    "status",
    "list_versions",
    "switch_version",
    "rollback",
    "cleanup",
    "cleanup_sifs",
    "deploy",
    "get_active_version",
    "is_sandbox",
    "find_containers_dir",
    "sandbox_create",
    "sandbox_maintain",
    "sandbox_update",
    "sandbox_to_sif",
    "sandbox_configure_ps1",
    "list_sandboxes",
    "get_active_sandbox",
    "switch_sandbox",
    "rollback_sandbox",
    "cleanup_sandboxes",
]
TOP = [
    "build",
    "cleanup",
    "deploy",
    "list_versions",
    "rollback",
    "sandbox_create",
    "status",
    "switch",
]


@pytest.mark.parametrize(
    "first",
    [
        "",
        "import scitex_container.apptainer.building.versioned, "
        "scitex_container.apptainer.building.decision, scitex_container.apptainer.store.deploy",
    ],
)
def test_reference_names_are_functions(first: str) -> None:
    code = (f"{first}\n" if first else "") + (
        "import inspect, scitex_container as top, scitex_container.apptainer as a\n"
        f"bad = [n for n in {APPTAINER!r} if not inspect.isfunction(getattr(a, n))]\n"
        f"bad += ['top.' + n for n in {TOP!r} if not inspect.isfunction(getattr(top, n))]\n"
        "assert not bad, bad\n"
        "assert top.switch is a.switch_version and top.build is a.build\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=python_env()
    )
    assert out.returncode == 0, out.stderr
