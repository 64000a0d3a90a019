"""Console-script entry point with a fast path for the top-level help and version.

Importing click alone costs several times a bare Python start-up here, so
``scitex-container --help`` and ``--version`` are answered from the command
registry without it.  The text equals click's own rendering (a test compares
them at several terminal widths); everything else goes to :mod:`.main`.
"""

from __future__ import annotations

import sys

USAGE_PREFIX = "Usage: scitex-container "
USAGE_ARGS = "[OPTIONS] COMMAND [ARGS]..."


def _width() -> int:
    """click's help width: shutil.get_terminal_size's columns (without importing shutil)."""
    import os

    from scitex_container import envvars

    try:
        columns = int(os.environ[envvars.COLUMNS])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    if columns <= 0:
        columns = 80
    return max(min(columns, 80) - 2, 50)


def _dl(rows: list[tuple[str, str]], width: int, indent: int = 2) -> list[str]:
    """click's HelpFormatter.write_dl, for single-paragraph help strings."""
    import textwrap

    first_col = min(max(len(t) for t, _ in rows), 30) + 2
    text_width = max(width - first_col - 2, 10)
    out: list[str] = []
    for term, text in rows:
        lines = textwrap.wrap(text, text_width, replace_whitespace=False) or [""]
        if len(term) <= first_col - 2:
            out.append(" " * indent + term + " " * (first_col - len(term)) + lines[0])
        else:
            out.append(" " * indent + term)
            out.append(" " * (first_col + indent) + lines[0])
        out += [" " * (first_col + indent) + line for line in lines[1:]]
    return out


def fast_help() -> str:
    import textwrap

    from scitex_container.cli.registry import COMMANDS, ROOT_HELP, ROOT_OPTIONS

    width = _width()
    if width >= len(USAGE_PREFIX) + 20:
        indent = " " * len(USAGE_PREFIX)
        lines = textwrap.wrap(
            USAGE_ARGS, width, initial_indent=USAGE_PREFIX, subsequent_indent=indent
        )
    else:
        lines = [USAGE_PREFIX.rstrip()]
        lines += textwrap.wrap(USAGE_ARGS, width, initial_indent="    ", subsequent_indent="    ")
    lines.append("")
    lines += textwrap.wrap(ROOT_HELP, width, initial_indent="  ", subsequent_indent="  ")
    lines += ["", "Options:", *_dl(list(ROOT_OPTIONS), width)]
    cmds = [(n, h) for n, (_spec, h) in sorted(COMMANDS.items())]
    if cmds:
        lines += ["", "Commands:", *_dl(cmds, width)]
    return "\n".join(lines) + "\n"


def _command_help(path: list[str]) -> None:
    """`CMD --help`: the kept text when there is one, else click's, kept for next time."""
    import contextlib
    import io

    from scitex_container.cli import helpcache

    width = _width()
    text = helpcache.lookup(path, width)
    if text is not None:
        sys.stdout.write(text)
        sys.exit(0)
    from scitex_container.cli.main import main as full_main

    out = io.StringIO()
    code: str | int | None = 0
    try:
        with contextlib.redirect_stdout(out):
            full_main([*path, "--help"])
    except SystemExit as exc:
        code = exc.code
    sys.stdout.write(out.getvalue())
    if code in (0, None) and out.getvalue():
        helpcache.keep(path, width, out.getvalue())
    sys.exit(code)


def main() -> None:
    args = sys.argv[1:]
    if args in (["--help"], ["-h"]):
        sys.stdout.write(fast_help())
        sys.exit(0)
    if args == ["--version"]:
        from scitex_container._version import __version__

        sys.stdout.write(f"scitex-container, version {__version__}\n")
        sys.exit(0)
    if (
        len(args) > 1
        and args[-1] in ("--help", "-h")
        and not any(a.startswith("-") for a in args[:-1])
    ):
        _command_help(args[:-1])
    from scitex_container.process import interrupts

    try:
        from scitex_container.cli.main import main as full_main

        full_main()
    except KeyboardInterrupt as exc:  # one that landed before the CLI's own handling
        from scitex_container.cli.main import _json_requested, aborted

        aborted(exc, _json_requested(args))
    finally:  # the outcome is decided (its SystemExit is on its way): exit with it
        interrupts.finished()


def mcp_main() -> None:
    """Console-script entry point of ``scitex-container-mcp``.

    A signal ends the server at once (``os._exit``) after every running
    call's child was stopped and the temporaries swept.
    """
    import os

    from scitex_container.mcp.stdio_server import main as serve

    serve(exit_now=os._exit)
