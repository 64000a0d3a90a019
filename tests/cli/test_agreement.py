"""status, build, --dry-run build and verify --def agree about the same inputs (issue 21, item 6).

One busybox def with a build argument and a ``%files`` input, built for
real: every command gives the same answer as the inputs change and change
back, and reusing a kept version is said as what it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import cli
from images import BUSYBOX_DEF

pytestmark = pytest.mark.apptainer


def answers(defs: Path, out: Path, definition: Path, image: Path) -> dict:
    """What each command says about rebuilding ``definition`` now."""
    [row] = json.loads(cli("--json", "status", defs, "-o", out).stdout)
    dry = cli("--dry-run", "build", definition, "-o", out)
    verified = json.loads(cli("--json", "verify", image, "--def", definition).stdout)
    return {
        "status": row["action"],
        "dry_run_exit": dry.returncode,
        "dry_run_text": dry.stdout.strip().splitlines()[-1],
        "verify_def": verified["def_origin"]["status"],
    }


def test_every_command_gives_the_same_answer(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    data = defs / "input.txt"
    data.write_text("one\n")
    definition = defs / "tool.def"
    definition.write_text(
        BUSYBOX_DEF + "\n%files\n    input.txt /input.txt\n\n%labels\n    Flavour {{ FLAVOUR }}\n"
    )
    out = tmp_path / "images"
    first = cli("--json", "build", definition, "-o", out, "--build-arg", "FLAVOUR=mint")
    assert first.returncode == 0, first.stderr
    v1 = json.loads(first.stdout)["version"]
    image = out / "tool" / "tool.sif"

    same = answers(defs, out, definition, image)  # build args taken from the active version
    assert same["status"] == "none" and same["dry_run_exit"] == 0, same
    assert same["dry_run_text"].startswith("unchanged") and same["verify_def"] == "pass"

    data.write_text("two\n")  # a %files input changed, the def's text did not
    changed = answers(defs, out, definition, image)
    assert changed["status"] == "build" and changed["dry_run_exit"] == 1, changed
    assert (
        changed["dry_run_text"].startswith("would build")
        and "FLAVOUR=mint" in changed["dry_run_text"]
    )
    assert changed["verify_def"] == "fail"
    second = cli("--json", "build", definition, "-o", out)
    assert second.returncode == 0 and json.loads(second.stdout)["version"] != v1

    data.write_text("one\n")  # back to V1's inputs: V1 is kept, so it is activated, not rebuilt
    back = answers(defs, out, definition, image)
    said = f"activate {v1}: inputs unchanged since {v1}"
    assert back["status"] == said and back["dry_run_exit"] == 1, back
    assert back["dry_run_text"].startswith(f"would {said}")
    real = cli("build", definition, "-o", out)
    assert real.returncode == 0 and real.stdout.startswith(f"activated {v1}: inputs unchanged")
    assert json.loads(cli("--json", "versions", out / "tool").stdout)[-1]["active"]
    again = answers(defs, out, definition, image)
    assert again["status"] == "none" and again["dry_run_exit"] == 0
    assert again["verify_def"] == "pass"


def test_verify_def_names_the_input_that_changed(tmp_path: Path, busybox_sif: Path) -> None:
    """Was: "(a %files source or a build argument)" when only the localimage base changed."""
    import shutil

    defs = tmp_path / "defs"
    defs.mkdir()
    base = defs / "base.sif"
    shutil.copy(busybox_sif, base)
    (defs / "input.txt").write_text("one\n")
    definition = defs / "app.def"
    definition.write_text(
        "Bootstrap: localimage\nFrom: base.sif\n\n%files\n    input.txt /input.txt\n"
    )
    out = tmp_path / "images"
    built = cli("-q", "build", definition, "-o", out)
    assert built.returncode == 0, built.stderr
    image = out / "app" / "app.sif"
    with open(base, "ab") as fh:  # the base image changed; the def and %files did not
        fh.write(b"another base\n")
    done = cli("--json", "verify", image, "--def", definition)
    detail = json.loads(done.stdout)["def_origin"]["detail"]
    assert done.returncode == 1, done.stdout
    assert "(base image base.sif changed)" in detail, detail
    assert "%files" not in detail and "build argument" not in detail, detail
    (defs / "input.txt").write_text("two\n")  # both changed: both named
    detail = json.loads(cli("--json", "verify", image, "--def", definition).stdout)
    detail = detail["def_origin"]["detail"]
    assert "(base image base.sif changed; %files source input.txt changed)" in detail, detail
