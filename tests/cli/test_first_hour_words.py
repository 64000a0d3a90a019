"""What a hostile first hour found (issue 21): exit codes by cause, advice that can work,
the names `sandbox list` prints, notes under `-q`, the house path wording.

Each test drives the CLI as a user would.
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
from images import STAGED_DEF
from otheruser import another_user
from storekit import REPO, make_sif
from uservenv import user_python


@pytest.mark.apptainer
def test_verify_without_apptainer_is_a_missing_tool(tmp_path: Path, busybox_sif: Path) -> None:
    """Was exit 1 "capture failed: apptainer not found" (a missing tool is 3)."""
    image = tmp_path / "bb.sif"
    shutil.copy(busybox_sif, image)
    made = cli("lock", "capture", str(image), "-o", str(tmp_path / "bb.sif.lock"))
    assert made.returncode == 0, made.stderr
    bare = tmp_path / "bin"  # a PATH with python only
    bare.mkdir()
    os.symlink(sys.executable, bare / "python3")
    env = {k: v for k, v in os.environ.items() if k != "SCITEX_CONTAINER_CMD"}
    env["PATH"] = str(bare)
    out = cli("verify", str(image), env=env)
    assert out.returncode == 3, (out.stdout, out.stderr)
    assert "apptainer" in one_line(out) and "capture failed" not in out.stdout


def test_an_unknown_session_is_ours_and_a_non_tar_bundle_is_bad_input(tmp_path: Path) -> None:
    """`session exec`/`attach` pass the command's status through, so every failure of ours
    (an unknown session too) is 125, never a code the command may exit with (as `env` does);
    `bundle import hello.def` was 1: bad input is 2."""
    env = {**os.environ, "SCITEX_CONTAINER_SESSIONS_DIR": str(tmp_path / "sessions")}
    for args in (("session", "exec", "nosuch", "true"), ("session", "attach", "nosuch")):
        out = cli(*args, env=env)
        assert out.returncode == 125, (args, out.stderr)
        assert "'nosuch'" in one_line(out)


def test_an_id_not_of_the_session_id_form_is_an_unknown_session(tmp_path: Path) -> None:
    """`session exec ../x` was 2 (a validation error) while an unknown session is 125:
    an id no session can have is an unknown session too, said in one line naming it;
    `session stop` (no command status to pass through) says the same with 2."""
    env = {**os.environ, "SCITEX_CONTAINER_SESSIONS_DIR": str(tmp_path / "sessions")}
    for ref in ("../x", "a b", "-x"):
        for args in (("session", "exec", "--", ref, "true"), ("session", "attach", "--", ref)):
            out = cli(*args, env=env)
            assert out.returncode == 125, (args, out.stderr)
            line = one_line(out)
            assert repr(ref) in line and "not of the session-id form" in line, line
        out = cli("session", "stop", "--", ref, env=env)
        assert out.returncode == 2, out.stderr
        assert repr(ref) in one_line(out)
    assert not (tmp_path / "sessions").exists()
    hello = tmp_path / "hello.def"
    hello.write_text("Bootstrap: scratch\n")
    out = cli("bundle", "import", str(hello), "-o", str(tmp_path / "out"))
    assert out.returncode == 2, out.stderr
    assert f"bundle {hello}: not a tar file" in one_line(out)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


AS_TEST_USER = ("runuser", "-u", "scitex-test", "--")


@pytest.fixture()
def root_store():
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-words-", dir="/tmp"))
    os.chmod(top, 0o755)
    (top / "store").mkdir()
    make_sif(top / "store" / "demo-v20261206T140148Z.sif", seed=1)
    os.symlink("demo-v20261206T140148Z.sif", top / "store" / "demo.sif")
    (top / "sbx" / "bin").mkdir(parents=True)
    yield top
    shutil.rmtree(top)


def test_to_sif_into_a_store_the_user_cannot_write_advises_no_sudo(root_store: Path) -> None:
    """`sandbox to-sif` has no --sudo: a user who cannot write is never told to use it."""
    python = user_python(REPO)
    before = sorted(os.listdir(root_store / "store"))
    store = root_store / "store"
    to_sif = ("sandbox", "to-sif", str(root_store / "sbx"))
    for out_arg in (store, store / "demo.sif", root_store / "plain.sif"):
        out = subprocess.run(
            [*AS_TEST_USER, str(python), "-m", "scitex_container", *to_sif, str(out_arg)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
        )
        assert out.returncode == 2, out.stderr
        line = one_line(out)
        assert "permission denied" in line and "--sudo" not in line, line
    assert sorted(os.listdir(store)) == before and not (root_store / "plain.sif").exists()


def test_sandbox_switch_takes_the_name_sandbox_list_prints(tmp_path: Path) -> None:
    """`sandbox switch sandbox-2026...Z DIR` was "not found" while `switch NAME.sif` worked."""
    store = tmp_path / "sbx"
    for stamp in ("20261206T214429Z", "20261206T224429Z"):
        (store / f"sandbox-{stamp}" / "bin").mkdir(parents=True)
    os.symlink("sandbox-20261206T214429Z", store / "current-sandbox")
    listed = cli("sandbox", "list", str(store))
    assert "sandbox-20261206T224429Z" in listed.stdout, listed.stdout
    out = cli("sandbox", "switch", "sandbox-20261206T224429Z", str(store))
    assert out.returncode == 0, out.stderr
    assert os.readlink(store / "current-sandbox") == "sandbox-20261206T224429Z"
    out = cli("sandbox", "switch", str(store / "sandbox-20261206T214429Z"), str(store))
    assert out.returncode == 0, out.stderr
    assert os.readlink(store / "current-sandbox") == "sandbox-20261206T214429Z"
    elsewhere = tmp_path / "sandbox-20261206T224429Z"  # the same name in another directory
    out = cli("sandbox", "switch", str(elsewhere), str(store))
    assert out.returncode == 2 and "not found" in one_line(out)
    assert os.readlink(store / "current-sandbox") == "sandbox-20261206T214429Z"


@pytest.mark.apptainer
def test_build_stage_notes_go_to_stderr_and_q_silences_them(
    tmp_path: Path, busybox_sif: Path
) -> None:
    """Under -q, "stage X: built" and "stage cache not used" reached stdout and survived."""
    recipe = tmp_path / "r.def"
    recipe.write_text(STAGED_DEF.format(base=busybox_sif))
    cache = str(tmp_path / "stages")
    loud = cli("build", "--cache-dir", cache, "-o", str(tmp_path / "a"), str(recipe))
    assert loud.returncode == 0, loud.stderr
    assert "stage post-2: built in" in loud.stderr and "stage post" not in loud.stdout
    again = ("build", "--force", "--cache-dir", cache, "-o", str(tmp_path / "a"), str(recipe))
    quiet = cli("-q", *again)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert quiet.stdout.startswith("built ") and "stage " not in quiet.stdout, quiet.stdout
    js = cli("--json", *again)
    assert js.returncode == 0 and "stage post" not in js.stderr, js.stderr
    assert "post-2" in [s["name"] for s in json.loads(js.stdout)["stages"]]


def test_an_empty_directory_gets_one_line_from_every_store_command(tmp_path: Path) -> None:
    """Was: bare headers, "nothing to remove" (making `.scitex/`), "(available: none)", "not a
    SIF file, and no active version to send" (2) beside rollback/deploy's line."""
    empty = tmp_path / "e"
    empty.mkdir()
    image_line = f"{empty} is empty: no image yet (`build DEF -o {empty}` would create"
    sandbox_line = f"{empty} is empty: no sandbox yet"
    listings = {
        ("versions",): image_line,
        ("list",): image_line,
        ("status",): image_line,
        ("sandbox", "list"): sandbox_line,
    }
    for args, line in listings.items():
        out = cli(*args, str(empty))
        assert out.returncode == 0, (args, out.stderr)
        assert one_line(out).startswith(f"note: {line}"), (args, out.stderr)
        assert line not in out.stdout and out.stdout.strip(), (args, out.stdout)  # the header
        assert cli("-q", *args, str(empty)).stderr == ""
    changes = {
        ("cleanup", str(empty)): image_line,
        ("--dry-run", "cleanup", str(empty)): image_line,
        ("switch", "20261206T140148Z", str(empty)): image_line,
        ("rollback", str(empty)): image_line,
        ("deploy", str(empty), str(tmp_path / "target")): image_line,
        ("versions", "--protect", "20261206T140148Z", str(empty)): image_line,
        ("bundle", "export", str(empty), "-o", str(tmp_path / "b.tar")): image_line,
        ("push", str(empty), "oras://127.0.0.1:5000/scitex-tests/empty:1"): image_line,
        ("sandbox", "cleanup", str(empty)): sandbox_line,
        ("sandbox", "switch", "20261206T140148Z", str(empty)): sandbox_line,
        ("sandbox", "rollback", str(empty)): sandbox_line,
    }
    for args, line in changes.items():
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert one_line(out).startswith(f"error: {line}"), (args, out.stderr)
    assert os.listdir(empty) == [] and not (tmp_path / "target").exists()
    (empty / "notes.txt").write_text("not a store\n")  # a directory holding no store
    for args in (("cleanup",), ("sandbox", "cleanup"), ("--dry-run", "cleanup")):
        out = cli(*args, str(empty))
        assert out.returncode == 0 and "nothing to remove" in out.stdout, (args, out.stderr)
    assert os.listdir(empty) == ["notes.txt"]  # no `.scitex/` made in it


