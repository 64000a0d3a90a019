"""Pins and the round trip: generating locked defs, the no-drift stanza cost, the use gate.

* generate_locked_def for a lock of 10,000 dpkg + 10,000 pip + 500 npm
  entries - target <= 500 ms;
* the pip stanza on an image that already matches its pins (one freeze per
  pip, a grep, no install) vs the naive stanza (``pip3 install --no-deps -r``
  of every pin, which pip answers "already satisfied"), both run inside the
  Debian test image with one ``apptainer exec --writable-tmpfs`` (the stanza
  keeps its scratch directory in the image's root, as in a build's
  ``%post``; a read-only SIF would refuse it) - target ours/raw <= 1.0.
  Both must exit 0 and ours must install nothing, else the row is INVALID;
* check_verified with a cached digest on the Debian test image - target <= 50 ms.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import absolute, compare, invalid_row, size

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "helpers"))

EXEC = ["apptainer", "exec", "--cleanenv", "--no-home", "--containall", "--writable-tmpfs"]


def _big_lock():
    from scitex_container.apptainer.lock.lockfile import Lock

    n = size(10_000, 500)
    npm = {f"tool-{i:04d}": {"version": f"1.{i % 9}.0"} for i in range(n // 20)}
    return Lock(
        pip={f"package-{i:05d}": f"1.{i % 7}.{i % 13}" for i in range(n)},
        dpkg={f"lib{i:05d}-dev": f"2.{i % 5}-{i % 3}+deb12u1" for i in range(n)},
        node=json.dumps({"dependencies": npm}),
    )


def cases(runs: int):
    from images import debian_sif

    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.repro.roundtrip import _image_sha256, check_verified
    from scitex_container.apptainer.repro.stanzas import pip_stanza

    tmp = Path(tempfile.mkdtemp(prefix="bench-pins-"))
    rough = tmp / "rough.def"
    rough.write_text(
        "Bootstrap: debootstrap\nOSVersion: bookworm\nInclude: python3-pip\n%post\n"
        "    pip3 install --break-system-packages --no-index --find-links /opt/w x\n"
    )
    lock = _big_lock()

    def generate():
        from scitex_container.apptainer.lock.pin import generate_locked_def

        generate_locked_def(rough, lock, tmp / "rough.locked.def")

    entries = sum(lock.counts().values())
    yield absolute(
        f"generate_locked_def, {entries:,} entries",
        generate,
        runs=runs,
        max_seconds=0.5,
        target="<= 500 ms",
    )

    image = debian_sif()
    pins = [
        f"{k}=={v}" for k, v in capture_lock(image, captured_at="", with_digest=False).pip.items()
    ]
    ours = "\n".join(pip_stanza(pins, commands=("pip3",))) + "\n"
    reqs = "\n".join(pins)
    naive = (
        f"cat > /tmp/req.txt <<'EOF'\n{reqs}\nEOF\n"
        "pip3 install --no-deps --disable-pip-version-check --break-system-packages "
        "--no-index -r /tmp/req.txt\n"
    )
    # both must run, and ours must install nothing (else it is not the no-drift case)
    probes = {
        side: subprocess.run(
            [*EXEC, str(image), "sh", "-ec", text], capture_output=True, text=True, check=False
        )
        for side, text in (("ours", ours), ("naive", naive))
    }
    name = "pip stanza on a matching image (1 exec)"
    problems = [
        f"{side} exited {p.returncode}: {(p.stderr.strip().splitlines() or [''])[-1][:160]}"
        for side, p in probes.items()
        if p.returncode != 0
    ]
    if "pins to install" in probes["ours"].stderr:
        problems.append("ours would install pins: the image does not match them")
    if problems:
        yield invalid_row(name, "; ".join(problems))
        return
    yield compare(
        name,
        [*EXEC, str(image), "sh", "-ec", ours],
        [*EXEC, str(image), "sh", "-ec", naive],
        runs=runs,
        max_ratio=1.0,
        target="ours/naive <= 1.0",
    )

    copy = tmp / "img" / "img.sif"
    copy.parent.mkdir()
    copy.write_bytes(image.read_bytes())
    (copy.parent / "img.sif.verified.json").write_text(
        json.dumps(
            {
                "status": "verified",
                "identical": True,
                "image": copy.name,
                "image_sha256": _image_sha256(copy),
            }
        )
    )
    yield absolute(
        "check_verified (cached digest)",
        lambda: check_verified(copy, require_verified=True),
        runs=runs,
        max_seconds=0.05,
        target="<= 50 ms",
    )
