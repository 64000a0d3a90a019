"""Read-only access to a few files of an image without launching it.

Two kinds of tree behind one interface:

* :class:`SifTree`: the squashfs system partition of a SIF, read with
  ``unsquashfs -o OFFSET``: one ``-lls`` call lists every path matching a
  batch of shell patterns, one extraction with an exact file list fetches
  just the files wanted (a few KB) into a private temporary directory;
* :class:`DirTree`: a sandbox directory, walked directly.

Paths are image paths without the leading ``/``.  Symbolic links are never
followed on the host: :func:`resolve_link` resolves a link's target inside
the image, and the capture lists that target in a further round.
"""

from __future__ import annotations

import builtins
import fnmatch
import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.sif.header import read_sif
from scitex_container.errors import BadInputError, TreeUnreadable
from scitex_container.files import temporaries
from scitex_container.process import runner


@dataclass(frozen=True)
class Entry:
    path: str  # image path, no leading "/"
    kind: str  # "f" file, "d" directory, "l" symlink, "o" other
    target: str | None = None  # symlink target as stored


def resolve_link(path: str, target: str) -> str:
    """The image path a symlink at ``path`` with ``target`` points to."""
    base = "/" if target.startswith("/") else "/" + posixpath.dirname(path)
    return posixpath.normpath(posixpath.join(base, target)).lstrip("/")


def _component_match(pattern: str, name: str) -> bool:
    # unsquashfs matches with FNM_PERIOD: a leading "." must be matched literally.
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def path_matches(pattern: str, path: str) -> bool:
    """Whether ``path`` is ``pattern`` (component-wise shell wildcards)."""
    pparts, parts = pattern.split("/"), path.split("/")
    return len(pparts) == len(parts) and all(map(_component_match, pparts, parts))


def _under_a_match(patterns: list[str], path: str) -> bool:
    comps = path.split("/")
    for pattern in patterns:
        parts = pattern.split("/")
        if len(comps) >= len(parts) and all(map(_component_match, parts, comps)):
            return True
    return False


class DirTree:
    """A sandbox directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self, patterns: Iterable[str], max_depth: int | None = None) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for pattern in patterns:
            for path in self._walk(pattern.strip("/").split("/")):
                found[path] = entry = self._entry(path)
                if (
                    entry.kind == "d" and max_depth is None
                ):  # like unsquashfs: a matched directory comes whole
                    for dirpath, dirnames, filenames in os.walk(self.root / path):
                        rel = os.path.relpath(dirpath, self.root)
                        for name in sorted(dirnames + filenames):
                            sub = posixpath.join(rel, name)
                            found[sub] = self._entry(sub)
        return found

    def _entry(self, path: str) -> Entry:
        host = self.root / path
        if host.is_symlink():
            return Entry(path, "l", os.readlink(host))
        if host.is_dir():
            return Entry(path, "d")
        return Entry(path, "f" if host.is_file() else "o")

    def _walk(self, parts: builtins.list[str]) -> builtins.list[str]:
        current = [""]
        for part in parts:
            nxt = []
            for base in current:
                host = self.root / base if base else self.root
                # Never descend through a symlink on the host.
                if base and (host.is_symlink() or not host.is_dir()):
                    continue
                if any(c in part for c in "*?["):
                    try:
                        names = sorted(os.listdir(host))
                    except OSError:
                        continue
                    names = [n for n in names if _component_match(part, n)]
                else:
                    names = [part] if os.path.lexists(host / part) else []
                nxt += [posixpath.join(base, n) if base else n for n in names]
            current = nxt
        return current

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        out = {}
        for path in paths:
            host = self.root / path
            if host.is_symlink() or not host.is_file():
                continue
            try:
                out[path] = host.read_bytes()
            except OSError:
                continue
        return out

    def close(self) -> None:
        pass


_LLS_RE = re.compile(
    r"^(?P<mode>[-dlcbps][-rwxsStT]{9})\s+\S+\s+[\d, ]+\s+\d{4}-\d\d-\d\d \d\d:\d\d "
    r"squashfs-root(?P<path>/.*?)?(?: -> (?P<target>.*))?$"
)


class SifTree:
    """The primary squashfs partition of a SIF file, read with unsquashfs."""

    def __init__(self, sif: Path) -> None:
        info = read_sif(sif)
        part = info.primary_partition()
        if part is None or not part.is_squashfs_partition:
            raise TreeUnreadable(f"{sif}: no squashfs system partition (encrypted or ext3?)")
        self.sif = sif
        self.offset = part.offset
        self.image_id = info.image_id
        self._tmp: Path | None = None
        if not runner.which("unsquashfs"):
            raise TreeUnreadable("unsquashfs is not installed (package squashfs-tools)")

    def _base(self) -> list[str]:
        return ["unsquashfs", "-o", str(self.offset)]

    def list(self, patterns: Iterable[str], max_depth: int | None = None) -> dict[str, Entry]:
        """Entries matching ``patterns`` (and below matched directories, down to
        ``max_depth`` components from the root when given)."""
        pats = sorted({p.strip("/") for p in patterns})
        if not pats:
            return {}
        depth = ["-max-depth", str(max_depth)] if max_depth is not None else []
        done = runner.run(
            [*self._base(), "-lls", "-n", *depth, os.fspath(self.sif), *pats],
            readonly=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise TreeUnreadable(f"unsquashfs cannot list {self.sif}: {done.stderr.strip()[-200:]}")
        found: dict[str, Entry] = {}
        for line in done.stdout.splitlines():
            m = _LLS_RE.match(line)
            if not m or not m.group("path"):
                continue
            path = m.group("path").lstrip("/")
            if not _under_a_match(pats, path):
                continue  # unsquashfs also prints the parent directories
            mode = m.group("mode")[0]
            kind = {"-": "f", "d": "d", "l": "l"}.get(mode, "o")
            found[path] = Entry(path, kind, m.group("target") if kind == "l" else None)
        return found

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        wanted = sorted({p.strip("/") for p in paths})
        if not wanted:
            return {}
        if any("\n" in p for p in wanted):
            raise BadInputError("image path with a newline", str(self.sif))
        if self._tmp is None:
            self._tmp = temporaries.new_dir("scitex-capture-")
        dest = self._tmp / f"x{len(os.listdir(self._tmp))}"
        listfile = self._tmp / f"{dest.name}.list"
        listfile.write_text("".join(p + "\n" for p in wanted))
        done = runner.run(
            [
                *self._base(),
                "-n",
                "-q",
                "-no-xattrs",
                "-no-wildcards",
                "-ig",
                "-d",
                os.fspath(dest),
                "-ef",
                os.fspath(listfile),
                os.fspath(self.sif),
            ],
            readonly=True,
            check=False,
            timeout=300,
        )
        if done.returncode not in (0, 2) and not dest.exists():
            raise TreeUnreadable(
                f"unsquashfs cannot extract from {self.sif}: {done.stderr.strip()[-200:]}"
            )
        out = {}
        for path in wanted:
            host = dest / path
            if host.is_file() and not host.is_symlink():
                out[path] = host.read_bytes()
        return out

    def close(self) -> None:
        if self._tmp is not None:
            temporaries.remove(self._tmp)
            self._tmp = None


def open_tree(image: Path) -> DirTree | SifTree:
    """A tree for a sandbox directory or a SIF file (TreeUnreadable otherwise)."""
    if image.is_dir():
        return DirTree(image)
    return SifTree(image)
