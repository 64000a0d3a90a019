"""``--help-recursive`` (the seed's): the help of every command and subcommand, in one text."""

from __future__ import annotations

import click


def render(ctx: click.Context, command: click.Command, prefix: str) -> list[str]:
    out = [f"=== {prefix} ===", command.get_help(ctx)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None:
                continue
            with click.Context(sub, info_name=name, parent=ctx) as sub_ctx:
                out += ["", *render(sub_ctx, sub, f"{prefix} {name}")]
    return out


def show(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """The eager option's callback: print everything and exit 0."""
    if not value or ctx.resilient_parsing:
        return
    root = ctx.find_root()
    click.echo("\n".join(render(root, root.command, "scitex-container")))
    ctx.exit(0)


def show_group(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """The same for one group (``mcp --help-recursive``): it and its subcommands."""
    if not value or ctx.resilient_parsing:
        return
    names = [c.info_name or "" for c in _chain(ctx)[1:]]
    click.echo("\n".join(render(ctx, ctx.command, " ".join(["scitex-container", *names]))))
    ctx.exit(0)


def _chain(ctx: click.Context) -> list[click.Context]:
    out: list[click.Context] = []
    current: click.Context | None = ctx
    while current is not None:
        out.insert(0, current)
        current = current.parent
    return out


#: ``--help-recursive`` for a group (the seed's groups have it).
group_option = click.option(
    "--help-recursive",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=show_group,
    help="Show the help of this group and every subcommand (the seed's option).",
)
