"""The seed's spelling of each of our commands: which options it adds and how they translate.

``EXTENSIONS`` maps a command path (``("sandbox", "create")``) to a function
that makes the extended command from ours.  The seed's meaning is kept:
``build`` without a name builds ``scitex-final``, ``--def-name`` names the
def, ``-d/--dir`` is the containers (or sandbox) directory, sandbox
commands default to the working directory, ``verify`` without an image
checks the active one, ``-y/--yes`` is accepted (nothing here prompts).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from scitex_container.cli.options import EXISTING, EXISTING_DIR, StorePath, TidyPath
from scitex_container.cli.seed.extend import (
    check_path,
    dir_option,
    extended,
    one_of,
    yes_option,
)

SEED_DEFAULT_DEF = "scitex-final"


def _build(cmd: click.Command) -> click.Command:
    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        kw.pop("seed_base")
        seed_f = kw.pop("seed_f")  # popped first: `or` would skip it when --force is given
        kw["force"] = kw["force"] or seed_f
        kw["definition"] = one_of(kw, "definition", "seed_def_name") or SEED_DEFAULT_DEF
        return kw

    extra = (
        click.Option(
            ["--def-name", "seed_def_name"],
            help="The seed's spelling of DEFINITION (neither given: scitex-final, as the seed).",
        ),
        click.Option(
            ["--base", "seed_base"], is_flag=True, help="Accepted as in the seed (no effect)."
        ),
        click.Option(
            ["-f", "seed_f"], is_flag=True, hidden=True, help="The seed's short form of --force."
        ),
        yes_option(),
    )
    return extended(cmd, extra=extra, optional=("definition",), translate=translate)


def _store_dir(cmd: click.Command) -> click.Command:
    """``switch``/``rollback``/``versions``/``cleanup``: the seed's ``-d/--dir`` is STORE."""

    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        kw["store"] = one_of(kw, "store", "seed_dir")
        if kw["store"] is not None:
            kw["store"] = check_path(kw["store"], StorePath(), "STORE")
        return kw

    return extended(cmd, extra=(dir_option(), yes_option()), translate=translate)


def _sandbox_dir(cmd: click.Command, field: str = "directory") -> click.Command:
    """Sandbox commands: the seed's ``-d/--dir``, and the working directory by default."""

    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        value = one_of(kw, field, "seed_dir") or os.getcwd()
        kw[field] = check_path(value, StorePath(), "DIR")  # as STORE: a sidecar names its store
        return kw

    return extended(cmd, extra=(dir_option(), yes_option()), loose=(field,), translate=translate)


def _sandbox_create(cmd: click.Command) -> click.Command:
    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        kw["source"] = one_of(kw, "source", "seed_sif", "seed_source", required=True)
        return kw

    extra = (
        click.Option(["--sif", "seed_sif"], type=EXISTING, help="The seed's spelling of SOURCE."),
        click.Option(
            ["-s", "--source", "seed_source"],
            type=EXISTING,
            hidden=True,  # -s is --sandbox-dir elsewhere: the seed's spelling works, unadvertised
            help="The seed's spelling of SOURCE.",
        ),
        yes_option(),
    )
    return extended(cmd, extra=extra, optional=("source",), translate=translate)


def _sandbox_maintain(cmd: click.Command) -> click.Command:
    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        seed = one_of(kw, "seed_sandbox", "seed_sandbox_dir")
        kw.pop("seed_sandbox")
        command = tuple(kw["command"])
        if seed is not None:  # then every positional is the command
            if kw["sandbox_dir"] is not None:
                command = (kw["sandbox_dir"], *command)
            kw["sandbox_dir"] = seed
        if kw["sandbox_dir"] is None:
            raise click.UsageError("missing SANDBOX_DIR (or --sandbox DIR)")
        if not command:
            raise click.UsageError("missing COMMAND")
        kw["sandbox_dir"] = check_path(kw["sandbox_dir"], EXISTING_DIR, "SANDBOX_DIR")
        kw["command"] = command
        return kw

    extra = (
        click.Option(
            ["--sandbox", "seed_sandbox"], type=EXISTING_DIR, help="The seed's SANDBOX_DIR."
        ),
        click.Option(
            ["-s", "--sandbox-dir", "seed_sandbox_dir"],
            type=EXISTING_DIR,
            help="The seed's SANDBOX_DIR.",
        ),
    )
    return extended(cmd, extra=extra, loose=("sandbox_dir", "command"), translate=translate)


