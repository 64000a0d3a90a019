"""Issue 21's figures: the progress display's cost, and every command's `--help`.

* progress: a real busybox build whose %post prints 20,000 lines, with the
  display on (stderr not a terminal: the heartbeat path, every line parsed
  for its phase) against the same build with `-q` (no display).  Target:
  at most 1% (ratio <= 1.01).  ``notes.per_line_us`` is the display's own
  cost per output line, timed in-process.
* help: the slowest `scitex-container CMD --help` of every command against
  `python -c pass`.  Target: at most 3x.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import compare

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "helpers"))

SCITEX = str(Path(sys.executable).with_name("scitex-container"))
LINES = 20_000


def _per_line_us() -> float:
    from scitex_container.cli.progress import Progress

    progress = Progress("building x.def", "starting", None)
    lines = [f"+ echo line {i}" for i in range(LINES)]
    start = time.perf_counter()
    for line in lines:
        progress(line)
    return (time.perf_counter() - start) / LINES * 1e6


def _progress_case(runs: int):
    from images import BUSYBOX_DEF

    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer")
    work = Path(tempfile.mkdtemp(prefix="scitex-bench-progress-"))
    try:
        definition = work / "chatty.def"
        definition.write_text(BUSYBOX_DEF + f"\n%post\n    /bin/busybox seq 1 {LINES}\n")
        build = [SCITEX, "build", str(definition), "-o", str(work / "out"), "--force"]
        result = compare(
            f"build printing {LINES} lines: progress on vs -q",
            build,
            [SCITEX, "-q", *build[1:]],
            runs=runs,
            max_ratio=1.01,
            target="<= 1.01 (1%)",
        )
        result.notes["per_line_us"] = round(_per_line_us(), 2)
        result.notes["display_cost_of_build"] = round(
            result.notes["per_line_us"] * LINES / 1e6 / result.raw_median_s, 5
        )
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _commands() -> list[list[str]]:
    import click

    from scitex_container.cli.main import cli

    out: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None:
                    walk(sub, [*path, name])
        out.append(path)

    walk(cli, [])
    return out


def _slowest_help(runs: int):
    timings = {}
    for path in _commands():
        argv = [SCITEX, *path, "--help"]
        samples = []
        for _ in range(max(1, runs // 2)):
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            samples.append(time.perf_counter() - start)
        timings[" ".join(path) or "(root)"] = sorted(samples)[len(samples) // 2]
    slowest = max(timings, key=timings.__getitem__)
    argv = [SCITEX, *slowest.split(), "--help"] if slowest != "(root)" else [SCITEX, "--help"]
    result = compare(
        f"slowest --help ({slowest}) vs python -c pass",
        argv,
        [sys.executable, "-c", "pass"],
        runs=runs,
        max_ratio=3.0,
        target="<= 3x",
    )
    result.notes["commands"] = len(timings)
    return result


def cases(runs: int = 5):
    yield _slowest_help(runs)
    yield _progress_case(runs)
