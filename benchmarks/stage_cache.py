"""The stage cache on the bundled demo recipe, side by side with cold builds, in one run.

* raw ``apptainer build --fakeroot`` of ``examples/demo/demo.def`` (the floor of a cold build)
* ours, cold, no cache (``build --no-cache``): the baseline of every ratio below
* ours, cold, with an empty cache (stores the entries): <= 1.05x
* a change to the last ``%post`` line: <= 0.35x
* a change to ``%environment`` alone, and to ``%runscript`` alone: <= 0.3x
* a second recipe on the same base (another ``%post``): reuses the bootstrap (ratio reported)

Each build runs once (a demo build takes over a minute on 2 cores); the
per-stage times say where the rest goes.  Measured by hand on this machine
(2026-12-06, load 13-20 from other builds): the final stage is the floor of
every warm build, and nearly all of it is ``mksquashfs`` of the whole root fs
(73 s of a 76 s final stage; copying the 200 MB stage sandbox in: 2-5 s;
verifying an entry's digest: ~1 s).  Warm builds edit a ``%post`` or the
``%environment`` and must still compress everything.  Usage:
``python benchmarks/stage_cache.py [--json]``.  Not an area of ``run.py``:
one run is six demo builds (ten minutes), which the smoke test cannot afford.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"


def _ours(def_path: Path, out: Path, cache: StageCache | None) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    result = build_version(def_path=def_path, output_dir=out, force=True, stage_cache=cache)
    took = time.perf_counter() - start
    stages = [
        {"stage": s.name, "reused": s.reused, "seconds": round(s.duration, 1)}
        for s in result.stages
    ]
    return took, stages


def _raw(def_path: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["apptainer", "build", "--fakeroot", str(out / "raw.sif"), str(def_path)],
        check=True,
        cwd=def_path.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def main() -> int:
    as_json = "--json" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="bench-stage-cache-", dir="/var/tmp"))
    try:
        shutil.copytree(DEMO, work / "demo")
        recipe = work / "demo" / "demo.def"
        out = work / "out"
        out.mkdir()
        cache = StageCache(work / "cache")
        rows: dict[str, dict] = {}
        rows["raw apptainer build"] = {"seconds": _raw(recipe, out)}
        base, _ = _ours(recipe, out, None)
        rows["ours, no cache"] = {"seconds": base}
        took, stages = _ours(recipe, out, cache)
        rows["ours, cold, empty cache"] = {"seconds": took, "stages": stages, "target": 1.05}
        _edit(
            recipe,
            "rm -rf /var/lib/apt/lists/*",
            "rm -rf /var/lib/apt/lists/* && echo edited > /opt/edited",
        )
        took, stages = _ours(recipe, out, cache)
        rows["last %post line changed"] = {"seconds": took, "stages": stages, "target": 0.35}
        _edit(recipe, "export LC_ALL=C.UTF-8", "export LC_ALL=C.UTF-8 DEMO=1")
        took, stages = _ours(recipe, out, cache)
        rows["%environment changed"] = {"seconds": took, "stages": stages, "target": 0.3}
        _edit(recipe, "print(scitex_demo_hello.hello())", "print(scitex_demo_hello.hello(), 1)")
        took, stages = _ours(recipe, out, cache)
        rows["%runscript changed"] = {"seconds": took, "stages": stages, "target": 0.3}
        second = work / "demo" / "second.def"
        text = recipe.read_text().split("%post")[0] + "%post\n    python3 -m pip --version\n"
        second.write_text(text)
        took, stages = _ours(second, out, cache)
        rows["second recipe, same base"] = {"seconds": took, "stages": stages}
        for row in rows.values():
            row["ratio"] = round(row["seconds"] / base, 3)
            row["seconds"] = round(row["seconds"], 1)
            if "target" in row:
                row["met"] = row["ratio"] <= row["target"]
        if as_json:
            print(json.dumps(rows, indent=2))
        else:
            for name, row in rows.items():
                target = ""
                if "target" in row:  # (the raw build has none)
                    target = f"(target <= {row['target']}x: {'met' if row['met'] else 'NOT met'})"
                print(f"{name:28} {row['seconds']:7.1f}s  {row['ratio']:.3f}x {target}")
                for stage in row.get("stages", []):
                    what = "reused" if stage["reused"] else f"built in {stage['seconds']}s"
                    print(f"    {stage['stage']:10} {what}")
        print(f"load average: {os.getloadavg()}", file=sys.stderr)
        missed = any(row.get("met") is False for row in rows.values())
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 1 if missed else 0  # as run.py: a missed target is a failed run


if __name__ == "__main__":
    sys.exit(main())
