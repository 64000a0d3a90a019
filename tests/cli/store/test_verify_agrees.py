"""`verify --def` and `status` give the same answer as `build` (sandboxes and kept versions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import cli
from images import BUSYBOX_DEF


def def_origin(def_path: Path, image: Path) -> dict:
    out = cli("--json", "verify", "--def", def_path, image)
    return json.loads(out.stdout)["def_origin"]


@pytest.mark.apptainer
def test_a_sandbox_build_verifies_and_is_listed_by_status(
    tmp_path: Path, busybox_sif: Path
) -> None:
    (tmp_path / "sb.def").write_text(BUSYBOX_DEF)
    built = cli("build", "--sandbox", tmp_path / "sb.def")
    assert built.returncode == 0, built.stderr
    link = tmp_path / "sb" / "sb-sandbox"
    assert link.is_dir()
    check = def_origin(tmp_path / "sb.def", link)
    assert check["status"] == "pass", check
    rows = json.loads(cli("--json", "status", tmp_path).stdout)
    assert [(r["name"], r["needs_rebuild"]) for r in rows] == [("sb", False)]
    assert rows[0]["sif_path"] == str(link)
    again = cli("--json", "build", "--sandbox", tmp_path / "sb.def")
    assert again.returncode == 0 and not json.loads(again.stdout)["built"]


@pytest.mark.apptainer
def test_verify_names_the_kept_version_status_would_activate(
    tmp_path: Path, busybox_sif: Path
) -> None:
    data = tmp_path / "data.txt"
    data.write_text("one\n")
    (tmp_path / "hi.def").write_text(BUSYBOX_DEF + "\n%files\n    data.txt /data.txt\n")
    first = cli("--json", "build", tmp_path / "hi.def")
    assert first.returncode == 0, first.stderr
    v1 = json.loads(first.stdout)["version"]
    data.write_text("two\n")
    assert cli("build", tmp_path / "hi.def").returncode == 0
    data.write_text("one\n")  # back to the inputs of v1
    rows = json.loads(cli("--json", "status", tmp_path).stdout)
    action = rows[0]["action"]
    assert action == f"activate {v1}: inputs unchanged since {v1}"
    check = def_origin(tmp_path / "hi.def", tmp_path / "hi" / "hi.sif")
    assert check["status"] == "fail" and f"`status` says {action}" in check["detail"], check
    data.write_text("three\n")
    check = def_origin(tmp_path / "hi.def", tmp_path / "hi" / "hi.sif")
    assert check["status"] == "fail" and check["detail"].endswith("`status` says rebuild")
