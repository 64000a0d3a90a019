"""Image store against the raw tools.

* no-op rebuild (inputs unchanged) vs raw ``apptainer build`` of the same def: <= 1/200
* real build (``force``) vs raw ``apptainer build`` of the same def: <= 1.03x,
  with the default provenance step (lock captured and embedded) and without it
* Ctrl-C (SIGINT to the process group) during a real build, in each phase
  (bootstrap, %post, mksquashfs), ours through the CLI and raw ``apptainer
  build``: seconds until it returns (ours <= 5 s) and bytes left in temp
  (ours 0), side by side; a trial that did not land in its phase makes the
  row INVALID (:mod:`interrupts`)
* ``status()`` over 200 images: <= 300 ms
* the cached digest check ``verify`` does on a 256 MB image: <= 50 ms (the
  cache is keyed by ctime too, so a restored mtime is still detected)
* deploy of an unchanged image (no copy) vs ``cp`` of it
* deploy of a changed image vs ``cp``: throughput >= 0.9x (time <= 1.11x)

The def is busybox plus ~47 MB of compressible text copied in with %files,
so apptainer spends a few seconds in mksquashfs; library calls are timed
in-process (a CLI start-up would otherwise dominate the cheap cases).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import absolute, compare, size
from interrupts import interrupt_cases, interrupt_def

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))


def _project(root: Path) -> Path:
    """busybox plus ~47 MB of compressible text (smoke: ~0.5 MB) in %files."""
    from images import BUSYBOX_DEF

    root.mkdir(parents=True, exist_ok=True)
    with open(root / "payload.txt", "w") as fh:
        fh.writelines(f"{i}\n" for i in range(size(6_000_000, 60_000)))
    (root / "bench.def").write_text(BUSYBOX_DEF + "\n%files\n    payload.txt /payload.txt\n")
    return root / "bench.def"


def _raw_build(def_path: Path, out: Path):
    argv = ["apptainer", "build", "--fakeroot", "--force", str(out), str(def_path)]

    def run() -> None:  # from the def's directory, as %files paths are relative to it
        subprocess.run(
            argv,
            check=True,
            cwd=def_path.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return run


def _status_tree(root: Path, busybox: Path, count: int = 200) -> Path:
    """``count`` defs, each with an image store as build() leaves it (written directly)."""
    from scitex_container.apptainer.building.inputs import compute_inputs
    from scitex_container.apptainer.building.versioned import image_store
    from scitex_container.apptainer.store.metadata import VersionMeta, write_metadata

    cdir = root / "containers"
    (cdir / "files").mkdir(parents=True)
    (cdir / "files" / "big.bin").write_bytes(os.urandom(size(8, 1) << 20))
    os.utime(cdir / "files" / "big.bin", (1_700_000_000, 1_700_000_000))
    for i in range(count):
        name = f"img{i:03d}"
        (cdir / "files" / f"{name}.txt").write_text(f"{name}\n")
        head = f"Bootstrap: localimage\nFrom: {busybox}\n" if i % 2 else "Bootstrap: scratch\n"
        (cdir / f"{name}.def").write_text(
            head + f"\n%files\n    files/{name}.txt /{name}.txt\n    files/big.bin /big.bin\n"
            "\n%post\n    echo built\n\n%labels\n    name " + name + "\n"
        )
        store = image_store(cdir, name)
        store.dir.mkdir()
        version = store.path_of("20260101_000000")
        version.write_bytes(b"#!/usr/bin/env run-singularity\n" + os.urandom(1024))
        record = compute_inputs(cdir / f"{name}.def").record()
        write_metadata(version, VersionMeta.from_dict(record))
        os.symlink(version.name, store.link)
    return cdir


def _deploy_source(root: Path, busybox: Path, size: int) -> Path:
    src = root / "deploy-src"
    src.mkdir()
    data = busybox.read_bytes()
    with open(src / "scitex-v1.0.sif", "wb") as fh:
        fh.write(data)
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            fh.write(block)
    os.symlink("scitex-v1.0.sif", src / "current.sif")
    return src


def cases(runs: int = 5):
    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer is not installed")
    from images import busybox_sif

    from scitex_container.apptainer.building.decision import image_statuses
    from scitex_container.apptainer.building.versioned import build_version
    from scitex_container.apptainer.store.deploy import deploy_store
    from scitex_container.apptainer.store.metadata import cached_sha256, read_metadata

    busybox = busybox_sif()
    root = Path(tempfile.mkdtemp(prefix="bench-store-"))
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    try:
        def_path = _project(root / "project")
        out = root / "out"
        raw = _raw_build(def_path, root / "raw.sif")
        first = build_version(def_path=def_path, output_dir=out)
        assert first.built

        def noop() -> None:
            assert not build_version(def_path=def_path, output_dir=out).built

        yield compare(
            "store: no-op rebuild vs raw apptainer build",
            noop,
            raw,
            runs=runs,
            max_ratio=1 / 200,
            target="<= 1/200",
        )

        fixed: list[float] = []

        def forced() -> None:
            result = build_version(def_path=def_path, output_dir=out, force=True)
            assert result.built and result.artifact is not None
            meta = read_metadata(result.artifact)
            assert meta is not None and meta.build_duration is not None
            fixed.append(result.duration - meta.build_duration)  # all but apptainer build

        case = compare(
            "store: real build vs raw apptainer build",
            forced,
            raw,
            runs=runs,
            max_ratio=1.03,
            target="<= 1.03x",
        )
        # The machine is shared: the ratio of two noisy medians moves by several
        # percent between runs, so also report what we add to apptainer's own time.
        cost = statistics.median(fixed)
        case.notes["our fixed cost outside apptainer build (median s)"] = round(cost, 3)
        case.notes["ratio from it: (raw + fixed) / raw"] = round(1 + cost / case.raw_median_s, 3)
        yield case

        def forced_bare() -> None:  # the same build without the lock capture + embedding
            assert build_version(
                def_path=def_path, output_dir=out, force=True, provenance=False
            ).built

        yield compare(
            "store: real build, provenance off, vs raw",
            forced_bare,
            raw,
            runs=runs,
            max_ratio=1.03,
            target="<= 1.03x",
        )

        gate = Path(tempfile.mkdtemp(prefix="bench-gate-", dir="/tmp"))  # /tmp: seen by %post
        interrupting = def_path.with_name("interrupt.def")
        interrupting.write_text(interrupt_def(def_path.read_text(), gate))
        try:
            yield from interrupt_cases(root, interrupting, gate, out, runs)
        finally:
            shutil.rmtree(gate, ignore_errors=True)

        count = size(200, 20)
        cdir = _status_tree(root / "status", busybox, count)
        rows = image_statuses(cdir)
        assert len(rows) == count and not any(r.needs_rebuild for r in rows), rows[0]
        yield absolute(
            f"store: status() over {count} images",
            lambda: image_statuses(cdir),
            runs=max(runs, 5),
            max_seconds=0.3,
            target="<= 300 ms",
        )

        megabytes = size(256, 4)
        src = _deploy_source(root, busybox, megabytes << 20)
        image = src / "scitex-v1.0.sif"
        cached_sha256(image)  # the first call hashes; the digest cache serves the rest

        def cached_check() -> None:  # what verify's integrity check costs once cached
            assert cached_sha256(image)

        yield absolute(
            f"store: cached digest check of a {megabytes} MB image (verify's integrity step)",
            cached_check,
            runs=max(runs, 5),
            max_seconds=0.05,
            target="<= 50 ms",
        )
        target = root / "deploy-target"
        deploy_store(src, target)
        cp_dest = root / "cp-dest.sif"

        def unchanged() -> None:
            assert deploy_store(src, target).copied == ()

        cp = ["cp", str(src / "scitex-v1.0.sif"), str(cp_dest)]
        yield compare(
            "store: deploy unchanged (no copy) vs cp",
            unchanged,
            cp,
            runs=runs,
            max_ratio=0.5,
            target="no copy (< 0.5x cp)",
        )

        def reset() -> None:
            for path in (target / "scitex-v1.0.sif", cp_dest):
                path.unlink(missing_ok=True)

        def changed() -> None:
            assert deploy_store(src, target).copied

        yield compare(
            f"store: deploy changed ({megabytes} MB) vs cp",
            changed,
            cp,
            runs=runs,
            max_ratio=1 / 0.9,
            target="throughput >= 0.9x cp",
            setup=reset,
        )
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)
