"""Change-detecting builds into an image's store.

``build_version`` hashes every build input; when a kept version was built
from the same inputs (:func:`.decision.unchanged_version`; ``force`` off)
it makes that version active and returns without running apptainer.  Otherwise
it builds a new timestamped version beside the old ones, publishes it
atomically and moves the active link.  Builds of one image serialize on the
store's build lock; the second of two identical builds then does nothing.

Activation passes the site policy's ``switch`` gate either way
(:mod:`..signing.policy`): a reused kept version through :meth:`Store.switch`,
a new SIF version on its temporary file before it is published (a refused
one is never renamed into the store).  A reuse that moves the active link
reports the version it moved from (``switched_from``).
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer import tool
from scitex_container.apptainer.building.atomic import FinalizeFn, ProgressFn, _resolve, build_image
from scitex_container.apptainer.building.decision import (
    active_build_args,
    image_store,
    unchanged_version,
)
from scitex_container.apptainer.building.inputs import BuildInputs, ContentCache, compute_inputs
from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.cache.staged import StagedReport, StageRun
from scitex_container.apptainer.store.access import make_dir
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.link import points_at
from scitex_container.apptainer.store.metadata import VersionMeta
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX
from scitex_container.errors import BadInputError
from scitex_container.process import runner
from scitex_container.result import Result


@dataclass(frozen=True)
class StoreBuildResult(Result):
    """The outcome of :func:`build_version`."""

    path: Path  #: the active link (what ``build()`` returns)
    artifact: Path | None  #: the version it points to
    version: str | None
    built: bool  #: False when the inputs were unchanged (no apptainer call)
    inputs_hash: str
    duration: float
    log_path: Path | None
    command: tuple[str, ...]
    switched_from: str | None = None  #: the version that was active when a reuse moved the link
    #: what killed commands had left in the store, removed before this build
    swept: tuple[Path, ...] = ()
    #: the kept version reused was not the active one: the run activates it
    #: (a dry run would): "activate V1: inputs unchanged since V1"
    activates: bool = False
    #: the build arguments used (those of the active version when none were given)
    build_args: Mapping[str, str] | None = None
    #: with the stage cache: each stage, reused or built (empty without it)
    stages: tuple[StageRun, ...] = ()
    cache_note: str | None = None  #: why the stage cache was not used for this build

    def to_dict(self) -> dict:
        """Also the keys `sandbox to-sif` shares: link, activated; argv (README, JSON keys)."""
        data = super().to_dict()
        data.update(link=str(self.path), activated=points_at(self.path, self.artifact))
        data.update(command=shlex.join(self.command), argv=list(self.command))
        return data


__all__ = ["StoreBuildResult", "build_version", "image_store", "unchanged_version"]


def _reuse(store: Store, found: Path, inputs: BuildInputs, start: float) -> StoreBuildResult:
    """Nothing to build: ``found`` was built from these inputs (make it active if it is not)."""
    version = store.scheme.version_of(found.name)
    previous = store.active_version()
    if moved := version is not None and version != previous:
        store.check_link_path()  # a file we did not write there: the dry run refuses it too
        if version is not None and not runner.is_dry_run():
            store.switch(version)  # the site policy's `switch` gate (store/core.py)
    took = time.monotonic() - start
    return StoreBuildResult(
        store.link,
        found,
        version,
        False,
        inputs.digest,
        took,
        None,
        (),
        switched_from=(previous or "none") if moved else None,
        activates=moved,
        build_args=dict(inputs.build_args),
    )


def _gated(finalize: FinalizeFn | None, final: Path) -> FinalizeFn:
    """``finalize``, then the site policy's ``switch`` gate on the temporary SIF."""
    from scitex_container.apptainer.signing.policy import require_signature

    def gate(tmp: Path) -> dict:
        meta = (finalize(tmp) if finalize is not None else None) or {}
        if not runner.is_dry_run():
            require_signature("switch", tmp, shown=str(final))
        return meta

    return gate


