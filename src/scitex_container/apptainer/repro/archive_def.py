"""Hermetic locked defs: every package from the artifact archive, none from a network.

With an archive (``lock pin --archive DIR``), the locked def gets:

* a generated ``%setup`` block that copies a *view* of the archive into the
  build's root at ``/.scitex-archive`` and checks that copy against the
  sha256 of every file the pin saw (:mod:`.archive_view`) before anything
  reads it (the view: an apt repository of the pinned
  .debs with a ``Packages`` index made by ``dpkg-scanpackages``, the wheels
  under their wheel names, the npm tarballs) and points the image's package
  managers at it alone: apt's sources become just
  ``deb [trusted=yes] file:/.scitex-archive/apt ./`` and ``/etc/pip.conf``
  says ``no-index`` with the wheels as ``find-links``, so the rough def's own
  ``apt-get update/install`` and ``pip install`` calls resolve from the
  archive too;
* pins installed with ``pip install --no-index --require-hashes`` (each pin
  carries the sha256 the archive recorded) and npm from the tarballs;
* after the rough ``%post`` and the pins (both in the generated ``%post``),
  the copy and its config are removed, so the image holds nothing of the
  archive.

A ``Bootstrap: debootstrap`` def becomes ``Bootstrap: scratch`` whose
``%setup`` first debootstraps the same base from the view, which is then
also a Debian mirror of the lock's .debs (see :mod:`.archive_debootstrap`);
every dpkg entry of the lock is then needed, whatever the apt scope.

The view lives in the archive (``DIR/views/<digest>``, hard links to the
content-addressed files), named by the digest of what it holds, so the same
pins give the same def text; it is remade and compared at every pin, never
trusted because it exists.  The archive itself must be the caller's or
root's and writable only by its owner (:mod:`..lock.archive_store`).
Every artifact the pins need is checked before anything is written: a
missing one raises NotFoundError naming it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from scitex_container.apptainer.deffile import DefFile, parse_def_text
from scitex_container.apptainer.deffile.text import content, split_lines
from scitex_container.apptainer.lock.archive_store import ArchiveStore, entry_key
from scitex_container.apptainer.repro.archive_debootstrap import (
    DebootstrapBase,
    as_debootstrap,
    as_scratch,
    base_of,
    setup_lines,
)
from scitex_container.apptainer.repro.archive_view import View, build_view, copy_check_lines
from scitex_container.errors import BadInputError, NotFoundError

ROOT = "/.scitex-archive"
TAG = "scitex-container archive"
#: apt's and pip's config for the build (``APT_CONFIG``, ``PIP_CONFIG_FILE``), apart from /etc.
CONF = "/.scitex-archive-conf"
_APT_CONF = (
    f'Dir::Etc::sourcelist "{CONF}/sources.list";\\n'
    f'Dir::Etc::sourceparts "{CONF}/sources.list.d";\\n'
)


#: Bootstraps an archive build can serve: a local base file, none, or
#: debootstrap made from the archive's .debs (:mod:`.archive_debootstrap`).
ARCHIVE_BOOTSTRAPS = ("localimage", "scratch", "debootstrap")


def check_bootstrap(bootstrap: str, where: str) -> None:
    """Refuse a base the archive cannot serve (docker, library, oras, yum...)."""
    if bootstrap.lower() not in ARCHIVE_BOOTSTRAPS:
        raise BadInputError(
            f"`Bootstrap: {bootstrap}` fetches its base from a network the archive cannot "
            "serve; a locked def from an archive needs `Bootstrap: debootstrap`, "
            "`localimage` (of an archived base image) or `scratch`",
            where,
        )


def input_dirs(def_path: str | os.PathLike) -> tuple[Path, ...]:
    """Host directories the def copies wheels/.debs from (``%files`` sources).

    ``repro --archive`` offers them to ``lock archive`` as saved files, so
    local wheels installed with ``--find-links`` (in no index) are archived
    too; only files that name a lock entry are taken from them.  Sources are
    read as apptainer reads them (globs, quotes, ``{{ NAME }}`` from the
    ``%arguments`` defaults; :mod:`..deffile.sources`).
    """
    from scitex_container.apptainer.deffile import parse_def
    from scitex_container.apptainer.deffile.sources import host_sources

    out: list[Path] = []
    for source in host_sources(parse_def(def_path), strict=False):
        for src in source.paths:
            if src.is_file() and src.suffix in (".whl", ".deb", ".tgz"):
                src = src.parent
            if src.is_dir() and src.resolve() not in out:
                out.append(src.resolve())
    return tuple(out)


def required(
    apt_pins: Mapping[str, str],
    pip_pins: Sequence[str],
    node: Mapping[str, str],
    base_debs: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """``(lock key, version)`` of every artifact the pins (and a debootstrap base) install."""
    debs = {**(base_debs or {}), **apt_pins}
    out = [(f"dpkg:{n}", v) for n, v in sorted(debs.items())]
    for pin in pip_pins:
        name, sep, version = pin.partition("==")
        out.append((f"pip:{name}", version) if sep else (f"pip:{pin}", ""))
    out += [(f"node:{n}", v) for n, v in sorted(node.items())]
    return out


def records_for(archive: str | os.PathLike, wanted: list[tuple[str, str]]) -> dict[str, dict]:
    """``{lock key: index record}``; NotFoundError lists every gap (before any build).

    UntrustedStateError (exit 2) when the archive or its index is another
    user's (root's is fine) or writable by group or others.
    """
    store = ArchiveStore(archive)
    if not os.path.isdir(store.root):
        raise NotFoundError(f"`{store.root}` is not an artifact archive (no such directory)")
    store.check_dir(store.root)
    if not os.path.lexists(store.root / "index.json"):
        raise NotFoundError(f"`{store.root}` is not an artifact archive (no index.json)")
    index = store.read_index()
    out, gaps = {}, []
    for key, version in wanted:
        record = index.get(entry_key(key, version))
        if isinstance(record, dict) and store.has(str(record.get("sha256", ""))):
            out[key] = record
        else:
            gaps.append(entry_key(key, version))
    store.check_blob_dirs([str(r.get("sha256", "")) for r in out.values()])
    if os.path.lexists(store.root / "views"):
        store.check_dir(store.root / "views")
    if gaps:
        raise NotFoundError(
            f"{len(gaps)} artifact(s) the locked def needs are not in the archive "
            f"(looked in {store.root / 'index.json'} and {store.root / 'sha256'}): "
            + ", ".join(gaps)
            + "; run `scitex-container lock archive` while the sources still have them",
            str(store.root),
        )
    return out


def hashed_pins(pip_pins: Sequence[str], records: Mapping[str, dict]) -> list[str]:
    """``pin --hash=sha256:HEX`` per pip pin (for ``--require-hashes``)."""
    out = []
    for pin in pip_pins:
        name, sep, _ = pin.partition("==")
        record = records[f"pip:{name}" if sep else f"pip:{pin}"]
        out.append(f"{pin} --hash=sha256:{record['sha256']}")
    return out


def setup_block(view: View, base: DebootstrapBase | None = None) -> str:
    """``%setup`` body: (debootstrap the base,) copy the view in, point apt and pip at it.

    The view is copied first and the copy checked against its manifest
    (:func:`.archive_view.copy_check_lines`); only the copy is read after
    that.  Without a base the copy goes straight into the rootfs; with one
    (whose debootstrap wipes the rootfs) into a private ``mktemp -d``
    directory that a trap removes on every exit path of this block.
    """
    r = '"${APPTAINER_ROOTFS}"'
    lines = ["# Generated by scitex-container: install only from the artifact archive."]
    if base is not None:
        lines += [
            '_scx_arc="$(mktemp -d)"',
            """trap 'rm -rf "$_scx_arc" ${_scx_env:+"$_scx_env"}' EXIT""",
            "trap 'exit 1' HUP INT TERM",
            *copy_check_lines(view, '"$_scx_arc"'),
            *setup_lines('"$_scx_arc"/apt', base),
        ]
    lines += [
        f"rm -rf {r}{ROOT} {r}{CONF}",
        f"mkdir -p {r}{ROOT}",
    ]
    if base is not None:
        lines += [
            f'cp -R "$_scx_arc"/. {r}{ROOT}/  # the checked copy',
            'rm -rf "$_scx_arc"',
            "trap - EXIT HUP INT TERM",
        ]
    else:
        lines += copy_check_lines(view, f"{r}{ROOT}")
    c = f"{r}{CONF}"
    lines += [
        "# apt and pip read the archive through their own config files (exported by the",
        "# generated %post): the image's /etc/apt and /etc/pip.conf are never touched",
        f"mkdir -p {c}/sources.list.d",
        f"echo 'deb [trusted=yes] file:{ROOT}/apt ./' > {c}/sources.list",
        f"printf '{_APT_CONF}' > {c}/apt.conf",
        f"printf '[global]\\nno-index = true\\nfind-links = {ROOT}/wheels\\n' > {c}/pip.conf",
    ]
    return "\n".join(lines) + "\n"


def apply(
    deffile: DefFile,
    where: str,
    archive: str | os.PathLike,
    lock_debs: Mapping[str, str],
    apt_pins: Mapping[str, str],
    pip_pins: Sequence[str],
    node: Mapping[str, str],
) -> tuple[DefFile, list[str]]:
    """The def with the archive's ``%setup`` block, and the hashed pip pins.

    Checks the bootstrap and that every artifact is archived (before any
    build); a debootstrap def becomes scratch plus a debootstrap from the
    archive, which needs every dpkg entry of the lock (``lock_debs``).
    """
    check_bootstrap(deffile.stage(-1).bootstrap, where)
    base = base_of(deffile, where)
    wanted = required(apt_pins, pip_pins, node, lock_debs if base is not None else None)
    records = records_for(archive, wanted)
    view = build_view(archive, records, base)
    if base is not None:
        deffile = as_scratch(deffile, base)
    block = setup_block(view, base)
    # first in %setup: the base is made before the def's own %setup runs on it
    deffile = deffile.set_generated_block(TAG, block, section="setup", first=True)
    return deffile, hashed_pins(pip_pins, records)


def unapply(deffile: DefFile) -> DefFile:
    """Undo :func:`apply`: no archive ``%setup`` block, the debootstrap header back.

    Re-pinning a locked def starts from this, so a pin without an archive
    keeps nothing of an earlier archive pin, and one with an archive makes
    its block afresh.  A ``%setup`` left with nothing in it (the block was
    all it held) goes too.
    """
    if deffile.generated_block(TAG, section="setup") is None:
        return as_debootstrap(deffile)
    deffile = deffile.remove_generated_block(TAG, section="setup")
    empty = [s for s in deffile.stage(-1).sections_named("setup") if not s.raw_body.strip()]
    if empty:  # drop it, and the blank line the archive pin put before it
        k = 0
        parts: list[str] = []
        for stage in deffile.stages:
            parts.append(stage.raw_header)
            for sec in stage.sections:
                k = len(parts) if sec is empty[0] else k
                parts.append(sec.raw)
        rows = split_lines(parts[k - 1])
        if rows and not content(rows[-1]).strip():
            parts[k - 1] = "".join(rows[:-1])
        parts[k] = ""
        deffile = parse_def_text("".join(parts), deffile.path)
    return as_debootstrap(deffile)


def env_lines() -> list[str]:
    """Start of ``%post``: apt and pip read the archive's config, not the image's."""
    return [
        "# --- archive: apt and pip install from the archive only (the image's config untouched)",
        f"export APT_CONFIG={CONF}/apt.conf PIP_CONFIG_FILE={CONF}/pip.conf",
    ]


def restore_lines() -> list[str]:
    """End of ``%post``: the archive copy and its config gone, the image's own left as made."""
    return [
        "# --- archive: remove the archive copy, its config and apt's index of it ---",
        "unset APT_CONFIG PIP_CONFIG_FILE",
        f"rm -rf {ROOT} {CONF}",
        "rm -f /var/lib/apt/lists/_.scitex-archive_*",
    ]


