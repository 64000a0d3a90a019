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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scitex_container.errors import BadInputError
from scitex_container.fsutil import atomic_write_text, fsync_dir, sha256_file, temp_path
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


class ArchiveStore:
    """Read and add to one archive directory."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def blob(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.blob(sha256).is_file()

    def add_file(self, source: Path, sha256: str | None = None) -> str:
        """Copy ``source`` in under its sha256 (once); return the digest."""
        digest = sha256 or sha256_file(source)
        final = self.blob(digest)
        if final.is_file():
            return digest
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(final)
        try:
            shutil.copyfile(source, tmp)
            if sha256_file(tmp) != digest:
                raise BadInputError(f"`{source}` changed while it was archived", str(source))
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        fsync_dir(final.parent)
        return digest

    def read_index(self) -> dict[str, dict[str, Any]]:
        """``{ENTRY: record}``; ``{}`` for a new archive."""
        path = self.root / INDEX
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInputError(f"archive index is unreadable: {exc}", str(path)) from None
        artifacts = data.get("artifacts") if isinstance(data, dict) else None
        if data.get("format") != FORMAT or not isinstance(artifacts, dict):
            raise BadInputError(f"not a format-{FORMAT} archive index", str(path))
        return artifacts

    def lookup(self, key: str, version: str) -> dict[str, Any] | None:
        """The record of a lock entry whose file is present, else None."""
        record = self.read_index().get(entry_key(key, version))
        if isinstance(record, dict) and self.has(str(record.get("sha256", ""))):
            return record
        return None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
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
