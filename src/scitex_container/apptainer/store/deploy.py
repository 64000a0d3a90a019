"""Publishing the active image (and the newest base image) to a shared directory.

Each file is copied in the kernel (``copy_file_range``) to a hidden
temporary beside its final name and renamed into place; only then does the
target's active link move, through the target store's own lock.  A file
the target already holds with the same sha256 is not copied again.  sudo
is used only when asked for and the target is not writable otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.signing.policy import require_signature
from scitex_container.apptainer.store import access
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.link import no_active
from scitex_container.apptainer.store.metadata import (
    VersionMeta,
    cached_sha256,
    read_metadata,
    remember_digest,
    write_metadata,
)
from scitex_container.apptainer.store.naming import SANDBOX
from scitex_container.apptainer.store.opening import named_version, open_one_store
from scitex_container.errors import BadInputError, StoreStateError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import fsync_dir
from scitex_container.files.pathinfo import from_oserror, not_a_directory
from scitex_container.process import runner
from scitex_container.result import Result

DEFAULT_TARGET = Path("/opt/scitex/singularity")
_CHUNK = 1 << 30


@dataclass(frozen=True)
class DeployResult(Result):
    source: Path
    target: Path
    version: str
    copied: tuple[Path, ...]
    skipped: tuple[Path, ...]  #: already in the target with the same sha256
    bytes_copied: int  #: in a dry run what the real run would copy, as ``copied`` lists
    link: Path


def copy_file(src: Path, dst: Path, *, durable: bool = False) -> int:
    """Copy ``src`` to the new file ``dst`` in the kernel; return the bytes copied."""
    with open(src, "rb") as fi, open(dst, "xb") as fo:
        total = 0
        try:
            while n := os.copy_file_range(fi.fileno(), fo.fileno(), _CHUNK):
                total += n
        except OSError:  # another filesystem type without support: plain copy
            fi.seek(0)
            fo.seek(0)
            fo.truncate()
            shutil.copyfileobj(fi, fo, 8 << 20)
            total = fo.tell()
        if durable:
            os.fsync(fo.fileno())
    return total


def _writable_target(target: Path, use_sudo: bool) -> bool:
    """Make sure ``target`` exists; return True when we must go through sudo."""
    need_sudo = use_sudo and os.geteuid() != 0
    if os.path.exists(target) and not target.is_dir():
        if (kind := not_a_directory(target)) is not None:  # a FIFO, a device, a socket
            raise kind
        raise BadInputError("the deploy target is not a directory", str(target))
    access.require_writable(target, use_sudo)  # the same refusal in a dry run
    if not target.exists():
        if need_sudo:
            runner.run(runner.with_sudo(["mkdir", "-p", "--", str(target)], True))
            return runner.is_dry_run() or not os.access(target, os.W_OK)
        if runner.is_dry_run():
            return False
        try:
            target.mkdir(parents=True)
        except OSError as exc:
            raise from_oserror(exc) from None
    return need_sudo and not os.access(target, os.W_OK)


def _same(src: Path, dst: Path, digest: str) -> bool:
    try:
        st = dst.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != src.stat().st_size:
        return False
    return cached_sha256(dst) == digest


def _copy_in(store: Store, src: Path, digest: str, sudo: bool, durable: bool) -> int:
    dst = store.dir / src.name
    tmp = temporaries.track(store.temp_name(dst, "copying"))
    try:
        if sudo:
            runner.run(runner.with_sudo(["cp", "--", str(src), str(tmp)], True))
            runner.run(runner.with_sudo(["mv", "-Tf", "--", str(tmp), str(dst)], True))
            temporaries.forget(tmp)  # in place
            return src.stat().st_size
        size = copy_file(src, tmp, durable=durable)
        os.chmod(tmp, stat.S_IMODE(src.stat().st_mode))
        meta = (read_metadata(src) or VersionMeta()).with_(sha256=digest)
        write_metadata(dst, meta)
        os.replace(tmp, dst)
        fsync_dir(store.dir)
        remember_digest(dst, digest)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # (a root-owned copy of a sudo deploy stays)
            temporaries.remove(tmp)
        if not isinstance(exc, OSError):
            raise
        named = exc.filename if isinstance(exc.filename, str) else ""
        hidden = not named or os.path.basename(named).startswith(".")
        raise from_oserror(exc, dst if hidden else named) from None  # never our temporary
    temporaries.forget(tmp)
    return size


def deploy_store(
    source_dir: str | os.PathLike,
    target_dir: str | os.PathLike = DEFAULT_TARGET,
    *,
    use_sudo: bool = False,
    durable: bool = False,
) -> DeployResult:
    """Copy the active image and the newest base image to ``target_dir``; switch there.

    ``source_dir`` naming one version file (or a sidecar of it) deploys that
    version, not the active one.  ``durable`` also fsyncs each copied file before it is renamed into
    place (power-loss safety at the cost of throughput).
    """
    source = open_one_store(source_dir)
    if source.scheme.kind == SANDBOX:
        raise BadInputError("deploy copies SIF images, not sandboxes", str(source.dir))
    version = named_version(source_dir, source) or source.active_version()
    if version is None:
        problem = no_active(source.link, source.dir, source.scheme)
        raise StoreStateError(f"no active version in {source.dir}: {problem}")
    files = [source.path_of(version), *source.bases()[-1:]]
    require_signature("deploy", files[0])  # the site policy's gate, before anything is copied
    target = Store(Path(target_dir), source.scheme)
    if target.dir.resolve() == source.dir.resolve():
        raise BadInputError("the deploy target is the source directory", str(target.dir))
    sudo = _writable_target(target.dir, use_sudo)
    copied: list[Path] = []
    skipped: list[Path] = []
    total = 0
    with target.lock(sudo=sudo or False):
        target.remove_stale()
        for src in files:
            digest = cached_sha256(src)
            if _same(src, target.dir / src.name, digest):
                skipped.append(target.dir / src.name)
                continue
            copied.append(target.dir / src.name)
            if not runner.is_dry_run():
                total += _copy_in(target, src, digest, sudo, durable)
                continue
            total += src.stat().st_size  # a dry run: what the real run would copy
            if sudo:
                _copy_in(target, src, digest, sudo, durable)
        if not runner.is_dry_run():
            target.switch(version, use_sudo=sudo)
        elif sudo:
            target.set_link(source.scheme.name_of(version), True)  # recorded only
    return DeployResult(
        source.dir, target.dir, version, tuple(copied), tuple(skipped), total, target.link
    )


def deploy(
    source_dir: str | os.PathLike,
    target_dir: str | os.PathLike = DEFAULT_TARGET,
    *,
    use_sudo: bool = False,
) -> None:
    """Copy the active SIF and the newest base SIF to ``target_dir``.

    Each file goes through a temporary file renamed into place, a file the
    target already holds with the same sha256 is skipped, and then the
    target's active link (``current.sif``) is switched atomically.  sudo is
    used only with ``use_sudo=True``, and only if the target is not
    writable without it.

    Args:
        source_dir: The source store (or containers directory) whose active image is
            deployed.

    Raises:
        BadInputError: the target cannot be written (nothing is half-copied).
        StoreStateError: the source has no active version.
    """
    deploy_store(source_dir, target_dir, use_sudo=use_sudo)
