"""Signing and signature checks against the raw apptainer.

* a signed real build (``build_version(sign_key=...)``: statement embedded,
  temporary artifact signed before publishing) vs raw ``apptainer build``
  of the same def: <= 1.05x
* the same signed build vs our unsigned build: the cost of signing alone, <= 1.05x
* ``verify IMAGE --key PUB`` (the CLI, as a user runs it) vs ``apptainer
  verify --key PUB --all IMAGE`` alone on a large image: <= 1.2x
* the signature check alone (``verify_signature``, in-process) vs the same

The build def is busybox plus ~47 MB of compressible text (as in
bench_store).  The verify image holds ``BENCH_SIGNING_MB`` MB (default
500) of random bytes, so the SIF is about that size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import compare

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


def cases(runs: int = 5):
    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer is not installed")
    from images import busybox_sif

    from scitex_container.apptainer.building.versioned import build_version
    from scitex_container.apptainer.signing.keys import load_public_key, new_keypair
    from scitex_container.apptainer.signing.sign import sign_artifact
    from scitex_container.apptainer.signing.verdict import verify_signature

    root = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    try:
        pair = new_keypair(root / "keys")
        def_path = _project(root / "project")
        raw = _raw_build(def_path, root / "raw.sif")

        def signed() -> None:
            out = build_version(
                def_path=def_path, output_dir=root / "out", force=True, sign_key=pair.private
            )
            assert out.built

        def unsigned() -> None:
            assert build_version(def_path=def_path, output_dir=root / "plain", force=True).built

        yield compare(
            "signing: signed real build vs raw apptainer build",
            signed,
            raw,
            runs=runs,
            max_ratio=1.05,
            target="<= 1.05x",
        )
        yield compare(
            "signing: signed real build vs our unsigned build",
            signed,
            unsigned,
            runs=runs,
            max_ratio=1.05,
            target="<= 1.05x",
        )

        megabytes = int(os.environ.get("BENCH_SIGNING_MB", "500"))
        image = _big_image(root / "big", busybox_sif(), megabytes)
        sign_artifact(image, pair.private)
        raw_verify = ["apptainer", "verify", "--key", str(pair.public), "--all", str(image)]
        cli = [sys.executable, "-m", "scitex_container.cli.main"]
        ours = [*cli, "verify", str(image), "--key", str(pair.public)]
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