def test_path_checks_say_the_path_in_the_house_form(tmp_path: Path) -> None:
    """Was click's "Path ... does not exist" / "File ... is a directory" / "Directory ... is a
    file", a bare "is a directory, not a file", a path said twice, a raw utf-8 decode error
    and "line outside any section" for a def read as a lock."""
    a_dir = tmp_path / "adir"
    a_dir.mkdir()
    hello = tmp_path / "hello.def"
    hello.write_text("Bootstrap: scratch\n")
    binary = tmp_path / "some.sif"
    binary.write_bytes(b"#!/usr/bin/env run-singularity\n\xb2\xff\x00SIF_MAGIC")
    nope = tmp_path / "nope.tar"
    out_dir = str(tmp_path / "out")
    is_dir = f"{a_dir}: is a directory, not a file"
    cases = {
        ("bundle", "import", str(nope), "-o", out_dir): f"{nope}: does not exist",
        ("bundle", "import", str(a_dir), "-o", out_dir): is_dir,
        ("lock", "pin", str(a_dir)): is_dir,
        ("snapshot", "-o", str(a_dir)): is_dir,
        ("sign", "--key", str(a_dir), str(hello)): is_dir,
        ("verify", "--def", str(a_dir), str(hello)): is_dir,
        ("key", "new", str(hello)): f"{hello}: not a directory",
        ("sign", str(nope), "--key", str(hello)): f"{nope}: the image does not exist",
        ("lock", "pin", str(hello), str(binary)): f"{binary}: not a lock file (binary data",
        ("lock", "diff", str(hello), str(hello)): f"{hello}:1: not a lock file: this is a def",
    }
    for args, said in cases.items():
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        line = one_line(out)
        assert line.startswith(f"error: {said}"), (args, line)
        assert "Invalid value" not in line and line.count(str(tmp_path)) == 1, (args, line)