def _provenance_finalizer(
    inputs: BuildInputs,
    lock_text: list[str],
    final: Path,
    sign_key: str | os.PathLike | None = None,
    record: dict | None = None,
) -> FinalizeFn:
    """Embed the lock and inputs hash into the fresh SIF; keep the lock text for the sidecar.

    With ``sign_key`` the in-toto statement is embedded too and the
    temporary artifact is signed, before the version becomes visible.
    """
    from scitex_container.apptainer.lock.provenance import finalize_build
    from scitex_container.apptainer.signing.statement import partition_sha256

    def finalize(tmp: Path) -> dict:
        key = None if runner.is_dry_run() else sign_key
        with ThreadPoolExecutor(max_workers=1) as pool:
            # the statement's subject: hashed while the lock is captured and embedded
            # (sif add never moves the partition)
            subject = pool.submit(partition_sha256, tmp) if key is not None else None
            meta = finalize_build(
                tmp,
                inputs_hash=inputs.digest,
                def_sha256=inputs.def_sha256,
                build_args=dict(inputs.build_args),
                final_name=final.name,
            )
        lock_text.append(meta.pop("lock_text"))
        if key is not None and subject is not None:
            from scitex_container.apptainer import tool
            from scitex_container.apptainer.signing.record import signed_fields
            from scitex_container.apptainer.signing.sign import embed_statement, sign_artifact

            rec = {**(record or {}), **meta, "apptainer_version": tool.container_version()}
            embed_statement(
                tmp,
                name=final.name,
                record=rec,
                live_base=inputs.def_path.parent,
                subject_sha256=subject.result(),
            )
            done = sign_artifact(tmp, key)
            meta.update(signed_fields(done.signer, done.statement_sha256, done.layout_sha256))
        return meta

    return finalize


def build_version(
    def_name: str = "scitex-cloud-shared-v0.1.0",
    output_dir: str | os.PathLike | None = None,
    force: bool = False,
    sandbox: bool = False,
    *,
    def_path: str | os.PathLike | None = None,
    image_name: str | None = None,
    use_sudo: bool = False,
    fakeroot: bool | None = None,
    build_args: Mapping[str, str] | None = None,
    progress: ProgressFn | None = None,
    finalize: FinalizeFn | None = None,
    timeout: float | None = None,
    cache: ContentCache | None = None,
    provenance: bool = True,
    sign_key: str | os.PathLike | None = None,
    stage_cache: StageCache | None = None,
    cache_max_age: float | None = None,
) -> StoreBuildResult:
    """``build()`` with the whole outcome: version, whether apptainer ran, timings.

    With ``stage_cache`` the build resumes from the deepest cached stage of
    the def (:mod:`scitex_container.apptainer.cache`) and stores the stages
    it builds; ``cache_max_age`` (seconds, default 7 days) bounds the age of
    a reused stage that reached the network.  ``stages`` in the result (and
    ``stage_cache`` in the version's metadata) say what was reused.

    With ``provenance`` (the default) a new SIF gets its lock captured and
    embedded, with the inputs hash, before it is published, and the lock is
    written beside the version (``<version>.lock``).  An explicit
    ``finalize`` replaces that step.  ``sign_key`` (a PEM private key)
    also embeds the in-toto statement and signs the image before it is
    published; a bad key fails before apptainer runs.
    """
    if sign_key is not None:
        from scitex_container.apptainer.signing.keys import load_private_key

        if sandbox:
            raise BadInputError("a sandbox cannot be signed; build a SIF", "--sign")
        load_private_key(sign_key)
    start = time.monotonic()
    resolved, name, out_dir = _resolve(def_name, def_path, output_dir, image_name)
    store = image_store(out_dir, name, sandbox)
    if build_args is None:  # as `status` decides: the active version's build arguments
        build_args = active_build_args(store)
    if not sandbox:  # a malformed or untrusted policy: exit 2 before anything runs
        from scitex_container.apptainer.signing.policy import load_policies

        load_policies()
    inputs = compute_inputs(resolved, build_args=build_args, sandbox=sandbox, cache=cache)
    if not force and (found := unchanged_version(store, inputs.digest)) is not None:
        return _reuse(store, found, inputs, start)
    store.check_link_path()  # before apptainer runs, not after
    tool.detect_container_cmd()  # no tool (exit 3): nothing of the store is made first
    make_dir(store.dir)  # a store the caller cannot make: refused by a dry run too
    with store.build_lock():
        if not force and (found := unchanged_version(store, inputs.digest)) is not None:
            return _reuse(store, found, inputs, start)  # a concurrent build just made it
        with store.lock():
            swept = tuple(store.remove_stale())
        version = store.new_version()
        final = store.path_of(version)
        meta = VersionMeta.from_dict(
            {
                **inputs.record(),
                "image_name": name,
                "version": version,
                "def_path": str(resolved),
                "def_text": inputs.def_text,
            },
            "inputs",
        )
        lock_text: list[str] = []

        def publish(tmp: Path, out: Path, record: VersionMeta) -> None:
            sidecars = {}
            if lock_text and record.sha256:
                from scitex_container.apptainer.lock.provenance import lock_sidecar_text

                sidecars[LOCK_SUFFIX] = lock_sidecar_text(lock_text[0], record.sha256)
            store.publish(tmp, out, meta=record, sidecars=sidecars, use_sudo=use_sudo)

        record = meta.to_dict()
        if finalize is None and provenance and not sandbox:
            finalize = _provenance_finalizer(inputs, lock_text, final, sign_key, record)
        reports: list[StagedReport] = []
        produce, note = None, None
        if stage_cache is not None:  # a dry run only checks the def's stages
            produce, note = _stage_producer(
                inputs,
                stage_cache,
                fakeroot,
                use_sudo,
                build_args,
                progress,
                timeout,
                cache_max_age,
                reports,
                record,
            )
        if not sandbox:  # activating it is a switch: the site policy's gate
            finalize = _gated(finalize, final)
        result = build_image(
            resolved,
            final,
            sandbox=sandbox,
            fakeroot=fakeroot,
            use_sudo=use_sudo,
            build_args=build_args,
            progress=progress,
            timeout=timeout,
            finalize=finalize,
            metadata=meta,
            publish=publish,
            produce=produce,
        )
    built = result.built and not runner.is_dry_run()
    stages = reports[0].stages if reports else ()
    return StoreBuildResult(
        store.link,
        final if built else None,
        version,
        built,
        inputs.digest,
        time.monotonic() - start,
        result.log_path,
        result.command,
        swept=swept,
        build_args=dict(inputs.build_args),
        stages=stages,
        cache_note=note or ("; ".join(reports[0].notes) if reports and reports[0].notes else None),
    )


