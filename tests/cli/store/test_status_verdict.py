"""`status` gives build's own verdict for a def build refuses (issue 21: one check, not two)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from clirun import cli
from images import BUSYBOX_DEF


def test_status_refuses_what_build_refuses_with_the_same_error(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    os.mkfifo(defs / "fifo.def")
    lines = "".join(f"    L{i} v\n" for i in range(6000))
    (defs / "long.def").write_text(BUSYBOX_DEF + "\n%labels\n" + lines)
    (defs / "missing.def").write_text(BUSYBOX_DEF + "\n%files\n    no-such-input /x\n")
    out = tmp_path / "images"
    for name in ("fifo", "long", "missing"):
        built = cli("build", defs / f"{name}.def", "-o", out)
        [said] = built.stderr.splitlines()
        assert built.returncode == 2 and said.startswith("error: "), built
        status = cli("--json", "status", defs, "-o", out)
        assert status.returncode == 2, status
        row = next(r for r in json.loads(status.stdout) if r["name"] == name)
        assert row["action"] == "refused" and row["error"] == said.removeprefix("error: ")
        text = cli("status", defs, "-o", out)
        assert text.returncode == 2 and said in text.stderr.splitlines()
    (defs / "ok.def").write_text(BUSYBOX_DEF)
    for name in ("fifo", "long", "missing"):
        (defs / f"{name}.def").unlink()
    fine = cli("--json", "status", defs, "-o", out)
    assert fine.returncode == 0 and json.loads(fine.stdout)[0]["action"] == "build"
    assert cli("build", defs / "ok.def", "-o", out).returncode == 0
    [row] = json.loads(cli("--json", "status", defs, "-o", out).stdout)
    assert row["action"] == "none" and row["path"] == row["sif_path"] == str(out / "ok" / "ok.sif")
