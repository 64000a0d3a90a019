"""Sandboxes with the real apptainer: create, version, maintain, update, prompt, back to SIF."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from images import BUSYBOX_DEF

from scitex_container.apptainer import (
    cleanup_sandboxes,
    get_active_sandbox,
    list_sandboxes,
    rollback_sandbox,
    sandbox_configure_ps1,
    sandbox_create,
    sandbox_maintain,
    sandbox_to_sif,
    sandbox_update,
    switch_sandbox,
)
from scitex_container.errors import NotFoundError, ProcessError

pytestmark = pytest.mark.apptainer


def test_create_from_sif_versions_and_links(tmp_path: Path, busybox_sif: Path) -> None:
    first = sandbox_create(busybox_sif, tmp_path)
    second = sandbox_create(busybox_sif, tmp_path)
    assert first.parent == second.parent == tmp_path and first != second
    assert first.name.startswith("sandbox-") and (first / ".singularity.d").is_dir()
    assert os.readlink(tmp_path / "current-sandbox") == second.name
    rows = list_sandboxes(tmp_path)
    assert [r["path"] for r in rows] == [str(second), str(first)]
    assert {"version", "path", "date", "active"} <= set(rows[0]) and rows[0]["active"]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".building")]
    assert rollback_sandbox(tmp_path) == first.name[len("sandbox-") :]
    switch_sandbox(second.name[len("sandbox-") :], tmp_path)
    assert get_active_sandbox(tmp_path) == second.name[len("sandbox-") :]
    with pytest.raises(NotFoundError, match="available"):
        switch_sandbox("20000101_000000", tmp_path)
    removed = cleanup_sandboxes(tmp_path, keep=0)  # the version, then its sidecars
    assert removed[0] == first and all(p.name.startswith(f"{first.name}.") for p in removed[1:])
    assert not first.exists() and second.exists()
    out = subprocess.run(["apptainer", "exec", str(tmp_path / "current-sandbox"), "true"])
    assert out.returncode == 0


def test_create_from_def_and_explicit_output(tmp_path: Path) -> None:
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    made = sandbox_create(tmp_path / "bb.def")
    assert made.parent == tmp_path and os.readlink(tmp_path / "current-sandbox") == made.name
    exact = sandbox_create(tmp_path / "bb.def", output_dir=tmp_path / "exact")
    assert exact == tmp_path / "exact" and (exact / "bin" / "busybox").exists()
    assert os.readlink(tmp_path / "current-sandbox") == made.name  # untouched


def test_failed_sandbox_build_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.def").write_text(BUSYBOX_DEF + "\n%post\n    exit 1\n")
    with pytest.raises(ProcessError):
        sandbox_create(tmp_path / "bad.def", tmp_path / "store")
    leftovers = [
        n
        for n in os.listdir(tmp_path / "store")
        if not n.startswith(".") or n.endswith(".building")
    ]
    assert all(n.endswith(".build.log") for n in leftovers), leftovers


def test_maintain_writes_into_the_sandbox_and_returns_the_exit_code(
    tmp_path: Path, busybox_sif: Path
) -> None:
    box = sandbox_create(busybox_sif, tmp_path)
    assert sandbox_maintain(box, ["sh", "-c", "echo made > /made-here"]) == 0
    assert (box / "made-here").read_text() == "made\n"
    assert sandbox_maintain(box, ["sh", "-c", "exit 7"]) == 7
    with pytest.raises(NotFoundError):
        sandbox_maintain(tmp_path / "nope", ["true"])


def test_to_sif_round_trip(tmp_path: Path, busybox_sif: Path) -> None:
    box = sandbox_create(busybox_sif, tmp_path)
    (box / "marker").write_text("kept\n")
    sif = sandbox_to_sif(box, tmp_path / "out" / "back.sif")
    out = subprocess.run(
        ["apptainer", "exec", str(sif), "cat", "/marker"], capture_output=True, text=True
    )
    assert out.stdout == "kept\n"
    assert not [n for n in os.listdir(tmp_path / "out") if n.endswith(".building")]


@pytest.fixture(scope="module")
def debian_box(tmp_path_factory: pytest.TempPathFactory, debian_sif: Path) -> Path:
    return sandbox_create(debian_sif, tmp_path_factory.mktemp("debian-box"))


def _prompt(box: Path, value: str | None) -> str:
    env_arg = f" --env SCITEX_CLOUD_APPTAINER_PS1='{value}'" if value is not None else ""
    out = subprocess.run(
        ["script", "-qc", f"apptainer shell{env_arg} {box}", "/dev/null"],
        input="exit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/tmp",
    )
    lines = [
        line.replace("\x1b[?2004h", "").replace("\x1b[?2004l", "").split("\r")[0]
        for line in out.stdout.splitlines()
    ]
    prompts = [line[: -len("exit")] for line in lines if line.endswith("exit") and line != "exit"]
    assert prompts, out.stdout
    return prompts[0]


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_prompt_honours_the_variable_at_run_time(debian_box: Path) -> None:
    assert _prompt(debian_box, None) == "tmp $ "  # sandbox_create configured the default
    assert _prompt(debian_box, r"(mylab) \W $ ") == "(mylab) tmp $ "
    try:
        sandbox_configure_ps1(debian_box, default_ps1="[box] ")
        sandbox_configure_ps1(debian_box, default_ps1="[box] ")  # idempotent: one block
        script = (debian_box / ".singularity.d/env/90-environment.sh").read_text()
        assert script.count(">>> scitex-container ps1 >>>") == 1
        assert _prompt(debian_box, None) == "[box] "
    finally:  # the sandbox is shared by the module's tests: leave its prompt as it was
        sandbox_configure_ps1(debian_box)


def test_update_installs_local_repositories(debian_box: Path, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    pkg = proj / "demo-pkg"
    (pkg / "demo_pkg").mkdir(parents=True)
    (pkg / "demo_pkg" / "__init__.py").write_text('__version__ = "0.4.2"\n')
    (pkg / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "demo-pkg"
        version = "0.4.2"
        dependencies = ["not-installable-anywhere>=99"]
        """)
    )
    broken = proj / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[build-system\n")
    results = sandbox_update(debian_box, proj_root=proj, packages=("demo-pkg", "broken", "absent"))
    assert results == {"demo-pkg": "ok", "broken": "failed", "absent": "skipped"}
    out = subprocess.run(
        [
            "apptainer",
            "exec",
            str(debian_box),
            "python3",
            "-c",
            "import demo_pkg; print(demo_pkg.__version__)",
        ],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "0.4.2"
    assert not (pkg / "build").exists() and not list(pkg.glob("*.egg-info"))  # the repo stays clean
    assert not (debian_box / "opt" / ".scitex-update" / "demo-pkg").exists()
