"""Helpers for image-store tests: SIF-like versions, structural checks, killing process trees."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from images import busybox_sif

from scitex_container.apptainer.store import sidecars as layout
from scitex_container.files.fsutil import sha256_file

SIF_MAGIC_OFFSET = 32
REPO = Path(__file__).resolve().parents[2]


def make_sif(path: Path, base: Path | None = None, pad: int = 0, seed: int = 0) -> str:
    """Write a version file: a real SIF (``base``) plus ``pad`` seeded bytes; return its sha256.

    Trailing bytes do not stop apptainer from running a SIF, so padded
    copies of the busybox image are distinct, runnable versions.  Without
    ``base`` a small fake SIF header is written (for pure store logic).
    """
    head = base.read_bytes() if base else b"#!/usr/bin/env run-singularity\n\x00SIF_MAGIC\x00fake\n"
    rng = hashlib.sha256(str(seed).encode()).digest()
    padding = (rng * (pad // len(rng) + 1))[:pad] if pad else b""
    data = head + padding + str(seed).encode()
    path.write_bytes(data)
    os.chmod(path, 0o755)
    return hashlib.sha256(data).hexdigest()


#: Three version stamps, oldest first (for stores of made-up versions).
STAMPS = ["20261206T140148Z", "20261206T150148Z", "20261206T160148Z"]


def stamped_store(where: Path, name: str) -> Path:
    """Versions ``NAME-vSTAMP.sif`` of ``STAMPS`` (fake SIFs) in ``where`` (made if missing),
    ``NAME.sif`` linked to the newest; returns ``where``."""
    where.mkdir(exist_ok=True)
    for i, stamp in enumerate(STAMPS):
        make_sif(where / f"{name}-v{stamp}.sif", seed=i)
    os.symlink(f"{name}-v{STAMPS[-1]}.sif", where / f"{name}.sif")
    return where


def store_version(root: Path) -> Path:
    """A store version under ``root/app``: busybox, its digest recorded in its metadata,
    the active link ``app.sif`` to it; returns the version's path."""
    store = root / "app"
    store.mkdir()
    image = store / "app-v1.0.sif"
    shutil.copy(busybox_sif(), image)
    meta = {"sha256": sha256_file(image), "image_name": "app"}
    layout.sidecar(image, layout.META_SUFFIX).write_text(json.dumps(meta) + "\n")
    (store / "app.sif").symlink_to(image.name)
    return image


def signed_store(root: Path, images: dict[str, Path]) -> Path:
    """``root/store``, flat: 1.0 unsigned, 2.0 signed by the site key, 3.0 by another key
    (``images`` as the signing tests' ``signed_images`` fixture gives them)."""
    store = root / "store"
    store.mkdir()
    for version, name in (("1.0", "unsigned"), ("2.0", "site"), ("3.0", "other")):
        shutil.copy(images[name], store / f"scitex-v{version}.sif")
    return store


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def flip_byte(path: Path, offset: int) -> None:
    """Invert one byte in place (a tamper that keeps the size)."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def looks_like_sif(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(64)
    return head.startswith(b"#!/usr/bin/env run-singularity") and b"SIF_MAGIC" in head


def descendants(pid: int) -> list[int]:
    """Pids of every live descendant of ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(proc) -> None:
    """SIGKILL a process we started and every process it started (by pid)."""
    kids = descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    for pid in kids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}") and _alive(p) for p in kids):
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def python_env() -> dict:
    """Environment in which a child Python imports this checkout and our dependencies."""
    import site

    env = dict(os.environ)
    paths = [str(REPO / "src"), *site.getsitepackages(), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def python_for(user: str) -> str:
    """An interpreter ``user`` may execute (ours may live in root's home)."""
    import subprocess

    probe = subprocess.run(
        ["runuser", "-u", user, "--", sys.executable, "-c", "pass"], capture_output=True
    )
    return sys.executable if probe.returncode == 0 else "/usr/bin/python3"


PYTHON = sys.executable


def cli_with_cache(*args: str, cache: Path) -> subprocess.CompletedProcess:
    """``python -m scitex_container ARGS`` with its digest cache under ``cache``."""
    from clirun import checkout_cli

    return checkout_cli(*args, extra={"XDG_CACHE_HOME": str(cache)})
