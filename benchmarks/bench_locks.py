"""Locks: capture, compare and verify against the raw tools, on the same real image.

* capture_lock (static read) vs the reference's approach, one ``apptainer exec``
  per tool (pip freeze, pip3 freeze, dpkg-query -W, npm list -g), on the
  mixed apt/pip/npm test image; the version sets must be identical (asserted,
  and printed) - target <= 0.1x;
* compare_locks of two 20,000-entry locks - target <= 50 ms;
* verify with a cached digest - target <= 50 ms;
* verify's digest uncached vs ``sha256sum`` - target ours/raw <= 1.11
  (at least 0.9x the throughput).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import absolute, compare

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "helpers"))

APPTAINER_EXEC = ["apptainer", "exec", "--cleanenv", "--no-home", "--containall"]
REFERENCE_QUERIES = {
    "pip": ["pip", "freeze", "--all"],
    "pip3": ["pip3", "freeze", "--all"],
    "dpkg": ["dpkg-query", "-W", "-f=${Package}\t${Architecture}\t${Version}\t${Status}\n"],
    "npm": ["npm", "list", "-g", "--depth=0", "--json"],
}


def _reference_capture(image: Path) -> str:
    """Four container launches, as the reference does; output re-marked for our parser."""
    out = []
    for name, argv in REFERENCE_QUERIES.items():
        done = subprocess.run([*APPTAINER_EXEC, str(image), *argv], capture_output=True, text=True)
        section = "pip" if name.startswith("pip") else name
        out.append(f"@@scitex:{section}\n{done.stdout}")
        if name == "dpkg":
            arch = subprocess.run(
                [*APPTAINER_EXEC, str(image), "dpkg", "--print-architecture"],
                capture_output=True,
                text=True,
            ).stdout
            out.append(f"@@scitex:dpkg-arch\n{arch}")
    return "\n".join(out)


def _big_locks(n: int = 20_000):
    from scitex_container.apptainer.lock.lockfile import Lock

    half = n // 2
    pip_a = {f"package-{i:05d}": f"1.{i % 7}.{i % 13}" for i in range(half)}
    dpkg_a = {f"lib{i:05d}-dev": f"2.{i % 5}-{i % 3}+deb12u1" for i in range(half)}
    pip_b = dict(pip_a)
    dpkg_b = dict(dpkg_a)
    for i in range(0, half, 100):  # 1% drifted, a few added and removed
        pip_b[f"package-{i:05d}"] = "9.9.9"
    for i in range(10):
        dpkg_b.pop(f"lib{i:05d}-dev")
        dpkg_b[f"new{i}"] = "1"
    return Lock(pip=pip_a, dpkg=dpkg_a), Lock(pip=pip_b, dpkg=dpkg_b)


def cases(runs: int = 5):
    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer is not installed")
    from lockimages import lock_sif

    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.capture_exec import parse_exec_output
    from scitex_container.apptainer.lock.compare import compare_locks
    from scitex_container.apptainer.lock.verify_image import verify
    from scitex_container.apptainer.store import metadata

    work = Path(tempfile.mkdtemp(prefix="bench-locks-"))
    try:
        image = work / "mixed.sif"
        shutil.copyfile(lock_sif(), image)

        # --- capture: identical sets first, then timing
        ours = capture_lock(image, captured_at="")
        ref = parse_exec_output(_reference_capture(image))
        theirs = {
            **{f"pip:{k}": v for k, v in ref.pip.items()},
            **{f"dpkg:{k}": v for k, v in ref.dpkg.items()},
            **{f"node:{k}": v for k, v in ref.node.items()},
        }
        identical = ours.version_set() == theirs
        print(
            f"capture: identical version sets = {identical} "
            f"({len(theirs)} entries: {ours.counts()})",
            file=sys.stderr,
        )
        assert identical, compare_locks(
            ours, type(ours)(pip=ref.pip, dpkg=ref.dpkg, node=ours.node)
        ).summary()
        yield compare(
            "capture_lock vs 4x apptainer exec (reference)",
            lambda: capture_lock(image, captured_at=""),
            lambda: _reference_capture(image),
            runs=runs,
            max_ratio=0.1,
            target="<= 0.1x, identical sets",
        )

        # --- compare two 20,000-entry locks (version sets rebuilt every run)
        a, b = _big_locks()

        def diff():
            a.__dict__.pop("_version_set", None)
            b.__dict__.pop("_version_set", None)
            return compare_locks(a, b)

        assert diff().diff_count == 100 + 20
        yield absolute(
            "compare_locks 2 x 20,000 entries",
            diff,
            runs=max(runs, 5),
            max_seconds=0.05,
            target="<= 50 ms",
        )

        # --- verify: digest cached, then uncached against sha256sum
        plain = work / "plain.sif"  # no lock anywhere: verify is the digest + lookups
        shutil.copyfile(image, plain)
        metadata.cached_sha256(plain)
        yield absolute(
            "verify, cached digest (128 MB image)",
            lambda: verify(plain),
            runs=max(runs, 5),
            max_seconds=0.05,
            target="<= 50 ms",
        )

        def drop_cache():
            metadata.metadata_path(plain).unlink(missing_ok=True)

        yield compare(
            "verify, uncached digest vs sha256sum",
            lambda: verify(plain),
            ["sha256sum", str(plain)],
            runs=runs,
            setup=drop_cache,
            max_ratio=1.11,
            target="<= 1.11 (>= 0.9x throughput)",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
