"""The inputs hash: one digest of everything a build reads.

It covers the def text, every host ``%files``/``%appfiles`` source by
content (files and whole directory trees, with file modes and symlink
targets; apptainer copies with ``cp -L``, so what a link points to counts
too), the image a ``Bootstrap: localimage`` stage starts from (its sha256,
cached in its metadata), the build arguments and the sandbox flag.  Same
digest, same build: ``build()`` skips apptainer and ``status()`` reports no
rebuild needed.

Content hashes of larger files go through the package's one digest cache
(:mod:`scitex_container.files.digests`), so asking again costs a ``stat`` per file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.deffile.text import render_template
from scitex_container.errors import BadInputError, DefFileError
from scitex_container.files import digests
from scitex_container.files.digests import DigestCache
from scitex_container.result import Result

SCHEMA = "scitex-inputs-1"
#: Files smaller than this are hashed directly; larger ones go through the cache.
CACHE_MIN_SIZE = 64 * 1024


class ContentCache(DigestCache):
    """The digest cache, skipping small files (hashing them is as cheap as a lookup)."""

    def file_sha256(self, path: str | os.PathLike, st: os.stat_result | None = None) -> str:
        st = st if st is not None else os.stat(path)
        if st.st_size < CACHE_MIN_SIZE:
            return digests.sha256_file(path)
        return super().file_sha256(path, st)


def tree_digest(path: str | os.PathLike, cache: ContentCache | None = None) -> str:
    """Digest of a file or directory tree as ``cp -L`` would copy it."""
    cache = cache or ContentCache()
    h = hashlib.sha256()
    _feed(h, os.fspath(path), ".", cache, set())
    return h.hexdigest()


def _feed(h, path: str, rel: str, cache: ContentCache, seen: set[tuple[int, int]]) -> None:
    record = [rel]
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        h.update(json.dumps([rel, "missing"]).encode() + b"\n")
        return
    if stat.S_ISLNK(lst.st_mode):
        record += ["L", os.readlink(path)]
    try:
        st = os.stat(path)
    except OSError:
        h.update(json.dumps([*record, "broken"]).encode() + b"\n")
        return
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISREG(st.st_mode):
        h.update(json.dumps([*record, "F", mode, cache.file_sha256(path, st)]).encode() + b"\n")
    elif stat.S_ISDIR(st.st_mode):
        ident = (st.st_dev, st.st_ino)
        if ident in seen:
            h.update(json.dumps([*record, "cycle"]).encode() + b"\n")
            return
        h.update(json.dumps([*record, "D", mode]).encode() + b"\n")
        seen.add(ident)
        try:
            for name in sorted(os.listdir(path)):
                _feed(h, os.path.join(path, name), f"{rel}/{name}", cache, seen)
        finally:
            seen.discard(ident)
    else:
        h.update(json.dumps([*record, "O", stat.S_IFMT(st.st_mode), mode]).encode() + b"\n")


@dataclass(frozen=True)
class BuildInputs(Result):
    """What a build reads, and the one digest of it all."""

    digest: str
    def_path: Path
    def_sha256: str
    def_text: str  #: the def as hashed (snapshot kept in the metadata)
    files: tuple[tuple[str, str], ...]  #: (source as resolved, digest)
    images: tuple[tuple[str, str], ...]  #: (localimage path, digest)
    build_args: tuple[tuple[str, str], ...]
    sandbox: bool

    def record(self) -> dict:
        """The part kept in a version's metadata."""
        return {
            "inputs_hash": self.digest,
            "inputs": {
                "def_sha256": self.def_sha256,
                "files": [list(f) for f in self.files],
                "images": [list(i) for i in self.images],
            },
            "build_args": dict(self.build_args),
            "sandbox": self.sandbox,
        }


def _display(path: Path, base: Path) -> str:
    try:
        return os.fspath(path.relative_to(base))
    except ValueError:
        return os.fspath(path)


