"""The command registry is strict: every entry imports, and it lists exactly what click exposes."""

from __future__ import annotations

import click
import pytest

from scitex_container.cli.main import cli, load_command
from scitex_container.cli.registry import COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registry_entry_imports_a_click_command(name: str) -> None:
    command = load_command(COMMANDS[name][0])
    assert isinstance(command, click.Command)
    assert command.name == name


def test_the_registry_equals_the_commands_click_exposes() -> None:
    ctx = click.Context(cli)
    listed = cli.list_commands(ctx)
    assert listed == sorted(COMMANDS)
    for name in listed:
        assert cli.get_command(ctx, name) is not None, name


def test_a_misspelt_registry_entry_fails_loudly_instead_of_hiding_the_command() -> None:
    with pytest.raises(ModuleNotFoundError):
        load_command("scitex_container.cli.sgn:sign")
    with pytest.raises(AttributeError):
        load_command("scitex_container.cli.sign:sgn")
    with pytest.raises(TypeError, match="not a click command"):
        load_command("scitex_container.cli.registry:ROOT_HELP")
