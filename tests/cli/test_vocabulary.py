"""One vocabulary (issue 21, item 5): each option letter means one thing in every command.

The README's option-letter table is the contract; this walks click's whole
command tree and checks every short option against it, hidden ones too: a
hidden letter means what the table says, or is one of the seed's letters the
README lists (the seed's command line is the contract), or is refused.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import click
import pytest
from clirun import cli as cli_run
from clitree import every_command, params

from scitex_container.cli.main import cli

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(-[A-Za-z])` \| (.+?) \| (.+?) \|$")


def readme_letters() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    text = README.read_text()
    for line in text[: text.index("| seed letter | in | means there |")].splitlines():
        m = ROW.match(line.strip())
        if m:
            table[m.group(1)] = set(re.findall(r"`(--[a-z-]+)`", m.group(3)))
    return table


SEED_ROW = re.compile(r"^\| `(-[A-Za-z])` \| (.+?) \| (.+?) \|$")


def readme_seed_letters() -> set[tuple[str, str]]:
    """(letter, command) pairs of the README's seed-letter table."""
    text = README.read_text()
    start = text.index("| seed letter | in | means there |")
    pairs: set[tuple[str, str]] = set()
    for line in text[start:].splitlines()[2:]:
        m = SEED_ROW.match(line.strip())
        if not m:
            break
        commands = re.findall(r"`([^`]+)`", m.group(2))
        assert commands, f"README's seed-letter row names no command: {line}"
        for command in commands:
            pairs.add((m.group(1), command))
    return pairs


def used_letters(hidden: bool = False) -> dict[str, dict[str, set[str]]]:
    """letter -> long name -> commands using it (visible options; hidden ones only if asked)."""
    out: dict[str, dict[str, set[str]]] = {}
    for path, cmd in every_command(cli):
        for param in params(cmd):
            if not isinstance(param, click.Option) or param.hidden != hidden:
                continue
            if (param.name or "").startswith("retired_"):
                continue  # refused in one line (test_retired_letters_are_refused)
            longs = [o for o in param.opts + param.secondary_opts if o.startswith("--")]
            for short in (o for o in param.opts + param.secondary_opts if len(o) == 2):
                for long in longs or ["(none)"]:
                    out.setdefault(short, {}).setdefault(long, set()).add(" ".join(path))
    return out


def test_every_letter_in_use_is_in_the_readme_with_its_meaning() -> None:
    table = readme_letters()
    used = used_letters()
    assert set(used) <= set(table), "add the letter to README's option-letter table"
    assert set(table) - set(used) <= {"-h"}, "drop letters no command uses from the table"
    for letter, longs in used.items():
        assert set(longs) <= table[letter], (letter, longs)


def test_hidden_letters_mean_the_table_or_are_the_seeds_listed_ones() -> None:
    """No hidden letter quietly means something else (`docker down -v` removed volumes)."""
    table = readme_letters()
    seed = readme_seed_letters()
    assert seed, "README's seed-letter table is missing"
    found: set[tuple[str, str]] = set()
    for letter, longs in used_letters(hidden=True).items():
        for long, commands in longs.items():
            if long in table.get(letter, set()):
                continue
            for command in commands:
                assert (letter, command) in seed, (
                    f"{command} {letter} ({long}) means something the table does not say"
                )
                found.add((letter, command))
    for letter, command in sorted(seed):  # each listed letter is really on the named command
        cmd: click.Command | None = cli
        for name in command.split():
            assert isinstance(cmd, click.Group), f"README's seed table: no command `{command}`"
            cmd = cmd.get_command(click.Context(cmd), name)
        assert cmd is not None, f"README's seed table: no command `{command}`"
        opts = [o for p in cmd.params if isinstance(p, click.Option) for o in p.opts]
        assert letter in opts, f"README's seed table: `{command}` has no {letter}"
    assert seed <= found, ("drop rows no command has from README's seed-letter table", seed - found)


def test_retired_letters_are_refused_in_one_line() -> None:
    for args, instead in (
        (("docker", "logs", "-n", "5"), "--tail N"),
        (("sandbox", "update", "-p", "x", "."), "--package NAME"),
    ):
        out = cli_run(*args)
        assert out.returncode == 2, out
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and f"write {instead}" in lines[0], out.stderr


