"""`scitex-container build`: build a .def into a new version of its image (unchanged: skipped)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import (
    EXISTING_FILE,
    TidyPath,
    common_options,
    fakeroot_option,
    sudo_option,
)
from scitex_container.cli.output import emit, info


def parse_build_args(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, eq, val = value.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint="--build-arg")
        out[key] = val
    return out


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def stage_lines(result) -> list[str]:
    """One line per stage of a build through the stage cache."""
    if result.cache_note and not result.stages:
        return [f"stage cache not used: {result.cache_note}"]
    out = [f"stage cache: {result.cache_note}"] if result.cache_note else []
    for stage in result.stages:
        if stage.skipped:
            out.append(f"stage {stage.name}: {stage.lookup}")
        elif stage.reused:
            age = f" ({_age(stage.age)} old)" if stage.age is not None else ""
            out.append(f"stage {stage.name}: reused {stage.key[:12]}{age}")
        else:
            out.append(f"stage {stage.name}: built in {stage.duration:.1f}s ({stage.lookup})")
    return out


@click.command()
@click.argument("definition")
@click.option(
    "-o",
    "--output-dir",
    type=TidyPath(file_okay=False),
    help="Directory of the per-image subdirectory.",
)
@click.option("-n", "--name", "image_name", help="Image name (default: the .def's stem).")
@click.option("--sandbox", is_flag=True, help="Build a sandbox directory instead of a SIF.")
@click.option("--force", is_flag=True, help="Rebuild even if the inputs did not change.")
@click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="A build argument (repeatable).",
)
@fakeroot_option
@sudo_option("Run apptainer through sudo (never by default).")
@click.option(
    "--sign",
    "sign_key",
    type=EXISTING_FILE,
    help="PEM private key: sign the new image (and its build statement) before publishing.",
)
@click.option(
    "--cache/--no-cache",
    "use_cache",
    default=None,
    help="Resume from the deepest cached stage (checkpoints: `# scitex: checkpoint` in %post); "
    "--no-cache builds cold.  Default: on, unless $SCITEX_CONTAINER_STAGE_CACHE=0.",
)
@click.option(
    "--cache-dir",
    type=TidyPath(file_okay=False),
    help="The stage cache directory (default: per user, under the XDG cache dir); "
    "naming one turns the cache on as --cache does.",
)
@click.option(
    "--cache-max-age",
    metavar="AGE",
    help="Rebuild a cached stage that reached the network once older than AGE "
    "(e.g. 12h, 7d; default 7d).",
)
@click.option(
    "--cache-max-size",
    metavar="SIZE",
    help="Evict least recently used stages past SIZE (e.g. 50G; default "
    "$SCITEX_CONTAINER_STAGE_CACHE_MAX_SIZE, else 20G).",
)
@common_options
def build(
    definition,
    output_dir,
    image_name,
    sandbox,
    force,
    build_args,
    fakeroot,
    use_sudo,
    sign_key,
    use_cache,
    cache_dir,
    cache_max_age,
    cache_max_size,
) -> int:
    """Build DEFINITION (a .def path, or a name in the containers directory).

    The image lands at OUTPUT_DIR/NAME/NAME.sif, a link to the new version
    NAME-v<timestamp>.sif.  When nothing the build reads has changed,
    apptainer is not run and the active version is kept.  With --dry-run,
    exit 1 when a build is pending, 0 when the image is up to date.
    """
    from pathlib import Path

    from scitex_container.apptainer.building.versioned import build_version
    from scitex_container.apptainer.cache.entries import (
        StageCache,
        enabled_by_default,
        parse_age,
        parse_size,
    )
    from scitex_container.cli.progress import observing, progress_line

    opts = get_options()
    max_age = parse_age(cache_max_age) if cache_max_age is not None else None
    max_bytes = parse_size(cache_max_size) if cache_max_size is not None else None
    if use_cache is None:
        use_cache = cache_dir is not None or enabled_by_default()
    is_path = definition.endswith(".def") or "/" in definition
    kwargs = dict(
        output_dir=output_dir,
        force=force,
        sandbox=sandbox,
        image_name=image_name,
        use_sudo=use_sudo,
        fakeroot=fakeroot,
        build_args=parse_build_args(build_args) or None,  # none: the active version's
        sign_key=sign_key,
        stage_cache=StageCache(cache_dir, max_bytes=max_bytes) if use_cache else None,
        cache_max_age=max_age,
    )
    if is_path:
        from scitex_container.files.pathinfo import regular_file, tidy_path

        definition = tidy_path(definition)
        regular_file(definition, "def file")
        kwargs["def_path"] = Path(definition)
    else:
        kwargs["def_name"] = definition
    label = f"building {definition}"
    from scitex_container.errors import PermissionDeniedError

    try:
        with progress_line(opts, label) as progress, observing(progress, label):
            result, commands = execute(lambda: build_version(progress=progress, **kwargs))
    except PermissionDeniedError as exc:
        raise _refused_dir(exc) from None
    for path in result.swept:
        info(f"removed {path} (left by a killed command)", opts)
    args = " ".join(f"{k}={v}" for k, v in sorted((result.build_args or {}).items()))
    with_args = f" with {args}" if args else ""
    notes: list[str] = []  # the stages: notes on stderr, silenced by -q (cli/output.py)
    if result.activates:  # a kept version built from exactly these inputs
        verb = "would activate" if commands is not None else "activated"
        text = f"{verb} {result.version}: inputs unchanged since {result.version} ({result.path}"
        text += f", was {result.switched_from})" if result.switched_from else ")"
    elif commands:
        text = f"would build version {result.version} of {result.path}{with_args}"
    elif result.built:
        text = (
            f"built {result.path} -> version {result.version}{with_args} in {result.duration:.1f}s"
        )
        notes = stage_lines(result)
    else:
        text = f"unchanged: {result.path} (version {result.version}); nothing to build"
    emit(result, opts, text=text, dry_run_commands=commands)
    if not opts.json:
        for line in notes:
            info(f"  {line}", opts)
    return pending_exit(bool(commands) or result.activates)


def _refused_dir(exc: Exception) -> Exception:
    """apptainer's "mkdir X: permission denied" said in the house form, owner and mode named.

    As root, a ``--fakeroot`` build runs in a user namespace without root's
    power over other users' files: a store directory of another user refuses it.
    """
    import os
    import re

    from scitex_container.errors import AccessDeniedError
    from scitex_container.files.pathinfo import owner_mode

    found = re.search(r"(/[^\s:]+): permission denied", str(getattr(exc, "reason", "")))
    if found is None:
        return exc
    here = os.path.dirname(found.group(1))
    while here not in ("", "/"):
        try:
            st = os.stat(here)
        except OSError:
            here = os.path.dirname(here)
            continue
        if st.st_uid != os.geteuid():
            hint = ""
            if "--fakeroot" in getattr(exc, "argv", []) and os.geteuid() == 0:
                hint = "; a --fakeroot build as root cannot enter another user's directory"
                hint += " (use --no-fakeroot, or build as its owner)"
            return AccessDeniedError(f"{here}: permission denied ({owner_mode(here)}){hint}")
        here = os.path.dirname(here)
    return exc
