"""README "The first hour" is true: its example builds, its layout and variables are real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import cli

from scitex_container import envvars

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_every_environment_variable_is_in_the_readme_table() -> None:
    names = {v for k, v in vars(envvars).items() if k.isupper() and isinstance(v, str)}
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README, re.M))
    assert names <= rows, names - rows


@pytest.mark.apptainer
def test_the_busybox_example_builds_and_the_store_looks_as_described(tmp_path: Path) -> None:
    definition = REPO / "examples" / "hello" / "hello.def"
    assert "examples/hello/hello.def" in README
    built = cli("build", definition, "-o", tmp_path)
    assert built.returncode == 0 and built.stdout.startswith(
        f"built {tmp_path}/hello/hello.sif -> version "
    ), built.stderr
    ran = subprocess.run(
        ["apptainer", "run", str(tmp_path / "hello" / "hello.sif")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.stdout.strip() == "hello from busybox"
    again = cli("build", definition, "-o", tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("unchanged:")
    store = tmp_path / "hello"
    [version] = [p.name for p in store.glob("hello-v*Z.sif")]
    for suffix in (".meta.json", ".lock", ".build.log"):
        assert (store / (version + suffix)).is_file(), suffix
        assert f"{'hello-v20261206T162132Z.sif'}{suffix}" in README
    assert (store / ".scitex" / "store.flock").exists()
    assert (store / "hello.sif").is_symlink()


def test_the_containers_directory_search_order_is_the_one_the_code_tries(tmp_path: Path) -> None:
    """The README's list, in order, is what `status` says it tried (no def anywhere)."""
    said = re.search(r"It is the\s+first of:(.*?)\.\n", README, re.S)
    assert said, "the README no longer says where the containers directory is looked for"
    listed = re.findall(r"`([^`]+)`", said.group(1))
    home = tmp_path / "home"
    home.mkdir()
    meaning = {
        "$SCITEX_CONTAINER_DIR": None,  # unset here: not tried
        "./containers/": tmp_path / "containers",
        "src/containers/": REPO / "src" / "containers",
        "~/.scitex/containers/": home / ".scitex" / "containers",
    }
    assert listed == list(meaning), listed
    env = {k: v for k, v in os.environ.items() if k != envvars.CONTAINERS_DIR}
    out = subprocess.run(
        [sys.executable, "-m", "scitex_container", "status"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**env, "HOME": str(home)},
    )
    assert out.returncode == 2, out
    tried = re.search(r"\(tried (.*)\)", out.stderr)
    assert tried, out.stderr
    expected = [str(p) for p in meaning.values() if p is not None]
    assert tried.group(1).split(", ") == expected
