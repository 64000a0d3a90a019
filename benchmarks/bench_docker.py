"""Compose commands through scitex-container against the raw podman-compose, side by side.

A two-service stack (tests/helpers/compose_stack.py) is started once; then

* ``docker status`` (engine detection + ``podman ps`` JSON) against
  ``podman-compose ps`` (target: at most 1.5x);
* ``docker status`` with the engine named in SCITEX_CONTAINER_COMPOSE (one probe);
* ``docker rebuild`` against ``podman-compose build --no-cache`` (target: at most 1.2x).

The stack, its network and image are removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from harness import compare

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))


def cases(runs: int = 5):
    for tool in ("podman", "podman-compose"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} is not installed")
    from compose_stack import remove_project, write_project

    ours = str(Path(sys.executable).with_name("scitex-container"))
    name = f"sctxb{uuid.uuid4().hex[:10]}"
    tmp = Path(tempfile.mkdtemp(prefix="sctx-bench-"))
    project = write_project(tmp / name, name)
    raw = ["podman-compose", "-f", str(project.file), "-p", name]
    mine = [ours, "docker"]
    where = ["--project-dir", str(project.dir), "-p", name]
    import subprocess

    subprocess.run(
        [*raw, "up", "-d"],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield compare(
            "docker status vs podman-compose ps",
            [*mine, "status", *where],
            [*raw, "ps"],
            runs=runs,
            max_ratio=1.5,
            target="<= 1.5x",
        )
        forced = ["env", "SCITEX_CONTAINER_COMPOSE=podman-compose", *mine, "status", *where]
        yield compare(
            "docker status (engine forced) vs podman-compose ps",
            forced,
            [*raw, "ps"],
            runs=runs,
            max_ratio=1.5,
            target="<= 1.5x",
        )
        yield compare(
            "docker rebuild vs podman-compose build --no-cache",
            [*mine, "rebuild", *where],
            [*raw, "build", "--no-cache"],
            runs=max(2, runs // 2),
            max_ratio=1.2,
            target="<= 1.2x",
        )
    finally:
        remove_project(name, [project.image])
        shutil.rmtree(tmp, ignore_errors=True)
