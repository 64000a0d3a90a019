"""What containment costs (issue 20): a contained build against the plain one, and the
start of one child with its parent-death signal against a plain start.

* a real ``apptainer build --fakeroot`` run the way the CLI runs it (as root:
  init of its own PID namespace, ``unshare --pid --fork --kill-child
  --mount-proc`` plus the waiting shell) against the same argv run plainly:
  target <= 1.02x;
* one short child started by the runner (``PR_SET_PDEATHSIG`` armed in the
  child) against ``subprocess.run``: the difference, per command start,
  target <= 20 ms (the ratio is printed too).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import compare

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))


def _project(root: Path) -> Path:
    from images import BUSYBOX_DEF

    root.mkdir(parents=True, exist_ok=True)
    with open(root / "payload.txt", "w") as fh:
        fh.writelines(f"{i}\n" for i in range(3_000_000))
    (root / "bench.def").write_text(BUSYBOX_DEF + "\n%files\n    payload.txt /payload.txt\n")
    return root / "bench.def"


def _build(argv: list[str], cwd: Path):
    def run() -> None:
        subprocess.run(
            argv, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    return run


def cases(runs: int = 5):
    from scitex_container.process import runner
    from scitex_container.process.procgroup import contained_argv

    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer")
    with tempfile.TemporaryDirectory(prefix="scitex-bench-contain-") as tmp:
        root = Path(tmp)
        definition = _project(root / "project")
        out = root / "out.sif"
        argv = ["apptainer", "build", "--fakeroot", "--force", str(out), str(definition)]
        contained, in_namespace = contained_argv(tuple(argv))
        yield compare(
            "build: contained (pid namespace) vs plain",
            _build(list(contained), definition.parent),
            _build(argv, definition.parent),
            runs=max(3, runs // 2),
            max_ratio=1.02,
            target="<= 1.02x" + ("" if in_namespace else " (not root: guardian instead)"),
        )
    result = compare(
        "start one child: runner (pdeathsig) vs subprocess",
        lambda: runner.run(["true"]),
        lambda: subprocess.run(["true"], check=True),
        runs=max(runs, 20),
        max_ratio=None,
        target="<= +20 ms per start",
    )
    extra = result.ours_median_s - result.raw_median_s
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import ctypes"], check=True)
    result.notes["added_ms_per_start"] = round(extra * 1000, 2)
    result.notes["python_with_ctypes_import_s"] = round(time.perf_counter() - start, 4)
    result.met = extra <= 0.020
    yield result
