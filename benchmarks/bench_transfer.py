"""Images that travel: push/pull against the raw apptainer, bundles against tar + sha256sum.

On an image of ``BENCH_TRANSFER_MB`` MB of random bytes (default 500),
signed, through the test bed's registry (127.0.0.1:5000):

* ``push IMAGE oras://...`` (the SIF, then its proof as an OCI artifact)
  vs ``apptainer push --no-https IMAGE oras://...``: <= 1.1x;
* ``pull oras://... -o DIR`` into a fresh store each time (resolve the tag,
  pull the digest without apptainer's cache, hash, check the proof and
  publish) vs ``apptainer pull --disable-cache --no-https``: <= 1.1x;
* ``bundle export`` vs ``tar -cf`` of the same files plus ``sha256sum`` of
  each: <= 1.2x;
* ``bundle import`` into a fresh store vs ``tar -xf`` plus ``sha256sum``:
  <= 1.2x.

Our sides run the CLI as a user would (one process per run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

from harness import compare, size

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))
REGISTRY = "127.0.0.1:5000"


def _registry_up() -> bool:
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=3).close()
        return True
    except OSError:
        return False


def _big_image(path: Path, base: Path, megabytes: int) -> Path:
    """A SIF of ``megabytes`` MB: busybox plus random bytes added as a data object."""
    shutil.copy(base, path)
    blob = path.with_suffix(".bin")
    with open(blob, "wb") as fh:
        for _ in range(megabytes):
            fh.write(os.urandom(1 << 20))
    subprocess.run(
        ["apptainer", "sif", "add", "--datatype", "7", "--groupid", "1", path, blob],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    blob.unlink()
    return path


def cases(runs: int = 5):
    if shutil.which("apptainer") is None:
        raise FileNotFoundError("apptainer is not installed")
    if not _registry_up():
        raise FileNotFoundError(f"no registry on {REGISTRY} (run scripts/setup-host.sh)")
    from images import busybox_sif

    from scitex_container.apptainer.signing.keys import new_keypair
    from scitex_container.apptainer.signing.sign import sign_artifact

    root = Path(tempfile.mkdtemp(prefix="bench-transfer-", dir="/var/tmp"))
    try:
        megabytes = int(os.environ.get("BENCH_TRANSFER_MB", size("500", "4")))
        pair = new_keypair(root / "keys")
        image = _big_image(root / "big.sif", busybox_sif(), megabytes)
        sign_artifact(image, pair.private)
        cli = [sys.executable, "-m", "scitex_container", "-q"]
        repo = f"oras://{REGISTRY}/scitex-bench/big-{uuid.uuid4().hex[:8]}"
        n = iter(range(10**6))

        def ours_push() -> None:  # a new repository each run: the bytes really travel
            target = f"{repo}-o{next(n)}:v1"
            subprocess.run(
                [*cli, "push", str(image), target], check=True, stdout=subprocess.DEVNULL
            )

        def raw_push() -> None:
            target = f"{repo}-r{next(n)}:v1"
            argv = ["apptainer", "-q", "push", "--no-https", str(image), target]
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

        yield compare(
            f"transfer: push ({megabytes} MB) vs apptainer push",
            ours_push,
            raw_push,
            runs=runs,
            max_ratio=1.1,
            target="<= 1.1x",
        )
        subprocess.run([*cli, "push", str(image), f"{repo}:ours"], check=True)  # for the pulls
        raw_ref = f"{repo}:raw"
        subprocess.run(["apptainer", "-q", "push", "--no-https", str(image), raw_ref], check=True)
        stores = root / "stores"

        def ours_pull() -> None:
            out = stores / f"s{next(n)}"
            subprocess.run([*cli, "pull", f"{repo}:ours", "-o", out], check=True)
            shutil.rmtree(out)

        def raw_pull() -> None:
            out = stores / f"r{next(n)}.sif"
            out.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["apptainer", "-q", "pull", "--disable-cache", "--no-https", out, f"{repo}:raw"],
                check=True,
            )
            out.unlink()

        yield compare(
            f"transfer: pull ({megabytes} MB) into a fresh store vs apptainer pull",
            ours_pull,
            raw_pull,
            runs=runs,
            max_ratio=1.1,
            target="<= 1.1x",
        )

        store = root / "site" / "big"
        store.mkdir(parents=True)
        version = store / "big-v20261201T000000Z.sif"
        os.link(image, version)
        (store / "big.sif").symlink_to(version.name)
        bundle = root / "big.bundle"

        def ours_export() -> None:
            subprocess.run([*cli, "bundle", "export", store, "-o", bundle], check=True)

        def raw_export() -> None:
            subprocess.run(["sha256sum", version], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["tar", "-cf", root / "raw.tar", "-C", store, version.name], check=True)

        yield compare(
            f"transfer: bundle export ({megabytes} MB) vs tar + sha256sum",
            ours_export,
            raw_export,
            runs=runs,
            max_ratio=1.2,
            target="<= 1.2x",
        )

        def ours_import() -> None:
            out = stores / f"i{next(n)}"
            subprocess.run([*cli, "bundle", "import", bundle, "-o", out], check=True)
            shutil.rmtree(out)

        def raw_import() -> None:
            out = stores / f"t{next(n)}"
            out.mkdir(parents=True)
            subprocess.run(["tar", "-xf", root / "raw.tar", "-C", out], check=True)
            subprocess.run(["sha256sum", out / version.name], check=True, stdout=subprocess.DEVNULL)
            shutil.rmtree(out)

        yield compare(
            f"transfer: bundle import ({megabytes} MB) vs tar -x + sha256sum",
            ours_import,
            raw_import,
            runs=runs,
            max_ratio=1.2,
            target="<= 1.2x",
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
