"""`lock pin --dry-run` exits 1 when the locked def would change; `lock diff` is read-only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LOCK = "# scitex-container lock\n[pip]\nalpha==1.0\n[dpkg]\nfake=1.0\n[node]\n"
DEF = "Bootstrap: scratch\n\n%post\n    pip install alpha\n"


def test_dry_run_pin_exit_code_follows_the_pending_write(sx, tmp_path: Path) -> None:
    (tmp_path / "x.def").write_text(DEF)
    (tmp_path / "x.lock").write_text(LOCK)
    out = tmp_path / "x.locked.def"
    args = ("lock", "pin", tmp_path / "x.def", tmp_path / "x.lock", "-o", out)
    pending = sx("--dry-run", *args)
    assert pending.code == 1, pending.err
    assert "would write" in pending.out and not out.exists()
    assert sx(*args).code == 0 and out.is_file()
    same = sx("--dry-run", *args)  # the same bytes are there already
    assert same.code == 0 and f"unchanged: {out}" in same.out and "would write" not in same.out


def test_lock_diff_is_read_only_under_dry_run(sx, tmp_path: Path) -> None:
    (tmp_path / "a.lock").write_text(LOCK)
    (tmp_path / "b.lock").write_text(LOCK.replace("alpha==1.0", "alpha==2.0"))
    assert sx("--dry-run", "lock", "diff", tmp_path / "a.lock", tmp_path / "a.lock").code == 0
    ran = sx("--dry-run", "--json", "lock", "diff", tmp_path / "a.lock", tmp_path / "b.lock")
    assert ran.code == 1 and "pip:alpha" in ran.json()["result"]["changed"]


@pytest.mark.apptainer
def test_dry_run_capture_says_unchanged_when_the_lock_is_the_same(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    out = tmp_path / "b.lock"
    args = ("lock", "capture", busybox_sif, "-o", out, "--no-date")
    pending = sx("--dry-run", *args)
    assert pending.code == 1 and f"would write {out}" in pending.out and not out.exists()
    assert sx(*args).code == 0 and out.is_file()
    same = sx("--dry-run", *args)
    assert same.code == 0 and f"unchanged: {out}" in same.out and "would write" not in same.out


@pytest.mark.parametrize("target", ["x.locked.def", "precious.txt", "x.def", "dangling"])
def test_pin_never_overwrites_a_file_it_did_not_write(sx, tmp_path: Path, target: str) -> None:
    (tmp_path / "x.def").write_text(DEF)
    (tmp_path / "x.lock").write_text(LOCK)
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    for name in ("x.locked.def", "precious.txt"):
        (tmp_path / name).write_text("mine\n")
    out = () if target == "x.locked.def" else ("-o", tmp_path / target)  # no -o: the default
    done = sx("lock", "pin", tmp_path / "x.def", tmp_path / "x.lock", *out)
    assert done.code == 2, done.out + done.err
    said = {"x.def": "rough def", "dangling": "dangling link"}.get(target, "did not generate")
    assert said in done.err
    assert (tmp_path / "x.def").read_text() == DEF
    assert (tmp_path / "x.locked.def").read_text() == "mine\n"
    assert (tmp_path / "precious.txt").read_text() == "mine\n"
    assert os.path.islink(tmp_path / "dangling") and not (tmp_path / "gone").exists()


def test_pin_rewrites_a_locked_def_it_wrote(sx, tmp_path: Path) -> None:
    (tmp_path / "x.def").write_text(DEF)
    (tmp_path / "x.lock").write_text(LOCK)
    assert sx("lock", "pin", tmp_path / "x.def", tmp_path / "x.lock").code == 0
    (tmp_path / "x.lock").write_text(LOCK.replace("alpha==1.0", "alpha==2.0"))
    assert sx("lock", "pin", tmp_path / "x.def", tmp_path / "x.lock").code == 0
    assert "alpha==2.0" in (tmp_path / "x.locked.def").read_text()
