"""`-q` silences notes, warnings and progress on stderr (cli/output.py decides); never errors."""

from __future__ import annotations

import os
from pathlib import Path

from clirun import cli
from storekit import make_sif

STAMPS = ["20261206T140148Z", "20261206T150148Z"]


def _store(where: Path) -> Path:
    where.mkdir()
    for seed, stamp in enumerate(STAMPS):
        make_sif(where / f"demo-v{stamp}.sif", seed=seed)
        (where / f"demo-v{stamp}.sif.meta.json").write_text("{}\n")
    os.symlink(f"demo-v{STAMPS[-1]}.sif", where / "demo.sif")
    return where


def test_q_silences_notes_and_warnings_before_or_after_the_command_name(tmp_path: Path) -> None:
    store = _store(tmp_path / "demo")
    sidecar = store / f"demo-v{STAMPS[0]}.sif.meta.json"
    dangling = _store(tmp_path / "gone")
    os.unlink(dangling / "demo.sif")
    os.symlink("demo-v20991231T000000Z.sif", dangling / "demo.sif")
    cases = [
        (("versions", sidecar), "note: "),  # how the path was taken
        (("--dry-run", "rollback", sidecar), "note: "),
        (("--dry-run", "cleanup", "-k", "1", sidecar), "note: "),
        (("versions", dangling), "warning: "),  # the active link is dangling
    ]
    for args, said in cases:
        loud = cli(*args)
        assert said in loud.stderr, (args, loud.stderr)
        for quiet in (cli("-q", *args), cli(*args, "-q"), cli(*args, "--quiet")):
            assert quiet.stderr == "", (args, quiet.stderr)
            assert quiet.stdout == loud.stdout and quiet.returncode == loud.returncode, args


def test_q_never_silences_an_error(tmp_path: Path) -> None:
    for args in (("-q", "versions", tmp_path / "nx"), ("versions", "-q", tmp_path / "nx")):
        out = cli(*args)
        assert out.returncode == 2 and out.stderr.startswith("error: "), out
