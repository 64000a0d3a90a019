"""The inputs hash: every build input changes it, nothing else does."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from clirun import cli
from storekit import make_sif

from scitex_container.apptainer.building import inputs as inputs_mod
from scitex_container.apptainer.building.inputs import ContentCache, compute_inputs
from scitex_container.errors import DefFileError
from scitex_container.files import digests

DEF = """\
Bootstrap: localimage
From: base.sif

%files
    payload.txt /payload.txt
    tree /opt/tree

%post
    echo hi
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "app.def").write_text(DEF)
    (tmp_path / "payload.txt").write_text("one\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.py").write_text("print(1)\n")
    (tree / "sub" / "b.txt").write_text("b\n")
    os.symlink("a.py", tree / "link")
    make_sif(tmp_path / "base.sif", seed=1)
    return tmp_path


def digest(project: Path, **kw) -> str:
    return compute_inputs(project / "app.def", **kw).digest


def test_unchanged_inputs_give_the_same_digest(project: Path) -> None:
    assert digest(project) == digest(project)
    os.utime(project / "payload.txt")  # a touch is not a change
    assert digest(project) == digest(project)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: (p / "app.def").write_text(DEF + "\n%labels\n    a b\n"),
        lambda p: (p / "payload.txt").write_text("two\n"),
        lambda p: (p / "tree" / "sub" / "b.txt").write_text("B\n"),
        lambda p: (p / "tree" / "new.txt").write_text("new\n"),
        lambda p: os.chmod(p / "tree" / "a.py", 0o755),
        lambda p: (os.unlink(p / "tree" / "link"), os.symlink("sub/b.txt", p / "tree" / "link")),
        lambda p: make_sif(p / "base.sif", seed=2),
    ],
    ids=["def", "file", "nested", "added", "mode", "symlink", "localimage"],
)
def test_each_input_changes_the_digest(project: Path, change) -> None:
    before = digest(project)
    change(project)
    assert digest(project) != before


def test_build_args_and_sandbox_flag_count(project: Path) -> None:
    base = digest(project)
    assert digest(project, build_args={"A": "1"}) != base
    assert digest(project, build_args={"A": "1"}) != digest(project, build_args={"A": "2"})
    assert digest(project, sandbox=True) != base


def test_missing_files_source_names_file_and_line(project: Path) -> None:
    (project / "payload.txt").unlink()
    with pytest.raises(DefFileError) as err:
        compute_inputs(project / "app.def")
    assert f"{project / 'app.def'}:5" in str(err.value)


def test_missing_localimage_names_file_and_line(project: Path) -> None:
    (project / "base.sif").unlink()
    with pytest.raises(DefFileError) as err:
        compute_inputs(project / "app.def")
    assert f"{project / 'app.def'}:2" in str(err.value)


def test_large_files_are_hashed_once_then_served_from_the_stat_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = project / "payload.txt"
    big.write_bytes(os.urandom(inputs_mod.CACHE_MIN_SIZE * 4))
    old = os.stat(big).st_mtime - 60
    os.utime(big, (old, old))  # not "racy": old enough to cache
    calls: list[str] = []
    real = digests.sha256_file
    monkeypatch.setattr(digests, "sha256_file", lambda p: calls.append(str(p)) or real(p))
    time.sleep(0.05)  # ctime (set by utime just now) out of the racy window
    first = digest(project)
    assert str(big) in calls
    calls.clear()
    assert digest(project) == first and str(big) not in calls
    with open(big, "r+b") as fh:  # same size, new content, new mtime
        fh.write(b"x")
    os.utime(big, (old + 1, old + 1))
    time.sleep(0.05)
    assert digest(project) != first and str(big) in calls


def test_cache_file_is_written_only_outside_dry_run(project: Path) -> None:
    from scitex_container.process import runner

    big = project / "payload.txt"
    big.write_bytes(b"y" * inputs_mod.CACHE_MIN_SIZE * 2)
    os.utime(big, (1_000_000, 1_000_000))
    time.sleep(0.05)
    with runner.dry_run():
        digest(project)
    assert not ContentCache().path.exists()
    digest(project)
    assert ContentCache().path.exists()


@pytest.mark.parametrize("kind", ["device", "fifo", "loop", "through-file"])
def test_a_base_that_is_no_image_is_refused_with_file_line_not_read(
    tmp_path: Path, kind: str
) -> None:
    """A device or FIFO base hung `status`/`--dry-run build` forever (hashing it)."""

    if kind == "device":
        base = "/dev/zero"  # only stat()ed: the check must never open it
        said = "a device"
    elif kind == "fifo":
        os.mkfifo(tmp_path / "pipe")
        base, said = "pipe", "a FIFO"
    elif kind == "loop":
        os.symlink("b", tmp_path / "a")
        os.symlink("a", tmp_path / "b")
        base, said = "a", "link loop"
    else:
        (tmp_path / "file").write_text("x")
        base, said = "file/base.sif", "not a directory"
    store = tmp_path / "defs"
    store.mkdir()
    (store / "z.def").write_text(f"Bootstrap: localimage\nFrom: {tmp_path / base}\n")
    with pytest.raises(DefFileError) as err:
        compute_inputs(store / "z.def")
    assert err.value.line == 2 and said in str(err.value)
    for args in (["status", str(store)], ["--dry-run", "build", str(store / "z.def")]):
        out = cli(*args, timeout=60)
        assert out.returncode == 2, (args, out)
        assert "z.def:2: localimage" in out.stderr and said in out.stderr, out.stderr
        assert "does not exist" not in out.stderr
