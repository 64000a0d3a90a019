"""Options and arguments shared by several commands, defined once.

``--json`` and ``--dry-run`` are accepted both before the command name
(global) and after it (per command); either turns the mode on.  Path
arguments that must exist use :data:`EXISTING`: a missing path is a usage
error (exit 2) that names it.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import click

from scitex_container.cli.context import get_options


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        get_options(ctx).json = True
    return value


def _set_dry_run(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        get_options(ctx).dry_run = True
    return value


json_option = click.option(
    "--json",
    "json_",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_json,
    help="Print machine-readable JSON on stdout.",
)
dry_run_option = click.option(
    "--dry-run",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_dry_run,
    help="Show the commands that would run; change nothing (exit 1 if something would change).",
)


def _after_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value:
        from scitex_container.cli.context import apply_verbosity

        apply_verbosity(get_options(ctx), verbose=value)
    return value


def _after_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        from scitex_container.cli.context import apply_verbosity

        apply_verbosity(get_options(ctx), quiet=True)
    return value


_GLOBAL_LETTERS = "_scitex_global_letters"


def with_global_letters(cmd: click.Command) -> click.Command:
    """``cmd`` (and every subcommand) also taking the global ``-v``/``-q`` after its name.

    One rule for every global option: ``--json``, ``--dry-run``, ``-v`` and
    ``-q`` mean the same before and after the command name.  A command with
    its own ``-v`` (``mcp list-tools``: more detail) keeps it.
    """
    if getattr(cmd, _GLOBAL_LETTERS, False):
        return cmd
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            with_global_letters(sub)
    taken = {
        o for p in cmd.params for o in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])
    }
    if "-v" not in taken and "--verbose" not in taken:
        cmd.params.append(
            click.Option(
                ["-v", "--verbose", "global_verbose"],
                count=True,
                expose_value=False,
                hidden=True,  # the root's -v, said once in the root's help
                callback=_after_verbose,
            )
        )
    if "-q" not in taken and "--quiet" not in taken:
        cmd.params.append(
            click.Option(
                ["-q", "--quiet", "global_quiet"],
                is_flag=True,
                expose_value=False,
                hidden=True,
                callback=_after_quiet,
            )
        )
    setattr(cmd, _GLOBAL_LETTERS, True)
    return cmd


def refused_letter(letter: str, instead: str, meaning: str):
    """A retired letter: refused in one line saying what to write instead (never guessed)."""

    def refuse(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value not in (None, (), False):
            raise click.UsageError(f"{letter} is {meaning} elsewhere; write {instead} here")
        return value

    return click.option(
        letter,
        f"retired_{letter[1:]}",
        hidden=True,
        expose_value=False,
        callback=refuse,
        multiple=True,
    )


def common_options(func):
    """Add ``--json`` and ``--dry-run`` to a command."""
    return json_option(dry_run_option(func))


class TidyPath(click.Path):
    """A path argument, tidied (``a/../b`` -> ``b`` where that is the same file)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            from scitex_container.files.pathinfo import not_a_directory, tidy_path

            value = tidy_path(value)
            if not self.file_okay and value != "-":  # click passes a FIFO or device here
                kind = not_a_directory(value)
                if kind is not None:
                    raise kind
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            if isinstance(value, str) and value != "-":
                self._house_form(value)
            raise

    def _house_form(self, value: str) -> None:
        """click's "Path ... does not exist", "File ... is a directory", "Directory ... is a
        file", "... is not readable" said as every other command says them (pathinfo)."""
        import stat

        from scitex_container.errors import PathKindError
        from scitex_container.files import pathinfo

        try:
            mode = os.stat(value).st_mode
        except FileNotFoundError:
            if self.exists:  # a dangling link or loop said as such
                raise pathinfo.not_found(value) from None
            return
        except OSError as exc:
            raise pathinfo.from_oserror(exc, value) from None
        if not self.dir_okay and stat.S_ISDIR(mode):
            raise PathKindError(f"{value}: is a directory, not a file")
        if not self.file_okay and not stat.S_ISDIR(mode):
            raise pathinfo.not_a_directory(value) or PathKindError(f"{value}: not a directory")
        if self.readable and not os.access(value, os.R_OK):
            raise pathinfo.not_readable(value)
        if self.writable and not os.access(value, os.W_OK):
            raise pathinfo.not_writable(value)
        if self.executable and not os.access(value, os.X_OK):
            raise pathinfo.not_readable(value)


