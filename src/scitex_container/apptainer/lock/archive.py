"""``lock archive``: keep the exact artifacts a lock names, offline-ready.

Debian keeps one version per package per suite, so exact apt pins decay at
every point release.  :func:`archive_lock` fetches (once) every .deb, wheel
and npm tarball the lock of an image names, verified against its source's
published checksum (see :mod:`.archive_fetch`), into a content-addressed
archive (:mod:`.archive_store`) that many images share, and records each
artifact's sha256 in the lock (``# artifact:`` header lines).  Entries the
archive already holds are reused, not fetched again.  Anything no source
has is listed with where it was looked for; the lock is then left as it was.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from scitex_container.apptainer import tool
from scitex_container.apptainer.lock.archive_fetch import (
    Fetched,
    fetch_debs,
    fetch_npm,
    fetch_saved,
    fetch_wheels,
)
from scitex_container.apptainer.lock.archive_store import INDEX, ArchiveStore, Artifact, entry_key
from scitex_container.apptainer.lock.lockfile import Lock, read_lock, render_lock, write_lock
from scitex_container.apptainer.sif.header import is_sif
from scitex_container.errors import CheckFailedError, DiskFullError, NotFoundError
from scitex_container.files import temporaries
from scitex_container.files.pathinfo import not_found
from scitex_container.process import runner
from scitex_container.result import Result

_OUT = "/scitex-archive-out"
_PROBE = f"""\
python3 -c 'import platform, sys, sysconfig
print("PY", "%d.%d" % sys.version_info[:2])
print("PLAT", sysconfig.get_platform(), *platform.libc_ver())' 2>/dev/null || true
i=0
for f in "$@"; do
    if [ -f "$f" ]; then  # a copy cut short (a full disk) never gets the final name
        if cp "$f" "{_OUT}/$i.part"; then mv "{_OUT}/$i.part" "{_OUT}/$i"
        else rm -f "{_OUT}/$i.part"; echo "CUT $i"; fi
    fi
    i=$((i+1))
done
"""


@dataclass(frozen=True)
class ArchiveResult(Result):
    """What ``lock archive`` did: the archive, the hashed lock, the counts."""

    archive: Path
    lock_path: Path | None
    fetched_count: int
    reused_count: int  #: entries already archived (``reused`` is a bool elsewhere)
    artifacts: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    #: entries whose stored file no longer matched its sha256 (or size), fetched again
    repaired: tuple[str, ...] = ()
    #: what the run creates or rewrites (a dry run: would), in order: the archive
    #: directory when new, its index, the lock; empty when nothing changes
    writes: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ImageFacts:
    python_version: str = ""
    platforms: tuple[str, ...] = ()
    files: dict[str, Path] = field(default_factory=dict)


def pip_platforms(plat: str, libc: str = "", libc_version: str = "") -> tuple[str, ...]:
    """pip ``--platform`` tags a ``linux-x86_64`` glibc 2.36 Python accepts."""
    arch = plat.split("-", 1)[-1].replace("-", "_").replace(".", "_")
    if not plat.startswith("linux") or not arch:
        return ()
    tags = []
    m = re.match(r"^2\.(\d+)", libc_version) if libc == "glibc" else None
    if m:
        tags += [f"manylinux_2_{minor}_{arch}" for minor in range(int(m.group(1)), 4, -1)]
        tags += [f"manylinux{x}_{arch}" for x in ("2014", "2010", "1")]
    return (*tags, f"linux_{arch}")


def probe_image(image: Path, paths: list[str], workdir: Path) -> ImageFacts:
    """The image's Python and platform, and copies of ``paths`` out of it."""
    out = workdir / "from-image"
    out.mkdir(parents=True, exist_ok=True)
    argv = [tool.detect_container_cmd(), "exec", "--cleanenv", "--no-home", "--containall"]
    argv += ["--bind", f"{out}:{_OUT}", os.fspath(image), "sh", "-c", _PROBE, "sh", *paths]
    done = runner.run(argv, check=False, readonly=True, timeout=600)
    python_version = ""
    platforms: tuple[str, ...] = ()
    for line in done.stdout.splitlines():
        words = line.split()
        if words[:1] == ["PY"] and len(words) == 2:
            python_version = words[1]
        elif words[:1] == ["PLAT"] and len(words) >= 2:
            platforms = pip_platforms(*words[1:4])
    cut = [
        paths[int(w[1])]
        for w in (ln.split() for ln in done.stdout.splitlines())
        if w[:1] == ["CUT"]
    ]
    if cut and ("No space left" in done.stderr or "Disk quota" in done.stderr):
        raise DiskFullError(
            f"{workdir.parent}: no space left on device (copying {cut[0]} out of the image "
            "was cut short; nothing of it was stored)"
        )
    files = {p: out / str(i) for i, p in enumerate(paths) if (out / str(i)).is_file()}
    return ImageFacts(python_version, platforms, files)


