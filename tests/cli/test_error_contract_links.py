"""The one error contract, more cases a hostile tester found left (issue 21).

A dangling link where an image, def, key, lock or bundle is taken is said
as one (``PATH: is a dangling link (to X)``, exit 2) by every command, not
"the image does not exist" or "no active version to send".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from clirun import cli, one_line
from specialfiles import NULL, can_make_devices, char_device

GONE = "gone-20261206T000000Z.sif"
COMMANDS = [
    ("sign", "LINK", "--key", "k.pem"),
    ("sbom", "LINK"),
    ("lock", "capture", "LINK"),
    ("lock", "freeze", "LINK"),
    ("lock", "diff", "LINK", "LINK"),
    ("lock", "archive", "LINK", "-o", "arc"),
    ("session", "start", "-p", "proj", "LINK"),
    ("bundle", "export", "LINK", "-o", "b.tar"),
    ("bundle", "import", "LINK"),
    ("push", "LINK", "oras://localhost:5000/x:1"),
    ("verify", "LINK"),
    ("build", "LINK", "-o", "st"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_dangling_link_is_said_as_one_by_every_command(tmp_path: Path, argv) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "current.sif").symlink_to(GONE)
    args = [a.replace("LINK", "s/current.sif") for a in argv]
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = one_line(done)
    assert line.endswith(f"s/current.sif: is a dangling link (to {GONE})"), line
    assert "container_path" not in line and "does not exist" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # nothing made


def test_a_dangling_key_is_said_as_one_with_json(tmp_path: Path, busybox_sif) -> None:
    (tmp_path / "k.pem").symlink_to("nowhere.pem")
    done = cli("--json", "sign", busybox_sif, "--key", tmp_path / "k.pem")
    assert done.returncode == 2, (done.stdout, done.stderr)
    said = json.loads(done.stdout)
    assert "is a dangling link (to nowhere.pem)" in json.dumps(said)


@pytest.mark.parametrize(
    ("argv", "readme"),
    [
        (("rollback",), True),
        (("sandbox", "rollback"), True),
        (("sandbox", "purge-sifs"), False),
        (("--dry-run", "sandbox", "purge-sifs"), False),
    ],
    ids=["rollback", "sandbox rollback", "purge-sifs", "purge-sifs dry"],
)
def test_a_refused_store_command_creates_nothing(tmp_path: Path, argv, readme: bool) -> None:
    where = tmp_path / "d"
    where.mkdir()
    if readme:
        (where / "README").write_text("not a store\n")
    done = cli(*argv, where)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = one_line(done)
    assert ("no active version in" if readme else "is empty: no image yet") in line, line
    assert sorted(p.name for p in where.iterdir()) == (["README"] if readme else [])


@pytest.mark.parametrize("command", ["build", "repro"])
def test_a_missing_tool_makes_no_store_state(tmp_path: Path, command: str) -> None:
    (tmp_path / "x.def").write_text("Bootstrap: docker\nFrom: busybox\n")
    (tmp_path / "st").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "scitex_container", command, "x.def", "-o", "st"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if k != "SCITEX_CONTAINER_CMD"},
            "PATH": "/nothing",
        },
    )
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "was not found on PATH" in done.stderr
    assert list((tmp_path / "st").rglob("*")) == []  # no store dir, no .scitex/*.flock


@pytest.fixture()
def specials(tmp_path: Path) -> Path:
    """Our own FIFO and device (never a real /dev one), beside a good lock."""
    os.mkfifo(tmp_path / "ff")
    if can_make_devices():
        char_device(tmp_path / "dev", NULL)
    (tmp_path / "good.lock").write_text("# scitex-container lock\n[pip]\n[dpkg]\n[node]\n")
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("sbom", "ff"), "ff: the image is not a regular file (a FIFO)"),
        (("lock", "diff", "ff", "good.lock"), "ff: the image is not a regular file (a FIFO)"),
        (("versions", "ff"), "ff: is a FIFO, not a directory"),
        (("cleanup", "ff"), "ff: is a FIFO, not a directory"),
        (("sandbox", "list", "ff"), "ff: is a FIFO, not a directory"),
        (("status", "ff"), "ff: is a FIFO, not a directory"),
        (("rollback", "dev"), "dev: is a device, not a directory"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, tuple) else "",
)
def test_a_fifo_or_device_is_said_as_what_it_is(specials: Path, argv, said: str) -> None:
    if "dev" in argv and not (specials / "dev").exists():
        pytest.skip("mknod needs root")
    done = cli(*argv, cwd=specials)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = one_line(done)
    assert line.endswith(said), line
    assert "component of the path" not in line and "SIF image or sandbox" not in line
    assert not (specials / ".scitex").exists()


def test_a_fifo_as_a_files_source_is_refused_with_file_and_line(specials: Path) -> None:
    deffile = specials / "f.def"
    deffile.write_text("Bootstrap: docker\nFrom: busybox\n\n%files\n    ff /ff\n")
    done = cli("build", "f.def", "-o", "st", cwd=specials)
    assert done.returncode == 2, (done.stdout, done.stderr)
    line = one_line(done)
    assert line.startswith(f"error: {deffile}:5: `%files` source `ff` is a FIFO"), line
    assert not (specials / "st").exists()


@pytest.fixture()
def roots_dir(busybox_sif):
    """A root-owned 0755 directory with a SIF, a lock, a def: scitex-test reads, cannot write."""
    from otheruser import another_user

    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-roots-", dir="/var/tmp"))
    os.chmod(top, 0o755)
    shutil.copyfile(busybox_sif, top / "b.sif")
    (top / "p.lock").write_text("# scitex-container lock\n[pip]\n[dpkg]\n[node]\n")
    (top / "p.def").write_text("Bootstrap: docker\nFrom: busybox\n")
    for name in ("b.sif", "p.lock", "p.def"):
        os.chmod(top / name, 0o644)
    yield top
    shutil.rmtree(top)


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a command as scitex-test")
def test_an_unwritable_output_is_refused_by_the_dry_run_as_by_the_real_run(roots_dir) -> None:
    from uservenv import as_other

    d = roots_dir
    cases = [
        ("sbom", d / "b.sif", "--embed"),
        ("sbom", d / "b.sif", "-o", d / "s.json"),
        ("lock", "capture", d / "b.sif", "-o", d / "c.lock"),
        ("lock", "pin", d / "p.def", d / "p.lock", "-o", d / "p.locked.def"),
        ("lock", "freeze", d / "b.sif", "-o", d / "frozen"),
        ("lock", "archive", d / "p.lock", "-o", d / "arc"),
        ("snapshot", "-o", d / "snap.json"),
        ("bundle", "export", d / "b.sif", "-o", d / "b.tar"),
        ("bundle", "import", d / "p.lock", "-o", d / "st"),  # refused before it is read
        ("pull", "oras://localhost:5000/none/x:1", "-o", d / "st"),  # before the registry
    ]
    before = sorted(os.listdir(d))
    for argv in cases:
        for dry in (("--dry-run",), ()):
            done = as_other(*dry, *argv)
            assert done.returncode == 2, (dry, argv, done.stdout, done.stderr)
            line = one_line(done)
            assert f"{d}: permission denied" in line, (dry, argv, line)
    assert sorted(os.listdir(d)) == before


def test_a_fifo_image_is_refused_at_once_and_a_refused_sandbox_create_makes_nothing(
    tmp_path: Path, busybox_sif: Path
) -> None:
    """`sandbox create FIFO` and `session start FIFO` opened the FIFO to read its magic and hung;
    a refused `sandbox create` (a FIFO, no apptainer) left DIR/.scitex/*.flock behind."""
    fifo = tmp_path / "ff.sif"
    os.mkfifo(fifo)
    out = cli("sandbox", "create", fifo, "-d", tmp_path / "out")
    assert out.returncode == 2 and "is not a regular file (a FIFO)" in one_line(out)
    out = cli("--dry-run", "session", "start", "-p", "compute", fifo)
    assert out.returncode == 2 and "is not a regular file (a FIFO)" in one_line(out)
    bare = tmp_path / "nobin"
    bare.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scitex_container",
            "sandbox",
            "create",
            str(busybox_sif),
            "-d",
            str(tmp_path / "o8"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": str(bare)},
    )
    assert done.returncode == 3, done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "o8").exists()