def _stage_producer(
    inputs, cache, fakeroot, use_sudo, build_args, progress, timeout, max_age, reports, record
):
    """The stage cache's producer for this build, or (None, why it is built cold)."""
    from scitex_container.apptainer import tool
    from scitex_container.apptainer.cache.hook import prepare_def, staged_producer
    from scitex_container.apptainer.cache.stages import plan_stages
    from scitex_container.apptainer.deffile import parse_def_text

    if use_sudo:
        return None, "a build through sudo would fill your cache with root's files"
    deffile = parse_def_text(inputs.def_text, str(inputs.def_path))
    if runner.is_dry_run():  # nothing is built: refuse what the build would (exit 2)
        plan_stages(deffile)
        return None, None
    prepared = prepare_def(
        deffile,
        build_args=build_args,
        fakeroot=tool.choose_fakeroot(fakeroot),
        files=inputs.files,
        images=inputs.images,
    )
    if prepared.plan.uncacheable is not None:
        return None, prepared.plan.uncacheable
    produce = staged_producer(
        prepared,
        cache,
        fakeroot=tool.choose_fakeroot(fakeroot),
        use_sudo=use_sudo,
        build_args=build_args,
        progress=progress,
        timeout=timeout,
        cwd=inputs.def_path.parent,
        max_age=max_age,
        reports=reports,
        record=record,
        def_path=inputs.def_path,
    )
    return produce, None


def build(
    def_name: str = "scitex-cloud-shared-v0.1.0",
    output_dir: str | os.PathLike | None = None,
    force: bool = False,
    sandbox: bool = False,
    *,
    def_path: str | os.PathLike | None = None,
    image_name: str | None = None,
    use_sudo: bool = False,
    fakeroot: bool | None = None,
    build_args: Mapping[str, str] | None = None,
    progress: ProgressFn | None = None,
    finalize: FinalizeFn | None = None,
    provenance: bool = True,
) -> Path:
    """Build Apptainer/Singularity SIF or sandbox from .def file.

    The artifact lands at ``<output_dir>/<image_name>/<image_name>.sif``
    (``<image_name>-sandbox`` for a sandbox): a link to the new version
    ``<image_name>-v<YYYYMMDDTHHMMSSZ>.sif`` (UTC) in the same directory, so
    ``os.path.realpath(build(...))`` is the version and its sidecars live
    beside that.  ``output_dir`` defaults to the directory of the resolved
    .def; ``image_name`` to ``def_name`` (or the .def's stem when
    ``def_path`` is given).  When the inputs hash equals the active
    version's and ``force`` is False, apptainer is not run at all.  A new
    SIF carries its own lock and inputs hash as embedded data objects, and
    the lock is also written beside the version (``provenance=False`` skips
    both).

    Args:
        use_sudo: Run the link change (or the tool) through ``sudo -n`` where the target
            is not writable; never by default.
        fakeroot: Force ``--fakeroot`` on (True) or off (False); None chooses it (on
            when not root, or when root lacks the capabilities).
        build_args: ``--build-arg KEY=VALUE`` pairs for the def's ``{{ KEY }}``
            templates.
        progress: Called with one line of progress text at a time (None: silent).
        finalize: Called with the built artifact before it is published (e.g. to sign
            it); None does nothing.

    Returns:
        Path to the built .sif file or sandbox directory (the active link).
    """
    return build_version(
        def_name,
        output_dir,
        force,
        sandbox,
        def_path=def_path,
        image_name=image_name,
        use_sudo=use_sudo,
        fakeroot=fakeroot,
        build_args=build_args,
        progress=progress,
        finalize=finalize,
        provenance=provenance,
    ).path