def _lock_facts(lock: Lock) -> ImageFacts:
    pythons = sorted(
        (int(m.group(1)), f"3.{m.group(1)}")
        for name in lock.dpkg
        if (m := re.fullmatch(r"python3\.(\d+)", name))
    )
    machine = platform.machine()
    libc, libc_version = platform.libc_ver()
    plats = pip_platforms(f"linux-{machine}", libc, libc_version)
    return ImageFacts(pythons[-1][1] if pythons else "", plats)


def _local_wheel_paths(lock: Lock) -> list[str]:
    out = []
    for key in lock.pip:
        url = key.split(" @ ", 1)[1].strip() if " @ " in key else ""
        if url.startswith("file://") and url.endswith(".whl"):
            from urllib.parse import unquote, urlparse

            out.append(unquote(urlparse(url).path))
    return sorted(out)


def load_source(source: str | os.PathLike) -> tuple[Lock, Path | None]:
    """``(lock, image or None)`` for an image (captured now) or a lock file."""
    path = Path(source)
    if not path.exists():
        raise not_found(path, f"`{path}` does not exist")
    if path.is_dir() or is_sif(path):
        from scitex_container.apptainer.lock.capture import capture_lock

        return capture_lock(path, None, captured_at=None), path
    return read_lock(path), None


def _wanted(lock: Lock) -> dict[str, str]:
    """Entries archived: not apk, and not what a dpkg package installed (its .deb is)."""
    versions = lock.version_set()
    return {
        k: v
        for k, v in versions.items()
        if not k.startswith(("apk:", "pip@")) and k not in lock.provided_by
    }


def archive_lock(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    lock_out: str | os.PathLike | None = None,
    python_version: str | None = None,
    platforms: tuple[str, ...] | None = None,
    image: str | os.PathLike | None = None,
    saved_dirs: tuple[str | os.PathLike, ...] = (),
    verify: bool = False,
) -> ArchiveResult:
    """Archive every artifact the lock of ``source`` names into ``out_dir``.

    A file already stored is not trusted because it is there: its size is
    compared with the index, and the sha256 of a sample of them (of every
    one with ``verify``) with its name; a damaged one is fetched again and
    replaced (``repaired`` lists them).

    ``source`` is an image (its lock is captured) or a lock file (``image``,
    when given, is the image it was captured from: its Python and platform
    pick the wheels, and local wheels are copied out of it).  ``saved_dirs``
    hold saved .deb files and wheels taken for entries no source has any
    more (a version that vanished upstream).  The lock
    with artifact hashes goes to ``lock_out`` (default: the lock file given,
    or ``out_dir/locks/<image>.lock`` for an image).  Raises
    CheckFailedError (exit 1) listing each artifact no source has, after
    storing the ones found; the lock is then not written.
    """
    lock, found_image = load_source(source)
    image = found_image if found_image is not None else (Path(image) if image else None)
    store = ArchiveStore(out_dir)
    wanted = _wanted(lock)
    hashes: dict[str, str] = {}
    todo: dict[str, str] = {}
    index = store.read_index()
    stored = {k: r for k, v in wanted.items() if (r := store.present(index, k, v)) is not None}
    store.check_blob_dirs([str(r.get("sha256", "")) for r in stored.values()])
    damaged = set(store.damaged(stored, full=verify))
    for key, version in wanted.items():
        record = stored.get(key)
        if record is not None and key not in damaged:
            hashes[key] = str(record["sha256"])
        else:
            todo[key] = version
    found: dict[str, Fetched] = {}
    missing: dict[str, str] = {}
    lock_path = _lock_destination(source, found_image, store.root, lock_out)
    if runner.is_dry_run():  # nothing is made or fetched: say what would be (`todo`)
        lock.artifacts = dict(sorted(hashes.items()))
        return ArchiveResult(
            store.root,
            None,
            len(todo),
            len(wanted) - len(todo),
            dict(hashes),
            missing={k: "would be fetched" for k in sorted(todo)},
            repaired=tuple(sorted(damaged)),
            writes=_writes(store.root, bool(todo), lock, lock_path),
        )
    made = _new(store.root)  # the directory and its index, when not there yet
    store.ensure_root()
    # nothing to fetch: no work directory either (the archive's date stays)
    fetching = temporaries.directory(".fetch-", store.root) if todo else nullcontext(store.root)
    with fetching as work:
        pip_todo = {k[4:]: v for k, v in todo.items() if k.startswith("pip:")}
        facts = ImageFacts()
        if todo:
            facts = (
                probe_image(image, _local_wheel_paths(lock), work)
                if image is not None
                else _lock_facts(lock)
            )
        # the three sources are independent (network- and subprocess-bound): at once
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="scitex-fetch") as pool:
            jobs = (
                []
                if not todo
                else [  # (nothing to fetch: no work directory made)
                    pool.submit(
                        fetch_debs,
                        {k[5:]: v for k, v in todo.items() if k.startswith("dpkg:")},
                        work,
                    ),
                    pool.submit(
                        fetch_wheels,
                        pip_todo,
                        work,
                        python_version=python_version or facts.python_version,
                        platforms=platforms if platforms is not None else facts.platforms,
                        local_files=facts.files,
                    ),
                    pool.submit(
                        fetch_npm,
                        {k[5:]: v for k, v in todo.items() if k.startswith("node:")},
                        work,
                    ),
                ]
            )
            for job in jobs:
                fetched, lost = job.result()
                found.update(fetched)
                missing.update(lost)
        if missing and saved_dirs:
            saved, _ = fetch_saved({k: wanted[k] for k in missing}, saved_dirs)
            found.update(saved)
            where = ", ".join(os.fspath(d) for d in saved_dirs)
            missing = {k: f"{w}, and the saved files in {where}" for k, w in missing.items()}
            for key in saved:
                missing.pop(key)
        records: dict[str, Artifact] = {}
        moved: dict[Path, str] = {}  # a fetched file is renamed in once (it is ours)
        before = set(store.root.glob("sha256/*/*"))  # blobs this run adds go if the index fails
        for key, got in sorted(found.items()):
            if got.path in moved:
                digest = moved[got.path]
            else:
                ours = work in got.path.parents
                digest = store.add_file(got.path, got.sha256 or None, move=ours)
                if ours:
                    moved[got.path] = digest
            hashes[key] = digest
            name = _filename(got)
            size = store.blob(digest).stat().st_size
            records[entry_key(key, wanted[key])] = Artifact(
                key, wanted[key], digest, name, size, got.source
            )
        if records or not os.path.lexists(store.root / "index.json"):
            try:
                store.merge_index(records)  # an archive of no artifacts is an archive too
            except BaseException:  # no blob of this run stays without its index entry
                for blob in set(store.root.glob("sha256/*/*")) - before:
                    blob.unlink(missing_ok=True)
                raise
    if missing:
        kept = {
            k: f" (its stored file {store.blob(str(stored[k]['sha256']))} is damaged and was kept)"
            for k in missing
            if k in damaged
        }
        listed = "; ".join(
            f"{k}={wanted.get(k, '')}: looked in {w}{kept.get(k, '')}" for k, w in missing.items()
        )
        raise CheckFailedError(
            f"{len(missing)} artifact(s) of the lock are in no source "
            f"({len(found)} fetched and stored in {store.root}): {listed}"
        )
    lock.artifacts = dict(sorted(hashes.items()))
    indexed = () if not records or store.root / INDEX in made else (store.root / INDEX,)
    lock_written = _lock_changes(lock, lock_path)
    if lock_written:  # the same text again is no change (the file keeps its date)
        write_lock(lock, lock_path)
    return ArchiveResult(
        store.root,
        lock_path,
        len(found),
        len(wanted) - len(found),
        dict(lock.artifacts),
        repaired=tuple(sorted(damaged)),
        writes=(*made, *indexed, *((lock_path,) if lock_written else ())),
    )


