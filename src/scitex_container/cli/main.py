"""The ``scitex-container`` command: a thin click layer over the library.

Subcommands live one per module and are imported only when used, so
``scitex-container --help`` stays fast.  This module is the one place that
turns the package's errors into a one-line message and an exit code.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from scitex_container import envvars
from scitex_container._version import __version__
from scitex_container.cli.context import apply_verbosity, get_options
from scitex_container.cli.options import dry_run_option, json_option, with_global_letters
from scitex_container.cli.registry import COMMANDS, ROOT_HELP, ours_only
from scitex_container.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, ScitexError

T = TypeVar("T")


def load_command(spec: str) -> click.Command:
    """The command a registry entry names; a broken entry is an error, never a missing command."""
    module_name, attr = spec.split(":")
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"registry entry {spec!r} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(COMMANDS)
        return sorted(names)

    _rest: tuple[str, ...] = ()

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        self._rest = tuple(args[1:])  # what follows the name: is it the seed's spelling?
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None and cmd_name in COMMANDS:
            cmd = load_command(COMMANDS[cmd_name][0])
            if not ours_only(cmd_name, self._rest):
                from scitex_container.cli.seed.apply import with_seed

                cmd = with_seed((cmd_name,), cmd)
        return cmd if cmd is None else with_global_letters(cmd)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from the registry's short help, importing none of them."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx) if name in COMMANDS]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _help_recursive(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value:  # click calls every option's callback; load the printer only when asked
        return
    from scitex_container.cli.seed.help_recursive import show

    show(ctx, param, value)


@click.group(
    cls=LazyGroup, help=ROOT_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@json_option
@dry_run_option
@click.option("-v", "--verbose", count=True, help="More output (-v logs every command run).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.option(
    "--help-recursive",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _help_recursive(ctx, param, value),
    help="Show the help of every command and subcommand (the seed's option).",
)
@click.version_option(__version__, "-V", "--version", prog_name="scitex-container")
def cli(verbose: int, quiet: bool) -> None:
    apply_verbosity(get_options(), verbose, quiet)


def execute(action: Callable[[], T]) -> tuple[T, list[str] | None]:
    """Run a library call, inside a dry run when ``--dry-run`` was given.

    Returns the result and, for a dry run, the commands that would have run.
    """
    opts = get_options()
    if not opts.dry_run:
        return action(), None
    from scitex_container.process import runner

    with runner.dry_run() as recorder:
        result = action()
    return result, recorder.as_shell()


def pending_exit(pending: bool) -> int:
    """The exit code of a command that changes something (pip-tools' habit).

    A dry run that finds something to change exits 1 so CI can gate on it;
    with nothing pending, or when not a dry run, 0.
    """
    opts = get_options()
    return 1 if opts.dry_run and pending else 0


def _json_requested(argv: list[str] | None, flag: str = "--json") -> bool:
    """``flag`` among the arguments (before ``--``), known even when parsing failed."""
    args = sys.argv[1:] if argv is None else argv
    if "--" in args:
        args = args[: args.index("--")]
    return flag in args


#: ``--dry-run`` was given: a failure is then reported in the dry run's JSON shape
_dry_run = False


def _fail(
    message: str, code: int, as_json: bool = False, details: dict[str, Any] | None = None
) -> NoReturn:
    """Report a failure and exit; with --json also as JSON on stdout.

    ``details`` (e.g. a policy refusal's verdict) is added to the JSON object.
    """
    if as_json:
        import json

        one_line = " ".join(message.split()) or "failed"
        error = {"error": one_line, "exit_code": code, **(details or {})}
        if _dry_run:  # the real run's error and code, in the one shape of every dry run
            error = {"dry_run": True, "result": None, "dry_run_commands": [], **error}
        click.echo(json.dumps(error, sort_keys=True, default=str))  # one line, always last
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def usage_line(exc: click.UsageError) -> str:
    """click's usage error (usage, hint, message on three lines) as one line."""
    message = " ".join(exc.format_message().split())
    ctx = exc.ctx
    if ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    return message


def aborted(exc: BaseException, as_json: bool) -> NoReturn:
    """An interrupt ended the command: stop its children, sweep, exit 128 + signum."""
    from scitex_container.files import temporaries
    from scitex_container.process import runner

    cause = exc.__cause__ or exc  # click wraps the interrupt in Abort
    signum = getattr(cause, "signum", None) or getattr(exc, "signum", None) or 2
    runner.stop_children(int(signum))  # children of worker threads too
    temporaries.sweep()  # then what it left half-made, once nothing writes into it
    _fail("aborted", 128 + int(signum), as_json)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: the one place errors become a message and an exit code.

    With ``--json`` a failure also prints ``{"error": ..., "exit_code": N}``
    on stdout (the exit code is the same either way).
    """
    debug = bool(os.environ.get(envvars.DEBUG))
    global _dry_run
    as_json = _json_requested(argv)
    _dry_run = _json_requested(argv, "--dry-run")
    from scitex_container.process import runner

    runner.install_signal_handlers()  # SIGTERM/SIGHUP: the same clean path as Ctrl-C
    try:
        rv: Any = cli.main(args=argv, prog_name="scitex-container", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        ctx = exc.ctx
        if ctx is not None and type(exc).__name__ == "NoArgsIsHelpError":  # a group alone
            if not as_json:
                click.echo(ctx.get_help(), err=True)  # its help, readable, not one line
                sys.exit(EXIT_BAD_INPUT)
            names = ", ".join(ctx.command.list_commands(ctx))  # type: ignore[attr-defined]
            message = f"missing a command: one of {names} (see `{ctx.command_path} --help`)"
            _fail(message, EXIT_BAD_INPUT, as_json)
        _fail(usage_line(exc), EXIT_BAD_INPUT, as_json)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code, as_json)
    except (click.Abort, KeyboardInterrupt) as exc:
        aborted(exc, as_json)
    except ScitexError as exc:
        if debug:
            raise
        located = getattr(exc, "where", None)
        where = {"where": located} if located else {}
        _fail(str(exc), exc.exit_code, as_json, {**where, **(getattr(exc, "details", None) or {})})
    except OSError as exc:  # the one translation: a line naming the path, one code per cause
        if debug:
            raise
        from scitex_container.files.pathinfo import from_oserror

        err = from_oserror(exc)
        _fail(str(err), err.exit_code, as_json)
    except Exception as exc:  # a bug: say so in one line unless debugging
        if debug:
            raise
        if isinstance(exc, RuntimeError):
            from scitex_container.files.pathinfo import link_loop_error

            loop = link_loop_error(exc)
            if loop is not None:
                _fail(str(loop), loop.exit_code, as_json)
        _fail(
            f"internal error: {type(exc).__name__}: {exc} (set {envvars.DEBUG}=1 for a traceback)",
            EXIT_CHECK_FAILED,
            as_json,
        )
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
