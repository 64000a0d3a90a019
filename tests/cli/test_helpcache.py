"""`CMD --help` is kept after click rendered it once; the kept text equals click's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def helped(args: list[str], cache: Path, columns: str = "80") -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": columns}
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "scitex_container", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_the_second_help_is_the_kept_text_without_click(tmp_path: Path) -> None:
    for path in (["rollback"], ["session", "exec"], ["lock", "pin"]):
        first = helped(path, tmp_path)
        assert first.returncode == 0 and first.stdout.startswith("Usage: scitex-container ")
        assert " click" in first.stderr  # rendered by click
        second = helped(path, tmp_path)
        assert second.returncode == 0 and second.stdout == first.stdout
        assert " click" not in second.stderr  # the kept text: click never imported
    narrow = helped(["rollback"], tmp_path, columns="60")  # another width: click's own again
    assert " click" in narrow.stderr
    assert len(list((tmp_path / "scitex-container" / "help").glob("*.txt"))) == 4


def test_a_bad_command_is_not_kept(tmp_path: Path) -> None:
    out = helped(["no-such"], tmp_path)
    assert out.returncode == 2 and "No such command" in out.stderr
    assert not (tmp_path / "scitex-container" / "help").exists()