def _lock_changes(lock: Lock, path: Path) -> bool:
    """Would writing ``lock`` to ``path`` change it (``-``, stdout, always does)?"""
    if os.fspath(path) == "-" or not path.is_file():
        return True
    try:
        return path.read_text(encoding="utf-8") != render_lock(lock)
    except (OSError, UnicodeDecodeError):
        return True


def _new(root: Path) -> tuple[Path, ...]:
    """The archive directory and its index, those not there yet (archiving makes both)."""
    index = root / INDEX
    return (*(() if root.is_dir() else (root,)), *(() if index.exists() else (index,)))


def _writes(root: Path, fetching: bool, lock: Lock, lock_path: Path) -> tuple[Path, ...]:
    """What archiving writes: the directory and index when new (or gaining entries), the lock.

    ``fetching``: artifacts are still to come, so the index and lock change.
    """
    out = list(_new(root))
    if fetching and root / INDEX not in out:
        out.append(root / INDEX)
    if fetching or _lock_changes(lock, lock_path):
        out.append(lock_path)
    return tuple(out)


def _filename(got: Fetched) -> str:
    return got.path.name if not got.path.name.isdigit() else Path(got.source).name


def _lock_destination(
    source: str | os.PathLike, image: Path | None, root: Path, lock_out: str | os.PathLike | None
) -> Path:
    if lock_out is not None:
        return Path(lock_out)
    if image is None:
        return Path(source)
    return root / "locks" / (image.name.removesuffix(".sif") + ".lock")


def artifact_map(lock: Lock, archive: str | os.PathLike) -> Mapping[str, dict]:
    """``{lock key: index record}`` for every entry; NotFoundError lists gaps."""
    store = ArchiveStore(archive)
    index = store.read_index()
    out: dict[str, dict] = {}
    gaps = []
    for key, version in _wanted(lock).items():
        record = index.get(entry_key(key, version))
        if isinstance(record, dict) and store.has(str(record.get("sha256"))):
            out[key] = record
        else:
            gaps.append(entry_key(key, version))
    if gaps:
        raise NotFoundError(
            f"{len(gaps)} artifact(s) missing from the archive "
            f"(looked in {store.root / 'index.json'} and {store.root / 'sha256'}): "
            + ", ".join(gaps),
            str(store.root),
        )
    return out