def _render(text: str, values: Mapping[str, str]) -> str:
    return render_template(text, values)


#: Bootstrap agents whose ``From:`` is a local file or directory: hashed by content.
LOCAL_IMAGE_AGENTS = frozenset({"localimage", "docker-archive", "oci-archive", "oci"})


def _image_digest(deffile, base: Path, args: Mapping[str, str], cache: ContentCache):
    out = []
    for stage in deffile.stages:
        agent = stage.bootstrap.strip().lower()
        if agent not in LOCAL_IMAGE_AGENTS:
            continue
        entries = [e for e in stage.header if e.name == "from"]
        entry = entries[-1] if entries else None  # the last one wins, as in apptainer
        if entry is None or not entry.value:
            raise DefFileError(
                f"`Bootstrap: {agent}` needs `From: <image>`", deffile.path, stage.line
            )
        source = _render(entry.value, {**stage.arguments, **args})
        for prefix in ("docker-archive:", "oci-archive:", "oci:"):
            source = source.removeprefix(prefix)
        path = Path(source) if os.path.isabs(source) else base / source
        if not path.exists() and agent != "localimage" and ":" in source:
            tagless = source.rsplit(":", 1)[0]  # an archive's `path:tag`
            path = Path(tagless) if os.path.isabs(tagless) else base / tagless
        _check_base(path, source, deffile.path, entry.line)
        digest = tree_digest(path, cache) if path.is_dir() else "sha256:" + cache.file_sha256(path)
        out.append((_display(path, base), digest))
    return out


def _check_base(path: Path, source: str, def_path: str, line: int | None) -> None:
    """A localimage base is an image file or a sandbox directory; said as what it is otherwise.

    A FIFO or device would be read forever (hashing it, then apptainer);
    a link loop or a path through a file is said as such, not "does not exist".
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        from scitex_container.files.pathinfo import describe_oserror

        _, message = describe_oserror(exc, None)
        raise DefFileError(
            f"localimage `{source}`: {message} (looked for {path})", def_path, line
        ) from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        from scitex_container.files.pathinfo import regular_file

        try:
            regular_file(path, "base image")
        except BadInputError as exc:
            raise DefFileError(f"localimage `{source}`: {exc}", def_path, line) from None


def compute_inputs(
    def_path: str | os.PathLike,
    *,
    build_args: Mapping[str, str] | None = None,
    sandbox: bool = False,
    cache: ContentCache | None = None,
) -> BuildInputs:
    """Hash every input of building ``def_path``.

    Raises DefFileError (``file:line``) for a def that does not parse, a
    missing ``%files`` source or a missing localimage.
    """
    from scitex_container.apptainer.deffile import parse_def_text, validate_files
    from scitex_container.apptainer.deffile.files import read_def_text

    def_path = Path(def_path).absolute()
    args = {str(k): str(v) for k, v in (build_args or {}).items()}
    text = read_def_text(def_path)  # bounded; a FIFO or device refused
    data = text.encode("utf-8", "surrogateescape")  # the exact bytes back
    deffile = parse_def_text(text, os.fspath(def_path))
    base = def_path.parent
    own_cache = cache is None
    cache = cache or ContentCache()
    files = [
        (_display(src, base), tree_digest(src, cache))
        for src in validate_files(deffile, build_args=args)
    ]
    images = _image_digest(deffile, base, args, cache)
    if own_cache:
        cache.save()
    def_sha = hashlib.sha256(data).hexdigest()
    payload = {
        "schema": SCHEMA,
        "def": def_sha,
        "files": files,
        "images": images,
        "build_args": sorted(args.items()),
        "sandbox": bool(sandbox),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return BuildInputs(
        digest=digest,
        def_path=def_path,
        def_sha256=def_sha,
        def_text=data.decode("utf-8", "replace"),
        files=tuple(files),
        images=tuple(images),
        build_args=tuple(sorted(args.items())),
        sandbox=bool(sandbox),
    )
