"""A ``%files`` source that is a link loop or a dangling link is a missing
source: ``status`` says ``refused`` (exit 2), ``build`` refuses before
apptainer runs, ``verify --def`` says the inputs cannot be read, never
"changed" nor our hidden paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _def(base: Path, source: str) -> str:
    return f"Bootstrap: localimage\nFrom: {base}\n\n%files\n    {source} /opt/data\n"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda p: os.symlink(p.name, p), "is a link loop"),
        (lambda p: os.symlink("gone", p), "is a dangling link (to gone)"),
    ],
    ids=["loop", "dangling"],
)
def test_status_and_build_refuse_a_broken_link_source(sx, tmp_path, make, said) -> None:
    base = tmp_path / "base.sif"
    base.write_bytes(b"not read: the source is refused first\n")
    (tmp_path / "hello.def").write_text(_def(base, "data"))
    make(tmp_path / "data")
    status = sx("--json", "status", tmp_path)
    assert status.code == 2, (status.out, status.err)
    row = status.json()[0] if isinstance(status.json(), list) else status.json()
    text = str(row)
    assert "refused" in text and said in text, text
    built = sx("build", tmp_path / "hello.def")
    assert built.code == 2, (built.out, built.err)
    assert "hello.def:5" in built.err and said in built.err, built.err
    assert ".scitex" not in built.err
    assert not (tmp_path / "hello").exists() or not any((tmp_path / "hello").glob("*.sif"))


@pytest.mark.apptainer
def test_verify_def_says_a_looping_source_cannot_be_read(sx, tmp_path, busybox_sif) -> None:
    (tmp_path / "data").write_text("one\n")
    definition = tmp_path / "hello.def"
    definition.write_text(_def(busybox_sif, "data"))
    assert sx("build", definition).code == 0
    (tmp_path / "data").unlink()
    os.symlink("data", tmp_path / "data")
    ran = sx("verify", tmp_path / "hello" / "hello.sif", "--def", definition)
    assert ran.code != 0, ran.out
    assert "is a link loop" in ran.out + ran.err, ran.out
    assert "inputs changed" not in ran.out


@pytest.mark.parametrize("kind", ["FIFO", "device", "link to a FIFO"])
def test_a_files_directory_holding_a_fifo_is_refused_at_its_line(sx, tmp_path, kind) -> None:
    """A `%files` source directory holding a FIFO (a device, a socket) was accepted, and
    apptainer then hung reading it or copied it as a pipe: refused at the def's line,
    naming the FIFO's path, by `build` (before apptainer runs) and `status`."""
    base = tmp_path / "base.sif"
    base.write_bytes(b"not read: the source is refused first\n")
    (tmp_path / "hello.def").write_text(_def(base, "data"))
    inner = tmp_path / "data" / "sub"
    inner.mkdir(parents=True)
    (tmp_path / "data" / "a.txt").write_text("fine\n")
    special = inner / "pipe"
    if kind == "device":
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(special, 0o666 | 0o020000, os.makedev(1, 3))  # our own null
    elif kind == "FIFO":
        os.mkfifo(special)
    else:
        os.mkfifo(tmp_path / "elsewhere")
        os.symlink(tmp_path / "elsewhere", special)
    said = f"`%files` source `data` holds a {'device' if kind == 'device' else 'FIFO'}"
    built = sx("build", tmp_path / "hello.def")
    assert built.code == 2, (built.out, built.err)
    lines = built.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'hello.def'}:5: {said}")
    assert lines[0].endswith(f"not a file or directory: {special}"), lines
    assert not (tmp_path / "hello").exists() or not any((tmp_path / "hello").glob("*.sif"))
    status = sx("--json", "status", tmp_path)
    assert status.code == 2, (status.out, status.err)
    assert "refused" in str(status.json()) and str(special) in str(status.json())