def _sandbox_dir_option(cmd: click.Command) -> click.Command:
    """``update``/``ps1``: the seed's ``-s/--sandbox-dir``."""
    extra: list[click.Parameter] = [
        click.Option(
            ["-s", "--sandbox-dir", "seed_sandbox_dir"],
            type=EXISTING_DIR,
            help="The seed's spelling of SANDBOX_DIR.",
        ),
        yes_option(),
    ]
    names = {p.name for p in cmd.params}
    if "proj_root" in names:
        extra += [
            click.Option(
                ["-r", "seed_r"], type=TidyPath(), hidden=True, help="The seed's --proj-root."
            ),
            click.Option(["--pkg", "seed_pkg"], help="The seed's --package (one)."),
        ]
    if "default_ps1" in names:
        extra.append(click.Option(["--ps1", "seed_ps1"], help="The seed's --default."))

    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        value = one_of(kw, "sandbox_dir", "seed_sandbox_dir", required=True)
        kw["sandbox_dir"] = check_path(value, EXISTING_DIR, "SANDBOX_DIR")
        if "proj_root" in kw:
            kw["proj_root"] = one_of(kw, "proj_root", "seed_r")
            pkg = kw.pop("seed_pkg")
            kw["packages"] = (*kw["packages"], *([pkg] if pkg else []))
        if "default_ps1" in kw:
            ps1 = kw.pop("seed_ps1")
            kw["default_ps1"] = ps1 if ps1 is not None else kw["default_ps1"]
        return kw

    return extended(cmd, extra=tuple(extra), loose=("sandbox_dir",), translate=translate)


def _deploy(cmd: click.Command) -> click.Command:
    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        from scitex_container.apptainer.store.implied import implied_store

        kw["target"] = one_of(kw, "target", "seed_target")
        source = one_of(kw, "source", "seed_dir") or implied_store("SOURCE").dir
        kw["source"] = check_path(str(source), EXISTING, "SOURCE")
        return kw

    extra = (
        click.Option(["-t", "--target", "seed_target"], help="The seed's spelling of TARGET."),
        dir_option("The seed's spelling of SOURCE (default: the containers directory)."),
        yes_option(),
    )
    return extended(cmd, extra=extra, loose=("source",), translate=translate)


def _verify(cmd: click.Command) -> click.Command:
    def translate(kw: dict[str, Any]) -> dict[str, Any]:
        if kw["image"] is None:  # the seed's default: the active image
            from scitex_container.apptainer.store.implied import implied_image

            kw["image"] = str(implied_image("IMAGE"))
        kw["image"] = check_path(kw["image"], EXISTING, "IMAGE")
        return kw

    return extended(cmd, loose=("image",), translate=translate)


def _yes(cmd: click.Command) -> click.Command:
    return extended(cmd, extra=(yes_option(),))


Extender = Callable[[click.Command], click.Command]

EXTENSIONS: dict[tuple[str, ...], Extender] = {
    ("build",): _build,
    ("switch",): _store_dir,
    ("rollback",): _store_dir,
    ("versions",): _store_dir,
    ("cleanup",): _store_dir,
    ("deploy",): _deploy,
    ("verify",): _verify,
    ("snapshot",): _yes,
    ("sandbox", "create"): _sandbox_create,
    ("sandbox", "maintain"): _sandbox_maintain,
    ("sandbox", "list"): _sandbox_dir,
    ("sandbox", "switch"): _sandbox_dir,
    ("sandbox", "rollback"): _sandbox_dir,
    ("sandbox", "cleanup"): _sandbox_dir,
    ("sandbox", "update"): _sandbox_dir_option,
    ("sandbox", "ps1"): _sandbox_dir_option,
    ("host", "install"): _yes,
    ("docker", "rebuild"): _yes,
    ("docker", "restart"): _yes,
}

#: Subcommands the seed names differently: group -> {seed name: our name}.
SUB_ALIASES: dict[str, dict[str, str]] = {
    "sandbox": {"clean": "cleanup", "configure-ps1": "ps1"},
    "host": {"show-mounts": "mounts"},
}

#: Commands the seed had that we add as they were: group -> {name: "module:attribute"}.
SUB_EXTRA: dict[str, dict[str, str]] = {
    "sandbox": {"purge-sifs": "scitex_container.cli.seed.purge_sifs:purge_sifs"},
}
