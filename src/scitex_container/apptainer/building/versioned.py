"""Change-detecting builds into an image's store.

``build_version`` hashes every build input; when the digest equals the
active version's stored ``inputs_hash`` (and ``force`` is off) it returns
without running apptainer.  Otherwise it builds a new timestamped version
beside the old ones, publishes it atomically and moves the active link.
Builds of one image serialize on the store's build lock; the second of two
identical concurrent builds finds the first one's result and does nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scitex_container import runner
from scitex_container.apptainer.building.image import FinalizeFn, ProgressFn, _resolve, build_image
from scitex_container.apptainer.building.inputs import BuildInputs, ContentCache, compute_inputs
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.apptainer.store.naming import image_scheme
from scitex_container.errors import BadInputError
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


def image_store(output_dir: str | os.PathLike, image_name: str, sandbox: bool = False) -> Store:
    """The store ``build()`` writes ``image_name`` into."""
    return Store(Path(output_dir) / image_name, image_scheme(image_name, sandbox))


def unchanged_version(store: Store, inputs_hash: str) -> Path | None:
    """The active version if it was built from exactly these inputs, else None."""
    active = store.active_path()
    if active is None:
        return None
    return active if load_metadata(active).get("inputs_hash") == inputs_hash else None


def _reuse(store: Store, active: Path, inputs: BuildInputs, start: float) -> StoreBuildResult:
    version = store.scheme.version_of(active.name)
    return StoreBuildResult(
        store.link, active, version, False, inputs.digest, time.monotonic() - start, None, ()
    )


def _provenance_finalizer(
    inputs: BuildInputs,
    lock_text: list[str],
    sign_key: str | os.PathLike | None = None,
    record: dict | None = None,
    final: Path | None = None,
) -> FinalizeFn:
    """Embed the lock and inputs hash into the fresh SIF; keep the lock text for the sidecar.

    With ``sign_key`` the in-toto statement is embedded too and the
    temporary artifact is signed, before the version becomes visible.
    """
    from scitex_container.apptainer.lock.provenance import finalize_build

    def finalize(tmp: Path) -> dict:
        meta = finalize_build(tmp, inputs_hash=inputs.digest, def_sha256=inputs.def_sha256)
        lock_text.append(meta.pop("lock_text"))
        if sign_key is not None and not runner.is_dry_run():
            from scitex_container.apptainer import tool
            from scitex_container.apptainer.signing.record import signed_fields
            from scitex_container.apptainer.signing.sign import embed_statement, sign_artifact

            rec = {**(record or {}), **meta, "apptainer_version": tool.container_version()}
            name = final.name if final is not None else tmp.name
            embed_statement(tmp, name=name, record=rec, live_base=inputs.def_path.parent)
            signer, digest, _ = sign_artifact(tmp, sign_key)
            meta.update(signed_fields(signer, digest))
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
) -> StoreBuildResult:
    """``build()`` with the whole outcome: version, whether apptainer ran, timings.

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
    inputs = compute_inputs(resolved, build_args=build_args, sandbox=sandbox, cache=cache)
    if not force and (active := unchanged_version(store, inputs.digest)) is not None:
        return _reuse(store, active, inputs, start)
    with store.build_lock():
        if not force and (active := unchanged_version(store, inputs.digest)) is not None:
            return _reuse(store, active, inputs, start)  # a concurrent build just made it
        with store.lock():
            store.remove_stale()
        version = store.new_version()
        final = store.path_of(version)
        meta = {
            **inputs.record(),
            "image_name": name,
            "version": version,
            "def_path": str(resolved),
            "def_text": inputs.def_text,
        }

        def publish(tmp: Path, out: Path) -> None:
            store.publish(tmp, out, use_sudo=use_sudo)

        lock_text: list[str] = []
        if finalize is None and provenance and not sandbox:
            finalize = _provenance_finalizer(inputs, lock_text, sign_key, meta, final)
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
        )
    built = result.built and not runner.is_dry_run()
    if built and lock_text:
        from scitex_container.apptainer.lock.provenance import write_lock_sidecar

        write_lock_sidecar(final, lock_text[0])
    return StoreBuildResult(
        store.link,
        final if built else None,
        version,
        built,
        inputs.digest,
        time.monotonic() - start,
        result.log_path,
        result.command,
    )
