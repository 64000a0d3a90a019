"""A world-readable virtualenv with this package, for commands run as another user.

Tests run sessions as the unprivileged ``scitex-test`` user, who can read
neither the repository's ``.venv`` (its python lives under /root) nor maybe
the source.  This builds ``/var/tmp/scitex-container-test-venv-<deps hash>-<checkout hash>``
with Debian's ``/usr/bin/python3 -m venv`` and ``pip install``s a copy of the
package into it (non-editable).  Dependencies are installed once per
``pyproject.toml``; the package itself is reinstalled (``--no-deps``) only
when its source changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"


def _digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _source_files(repo: Path) -> list[Path]:
    src = repo / "src" / "scitex_container"
    return [p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def user_python(repo: Path) -> Path:
    """Path of a python every user can run, with this checkout's package installed."""
    if not Path(SYSTEM_PYTHON).exists():
        raise FileNotFoundError(f"{SYSTEM_PYTHON} is required to build the test venv")
    deps_key = _digest([repo / "pyproject.toml"], repo)
    src_key = _digest([*_source_files(repo), repo / "pyproject.toml"], repo)
    # One venv per checkout: worktrees tested at the same time must not reinstall
    # each other's source under a running test.
    where = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:8]
    venv = Path("/var/tmp") / f"scitex-container-test-venv-{deps_key}-{where}"
    python = venv / "bin" / "python"
    with open("/var/tmp/.scitex-container-test-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = venv / ".installed"
        if stamp.exists() and stamp.read_text() == src_key:
            return python
        if not (venv / ".deps").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run(
                [SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True, capture_output=True
            )
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "pkg"
            copy.mkdir()
            for name in ("pyproject.toml", "README.md"):
                shutil.copy2(repo / name, copy / name)
            shutil.copytree(
                repo / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__")
            )
            args = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            if not (venv / ".deps").exists():
                subprocess.run([*args, str(copy)], check=True, capture_output=True, timeout=900)
                (venv / ".deps").write_text(deps_key)
            else:
                subprocess.run(
                    [*args, "--no-deps", "--force-reinstall", str(copy)],
                    check=True,
                    capture_output=True,
                    timeout=900,
                )
        subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
        stamp.write_text(src_key)
        os.chmod(stamp, 0o644)
    return python


def as_other(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """``scitex-container ARGS`` run as the unprivileged ``scitex-test`` user (from ``/``)."""
    python = str(user_python(Path(__file__).resolve().parents[2]))
    return subprocess.run(
        ["runuser", "-u", "scitex-test", "--", python, "-m", "scitex_container", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
    )
