"""One dry-run contract (issue 21, item 3), checked over click's whole command tree.

Every command is classified as mutating or read-only (a new command that is
neither fails the first test).  A mutating command under ``--dry-run``
changes nothing, says "would ...", never a past tense, exits 1 when
something would change and 0 only when nothing would; and what it lists is
exactly what the real run then does.  The cases below run each cheap
mutating command for real against its dry run; the rest (builds, sessions,
compose stacks, host installs) are checked by their own tests.  A dry run
of a command the real run refuses refuses alike (same line and exit code,
never 1; the dry-run JSON shape): checked here for every mutating command,
and as an unprivileged user in tests/cli/store/test_unwritable_dry_run.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from clirun import cli as run
from clitree import every_command
from dryrun import fails_alike, tree
from storekit import make_sif

from scitex_container.cli.main import cli as root

#: Mutating commands; the value names the test of its dry run against a real run.
MUTATING = {
    "build": "tests/cli/test_build.py, tests/apptainer/store/",
    "cache prune": "tests/cli/cache/",
    "bundle export": "tests/apptainer/transfer/",
    "bundle import": "tests/apptainer/transfer/",
    "pull": "tests/apptainer/transfer/",
    "push": "tests/apptainer/transfer/",
    "cleanup": "here",
    "deploy": "here",
    "docker down": "tests/docker/",
    "docker rebuild": "tests/docker/",
    "docker restart": "tests/docker/",
    "docker up": "tests/docker/",
    "host install": "tests/host/",
    "host mounts": "tests/host/",
    "key new": "here",
    "lock archive": "tests/cli/lock/test_archive_dry_run.py, tests/apptainer/lock/",
    "lock capture": "tests/apptainer/lock/",
    "lock freeze": "tests/apptainer/lock/",
    "lock pin": "tests/apptainer/lock/",
    "repro": "tests/apptainer/repro/",
    "rollback": "here",
    "sandbox cleanup": "tests/apptainer/sandbox/",
    "sandbox create": "tests/apptainer/sandbox/",
    "sandbox maintain": "tests/apptainer/sandbox/",
    "sandbox rollback": "tests/apptainer/sandbox/",
    "sandbox switch": "tests/apptainer/sandbox/",
    "sandbox to-sif": "tests/apptainer/sandbox/",
    "sandbox update": "tests/apptainer/sandbox/",
    "sbom": "here (--embed, -o)",
    "session start": "tests/apptainer/session/",
    "session stop": "tests/apptainer/session/",
    "session exec": "tests/apptainer/session/",
    "sign": "here",
    "snapshot": "writes only with -o",
    "switch": "here",
    "versions": "here (--protect)",
    # the seed's spellings: each runs the command it is an alias of (cli/seed/)
    "apptainer build": "alias of build",
    "apptainer clean": "alias of cleanup",
    "apptainer deploy": "alias of deploy",
    "apptainer freeze": "alias of lock freeze",
    "apptainer rollback": "alias of rollback",
    "apptainer switch": "alias of switch",
    "clean": "alias of cleanup",
    "env-snapshot": "alias of snapshot (writes only with -o)",
    "freeze": "alias of lock freeze",
    "sandbox clean": "alias of sandbox cleanup",
    "sandbox ps1": "writes the prompt snippet; nothing under --dry-run (maintenance.py)",
    "sandbox configure-ps1": "alias of sandbox ps1",
    "sandbox purge-sifs": "tests/cli/seed/ (cleanup_sifs through the runner's dry run)",
    "save-env-snapshot": "alias of snapshot -o",
    "skills install": "tests/cli/skills/ (its dry run leaves nothing, then the real run)",
}
READ_ONLY = {
    "apptainer list",
    "apptainer verify",
    "host show-mounts",
    "list",
    "list-python-apis",
    "mcp doctor",
    "mcp install",  # prints the config to add; changes nothing
    "mcp list-tools",
    "mcp start",  # a server on stdio: changes nothing itself
    "show-status",
    "skills get",
    "skills list",
    "cache list",
    "docker logs",
    "docker status",
    "host check",
    "info",
    "lock diff",
    "sandbox list",
    "session attach",
    "session list",
    "status",
    "verify",
}
PAST = re.compile(r"^(wrote|signed|removed|copied|built|embedded|rolled back|deleted)\b", re.M)


def test_every_command_is_classified() -> None:
    commands = every_command(root)
    names = {" ".join(path) for path, cmd in commands if not isinstance(cmd, click.Group)}
    assert names - set(MUTATING) - READ_ONLY == set(), "classify the new command here"
    assert not set(MUTATING) & READ_ONLY


def check(top: Path, args: list[object], listed: Callable[[dict], list[str]]) -> list[str]:
    """Dry run (text and JSON) against the real run; returns what the real run listed."""
    before = tree(top)
    dry_text = run("--dry-run", *args)
    assert dry_text.returncode == 1, (args, dry_text.stderr)
    assert "would" in dry_text.stdout and not PAST.search(dry_text.stdout), dry_text.stdout
    dry = run("--json", "--dry-run", *args)
    assert dry.returncode == 1, dry.stderr
    assert tree(top) == before, f"--dry-run {args} changed something"
    would = listed(json.loads(dry.stdout)["result"])
    real = run("--json", *args)
    assert real.returncode == 0, real.stderr
    did = listed(json.loads(real.stdout))
    assert did == would, (args, would, did)
    return did


def image_dir(where: Path, name: str = "demo", n: int = 3) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    stamps = [f"20261206T1{i}0148Z" for i in range(n)]
    for i, stamp in enumerate(stamps):
        make_sif(where / f"{name}-v{stamp}.sif", seed=i)
    os.symlink(f"{name}-v{stamps[-1]}.sif", where / f"{name}.sif")
    return where


def test_store_commands_do_what_their_dry_run_said(tmp_path: Path) -> None:
    store = image_dir(tmp_path / "demo")
    failed_log = store / "demo-v20261206T190148Z.sif.build.log"
    failed_log.write_text("FATAL: the reason the build failed\n")
    removed = check(tmp_path, ["cleanup", "-k", "0", store], lambda r: sorted(r["removed"]))
    assert str(failed_log) in removed and len(removed) == 3  # the log is named before it goes
    assert run("--dry-run", "cleanup", "-k", "0", store).returncode == 0  # nothing left to do

    store = image_dir(tmp_path / "other", "other")
    check(tmp_path, ["rollback", store], lambda r: [r["version"]])
    check(tmp_path, ["switch", "20261206T120148Z", store], lambda r: [r["version"]])
    assert run("--dry-run", "switch", "20261206T120148Z", store).returncode == 0
    check(tmp_path, ["versions", store, "--protect", "20261206T100148Z"], lambda r: r)
    assert run("--dry-run", "versions", store, "--protect", "20261206T100148Z").returncode == 0
    target = tmp_path / "shared"
    check(tmp_path, ["deploy", store, target], lambda r: sorted(r["copied"]))
    assert run("--dry-run", "deploy", store, target).returncode == 0


@pytest.mark.apptainer
def test_key_sign_and_sbom_do_what_their_dry_run_said(tmp_path: Path, busybox_sif: Path) -> None:
    keys = tmp_path / "keys"
    check(tmp_path, ["key", "new", keys], lambda r: [r["private"], r["public"]])
    image = tmp_path / "img" / "b.sif"
    image.parent.mkdir()
    shutil.copy(busybox_sif, image)
    sbom = tmp_path / "img" / "b.cdx.json"
    check(tmp_path, ["sbom", image, "-o", sbom], lambda r: [r.get("components")])
    assert sbom.is_file()
    check(tmp_path, ["sbom", image, "--embed"], lambda r: [r["embedded"]])
    check(tmp_path, ["sign", image, "--key", keys / "scitex-signing.key"], lambda r: [r["path"]])


def test_dry_run_lines_say_what_would_be_done_and_json_has_one_shape(tmp_path: Path) -> None:
    store = image_dir(tmp_path / "demo")
    version = "20261206T100148Z"
    dry = run("--dry-run", "versions", store, "--protect", version)
    assert dry.returncode == 1 and dry.stdout.strip() == f"would protect {version}", dry.stdout
    real = run("versions", store, "--protect", version)
    assert real.returncode == 0 and real.stdout.startswith(f"protected {version}\n"), real.stdout
    again = run("--dry-run", "versions", store, "--protect", version)
    assert again.returncode == 0 and "already protected" in again.stdout
    # every --json dry run: {"dry_run": true, "result": <the real run's keys>, ...}
    for args in (
        ["cleanup", "-k", "0", store],
        ["cache", "prune", "--all", "--cache-dir", tmp_path],
    ):
        out = run("--json", "--dry-run", *args)
        data = json.loads(out.stdout)
        assert data["dry_run"] is True and "result" in data and "dry_run_commands" in data, args
    snap = tmp_path / "snap.json"
    out = run("--dry-run", "snapshot", "-o", snap)
    assert out.returncode == 1 and out.stdout.startswith(f"would write {snap} "), out.stdout
    assert not snap.exists()
    keys = tmp_path / "keys"
    out = run("--dry-run", "key", "new", keys)
    assert out.returncode == 1 and f"would create a key pair in {keys}" in out.stdout
    assert "fingerprint" not in out.stdout and not keys.exists()  # no key: no fingerprint


def test_docker_dry_run_says_what_it_would_do(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  a:\n    image: busybox\n")
    for action in ("up", "down", "restart"):
        out = run("--dry-run", "docker", action, cwd=tmp_path)
        assert out.returncode == 1, out.stderr
        assert "nothing changed" not in out.stdout
        assert re.search(rf"^would run the \d+ command\(s\) above to {action} ", out.stdout, re.M)


def test_every_dry_run_that_would_fail_fails_as_its_real_run(tmp_path: Path) -> None:
    """Every mutating command of the registry, given a path no command can make."""
    (tmp_path / "afile").write_text("a file, so afile/x can never be made\n")
    through_a_file = tmp_path / "afile" / "x"
    for name in sorted(MUTATING):
        fails_alike(tmp_path, [*name.split(), through_a_file])


def test_store_refusals_are_exit_2_in_the_dry_run_and_the_real_run(tmp_path: Path) -> None:
    """Refused before anything changes: no older version, an empty store, a dangling link."""
    one = image_dir(tmp_path / "one", "one", n=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    dangling = image_dir(tmp_path / "dang", "dang", n=2)
    (dangling / "dang.sif").unlink()
    os.symlink("dang-v20261206T190148Z.sif", dangling / "dang.sif")
    cases = {
        ("rollback", one): "no version older than",
        ("rollback", empty): f"{empty} is empty: no image yet",
        ("rollback", dangling): "which does not exist",
        ("deploy", dangling, tmp_path / "shared"): "no active version",
        ("cleanup", "-k", "0", dangling): "dang.sif",
    }
    for args, said in cases.items():
        error = fails_alike(tmp_path, list(args))
        assert error["exit_code"] == 2 and said in error["error"], (args, error)
    assert not (tmp_path / "shared").exists()
