"""The artifact archive on disk: content-addressed files plus one index.

Layout of an archive directory ``DIR``::

    DIR/index.json              {"format": 1, "artifacts": {ENTRY: {...}}}
    DIR/sha256/ab/abcd...       each artifact once, named by its sha256

``ENTRY`` is a lock version key and its version, ``dpkg:hello=2.10-3``,
``pip:six=1.16.0``, ``pip:mypkg @ file:///w/mypkg-1.0-py3-none-any.whl=``;
its record names the sha256, the artifact's file name (a wheel or .deb name
carries meaning for pip and apt), its size and where it came from.  Many
images share one archive: a .deb both name is stored once.  The index is
rewritten atomically and deterministically (sorted keys) under a lock file,
so two concurrent archivers merge their entries rather than lose one.

The archive is trusted only when it is the caller's own or root's: the
directory, its ``sha256/`` directories, ``views/`` and every directory of a
view (``apt``, ``wheels``, ``npm``, ...) and the index must be
owned by the caller or root and not writable by group or others (else
UntrustedStateError, exit 2, naming the path and its owner), for reading
(``lock pin``) as for writing (``lock archive``).  A co-user who could write
there could swap an artifact and its index entry together.  Directories this
module creates are mode 0755 whatever the umask.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scitex_container.errors import BadInputError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import atomic_write_text, fsync_dir, sha256_file, temp_path
from scitex_container.files.ownership import check_trusted, owner_name, read_trusted
from scitex_container.files.pathinfo import from_oserror, is_no_space
from scitex_container.result import Result

INDEX = "index.json"
FORMAT = 1


def entry_key(key: str, version: str) -> str:
    """The index key of one lock entry (``dpkg:hello`` + ``2.10-3``)."""
    return f"{key}={version}"


@dataclass(frozen=True)
class Artifact(Result):
    """One archived file for one lock entry."""

    key: str
    version: str
    sha256: str
    filename: str
    size: int
    source: str

    def record(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "source": self.source,
        }


DIR_MODE = 0o755


def trust_rule() -> str:
    """What an archive must be, for a refusal message."""
    me = owner_name(os.getuid())
    owners = me if os.getuid() == 0 else f"{me} or root"
    return f"an artifact archive must be owned by {owners} and writable only by its owner"


class ArchiveStore:
    """Read and add to one archive directory (its real path: links resolved once)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(os.path.realpath(root))

    def blob(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.blob(sha256).is_file()

    def check_dir(self, path: Path) -> Path:
        """``path`` (the archive or a directory in it) after the ownership check."""
        check_trusted(path, directory=True, allow_root=True, rule=trust_rule)
        return path

    def check_tree(self, path: Path) -> None:
        """``path`` and every directory under it after the ownership check.

        A view's ``apt``/``wheels``/``npm`` directories are read by the
        build (apt and pip take whatever they hold), so each must be as
        trusted as the archive; a link where a directory belongs is refused.
        A missing ``path`` passes (nothing there to trust).
        """
        if not os.path.lexists(path):
            return
        todo = [self.check_dir(path)]
        while todo:
            here = todo.pop()
            for entry in os.scandir(here):
                if entry.is_dir(follow_symlinks=False):
                    todo.append(self.check_dir(Path(entry.path)))

    def check_blob_dirs(self, digests: list[str]) -> None:
        """``sha256/`` and the ``sha256/<xx>`` directories of ``digests``, checked."""
        for sub in ("", *sorted({d[:2] for d in digests if d})):
            path = self.root / "sha256" / sub if sub else self.root / "sha256"
            if os.path.lexists(path):
                self.check_dir(path)

    def make_dir(self, path: Path) -> Path:
        """Create ``path`` (0755) if missing, then check it; the archive's parents
        are the caller's business and made as ``mkdir -p`` would."""
        if path == self.root:
            path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, DIR_MODE)
        return self.check_dir(path)

    def ensure_root(self) -> Path:
        """The archive directory, created if missing, after the ownership check."""
        return self.make_dir(self.root)

    def add_file(self, source: Path, sha256: str | None = None, *, move: bool = False) -> str:
        """Store ``source`` under its sha256 (once); return the digest.

        A file already stored under that name is kept only when it is a
        regular file with that sha256; anything else there is replaced.
        ``move`` is for a file in a directory only this process writes (a
        fetch's private work directory, on the archive's file system): it is
        renamed in, not copied, and hashed once (not at all when ``sha256``
        was computed from it already).  Anything else is copied, and the
        copy is hashed against the digest.
        """
        digest = sha256 or sha256_file(source)
        final = self.blob(digest)
        self.ensure_root()
        self.make_dir(self.root / "sha256")
        self.make_dir(final.parent)
        if os.path.isfile(final) and not os.path.islink(final) and sha256_file(final) == digest:
            return digest
        tmp = temporaries.track(temp_path(final))
        try:
            if move:
                os.replace(source, tmp)
            else:
                shutil.copyfile(source, tmp)
                if sha256_file(tmp) != digest:
                    raise BadInputError(f"`{source}` changed while it was archived", str(source))
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException as exc:
            temporaries.remove(tmp)
            if is_no_space(exc):
                raise from_oserror(exc, final) from None  # the artifact, not our temporary
            raise
        temporaries.forget(tmp)
        fsync_dir(final.parent)
        return digest

    def read_index(self) -> dict[str, dict[str, Any]]:
        """``{ENTRY: record}``; ``{}`` for a new archive.

        Raises:
            UntrustedStateError: the archive or its index is another user's or
                writable by others (see the module docstring).
        """
        path = self.root / INDEX
        if not os.path.lexists(self.root):
            return {}
        self.check_dir(self.root)
        if not os.path.lexists(path):
            return {}
        try:  # a refusal (UntrustedStateError) is not "unreadable": it passes through
            data = json.loads(read_trusted(path, allow_root=True, rule=trust_rule))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInputError(f"archive index is unreadable: {exc}", str(path)) from None
        artifacts = data.get("artifacts") if isinstance(data, dict) else None
        if not isinstance(artifacts, dict) or data.get("format") != FORMAT:
            raise BadInputError(f"not a format-{FORMAT} archive index", str(path))
        return artifacts

    def lookup(self, key: str, version: str) -> dict[str, Any] | None:
        """The record of a lock entry whose file is present, else None."""
        return self.present(self.read_index(), key, version)

    def present(self, index: Mapping[str, Any], key: str, version: str) -> dict[str, Any] | None:
        """The record in ``index`` of a lock entry whose file is present, else None."""
        record = index.get(entry_key(key, version))
        if isinstance(record, dict) and self.has(str(record.get("sha256", ""))):
            return record
        return None

    def damaged(
        self, records: Mapping[str, Mapping[str, Any]], *, full: bool = False, sample: int = 16
    ) -> list[str]:
        """Keys of ``{key: record}`` whose stored file is not what the record says.

        Every file's size is compared with the record; the sha256 of
        ``sample`` of them, picked at random (of all with ``full``), with
        the name it is stored under.
        """
        out, sizes_ok = [], []
        for key, record in records.items():
            blob = self.blob(str(record.get("sha256", "")))
            try:
                size = os.lstat(blob).st_size
            except OSError:
                out.append(key)
                continue
            if not blob.is_file() or blob.is_symlink() or size != record.get("size", size):
                out.append(key)
            else:
                sizes_ok.append(key)
        picked = sizes_ok if full else random.sample(sizes_ok, min(sample, len(sizes_ok)))
        for key in picked:
            digest = str(records[key]["sha256"])
            if sha256_file(self.blob(digest)) != digest:
                out.append(key)
        return sorted(out)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.ensure_root()
        with open(self.root / ".index.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def merge_index(self, artifacts: Mapping[str, Artifact]) -> Path:
        """Add ``{ENTRY: Artifact}`` to the index (atomic, sorted)."""
        with self._locked():
            current = self.read_index()
            for name, artifact in artifacts.items():
                current[name] = artifact.record()
            text = json.dumps({"format": FORMAT, "artifacts": current}, indent=2, sort_keys=True)
            return atomic_write_text(self.root / INDEX, text + "\n")
