"""The archive *view* a locked def installs from, and the proof it is unchanged.

A view (``DIR/views/<digest>``) holds the artifacts of one set of pins
under their names (hard links to the content-addressed files) plus the apt
index ``dpkg-scanpackages`` makes of them (and, for debootstrap, the
``dists/`` mirror files).  It is named by the digest of what it holds, so the
same pins give the same def text.

Nothing in it is trusted by existence.  :func:`build_view` always makes the
view afresh in a private directory, checks each linked artifact against the
sha256 the index records, and keeps an existing view only when it holds
exactly the same files with the same sha256 (anything else there is
replaced).  The result carries the sha256 of every file (:class:`View`);
the locked def embeds that manifest and, at build time, copies the view to
a place only the build controls and checks the *copy* with
``sha256sum --check --strict`` before anything reads it
(:func:`copy_check_lines`): a .deb swapped in the archive after the pin,
even with a matching ``Packages``, fails the build naming the file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shlex
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.lock.archive_store import ArchiveStore
from scitex_container.apptainer.repro.archive_debootstrap import DebootstrapBase, write_mirror
from scitex_container.errors import BadInputError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import atomic_write_text, sha256_stream
from scitex_container.process import runner

#: Artifact file names a view accepts: what apt, pip and npm name their files
#: (no path separator, no leading dot, nothing a shell or sha256sum line would
#: read differently).
FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~%=@,-]*")
HEREDOC = "SCITEX_SHA256SUMS"


@dataclass(frozen=True)
class View:
    """A verified view: its path and ``(relative path, sha256)`` of every file, sorted."""

    path: Path
    files: tuple[tuple[str, str], ...]

    def sums(self) -> str:
        """The manifest in ``sha256sum`` format (``HEX  path`` lines, sorted)."""
        return "".join(f"{sha}  {rel}\n" for rel, sha in self.files)


def _subdir(key: str) -> str:
    return {"dpkg": "apt", "pip": "wheels", "node": "npm"}[key.split(":", 1)[0]]


def _hash_regular(path: Path) -> str | None:
    """sha256 of ``path`` if it is a regular file (never a link, FIFO or device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb", buffering=0) as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return sha256_stream(fh)


def manifest_of(root: Path) -> tuple[tuple[str, str], ...] | None:
    """``(relative path, sha256)`` of every file under ``root``, sorted; None if
    anything there is neither a directory nor a regular file (or unreadable)."""
    out: list[tuple[str, str]] = []
    todo = [root]
    while todo:
        here = todo.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:
            return None
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                todo.append(path)
                continue
            digest = _hash_regular(path) if entry.is_file(follow_symlinks=False) else None
            if digest is None:
                return None
            out.append((path.relative_to(root).as_posix(), digest))
    return tuple(sorted(out))


def _listing(records: Mapping[str, dict]) -> list[tuple[str, str, str]]:
    listing = sorted((_subdir(k), str(r["filename"]), str(r["sha256"])) for k, r in records.items())
    for _, filename, sha in listing:
        if not FILENAME.fullmatch(filename) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise BadInputError(
                f"the archive index names a bad file {filename!r} (sha256 {sha!r})", "index.json"
            )
    return listing


def _fill(tmp: Path, store: ArchiveStore, listing, base: DebootstrapBase | None) -> None:
    for sub in ("apt", "wheels", "npm"):
        (tmp / sub).mkdir(parents=True)
    for sub, filename, sha in listing:
        target = tmp / sub / filename
        try:
            os.link(store.blob(sha), target, follow_symlinks=False)
        except OSError:
            shutil.copyfile(store.blob(sha), target, follow_symlinks=False)
        if _hash_regular(target) != sha:
            raise BadInputError(
                f"is not the file the archive index records for {sub}/{filename} "
                "(the archive was changed); re-run `scitex-container lock archive`",
                str(store.blob(sha)),
            )
    done = runner.run(
        ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=tmp / "apt", readonly=True
    )
    atomic_write_text(tmp / "apt" / "Packages", done.stdout, durable=False)  # ENOSPC names it
    if base is not None:
        write_mirror(tmp / "apt", base.suite, base.arch)


def _install(tmp: Path, final: Path, files: tuple[tuple[str, str], ...]) -> None:
    """Put the fresh view at ``final`` unless an identical one is there already."""
    if os.path.lexists(final):
        if os.path.isdir(final) and not os.path.islink(final) and manifest_of(final) == files:
            return
        stale = temporaries.new_dir(f".{final.name}.stale.", final.parent)
        try:
            os.rename(final, stale / "old")
            os.rename(tmp, final)
        finally:
            temporaries.remove(stale)
        return
    try:
        os.rename(tmp, final)
    except OSError as exc:  # made meanwhile by a concurrent pin: keep it only if identical
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or manifest_of(final) != files:
            raise BadInputError(f"cannot install the archive view: {exc}", str(final)) from None


def build_view(
    archive: str | os.PathLike,
    records: Mapping[str, dict],
    base: DebootstrapBase | None = None,
) -> View:
    """``DIR/views/<digest>``: the artifacts under their names, with an apt index.

    With ``base`` the apt directory is also a Debian mirror of its suite and
    architecture (``dists/``), for debootstrap.  Raises BadInputError naming
    an archived file whose content is not what the index records; a dry run
    makes the view (for its manifest) outside the archive and writes nothing
    there.
    """
    store = ArchiveStore(archive)
    listing = _listing(records)
    named: list = [listing, (base.suite, base.arch)] if base is not None else listing
    digest = hashlib.sha256(repr(named).encode()).hexdigest()[:16]
    views = store.root / "views"
    final = views / digest
    if runner.is_dry_run():
        with temporaries.directory("scitex-view-") as scratch:
            _fill(scratch / digest, store, listing, base)
            files = manifest_of(scratch / digest)
    else:
        store.ensure_root()
        store.make_dir(views)
        tmp = temporaries.new_dir(f".{digest}.", views)
        try:
            _fill(tmp, store, listing, base)
            os.chmod(tmp, 0o755)
            store.check_tree(final)  # an existing view is reused only when trusted
            files = manifest_of(tmp)
            if files is not None:
                _install(tmp, final, files)
        finally:
            temporaries.remove(tmp)  # gone already once installed
    if files is None:  # our own fresh directory: only a concurrent writer could do this
        raise BadInputError("the archive view changed while it was made", str(final))
    return View(final, files)


def copy_check_lines(view: View, copy: str) -> list[str]:
    """Shell lines: copy the view into ``copy`` (a shell word naming an empty
    directory only this build can write), then check the copy against the
    manifest; every later step reads the copy, never the archive."""
    q = shlex.quote(str(view.path))
    say = "printf 'scitex-container: the archive view %s %s\\n' " + q
    return [
        "# Check the copy, not the archive, against the sha256 of every file pinned (sorted),",
        "# before anything reads it: a file changed in the archive fails here, by name.",
        f"cp -R {q}/. {copy}/",
        f'_scx_odd="$(find {copy} ! -type d ! -type f | head -n 1)"',
        'if [ -n "$_scx_odd" ]; then',
        f'    {say} "holds $_scx_odd, which is not a regular file" >&2',
        "    exit 1",
        "fi",
        "_scx_bad=0",
        f"(cd {copy} && sha256sum --check --strict --quiet) <<'{HEREDOC}' || _scx_bad=1",
        *view.sums().splitlines(),
        HEREDOC,
        'if [ "$_scx_bad" != 0 ]; then',
        f"    {say} 'no longer holds what was pinned (see the FAILED lines above); "
        "re-run `scitex-container lock pin --archive`' >&2",
        "    exit 1",
        "fi",
        f'_scx_n="$(find {copy} -type f | wc -l)"',
        f'if [ "$_scx_n" -ne {len(view.files)} ]; then',
        f'    {say} "holds $_scx_n files where the pin listed {len(view.files)}" >&2',
        "    exit 1",
        "fi",
    ]
