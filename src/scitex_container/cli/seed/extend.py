"""Making one of our commands also accept the seed's spelling of its arguments.

:func:`extended` returns a copy of a command with the seed's extra options
added (shown in its ``--help``, each saying whose spelling it is), some of
our arguments made optional, and a ``translate`` step that turns the seed's
values into ours before our own callback runs.  Our command objects are not
changed; the copy is what the command line reaches.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import click

from scitex_container.cli.options import TidyPath

Translate = Callable[[dict[str, Any]], dict[str, Any]]

YES_HELP = "Accepted for the seed's scripts; nothing here prompts."


def yes_option() -> click.Option:
    return click.Option(["-y", "--yes", "seed_yes"], is_flag=True, help=YES_HELP)


def dir_option(help: str = "The seed's spelling of the directory argument.") -> click.Option:
    return click.Option(["-d", "--dir", "seed_dir"], type=TidyPath(), help=help)


def extended(
    command: click.Command,
    *,
    name: str | None = None,
    extra: tuple[click.Parameter, ...] = (),
    optional: tuple[str, ...] = (),
    loose: tuple[str, ...] = (),
    translate: Translate | None = None,
    help_prefix: str = "",
) -> click.Command:
    """``command`` also accepting the seed's arguments ``extra`` (see the module doc).

    ``optional`` arguments are no longer required; ``loose`` ones are taken
    as plain text (``translate`` validates them once it knows what they are).
    """
    params: list[click.Parameter] = []
    for param in command.params:
        if param.name in optional or param.name in loose:
            param = copy.copy(param)
            param.required = False
            if param.name in loose:
                param.type = click.STRING
        params.append(param)
    params += list(extra)

    def callback(**kwargs: Any) -> Any:
        kwargs.pop("seed_yes", None)
        if translate is not None:
            kwargs = translate(kwargs)
        assert command.callback is not None
        return click.get_current_context().invoke(command.callback, **kwargs)

    return click.Command(
        name or command.name,
        params=params,
        callback=callback,
        help=(help_prefix + (command.help or "")).strip(),
        short_help=command.short_help,
        context_settings=dict(command.context_settings),
        epilog=command.epilog,
    )


def one_of(kwargs: dict[str, Any], ours: str, *seed: str, required: bool = False) -> Any:
    """The one value given among our argument ``ours`` and the seed's names for it."""
    names = [ours, *seed]
    given = [(n, kwargs.pop(n, None) if n != ours else kwargs.get(n)) for n in names]
    present = [(n, v) for n, v in given if v not in (None, "", ())]
    if len(present) > 1:
        shown = " and ".join(_label(n) for n, _ in present)
        raise click.UsageError(f"{shown} name the same thing; give one")
    if not present and required:
        raise click.UsageError(f"missing {_label(ours)} (or {', '.join(map(_label, seed))})")
    return present[0][1] if present else None


def _label(name: str) -> str:
    return (
        "--" + name.removeprefix("seed_").replace("_", "-")
        if name.startswith("seed_")
        else name.upper()
    )


def check_path(value: str, param_type: click.ParamType, hint: str) -> str:
    """Validate a loose argument as its original type would have, naming it."""
    try:
        return str(param_type.convert(value, None, click.get_current_context()))
    except click.BadParameter as exc:
        exc.param_hint = hint
        raise