def test_docker_down_v_is_verbose_and_never_removes_volumes(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  a:\n    image: busybox\n")
    out = cli_run("--dry-run", "docker", "down", "-v", cwd=tmp_path)
    listed = [line for line in out.stdout.splitlines() if " down" in line and "compose" in line]
    assert listed, out
    assert all("-v" not in line.split() and "--volumes" not in line for line in listed), listed
    assert "[scitex]" in out.stderr  # -v after the command name is the global --verbose
    with_volumes = cli_run("--dry-run", "docker", "down", "--volumes", cwd=tmp_path)
    assert any(
        "down -v" in line or "--volumes" in line for line in with_volumes.stdout.splitlines()
    )


def test_global_letters_after_the_command_name() -> None:
    """-v/-q are accepted after the command name, as --json/--dry-run are (one rule)."""
    for letter in ("-v", "-q", "--verbose", "--quiet"):
        out = cli_run("versions", letter, "/nonexistent-store-x")
        assert out.returncode == 2 and "does not exist" in out.stderr, (letter, out.stderr)
        assert "no such option" not in out.stderr


def test_sandbox_create_d_is_dir_as_in_the_table(tmp_path: Path) -> None:
    ctx = click.Context(cli)
    sandbox = cli.get_command(ctx, "sandbox")
    assert isinstance(sandbox, click.Group)
    create = sandbox.get_command(click.Context(sandbox), "create")
    assert create is not None
    parsed = create.make_context("create", ["-d", str(tmp_path), str(tmp_path)])
    assert parsed.params["containers_dir"] == str(tmp_path)


def test_one_keep_default_in_every_cleanup_said_in_help() -> None:
    """`cleanup` and `sandbox cleanup` keep the same number unless told, and say which."""
    from scitex_container.cli.options import KEEP_DEFAULT

    defaults = {
        " ".join(path): param.default
        for path, cmd in every_command(cli)
        for param in params(cmd)
        if isinstance(param, click.Option) and "--keep" in param.opts
    }
    # the seed's own `purge-sifs` keeps its documented 0: "everything listed goes"
    seed = {"sandbox purge-sifs": 0}
    others = {k: v for k, v in defaults.items() if k not in seed}  # aliases (`clean`) included
    assert {"cleanup", "sandbox cleanup"} <= set(others)
    assert set(others.values()) == {KEEP_DEFAULT}, others
    assert {k: defaults[k] for k in seed} == seed
    for command in ("cleanup", "sandbox cleanup"):
        out = cli_run(*command.split(), "--help", env={**os.environ, "COLUMNS": "200"})
        said = re.search(rf"\[default: {KEEP_DEFAULT}[;\]]", out.stdout)
        assert out.returncode == 0 and said, out.stdout


def test_an_empty_stack_status_prints_its_header(tmp_path: Path) -> None:
    """Empty lists print their header: `docker status` of a stack with no containers too."""
    (tmp_path / "docker-compose.yml").write_text("services:\n  a:\n    image: busybox\n")
    out = cli_run("docker", "status", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == ["name", "state", "image"], out.stdout


def test_status_and_versions_share_keys_for_the_same_image(tmp_path: Path) -> None:
    import json

    from storekit import make_sif

    (tmp_path / "demo.def").write_text("Bootstrap: scratch\n")
    make_sif(tmp_path / "demo-v20261206T140148Z.sif", seed=1)
    os.symlink("demo-v20261206T140148Z.sif", tmp_path / "demo.sif")
    status = json.loads(cli_run("--json", "status", str(tmp_path)).stdout)[0]
    version = json.loads(cli_run("--json", "versions", str(tmp_path / "demo.sif")).stdout)[0]
    assert {"path", "size", "date"} <= set(status) & set(version), (status, version)


def test_relative_host_paths_are_taken_from_the_working_directory(
    tmp_path: Path, busybox_sif: Path
) -> None:
    """`--mount rel` was refused while `-p rel` was accepted: one rule for both."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "data").mkdir()
    out = cli_run(
        "--dry-run",
        "session",
        "start",
        str(busybox_sif),
        "--local",
        "-p",
        "proj",
        "--mount",
        "data:/data:ro",
        cwd=tmp_path,
    )
    assert out.returncode in (0, 1), out.stderr
    assert f"{tmp_path / 'data'}:/data:ro" in out.stdout, out.stdout


def _image_store(directory: Path, stamps: list[str], active: str) -> None:
    from storekit import make_sif

    directory.mkdir(parents=True, exist_ok=True)
    for seed, stamp in enumerate(stamps):
        make_sif(directory / f"demo-v{stamp}.sif", seed=seed)
    os.symlink(f"demo-v{active}.sif", directory / "demo.sif")


def test_keep_counts_the_active_among_the_newest_as_the_readme_says(tmp_path: Path) -> None:
    """README's `-k` row, `--help` and `cleanup` say one thing: the N newest are kept, the
    active and protected ones stay in any case (an older active beside the N newest)."""
    said = "the active and protected ones stay in any case"
    row = next(line for line in README.read_text().splitlines() if line.startswith("| `-k` |"))
    assert "keep the N newest" in row and said in row and "counts" not in row, row
    for command in ("cleanup", "sandbox cleanup"):
        out = cli_run(*command.split(), "--help")
        text = " ".join(out.stdout.split())
        assert "the N newest" in text and said in text and "counts" not in text, text
    stamps = [f"20261206T1401{s:02d}Z" for s in range(4)]  # oldest first
    _image_store(tmp_path / "newest", stamps, active=stamps[-1])
    out = cli_run("cleanup", "-k", "2", str(tmp_path / "newest"))
    assert out.returncode == 0, out.stderr
    left = sorted(p.name for p in (tmp_path / "newest").glob("demo-v*.sif"))
    assert left == [f"demo-v{s}.sif" for s in stamps[-2:]], left  # the active is one of the 2
    _image_store(tmp_path / "older", stamps, active=stamps[0])
    out = cli_run("cleanup", "-k", "1", str(tmp_path / "older"))
    assert out.returncode == 0, out.stderr
    left = sorted(p.name for p in (tmp_path / "older").glob("demo-v*.sif"))
    assert left == [f"demo-v{stamps[0]}.sif", f"demo-v{stamps[-1]}.sif"], left  # older active stays


#: Spellings that must never name a thing on their own: the unified key (value) is used,
#: and where a reference shape keeps the old one (cli/output.py KEPT_SPELLINGS) it stands
#: beside the unified one.
SYNONYMS = {
    "returncode": "exit_code",
    "rc": "exit_code",
    "exit_status": "exit_code",
    "created_time": "created_at",
    "project_name": "project",
    "output_path": "path",
    "output_file": "path",
    # counts are `*_count`, a size `*size` (human) beside `*size_bytes`
    "fetched": "fetched_count",
    "replaced_signatures": "replaced_signatures_count",
    "freed": "freed_size_bytes",
}


#: A lock's sections (the seed's {pip, dpkg, node} lock types): in `lock` commands these
#: keys name a section, whose value is that section's packages (a count under `counts`).
#: Known overlap: a session's `node` is the host it runs on (a string).
LOCK_SECTIONS = {"pip", "dpkg", "apk", "node"}


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _walk_keys(data: object, where: str, seen: dict[str, dict[str, str]]) -> None:
    """key -> JSON type -> first command printing it (nulls say nothing about the type)."""
    if isinstance(data, list):
        for item in data:
            _walk_keys(item, where, seen)
        return
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if key in SYNONYMS:
            assert SYNONYMS[key] in data, f"{where}: `{key}` without `{SYNONYMS[key]}` beside it"
        if key in LOCK_SECTIONS and where.startswith("lock "):
            continue  # a lock's sections: name -> version (a count in `counts`)
        if value is not None:
            seen.setdefault(key, {}).setdefault(_json_type(value), where)
        if key not in ("raw", "env", "build_args", "labels", "counts"):  # free-form mappings
            _walk_keys(value, where, seen)


#: keys whose type the seed's published JSON fixes (README, "JSON keys"): `list --json`
#: is the seed's {containers_dir, active: VERSION, versions: [{..., active: bool}]}
SEED_SHAPES = {"list": {"active"}}


def _build_side_outputs(tmp_path: Path, busybox_sif: Path, run) -> None:
    """build, sandbox to-sif, the stage cache, bundle export, lock capture/archive, info:
    the keys they print mean one thing (`path`/`artifact`/`link`/`activated` as build's)."""
    recipe = tmp_path / "hello.def"
    recipe.write_text(f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%post\n    echo hi > /hi\n")
    out, stages = tmp_path / "out", str(tmp_path / "stages")
    built = run("build", "-o", str(out), "--cache-dir", stages, str(recipe))
    store = out / "hello"
    assert isinstance(built, dict) and built["path"] == built["link"] == str(store / "hello.sif")
    assert built["activated"] is True and built["activates"] is False, built
    first = built["artifact"]
    assert isinstance(built["command"], str) and built["argv"][0] in ("apptainer", "singularity")
    sandbox = tmp_path / "sb"
    made = cli_run("sandbox", "create", str(busybox_sif), "-o", str(sandbox))
    assert made.returncode == 0, made.stderr
    to_sif = run("sandbox", "to-sif", str(sandbox), str(store))
    assert isinstance(to_sif, dict) and to_sif["path"] == to_sif["link"] == built["link"]
    assert (
        to_sif["artifact"] != first
        and os.readlink(store / "hello.sif") == Path(to_sif["artifact"]).name
    )
    assert to_sif["activated"] is True and to_sif["activates"] is False, to_sif
    again = run("build", "-o", str(out), "--cache-dir", stages, str(recipe))  # reuses `first`
    assert isinstance(again, dict) and again["artifact"] == first, again
    assert again["activates"] is True and again["activated"] is True and again["built"] is False
    listed = run("cache", "list", "--cache-dir", stages)
    assert isinstance(listed, list) and listed
    assert all(isinstance(e["size_bytes"], int) and isinstance(e["size"], str) for e in listed)
    run("list", str(store))
    run("info")
    lock = tmp_path / "hello.lock"
    run("lock", "capture", str(store / "hello.sif"), "-o", str(lock))
    run("lock", "archive", str(lock), "-o", str(tmp_path / "archive"))
    exported = run("bundle", "export", str(store), "-o", str(tmp_path / "b.tar"))
    assert isinstance(exported, dict) and exported["artifact_count"] == 0


@pytest.mark.apptainer
def test_json_keys_have_one_spelling_and_one_type_across_commands(
    tmp_path: Path, busybox_sif: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same thing has the same key and the same JSON type whichever command prints it.

    Runs a spread of commands with --json (sessions, store, deploy, snapshot,
    host, docker) and checks every key of every output: a key is one type (`env` a
    mapping everywhere), an old spelling only beside the unified one.
    """
    monkeypatch.setenv("SCITEX_CONTAINER_SESSIONS_DIR", str(tmp_path / "sessions"))
    (tmp_path / "proj").mkdir()
    _image_store(tmp_path / "demo", ["20261206T140148Z", "20261206T150148Z"], "20261206T150148Z")
    outputs: dict[str, object] = {}

    def run(*args: str, cwd: Path | None = None) -> object:
        out = cli_run("--json", *args, cwd=cwd)
        assert out.stdout.strip(), (args, out.stderr)
        last = args[1:2] == ("exec",)  # `session exec`: the final line
        data = json.loads(out.stdout.strip().splitlines()[-1] if last else out.stdout)
        outputs[" ".join(a for a in args[:2] if not a.startswith("/"))] = data
        return data

    store, target = str(tmp_path / "demo"), str(tmp_path / "shared")
    started = run("session", "start", "--local", str(busybox_sif), "-p", str(tmp_path / "proj"))
    assert isinstance(started, dict)
    try:
        assert run("session", "exec", started["id"], "--", "true") == {"exit_code": 0}
    finally:
        stopped = run("session", "stop", started["id"])
    for key in ("created_at", "project", "env"):  # start and stop: the record's one shape
        assert isinstance(stopped, dict) and stopped[key] == started[key], key
    run("versions", store)
    run("--dry-run", "cleanup", "-k", "1", store)
    dry = run("--dry-run", "deploy", store, target)
    real = run("deploy", store, target)
    assert isinstance(dry, dict) and isinstance(real, dict)
    assert dry["result"]["bytes_copied"] == real["bytes_copied"] > 0  # what it would copy
    snap = run("snapshot", "-o", str(tmp_path / "snap.json"))
    assert isinstance(snap, dict) and snap["path"] == str(tmp_path / "snap.json")
    run("host", "mounts")
    stack = tmp_path / f"vocab{os.getpid()}"  # the Compose project is named after it
    stack.mkdir()
    (stack / "docker-compose.yml").write_text("services:\n  a:\n    image: busybox\n")
    status = run("docker", "status", cwd=stack)  # the reference's returncode, exit_code beside
    assert isinstance(status, dict) and status["exit_code"] == status["returncode"] == 0

    _build_side_outputs(tmp_path, busybox_sif, run)

    seen: dict[str, dict[str, str]] = {}
    for where, data in outputs.items():
        if where in SEED_SHAPES and isinstance(data, dict):  # README: the seed's own shape
            data = {k: v for k, v in data.items() if k not in SEED_SHAPES[where]}
        _walk_keys(data, where, seen)
    clashes = {key: types for key, types in seen.items() if len(types) > 1}
    assert not clashes, f"one key, several JSON types (command that printed each): {clashes}"
