"""The artifact archive, against the raw tools, on the bundled demo image.

* the locked rebuild from the archive (debootstrap from the archive's mirror,
  with the network cut off, through our ``build``) vs the raw
  ``apptainer build`` of the rough def (debootstrap from the Debian mirror)
  - target <= 1.0x.  One build each (a build takes minutes);
* ``lock archive`` of the demo image's .debs (fetch, check against the apt
  index, store content-addressed, index) vs ``apt-get download`` of the same
  packages alone - target <= 2x.  The demo's ~114 packages stand in for the
  issue's 500-package image (building one is too slow for this machine);
* ``lock archive`` of a mixed lock (the Debian test image's .debs, wheels
  from PyPI, npm tarballs from the registry) vs the raw tools a user would
  run for the same list: ``apt-get download`` + ``pip download --no-deps``
  + ``npm pack`` - target <= 1.5x (issue 26);
* one archive holding two images that share a base (the demo image and the
  tests' debian-pip image, both debootstrap bookworm + python3-pip) vs two
  separate archives: bytes stored, ratio shared/separate (shared packages
  stored once: about 0.5 when the bases are the same).

Smoke mode (:func:`harness.size`) runs the same three cases small: the rough
def is the busybox test image (``Bootstrap: localimage``) and its lock three
small packages of the Debian test image's lock (the locked def's apt stanza
then finds no apt and says so): the same code paths, seconds, not minutes.
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

from harness import CaseResult, compare, smoke

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "helpers"))


def _seconds(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _bytes(archive: Path) -> int:
    return sum(p.stat().st_size for p in (archive / "sha256").rglob("*") if p.is_file())


def _deb_only(lock_path: Path, out: Path) -> Path:
    from scitex_container.apptainer.lock.lockfile import Lock, read_lock, write_lock

    return write_lock(Lock(dpkg=dict(read_lock(lock_path).dpkg)), out)


SMOKE_PACKAGES = ("hostname", "debianutils", "netbase", "libcap2", "readline-common")


def _trimmed(lock_path: Path, names: tuple[str, ...]) -> Path:
    """``lock_path`` rewritten with only the dpkg entries ``names`` (smoke mode)."""
    from scitex_container.apptainer.lock.lockfile import Lock, read_lock, write_lock

    dpkg = read_lock(lock_path).dpkg
    return write_lock(Lock(dpkg={n: dpkg[n] for n in names if n in dpkg}), lock_path)


def _smoke_names(lock_path: Path) -> tuple[str, ...]:
    from scitex_container.apptainer.lock.lockfile import read_lock

    dpkg = read_lock(lock_path).dpkg
    return tuple(n for n in SMOKE_PACKAGES if n in dpkg)[:3]


#: Real PyPI wheels (pure Python, so any platform) and npm packages for the mixed case.
WHEELS = {
    "requests": "2.31.0",
    "idna": "3.6",
    "certifi": "2024.2.2",
    "urllib3": "2.2.1",
    "charset-normalizer": "3.3.2",
    "six": "1.16.0",
    "packaging": "24.0",
    "attrs": "23.2.0",
}
NPM = {"ms": "2.1.3", "is-number": "7.0.0", "semver": "7.6.0", "left-pad": "1.3.0"}


def _mixed_case(work: Path, runs: int):
    """``lock archive`` of .debs + wheels + npm tarballs vs the three raw tools."""
    from images import debian_sif

    from scitex_container.apptainer.lock.archive import archive_lock
    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.lockfile import Lock, write_lock

    dpkg = capture_lock(debian_sif(), None, captured_at="").dpkg
    if smoke():
        dpkg = {n: dpkg[n] for n in SMOKE_PACKAGES[:3] if n in dpkg}
    wheels = dict(list(WHEELS.items())[: 2 if smoke() else None])
    npm = dict(list(NPM.items())[: 1 if smoke() else None])
    node = {"dependencies": {n: {"version": v} for n, v in npm.items()}}
    lock = write_lock(Lock(dpkg=dpkg, pip=wheels, node=json.dumps(node)), work / "mixed.lock")
    target = work / "mixed"
    facts = {"python_version": "3.11", "platforms": ("manylinux2014_x86_64",)}

    def fresh() -> None:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()

    def raw() -> None:
        specs = [f"{n}={v}" for n, v in sorted(dpkg.items())]
        subprocess.run(["apt-get", "download", *specs], check=True, capture_output=True, cwd=target)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q"]
        pip += ["--python-version", "3.11", "--platform", "manylinux2014_x86_64", "-d", "pip"]
        reqs = [f"{n}=={v}" for n, v in wheels.items()]
        subprocess.run([*pip, *reqs], check=True, capture_output=True, cwd=target)
        packs = [f"{n}@{v}" for n, v in npm.items()]
        subprocess.run(["npm", "pack", *packs], check=True, capture_output=True, cwd=target)

    total = len(dpkg) + len(wheels) + len(npm)
    return compare(
        f"archive: lock archive of {total} .debs/wheels/npm vs apt-get+pip download+npm pack",
        lambda: archive_lock(lock, target / "arc", lock_out=target / "out.lock", **facts),
        raw,
        runs=min(runs, 3),
        warmup=False,
        setup=fresh,
        max_ratio=1.5,
        target="<= 1.5x",
    )


def _rough_project(work: Path) -> Path:
    """The def the rough build starts from: the demo, or (smoke) the busybox test image."""
    demo = work / "demo"
    if not smoke():
        shutil.copytree(REPO / "examples" / "demo", demo, ignore=shutil.ignore_patterns("build"))
        return demo / "demo.def"
    from images import busybox_sif

    demo.mkdir()
    (demo / "demo.def").write_text(
        f"Bootstrap: localimage\nFrom: {busybox_sif()}\n\n%post\n    true\n"
    )
    return demo / "demo.def"


def _rebuild_case(work: Path) -> tuple[CaseResult, Path, Path]:
    """Raw rough build, then our offline locked rebuild from the archive."""
    from scitex_container.apptainer.building.versioned import build
    from scitex_container.apptainer.lock.archive import archive_lock
    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.pin import generate_locked_def
    from scitex_container.apptainer.repro import archive_def
    from scitex_container.process import runner

    rough_def = _rough_project(work)
    demo = rough_def.parent
    rough = work / "rough.sif"
    argv = ["apptainer", "build", "--fakeroot", str(rough), str(demo / "demo.def")]
    raw = _seconds(lambda: subprocess.run(argv, check=True, capture_output=True, cwd=demo))
    if smoke():  # busybox has no dpkg: three packages of the Debian test image stand in
        from images import debian_sif

        capture_lock(debian_sif(), work / "rough.lock", captured_at="")
        _trimmed(work / "rough.lock", _smoke_names(work / "rough.lock"))
    else:
        capture_lock(rough, work / "rough.lock", captured_at="")
    archive = work / "archive"
    saved = archive_def.input_dirs(demo / "demo.def")
    archive_lock(work / "rough.lock", archive, image=rough, saved_dirs=saved)
    locked = generate_locked_def(
        demo / "demo.def", work / "rough.lock", demo / "demo.locked.def", archive=archive
    )

    def ours() -> None:
        with runner.offline():
            build(def_path=locked, output_dir=work / "images", image_name="demo", force=True)

    mine = _seconds(ours)
    ratio = mine / raw
    case = CaseResult(
        "archive: offline locked rebuild vs rough build",
        mine,
        raw,
        ratio,
        "<= 1.0x",
        ratio <= 1.0,
        1,
        [mine],
        [raw],
    )
    return case, rough, work / "rough.lock"


def cases(runs: int = 5):
    if shutil.which("apptainer") is None or shutil.which("debootstrap") is None:
        raise FileNotFoundError("apptainer or debootstrap is not installed")
    if os.geteuid() != 0:
        raise FileNotFoundError("the offline rebuild (unshare --net) needs root")
    from images import debian_sif

    from scitex_container.apptainer.lock.archive import archive_lock
    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.lockfile import read_lock
    from scitex_container.apptainer.repro import archive_def

    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        yield _mixed_case(work, runs)
        rebuild, rough, rough_lock = _rebuild_case(work)
        yield rebuild

        debs = _deb_only(rough_lock, work / "debs.lock")
        specs = [f"{n}={v}" for n, v in sorted(read_lock(debs).dpkg.items())]
        target = work / "fetch"

        def fresh() -> None:
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()

        yield compare(
            f"archive: lock archive of {len(specs)} .debs vs apt-get download",
            lambda: archive_lock(debs, target / "arc", lock_out=target / "out.lock"),
            lambda: subprocess.run(
                ["apt-get", "download", *specs], check=True, capture_output=True, cwd=target
            ),
            runs=min(runs, 3),
            warmup=False,
            setup=fresh,
            max_ratio=2.0,
            target="<= 2x",
        )

        capture_lock(debian_sif(), work / "other.lock", captured_at="")
        if smoke():  # two locks sharing one package of three
            names = _smoke_names(work / "other.lock")
            _trimmed(work / "other.lock", names[1:])
            _trimmed(rough_lock, names[:2])
        shared = work / "shared"
        saved = archive_def.input_dirs(REPO / "examples" / "demo" / "demo.def")
        archive_lock(rough_lock, shared, image=rough, lock_out=work / "a.lock", saved_dirs=saved)
        archive_lock(work / "other.lock", shared, lock_out=work / "b.lock")
        alone = 0
        for name, lock_path in (("a", rough_lock), ("b", work / "other.lock")):
            out = work / f"alone-{name}"
            archive_lock(lock_path, out, lock_out=work / f"{name}.alone.lock", saved_dirs=saved)
            alone += _bytes(out)
        size = _bytes(shared)
        ratio = size / alone
        yield CaseResult(
            "archive: 2 images sharing a base, MB shared/separate",
            size / 1e9,  # the report prints seconds * 1000: these columns show MB
            alone / 1e9,
            ratio,
            "report (shared stored once: ~0.5)",
            None,
            1,
            [size],
            [alone],
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
