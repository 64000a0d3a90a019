"""A FIFO or device where an OUTPUT DIRECTORY is taken is said as what it is (issue 21, left).

``-o F`` of bundle import, pull, lock archive/freeze, sandbox create, build
and deploy, a ``--cache-dir``, the session directory and a keyring said
"permission denied ... needs write access" (false for root) or "a component
of the path is not a directory"; every one now says ``PATH: is a FIFO, not a
directory`` (a device, a socket), exit 2, and makes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from clirun import cli

from scitex_container.apptainer.signing.policy import parse_policy
from scitex_container.errors import BadInputError

COMMANDS = [
    ("bundle", "import", "b.tar", "-o", "OUT"),
    ("pull", "oras://localhost:5000/x:1", "-o", "OUT"),
    ("lock", "archive", "x.def", "-o", "OUT"),
    ("lock", "freeze", "img.sif", "-o", "OUT"),
    ("sandbox", "create", "x.def", "-d", "OUT"),
    ("sandbox", "create", "x.def", "-o", "OUT/sb"),
    ("build", "x.def", "-o", "OUT"),
    ("build", "x.def", "-o", "OUT/sub"),
    ("build", "x.def", "--cache-dir", "OUT"),
    ("cache", "list", "--cache-dir", "OUT"),
    ("key", "new", "OUT"),
]


@pytest.fixture(params=["FIFO", "device"])
def where(request, tmp_path: Path) -> tuple[Path, str]:
    if request.param == "FIFO":
        os.mkfifo(tmp_path / "OUT")
    else:
        os.mknod(tmp_path / "OUT", 0o666 | 0o020000, os.makedev(1, 3))  # our own null
    (tmp_path / "x.def").write_text("Bootstrap: docker\nFrom: busybox\n")
    (tmp_path / "img.sif").write_bytes(b"")
    with tarfile.open(tmp_path / "b.tar", "w") as tar:
        tar.add(tmp_path / "x.def", "x.def")
    return tmp_path, request.param


def _said(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_a_special_file_as_output_directory(where, argv) -> None:
    tmp_path, kind = where
    before = sorted(p.name for p in tmp_path.iterdir())
    line = _said(cli(*argv, cwd=tmp_path))
    assert line.startswith("error: ") and line.endswith(f"OUT: is a {kind}, not a directory"), line
    assert "permission denied" not in line and "component" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing made


def test_deploy_to_a_fifo(where, busybox_sif) -> None:
    tmp_path, kind = where
    store = tmp_path / "st"
    store.mkdir()
    os.symlink(busybox_sif, store / "bb-v20261206T000000Z.sif")
    os.symlink("bb-v20261206T000000Z.sif", store / "bb.sif")
    line = _said(cli("deploy", "st", "OUT", cwd=tmp_path))
    assert line.endswith(f"OUT: is a {kind}, not a directory"), line


@pytest.mark.parametrize(
    "variable", ["SCITEX_CONTAINER_SESSIONS_DIR", "SCITEX_CONTAINER_STAGE_CACHE_DIR"]
)
def test_a_special_file_as_a_state_directory(where, variable: str) -> None:
    tmp_path, kind = where
    argv = ("session", "list") if "SESSIONS" in variable else ("cache", "list")
    env = {**os.environ, variable: str(tmp_path / "OUT")}
    line = _said(cli(*argv, cwd=tmp_path, env=env))
    assert line == f"error: {tmp_path / 'OUT'}: is a {kind}, not a directory", line
    said = cli("--json", *argv, cwd=tmp_path, env=env)
    assert json.loads(said.stdout)["error"] == line.removeprefix("error: ")


def test_a_special_file_as_a_policys_keyring(where) -> None:
    tmp_path, kind = where
    policy = tmp_path / "policy.toml"
    policy.write_text('[require_signature]\nswitch = true\nkeyring = "OUT"\n')
    with pytest.raises(BadInputError) as err:
        parse_policy(policy)
    assert str(err.value).endswith(f"keyring`: {tmp_path / 'OUT'}: is a {kind}, not a directory")
    assert err.value.exit_code == 2