class ExistingPath(TidyPath):
    """A path that must exist: a source read as an image, def, sandbox or key.

    A dangling link is refused as one (``PATH: is a dangling link (to X)``,
    exit 2) unless ``dangling_ok`` (a STORE: stores are reached through links
    whose version the store names)."""

    def __init__(self, dangling_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dangling_ok = dangling_ok

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                os.lstat(value)
            except OSError as exc:  # said as what it is: not found, permission, loop...
                from scitex_container.files.pathinfo import from_oserror

                raise from_oserror(exc, value) from None
            if os.path.islink(value) and not os.path.exists(value):
                try:  # a link loop is said as one; a dangling link too, but for a store
                    os.stat(value)
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        from scitex_container.files.pathinfo import from_oserror

                        raise from_oserror(exc, value) from None
                    if not self.dangling_ok:
                        from scitex_container.files.pathinfo import not_found

                        raise not_found(value) from None
            if not self.file_okay and os.path.exists(value) and not os.path.isdir(value):
                from scitex_container.errors import PathKindError
                from scitex_container.files.pathinfo import not_a_directory

                raise not_a_directory(value) or PathKindError(f"{value}: not a directory")
        return super().convert(value, param, ctx)


class StorePath(ExistingPath):
    """STORE: an existing path, or the missing active link of a store beside it (the path
    the store's own advice names: "move it away, then `switch VERSION LINK`").

    A version or the active link need not be readable here (``versions`` never
    reads the SIF; a command that does says so, naming the version's owner and
    mode); a store directory must be."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dangling_ok=True, readable=False, **kwargs)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        dir_closed = isinstance(value, str) and os.path.isdir(value)
        if dir_closed and not os.access(value, os.R_OK | os.X_OK):
            from scitex_container.files import pathinfo

            raise pathinfo.not_readable(value)
        if isinstance(value, str) and not os.path.lexists(value):
            from scitex_container.apptainer.store.opening import missing_link_store

            if missing_link_store(value) is not None:
                return TidyPath.convert(self, value, param, ctx)
        return super().convert(value, param, ctx)


EXISTING = ExistingPath()
EXISTING_DIR = ExistingPath(file_okay=False)
EXISTING_FILE = ExistingPath(dir_okay=False)


def sudo_option(
    help: str = "Use sudo (sudo -n) where the target is not writable; never by default.",
):
    return click.option("--sudo", "use_sudo", is_flag=True, help=help)


fakeroot_option = click.option(
    "--fakeroot/--no-fakeroot", default=None, help="Override the automatic --fakeroot choice."
)


#: How many versions `cleanup` and `sandbox cleanup` keep unless told (one default for the CLI;
#: the library's ``cleanup(keep=3)`` / ``cleanup_sandboxes(keep=5)`` keep the reference's own).
KEEP_DEFAULT = 3


def keep_option(what: str = "Versions"):
    return click.option(
        "-k",
        "--keep",
        type=click.IntRange(min=0),
        default=KEEP_DEFAULT,
        show_default=True,
        help=f"Keep the N newest {what.lower()}; the active and protected ones stay in any case"
        f" (an active older than the N newest stays beside them; the same default in every"
        f" cleanup).",
    )


#: STORE: a store directory or its active link; it defaults to the containers directory.
store_argument = click.argument("store", required=False, type=StorePath())
#: DIR of a sandbox store: its directory, its link, a version or a sidecar of one (as STORE).
sandbox_dir_argument = click.argument("directory", metavar="DIR", type=StorePath())

APT_SCOPES = ("added", "explicit", "all", "none")

apt_scope_option = click.option(
    "--apt-scope",
    type=click.Choice(APT_SCOPES),
    default="added",
    show_default=True,
    help="dpkg packages to pin: beyond the bootstrap, only those the def names, all, or none.",
)
snapshot_mirror_option = click.option(
    "--snapshot",
    "snapshot_mirror",
    metavar="WHEN|URL",
    help="Add a dated apt archive (20240115T000000Z, 2024-01-15, `lock` = capture time, or a URL).",
)
pip_options_option = click.option(
    "--pip-option",
    "pip_options",
    multiple=True,
    metavar="OPT",
    help="A pip source option for the pins (repeatable).",
)


#: ``cleanup --force``: remove versions even when the active one cannot be told.
cleanup_force_option = click.option(
    "--force",
    is_flag=True,
    help="Remove old versions even when the active link is missing, dangling or points "
    "outside (then no version is known to be active and any may go).",
)


def plain_http_option():
    return click.option(
        "--plain-http",
        is_flag=True,
        help="Speak http, not https, to the registry (a loopback registry always gets http).",
    )
