"""Hermetic locked defs: every package from the artifact archive, none from a network.

With an archive (``lock pin --archive DIR``), the locked def gets:

* a generated ``%setup`` block that copies a *view* of the archive into the
  build's root at ``/.scitex-archive`` (an apt repository of the pinned
  .debs with a ``Packages`` index made by ``dpkg-scanpackages``, the wheels
  under their wheel names, the npm tarballs) and points the image's package
  managers at it alone: apt's sources become just
  ``deb [trusted=yes] file:/.scitex-archive/apt ./`` and ``/etc/pip.conf``
  says ``no-index`` with the wheels as ``find-links``, so the rough def's own
  ``apt-get update/install`` and ``pip install`` calls resolve from the
  archive too;
* pins installed with ``pip install --no-index --require-hashes`` (each pin
  carries the sha256 the archive recorded) and npm from the tarballs;
* at the end of ``%post``, the image's own apt sources and pip config are put
  back and the copy is removed, so the image holds nothing of the archive.

The view lives in the archive (``DIR/views/<digest>``, hard links to the
content-addressed files), named by the digest of what it holds, so the same
pins give the same def text.  Every artifact the pins need is checked
before anything is written: a missing one raises NotFoundError naming it.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from scitex_container import runner
from scitex_container.apptainer.lock.archive_store import ArchiveStore, entry_key
from scitex_container.errors import BadInputError, NotFoundError
from scitex_container.fsutil import remove_path

ROOT = "/.scitex-archive"
TAG = "scitex-container archive"
_SAVE = "/.scitex-archive-saved"


#: Bootstraps whose base is a local file: the only ones an archive build can use.
LOCAL_BOOTSTRAPS = ("localimage", "scratch")


def check_bootstrap(bootstrap: str, where: str) -> None:
    """Refuse a base that comes from a network (debootstrap, docker, library...)."""
    if bootstrap.lower() not in LOCAL_BOOTSTRAPS:
        raise BadInputError(
            f"`Bootstrap: {bootstrap}` fetches its base from a network; a locked def "
            "from an archive needs a local base (`Bootstrap: localimage` of an "
            "archived base image, or scratch); debootstrap from the archive is not supported yet",
            where,
        )


def required(
    apt_pins: Mapping[str, str], pip_pins: Sequence[str], node: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``(lock key, version)`` of every artifact the pins install."""
    out = [(f"dpkg:{n}", v) for n, v in sorted(apt_pins.items())]
    for pin in pip_pins:
        name, sep, version = pin.partition("==")
        out.append((f"pip:{name}", version) if sep else (f"pip:{pin}", ""))
    out += [(f"node:{n}", v) for n, v in sorted(node.items())]
    return out


def records_for(archive: str | os.PathLike, wanted: list[tuple[str, str]]) -> dict[str, dict]:
    """``{lock key: index record}``; NotFoundError lists every gap (before any build)."""
    store = ArchiveStore(archive)
    if not (store.root / "index.json").is_file():
        raise NotFoundError(f"`{store.root}` is not an artifact archive (no index.json)")
    index = store.read_index()
    out, gaps = {}, []
    for key, version in wanted:
        record = index.get(entry_key(key, version))
        if isinstance(record, dict) and store.has(str(record.get("sha256", ""))):
            out[key] = record
        else:
            gaps.append(entry_key(key, version))
    if gaps:
        raise NotFoundError(
            f"{len(gaps)} artifact(s) the locked def needs are not in the archive "
            f"(looked in {store.root / 'index.json'} and {store.root / 'sha256'}): "
            + ", ".join(gaps)
            + "; run `scitex-container lock archive` while the sources still have them",
            str(store.root),
        )
    return out


def _subdir(key: str) -> str:
    return {"dpkg": "apt", "pip": "wheels", "node": "npm"}[key.split(":", 1)[0]]


def build_view(archive: str | os.PathLike, records: Mapping[str, dict]) -> Path:
    """``DIR/views/<digest>``: the artifacts under their names, with an apt index."""
    store = ArchiveStore(archive)
    listing = sorted((_subdir(k), str(r["filename"]), str(r["sha256"])) for k, r in records.items())
    digest = hashlib.sha256(repr(listing).encode()).hexdigest()[:16]
    final = (store.root / "views" / digest).absolute()
    if final.is_dir() or runner.is_dry_run():
        return final
    tmp = final.with_name(f".{digest}.tmp-{os.getpid()}")
    remove_path(tmp)
    try:
        for sub in ("apt", "wheels", "npm"):
            (tmp / sub).mkdir(parents=True)
        for sub, filename, sha in listing:
            if "/" in filename or filename in ("", ".", ".."):
                raise NotFoundError(f"archive index names a bad file name {filename!r}")
            try:
                os.link(store.blob(sha), tmp / sub / filename)
            except OSError:
                shutil.copyfile(store.blob(sha), tmp / sub / filename)
        done = runner.run(
            ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
            cwd=tmp / "apt",
            readonly=True,
        )
        (tmp / "apt" / "Packages").write_text(done.stdout, encoding="utf-8")
        os.replace(tmp, final)
    except BaseException:
        remove_path(tmp)
        raise
    return final


def hashed_pins(pip_pins: Sequence[str], records: Mapping[str, dict]) -> list[str]:
    """``pin --hash=sha256:HEX`` per pip pin (for ``--require-hashes``)."""
    out = []
    for pin in pip_pins:
        name, sep, _ = pin.partition("==")
        record = records[f"pip:{name}" if sep else f"pip:{pin}"]
        out.append(f"{pin} --hash=sha256:{record['sha256']}")
    return out


def setup_block(view: Path) -> str:
    """``%setup`` body: copy the view in and point apt and pip at it alone."""
    r = '"${APPTAINER_ROOTFS}"'
    q = shlex.quote(str(view))
    lines = [
        "# Generated by scitex-container: install only from the artifact archive.",
        f"rm -rf {r}{ROOT} {r}{_SAVE}",
        f"mkdir -p {r}{ROOT} {r}{_SAVE} {r}/etc/apt/sources.list.d",
        f"cp -R {q}/. {r}{ROOT}/",
        "for _scx_f in etc/apt/sources.list etc/apt/sources.list.d etc/pip.conf; do",
        f'    if [ -e {r}/"$_scx_f" ]; then',
        f'        mkdir -p "$(dirname {r}{_SAVE}/"$_scx_f")"',
        f'        mv {r}/"$_scx_f" {r}{_SAVE}/"$_scx_f"',
        "    fi",
        "done",
        f"mkdir -p {r}/etc/apt/sources.list.d",
        f"echo 'deb [trusted=yes] file:{ROOT}/apt ./' > {r}/etc/apt/sources.list",
        f"printf '[global]\\nno-index = true\\nfind-links = {ROOT}/wheels\\n' > {r}/etc/pip.conf",
    ]
    return "\n".join(lines) + "\n"


def restore_lines() -> list[str]:
    """End of ``%post``: the image's own sources back, the archive copy gone."""
    return [
        "# --- archive: put the image's own apt sources and pip config back ---",
        f"rm -rf /etc/apt/sources.list /etc/apt/sources.list.d /etc/pip.conf {ROOT}",
        "rm -f /var/lib/apt/lists/_.scitex-archive_*",
        "for _scx_f in etc/apt/sources.list etc/apt/sources.list.d etc/pip.conf; do",
        f'    if [ -e {_SAVE}/"$_scx_f" ]; then mv {_SAVE}/"$_scx_f" /"$_scx_f"; fi',
        "done",
        "mkdir -p /etc/apt/sources.list.d",
        f"rm -rf {_SAVE}",
    ]
