"""Signing and signature checks against the raw apptainer.

Builds (each case: the def built from scratch, ``force``):

* our signed build (``build_version(sign_key=...)``: lock and statement
  embedded, the temporary artifact signed before publishing) vs raw
  ``apptainer build`` followed by raw ``apptainer sign`` of the same def:
  the side-by-side comparison of a signed build;
* our signed build vs our unsigned build: the cost of signing alone
  (target <= 1.05x);
* the same two on a larger build (``BENCH_SIGNING_BUILD_MB`` MB of random
  bytes in ``%files``, default 200): on a small build the fixed cost of
  ``apptainer sign`` and one ``sif add`` (~0.1 s each here) dominates.

The tiny build def is busybox plus ~47 MB of compressible text (as in
bench_store).

Verification, on an image of ``BENCH_SIGNING_MB`` MB of random bytes
(default 500):

* ``verify IMAGE --key PUB`` (the CLI, as a user runs it, with an empty
  digest cache each time, as on a first verify) vs ``apptainer verify --key
  PUB --all IMAGE`` alone: <= 1.2x.  The file is not hashed a second time
  and the key is read without cryptography (``signing/spki.py``);
  apptainer runs in a background thread while the rest (~0.15 s of CPU)
  runs beside it.  On an idle 2-core machine the
  ratio is about (start-up + apptainer + exit) over apptainer; on a
  saturated one, about our total CPU over apptainer's;
* the signature check alone (``verify_signature``, in-process) vs the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import compare, size

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))

from bench_store import _project, _raw_build  # noqa: E402


def _big_image(root: Path, busybox: Path, megabytes: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "payload.bin", "wb") as fh:
        for _ in range(megabytes):
            fh.write(os.urandom(1 << 20))
    (root / "big.def").write_text(
        f"Bootstrap: localimage\nFrom: {busybox}\n\n%files\n    payload.bin /payload.bin\n"
    )
    out = root / "big.sif"
    subprocess.run(
        ["apptainer", "build", "--fakeroot", str(out), str(root / "big.def")],
        check=True,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (root / "payload.bin").unlink()
    return out


def _project_big(root: Path, small_def: Path, megabytes: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "random.bin", "wb") as fh:
        for _ in range(megabytes):
            fh.write(os.urandom(1 << 20))
    text = small_def.read_text().replace("%files\n", "%files\n    random.bin /random.bin\n")
    shutil.copy(small_def.parent / "payload.txt", root / "payload.txt")
    (root / "bench.def").write_text(text)
    return root / "bench.def"


def _build_cases(label: str, def_path: Path, root: Path, pair, runs: int):
    from scitex_container.apptainer.building.versioned import build_version

    raw_build = _raw_build(def_path, root / "raw.sif")
    sign = ["apptainer", "sign", "--key", str(pair.private), str(root / "raw.sif")]

    def raw() -> None:
        raw_build()
        subprocess.run(sign, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def signed() -> None:
        out = build_version(
            def_path=def_path, output_dir=root / "out", force=True, sign_key=pair.private
        )
        assert out.built

    def unsigned() -> None:
        assert build_version(def_path=def_path, output_dir=root / "plain", force=True).built

    yield compare(
        f"signing ({label}): our signed build vs raw apptainer build + apptainer sign",
        signed,
        raw,
        runs=runs,
        target="report",
    )
    yield compare(
        f"signing ({label}): our signed build vs our unsigned build",
        signed,
        unsigned,
        runs=runs,
        max_ratio=1.05,
        target="<= 1.05x",
    )


def cases(runs: int = 5):
    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer is not installed")
    from images import busybox_sif

    from scitex_container.apptainer.signing.keys import load_public_key, new_keypair
    from scitex_container.apptainer.signing.sign import sign_artifact
    from scitex_container.apptainer.signing.signature_check import verify_signature

    root = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    try:
        pair = new_keypair(root / "keys")
        def_path = _project(root / "project")
        build_mb = int(os.environ.get("BENCH_SIGNING_BUILD_MB", size("200", "2")))
        yield from _build_cases("small build", def_path, root, pair, runs)
        big_def = _project_big(root / "big-project", def_path, build_mb)
        yield from _build_cases(f"build with {build_mb} MB", big_def, root, pair, runs)

        megabytes = int(os.environ.get("BENCH_SIGNING_MB", size("500", "4")))
        image = _big_image(root / "big", busybox_sif(), megabytes)
        sign_artifact(image, pair.private)
        raw_verify = ["apptainer", "verify", "--key", str(pair.public), "--all", str(image)]
        # The console script's entry, as a user runs it.  With bytecode: an
        # installed package has it (pip compiles at install);
        # PYTHONDONTWRITEBYTECODE, set on the test machines, would otherwise
        # make every run compile the package from source.  The warm-up run
        # writes it under a private prefix.
        cli = [sys.executable, "-c", "from scitex_container.cli.entry import main; main()"]
        argv = [*cli, "verify", str(image), "--key", str(pair.public)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")

        def ours() -> None:  # a first verify: nothing in the digest cache
            shutil.rmtree(root / "cache", ignore_errors=True)
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)

        yield compare(
            f"signing: verify --key ({megabytes} MB) vs apptainer verify --key",
            ours,
            raw_verify,
            runs=runs,
            max_ratio=1.2,
            target="<= 1.2x",
        )
        key = load_public_key(pair.public)

        def check() -> None:
            assert verify_signature(image, [key]).ok

        yield compare(
            f"signing: signature check alone ({megabytes} MB) vs apptainer verify --key",
            check,
            raw_verify,
            runs=runs,
            max_ratio=1.2,
            target="<= 1.2x",
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
