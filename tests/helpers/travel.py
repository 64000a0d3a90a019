"""Helpers for the tests of images that travel (registry and bundles)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

REGISTRY = "127.0.0.1:5000"


class Cli:
    """``python -m scitex_container`` with the test's environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: object, json_out: bool = False, **kw) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "scitex_container", *(["--json"] if json_out else [])]
        return subprocess.run(
            [*argv, *map(str, args)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=600,
            check=False,
            **kw,
        )

    def json(self, *args: object) -> tuple[int, dict]:
        done = self(*args, json_out=True)
        return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}


def repo(prefix: str = "t") -> str:
    """A repository no other test uses: ``oras://127.0.0.1:5000/scitex-tests/<prefix>-<uuid>``."""
    return f"oras://{REGISTRY}/scitex-tests/{prefix}-{uuid.uuid4().hex[:12]}"


def policy_file(tmp_path: Path, steps: tuple[str, ...], key: Path) -> Path:
    path = tmp_path / "policy.toml"
    lines = ["[require_signature]", *(f"{s} = true" for s in steps), f'keys = ["{key}"]']
    path.write_text("\n".join(lines) + "\n")
    return path
