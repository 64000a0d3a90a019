"""Locks: capture, compare and verify against the raw tools, on the same real image.

* capture_lock (static read) vs the reference's approach, one ``apptainer exec``
  per tool (pip freeze, pip3 freeze, dpkg-query -W, npm list -g), on the
  mixed apt/pip/npm test image; the version sets must be identical (asserted,
  and printed) - target <= 0.1x;
* compare_locks of two 20,000-entry locks - target <= 50 ms;
* verify with a cached digest - target <= 50 ms;
* verify's digest uncached vs ``sha256sum`` on a 256 MB image - target
  ours/raw <= 1.11 (at least 0.9x the throughput).  Before each run of ours
  the real digest cache (the user's cache directory,
  :func:`scitex_container.files.digests.cache_file`) is deleted, and the
  run is INVALID unless the cache then holds no entry for the image and
  ours recorded one afterwards (it hashed the file) with the digest
  ``sha256sum`` printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Invalid, absolute, compare, invalid_row, size

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


def _big_locks(n: int = 0):
    from scitex_container.apptainer.lock.lockfile import Lock

    half = (n or size(20_000, 2_000)) // 2
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


def _sized_copy(image: Path, out: Path, total: int) -> None:
    """``image`` followed by random bytes up to ``total`` (a SIF ignores bytes past its
    descriptors): the image verify reads, at the size the target is set for."""
    shutil.copyfile(image, out)
    with open(out, "ab") as fh:
        missing = total - out.stat().st_size
        block = os.urandom(1 << 20)
        while missing > 0:
            fh.write(block[: min(missing, len(block))])
            missing -= len(block)


def cases(runs: int = 5):
    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer is not installed")
    from lockimages import lock_sif

    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.capture_exec import parse_exec_output
    from scitex_container.apptainer.lock.compare import compare_locks
    from scitex_container.apptainer.lock.verify_image import verify
    from scitex_container.apptainer.store import metadata
    from scitex_container.files import digests

    work = Path(tempfile.mkdtemp(prefix="bench-locks-"))
    saved_cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # the digest cache this area clears
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

        assert diff().diff_count == len(a.pip) // 100 + 20
        yield absolute(
            f"compare_locks 2 x {len(a.pip) * 2:,} entries",
            diff,
            runs=max(runs, 5),
            max_seconds=0.05,
            target="<= 50 ms",
        )

        # --- verify: digest cached, then uncached against sha256sum
        plain = work / "plain.sif"  # no lock anywhere: verify is the digest + lookups
        megabytes = size(256, 8)
        _sized_copy(image, plain, megabytes << 20)
        time.sleep(2 * digests.RACY_NS / 1e9)  # a file changed within a tick is not cached
        metadata.cached_sha256(plain)
        expected = subprocess.run(
            ["sha256sum", str(plain)], capture_output=True, text=True, check=True
        ).stdout.split()[0]

        def cached_digest() -> str | None:
            return digests.DigestCache().lookup(plain, os.stat(plain))

        name = f"verify, cached digest ({megabytes} MB image)"
        if cached_digest() != expected:
            yield invalid_row(name, "the digest cache holds no entry for the image")
        else:
            yield absolute(name, lambda: verify(plain), runs=max(runs, 5), max_seconds=0.05,
                           target="<= 50 ms")  # fmt: skip

        def drop_cache():
            metadata.metadata_path(plain).unlink(missing_ok=True)
            digests.cache_file().unlink(missing_ok=True)
            if cached_digest() is not None:
                raise Invalid(f"the digest cache {digests.cache_file()} still serves the image")

        def hashed(side: str) -> None:
            if side == "ours" and cached_digest() != expected:
                raise Invalid("verify did not hash the image (no fresh cache entry)")

        yield compare(
            f"verify, uncached digest vs sha256sum ({megabytes} MB)",
            lambda: verify(plain),
            ["sha256sum", str(plain)],
            runs=runs,
            setup=drop_cache,
            check=hashed,
            max_ratio=1.11,
            target="<= 1.11 (>= 0.9x throughput)",
        )
    finally:
        if saved_cache is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved_cache
        shutil.rmtree(work, ignore_errors=True)
