"""Compose commands through scitex-container against the raw podman-compose, side by side.

A two-service stack (tests/helpers/compose_stack.py) is started once; then

* ``docker status`` (engine detection + ``podman ps`` JSON) against
  ``podman-compose ps`` (target: at most 1.5x);
* ``docker status`` with the engine named in SCITEX_CONTAINER_COMPOSE (one probe);
* ``docker rebuild`` against ``podman-compose build --no-cache`` (target: at
  most 1.2x).  Both must really rebuild: the image's ID must change with
  every run (a layer cache hit, or a build of something else, makes the row
  INVALID).  Beside it, where our extra time goes: the CLI's start-up
  (``--version``), the engine probe a first command pays (the choice is then
  remembered across processes, see ``docker/engine.py``), finding and
  reading the compose file, and the rebuild with the remembered choice
  cleared before every run.

Ours runs as an installed package does: with bytecode (pip compiles at
install, Debian's podman-compose has its .pyc too).  PYTHONDONTWRITEBYTECODE,
set on the test machines, would otherwise make every run of ours compile the
package from source; it is unset for ours and the bytecode kept under a
private PYTHONPYCACHEPREFIX, written by the warm-up run.

The engine choice is remembered in a private cache directory (XDG_CACHE_HOME),
warmed by the warm-up run as a user's earlier commands warm theirs.  The
stack, its network and image are removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import Invalid, compare, size

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))


def _median_s(action, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _breakdown(project_dir: Path, name: str, runs: int) -> dict[str, float]:
    """In-process: the probe cold, the memo read, the compose file found and read."""
    from scitex_container.docker import engine
    from scitex_container.docker.stack import resolve

    def cold() -> None:
        engine.clear_cache()
        engine.memo_file().unlink(missing_ok=True)
        engine.detect_engine()

    def recalled() -> None:
        engine.clear_cache()
        engine.detect_engine()

    probe = _median_s(cold, runs)
    memo = _median_s(recalled, runs)
    engine.detect_engine()
    files = _median_s(lambda: resolve("dev", project_dir, project_name=name), runs)
    return {"probe": probe, "memo": memo, "resolve": files}


def cases(runs: int = 5):
    for tool in ("podman", "podman-compose"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} is not installed")
    from compose_stack import podman, remove_project, write_project

    from scitex_container.docker import engine

    ours = str(Path(sys.executable).with_name("scitex-container"))
    name = f"sctxb{uuid.uuid4().hex[:10]}"
    tmp = Path(tempfile.mkdtemp(prefix="sctx-bench-"))
    saved_cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")  # the engine memo lives here
    project = write_project(tmp / name, name)
    raw = ["podman-compose", "-f", str(project.file), "-p", name]
    as_installed = ["env", "-u", "PYTHONDONTWRITEBYTECODE", f"PYTHONPYCACHEPREFIX={tmp / 'pyc'}"]
    mine = [*as_installed, ours, "docker"]
    where = ["--project-dir", str(project.dir), "-p", name]
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
        forced = [*as_installed, "SCITEX_CONTAINER_COMPOSE=podman-compose", *mine[4:]]
        forced += ["status", *where]
        yield compare(
            "docker status (engine forced) vs podman-compose ps",
            forced,
            [*raw, "ps"],
            runs=runs,
            max_ratio=1.5,
            target="<= 1.5x",
        )

        def image_id() -> str:
            return podman("image", "inspect", "--format", "{{.Id}}", project.image).strip()

        seen = {"id": image_id()}

        def rebuilt(side: str) -> None:
            now = image_id()
            if not now or now == seen["id"]:
                raise Invalid(f"{side}: the image was not rebuilt (ID {now[:12] or 'none'})")
            seen["id"] = now

        rebuild = [*mine, "rebuild", *where]
        raw_build = [*raw, "build", "--no-cache"]
        reruns = size(max(3, runs), 1)
        case = compare(
            "docker rebuild vs podman-compose build --no-cache",
            rebuild,
            raw_build,
            runs=reruns,
            max_ratio=1.2,
            target="<= 1.2x",
            check=rebuilt,
        )
        if case.status != "ERROR":
            parts = _breakdown(project.dir, name, size(runs, 1))
            startup = _median_s(
                lambda: subprocess.run(
                    [*as_installed, ours, "--version"], check=True, capture_output=True
                ),
                size(runs, 1),
            )
            cold = _median_s(
                lambda: (
                    engine.memo_file().unlink(missing_ok=True),
                    subprocess.run(rebuild, check=True, capture_output=True),
                ),
                size(2, 1),
            )
            seen["id"] = image_id()
            extra = case.ours_median_s - case.raw_median_s
            case.notes.update(
                {
                    "ours - raw (s)": round(extra, 3),
                    "CLI start-up, --version (s)": round(startup, 3),
                    "engine probe, first command (s)": round(parts["probe"], 3),
                    "engine recalled from the memo (s)": round(parts["memo"], 4),
                    "compose file found + read (s)": round(parts["resolve"], 4),
                    "rest: imports, podman-compose's own run, noise (s)": round(
                        extra - startup - parts["memo"] - parts["resolve"], 3
                    ),
                    "ours with the engine probed every run (s, ratio)": (
                        f"{cold:.3f}, {cold / case.raw_median_s:.3f}x"
                    ),
                }
            )
        yield case
    finally:
        if saved_cache is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved_cache
        engine.clear_cache()
        remove_project(name, [project.image])
        shutil.rmtree(tmp, ignore_errors=True)
