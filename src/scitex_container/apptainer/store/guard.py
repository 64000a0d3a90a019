"""No link is followed out of a store: refuse a store another user could steer us with.

Whoever runs a command on a store (root on a user's store included) acts
only inside it.  Before anything reads, locks, sweeps or writes there,
:func:`check_store` looks at everything the command could act on:

* the hidden ``.scitex/`` folder, its ``tmp/`` folder and every entry in
  them (lock files, build scratch) must be real directories and files (no
  symbolic link, ever) owned by the store's owner or by us;
* the store's own entries (versions, sidecars, hidden temporaries) must be
  owned by the store's owner or by us, and none may be a symbolic link owned
  by someone else, except the active link pointing at a plain name in the
  store.

A refusal names the path, its owner and mode
(:class:`~scitex_container.errors.UntrustedStateError`, exit 2); nothing
has been touched.  What is left between the check and the use (another
user swapping an entry for a link in that instant) is narrowed by the users
of the paths: lock files are opened with ``O_NOFOLLOW`` (filelock), scratch
is removed by ``rmtree`` (which never follows links inside the tree), and
metadata is read with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scitex_container.apptainer.store.naming import FLAT_SANDBOX, FLAT_SIF, Scheme, image_scheme
from scitex_container.errors import UntrustedStateError
from scitex_container.files.ownership import describe, owner_name
from scitex_container.files.pathinfo import special_not_a_directory

STATE_DIR = ".scitex"


def _refuse(path: Path, st: os.stat_result, why: str, owner: int) -> UntrustedStateError:
    return UntrustedStateError(
        f"{why} ({describe(st)}) in a store owned by {owner_name(owner)}; "
        "refusing to act on it (remove it, or run as its owner)",
        str(path),
    )


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, PermissionError):
        return None  # absent, or inside a folder we cannot enter (nor act through)


def _check_folder(path: Path, owner: int, trusted: set[int]) -> bool:
    """``path`` is absent (False) or a real directory of a trusted user (True)."""
    st = _lstat(path)
    if st is None:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, st, "is a symbolic link", owner)
    if (kind := special_not_a_directory(path, st.st_mode)) is not None:
        raise kind  # a FIFO, a device, a socket: said as what it is
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, st, "is not a directory", owner)
    if st.st_uid not in trusted:
        raise _refuse(path, st, f"is owned by {owner_name(st.st_uid)}", owner)
    return True


def _check_contents(folder: Path, owner: int, trusted: set[int], skip: str = "") -> None:
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, PermissionError):
        return  # a folder we cannot list is one we cannot act through either
    for name in names:
        if name == skip:
            continue
        path = folder / name
        st = _lstat(path)
        if st is None:
            continue
        if stat.S_ISLNK(st.st_mode):
            raise _refuse(path, st, "is a symbolic link", owner)
        if st.st_uid not in trusted:
            raise _refuse(path, st, f"is owned by {owner_name(st.st_uid)}", owner)


def check_state(store_dir: Path) -> None:
    """The hidden folder and what is in it (see the module docstring)."""
    try:
        owner = os.stat(store_dir).st_uid
    except FileNotFoundError:
        return
    trusted = {owner, os.geteuid()}
    state = store_dir / STATE_DIR
    if not _check_folder(state, owner, trusted):
        return
    _check_contents(state, owner, trusted, skip="tmp")
    if _check_folder(state / "tmp", owner, trusted):
        _check_contents(state / "tmp", owner, trusted)


def _ours(name: str, scheme: Scheme) -> bool:
    """Is ``name`` one of the entries the store acts on?"""
    if name == scheme.active or name.startswith(scheme.prefix):
        return True
    return name.startswith((f".{scheme.prefix}", f".{scheme.active}."))


def _check_path_links(store_dir: Path) -> None:
    """The store's own path leads nowhere another user chose: no link in it that is owned
    by someone other than the caller or root (a user's ``x -> /root/store/x`` would make
    root's command act on root's store under the user's name)."""
    me = os.geteuid()
    path = Path(os.path.abspath(store_dir))
    for part in (path, *path.parents):
        st = _lstat(part)
        if st is not None and stat.S_ISLNK(st.st_mode) and st.st_uid not in (me, 0):
            raise _refuse(part, st, f"is a symbolic link to `{os.readlink(part)}`", st.st_uid)


def check_store(store_dir: Path, scheme: Scheme) -> None:
    """Refuse the store when a command on it could be steered out of it."""
    _check_path_links(store_dir)
    try:
        st_dir = os.stat(store_dir)
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISDIR(st_dir.st_mode):
        return
    owner, me = st_dir.st_uid, os.geteuid()
    trusted = {owner, me}
    check_state(store_dir)
    try:
        entries = list(os.scandir(store_dir))
    except OSError:
        return
    for entry in entries:
        if not _ours(entry.name, scheme):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        path = Path(entry.path)
        if st.st_uid not in trusted:
            raise _refuse(path, st, f"is owned by {owner_name(st.st_uid)}", owner)
        if not stat.S_ISLNK(st.st_mode) or st.st_uid == me:
            continue
        target = os.readlink(path)
        inside = "/" not in target.rstrip("/") and target not in (".", "..")
        if entry.name != scheme.active or not inside:
            raise _refuse(path, st, f"is a symbolic link to `{target}`", owner)


def check_store_of(path: Path) -> None:
    """:func:`check_store` for the store ``path`` (a version or an active link) is in.

    Every layout its folder could be is checked (the flat one, the image
    directory's), so this needs no detection.
    """
    folder = Path(os.path.abspath(path)).parent
    schemes = [FLAT_SIF, FLAT_SANDBOX]
    if folder.name and not folder.name.startswith("."):
        schemes += [image_scheme(folder.name), image_scheme(folder.name, True)]
    for scheme in schemes:
        check_store(folder, scheme)
