"""One vocabulary (issue 21, item 5): each option letter means one thing in every command.

The README's option-letter table is the contract; this walks click's whole
command tree and checks every visible short option against it (hidden old
spellings are kept for scripts and are not part of the vocabulary).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click

from scitex_container.cli.main import cli

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(-[A-Za-z])` \| (.+?) \| (.+?) \|$")


def readme_letters() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for line in README.read_text().splitlines():
        m = ROW.match(line.strip())
        if m:
            table[m.group(1)] = set(re.findall(r"`(--[a-z-]+)`", m.group(3)))
    return table


def used_letters() -> dict[str, dict[str, set[str]]]:
    """letter -> long name -> commands using it (visible options only)."""
    out: dict[str, dict[str, set[str]]] = {}

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        for param in cmd.get_params(click.Context(cmd)):
            if not isinstance(param, click.Option) or param.hidden:
                continue
            longs = [o for o in param.opts + param.secondary_opts if o.startswith("--")]
            for short in (o for o in param.opts + param.secondary_opts if len(o) == 2):
                for long in longs or ["(none)"]:
                    out.setdefault(short, {}).setdefault(long, set()).add(" ".join(path))
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))

    walk(cli, ())
    return out


def test_every_letter_in_use_is_in_the_readme_with_its_meaning() -> None:
    table = readme_letters()
    used = used_letters()
    assert set(used) <= set(table), "add the letter to README's option-letter table"
    assert set(table) - set(used) <= {"-h"}, "drop letters no command uses from the table"
    for letter, longs in used.items():
        assert set(longs) <= table[letter], (letter, longs)


def test_old_spellings_still_work(tmp_path: Path) -> None:
    """A renamed option keeps its old letter as a hidden alias (scripts keep working)."""
    for *args, old in (
        ("docker", "logs", "--help", "-n, --tail"),
        ("docker", "down", "--help", "-v, --volumes"),
        ("sandbox", "update", "--help", "-p, --package"),
        ("sandbox", "create", "--help", "-d, --dir"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "scitex_container", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0
        assert old not in out.stdout and old.split()[-1] in out.stdout  # not advertised
    ctx = click.Context(cli)
    docker = cli.get_command(ctx, "docker")
    assert isinstance(docker, click.Group)
    logs = docker.get_command(click.Context(docker), "logs")
    assert logs is not None
    parsed = logs.make_context("logs", ["-n", "5"])
    assert parsed.params["tail_n"] == 5


def test_one_keep_default_in_every_cleanup_said_in_help() -> None:
    """`cleanup` and `sandbox cleanup` keep the same number unless told, and say which."""
    from scitex_container.cli.options import KEEP_DEFAULT

    defaults: dict[str, object] = {}

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        for param in cmd.get_params(click.Context(cmd)):
            if isinstance(param, click.Option) and "--keep" in param.opts:
                defaults[" ".join(path)] = param.default
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))

    walk(cli, ())
    # the seed's own `purge-sifs` keeps its documented 0: "everything listed goes"
    seed = {"sandbox purge-sifs": 0}
    others = {k: v for k, v in defaults.items() if k not in seed}  # aliases (`clean`) included
    assert {"cleanup", "sandbox cleanup"} <= set(others)
    assert set(others.values()) == {KEEP_DEFAULT}, others
    assert {k: defaults[k] for k in seed} == seed
    for command in ("cleanup", "sandbox cleanup"):
        out = subprocess.run(
            [sys.executable, "-m", "scitex_container", *command.split(), "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "200"},
        )
        said = re.search(rf"\[default: {KEEP_DEFAULT}[;\]]", out.stdout)
        assert out.returncode == 0 and said, out.stdout