def check_locked_def(locked_def: str | os.PathLike, archive: str | os.PathLike) -> int:
    """Before a build: does ``archive`` still hold what ``locked_def`` installs from?

    The locked def names its view of the archive and the sha256 of every
    file in it (:mod:`.archive_view`); each is looked for under ``archive``
    and hashed (through the digest cache: a second check costs a ``stat``).
    NotFoundError (exit 2) for an archive that does not exist, a locked def
    pinned without an archive or against another one, and for missing or
    changed files, listing them and where it looked.  Returns the number
    of files checked.
    """
    from scitex_container.apptainer.deffile import parse_def
    from scitex_container.files.digests import DigestCache

    root = Path(archive).absolute()
    if not root.is_dir():
        raise NotFoundError(f"`{root}` is not an artifact archive (no such directory)", str(root))
    deffile = parse_def(locked_def)
    block = next(
        (b for i in range(len(deffile.stages)) if (b := _setup_block(deffile, i)) is not None),
        None,
    )
    view = re.search(r"^cp -R (.+?)/\. ", block or "", re.MULTILINE)
    if block is None or view is None:
        raise NotFoundError(
            f"`{locked_def}` installs from no archive; pin it with `lock pin --archive {root}`",
            os.fspath(locked_def),
        )
    path = Path(shlex.split(view.group(1))[0])
    if path.parent.parent.resolve() != root.resolve():
        raise NotFoundError(
            f"`{locked_def}` was pinned against the archive `{path.parent.parent}`, not `{root}`",
            os.fspath(locked_def),
        )
    store = ArchiveStore(root)
    for where in (store.root, path.parent):  # the archive, its views/ and the view copied:
        if os.path.lexists(where):  # trusted, or refused (UntrustedStateError, exit 2)
            store.check_dir(where)
    store.check_tree(path)
    sums = re.findall(r"^([0-9a-f]{64})  (.+)$", block, re.MULTILINE)
    cache, gaps = DigestCache(), []
    for digest, rel in sums:
        file = path / rel
        try:
            ok = file.is_file() and cache.file_sha256(file) == digest
        except OSError:
            ok = False
        if not ok:
            gaps.append(rel)
    cache.save()
    if gaps:
        raise NotFoundError(
            f"{len(gaps)} of {len(sums)} file(s) the locked def installs are missing or "
            f"changed in the archive (looked in {path}): "
            + ", ".join(gaps[:20])
            + (" ..." if len(gaps) > 20 else "")
            + f"; re-run `scitex-container lock archive` and `lock pin --archive {root}`",
            str(path),
        )
    return len(sums)


def _setup_block(deffile: DefFile, stage: int) -> str | None:
    return deffile.generated_block(TAG, section="setup", stage=stage)
