"""A build into a store on a file system already full: one line naming the version it was
making and what it was writing, exit 1, nothing half-made left (with and without the stage
cache, whose scratch defs are written first)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from clirun import cli
from tmpfs import mounted_tmpfs

pytestmark = pytest.mark.apptainer

RECIPE = "Bootstrap: localimage\nFrom: {base}\n\n%post\n    echo x > /x\n{checkpoint}"


def _fill(directory: Path) -> None:
    """Write until the file system refuses one more byte."""
    with open(directory / "filler", "wb", buffering=0) as out:
        for size in (65536, 1):  # then the last partial block
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC


@pytest.mark.parametrize("cache", ["--no-cache", "--cache"])
def test_a_full_disk_names_the_version_and_what_was_written(
    tmp_path: Path, busybox_sif: Path, cache: str
) -> None:
    with mounted_tmpfs(tmp_path / "fs", "4m") as fs:
        checkpoint = "    # scitex: checkpoint\n    echo y > /y\n" if cache == "--cache" else ""
        recipe = fs / "r.def"
        recipe.write_text(RECIPE.format(base=busybox_sif, checkpoint=checkpoint))
        (fs / "store").mkdir()
        _fill(fs)
        args = ["build", cache, "--cache-dir", tmp_path / "stages", recipe, "-o", fs / "store"]
        if cache == "--no-cache":
            args.remove("--cache-dir")
            args.remove(tmp_path / "stages")
        done = cli(*args, "--json")
        assert done.returncode == 1, done.stderr
        error = json.loads(done.stdout)["error"]
        message = error["message"] if isinstance(error, dict) else error
        line = done.stderr.strip().splitlines()[-1]
        assert line.startswith(f"error: {fs / 'store' / 'r'}/r-v"), line
        assert ".sif: no space left on device (writing " in line, line
        assert "no space left on device" in message
        left = sorted(p.name for p in (fs / "store" / "r").iterdir())
        assert [n for n in left if not n.endswith(".build.log")] == [".scitex"], left
        assert not [p for p in (fs / "store").rglob("*") if ".building" in p.name]
        assert not list((fs / "store" / "r" / ".scitex").rglob("tmp/*"))
