"""The glue between a versioned build and the stage cache.

:func:`staged_producer` returns the function :func:`~scitex_container.
apptainer.building.atomic.build_image` calls instead of its one ``apptainer
build``: it runs the stages through the cache and returns the commands it
ran and what to add to the version's metadata (``stage_cache``: each stage,
its key, whether it was reused and how old it was).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from scitex_container import envvars
from scitex_container.apptainer import tool
from scitex_container.apptainer.building.atomic import ProduceFn, build_command
from scitex_container.apptainer.cache import shellstate
from scitex_container.apptainer.cache.entries import DEFAULT_MAX_AGE, StageCache
from scitex_container.apptainer.cache.stage_keys import StageContext
from scitex_container.apptainer.cache.staged import Prepared, StagedReport, prepare, run_staged
from scitex_container.apptainer.cache.stages import StagePlan
from scitex_container.apptainer.deffile.document import DefFile
from scitex_container.errors import StageCacheFallback
from scitex_container.files.fsutil import sha256_file
from scitex_container.process import runner

#: Host files apptainer binds into every build's ``%post`` (its ``APPTAINER_BIND`` there):
#: a piece may read them, so their content is part of every stage's key.
POST_HOST_FILES = ("/etc/hosts", "/etc/resolv.conf")


def _host_files() -> tuple[tuple[str, str], ...]:
    found = []
    for path in POST_HOST_FILES:
        try:
            found.append((f"file:{path}", sha256_file(path)))
        except OSError as exc:
            found.append((f"file:{path}", f"unreadable: {exc.strerror}"))
    return tuple(found)


def prepare_def(
    deffile: DefFile,
    *,
    build_args: Mapping[str, str] | None,
    fakeroot: bool,
    files: tuple[tuple[str, str], ...],
    images: tuple[tuple[str, str], ...],
) -> Prepared:
    """Split and key a def for this host's container tool."""
    binds = envvars.container_build_vars()
    if binds:
        names = ", ".join(sorted(binds))
        why = f"{names} may show %post host files no stage key holds"
        return Prepared(StagePlan((), "", why), ())
    env = tuple(envvars.container_env().items()) + _host_files()
    context = StageContext.here(tool.container_version(), fakeroot, files, images, env)
    return prepare(deffile, build_args=build_args, context=context)


def staged_producer(
    prepared: Prepared,
    cache: StageCache,
    *,
    fakeroot: bool,
    use_sudo: bool,
    build_args: Mapping[str, str] | None,
    progress: Callable[[str], None] | None,
    timeout: float | None,
    cwd: Path,
    max_age: float | None,
    reports: list[StagedReport],
    record: dict | None = None,
    def_path: Path | None = None,
) -> ProduceFn:
    """What ``build_image`` runs in place of its single ``apptainer build``.

    A stage the cache cannot hold (:class:`~scitex_container.errors.StageCacheFallback`)
    does not fail the build: ``def_path`` is built cold and the report says why."""

    def produce(out: Path, sandbox: bool, env: Mapping[str, str] | None, log: Path, scratch: Path):
        # (`sudo -n` resets the environment: no token reaches %post through it)
        nonce = None if runner.with_sudo([], use_sudo) else secrets.token_hex(8)
        staged_env = env
        if nonce is not None:
            staged_env = {**(env or {}), f"APPTAINERENV_{shellstate.NONCE_VAR}": nonce}

        # only the %post pieces cut at checkpoints take the token out of their environment
        pieces = sum(1 for spec in prepared.plan.cached if spec.kind == "post")

        def build(def_file: Path, target: Path, as_sandbox: bool, args: Mapping[str, str]):
            wrapped = pieces > 1 and def_file.stem.startswith("post-")
            return cold(def_file, target, as_sandbox, args, staged_env if wrapped else env)

        def cold(def_file, target, as_sandbox, args, run_env=env) -> tuple[str, ...]:
            argv = build_command(
                def_file,
                target,
                sandbox=as_sandbox,
                fakeroot=fakeroot,
                use_sudo=use_sudo,
                build_args=args,
            )
            runner.stream(
                argv,
                log_path=log,
                on_line=progress,
                timeout=timeout,
                cwd=cwd,
                env=run_env,
                contained=True,  # the stage's build dies with the CLI, as a whole build does
            )
            return tuple(os.fspath(a) for a in argv)

        try:
            report = run_staged(
                prepared,
                cache,
                out,
                sandbox=sandbox,
                build_args=build_args,
                build=build,
                scratch=scratch,
                max_age=DEFAULT_MAX_AGE if max_age is None else max_age,
                progress=progress,
                nonce=nonce,
            )
        except StageCacheFallback as why:
            if def_path is None:
                raise
            if progress is not None:
                progress(f"stage cache: {why}")
            command = cold(def_path, out, sandbox, dict(build_args or {}))  # as written
            notes = (str(why), *cache.notes)
            report = StagedReport(cache.root, (), (), (command,), 0.0, notes)
        reports.append(report)
        if record is not None:
            record["stage_cache"] = report.record()
        return report.commands[-1], {"stage_cache": report.record()}

    return produce
