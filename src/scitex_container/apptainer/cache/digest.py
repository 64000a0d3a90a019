"""The digest of a stage's root file system, as its builder sees it.

:func:`rootfs_digest` hashes every path of a tree: its kind, mode, owner
and group (directories too), extended attributes (``security.capability``
included: a file's capabilities are part of what it does), file contents
and link targets; nothing is skipped, so a tree that cannot be read whole
raises OSError instead of being vouched for in part.

An unprivileged ``--fakeroot`` build leaves files the user cannot read
directly (``chmod 000`` in ``%post``; Debian's ``_apt`` 0700 dirs owned by
the user's sub-uids).  :func:`tree_digest` therefore hashes such a tree the
way it was made: inside a user namespace mapping the user's sub-ids
(``unshare --map-auto --map-root-user``), where the build's root can read
it all.  A tree that cannot be read even there (a file owned by a host uid
outside the map) raises OSError: its entry is not stored.

:func:`tree_scan` also says whether any path holds an extended attribute:
apptainer's ``Bootstrap: localimage`` from a sandbox (how a stage is built on
the one before) copies the tree without them, so such a stage can be no base.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

from scitex_container.process import runner

_IN_NAMESPACE = (
    "import json, sys\n"
    "from scitex_container.apptainer.cache.digest import rootfs_scan\n"
    "sys.stdout.write(json.dumps(rootfs_scan(sys.argv[1])))\n"
)


def _raise(exc: OSError) -> None:
    raise exc  # a directory we cannot list: the tree cannot be vouched for


#: Labels the host's file system gives every file it holds (the cold build's tree gets them
#: the same way): no reason to refuse a stage as a base.
_HOST_LABELS = ("security.selinux=",)


def _held(xattrs: str) -> bool:
    """Does ``xattrs`` (from :func:`_xattrs`) hold one a stage's copy would lose?"""
    return any(not x.startswith(_HOST_LABELS) for x in xattrs.split(",") if x)


def _xattrs(path: str) -> str:
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError as exc:
        if exc.errno in (95, 61):  # ENOTSUP, ENODATA: none to hash
            return ""
        raise
    return ",".join(f"{n}={os.getxattr(path, n, follow_symlinks=False).hex()}" for n in names)


def rootfs_digest(root: str | os.PathLike) -> tuple[str, int]:
    """sha256 over a root fs (paths, kinds, modes, owners, xattrs, file contents, link
    targets; no link followed) and its size in bytes.  OSError: part of it is unreadable."""
    digest, size, _ = rootfs_scan(root)
    return digest, size


def rootfs_scan(root: str | os.PathLike) -> tuple[str, int, bool]:
    """:func:`rootfs_digest`, and whether any path of the tree holds an extended attribute."""
    h = hashlib.sha256()
    size = 0
    xattrs = False
    root = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(f"{dirpath}/{d}")]):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as fh:
                    what = hashlib.file_digest(fh, "sha256").hexdigest()
                size += st.st_size
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(path)
            else:
                what = f"{stat.S_IFMT(st.st_mode)}:{st.st_rdev}"
            held = _xattrs(path)
            xattrs = xattrs or _held(held)
            meta = f"{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0{held}"
            h.update(f"{rel}/{name}\0{meta}\0{what}\n".encode())
        st = os.lstat(dirpath)
        held = _xattrs(dirpath)
        xattrs = xattrs or _held(held)
        meta = f"{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0{held}"
        h.update(f"{rel}\0D\0{meta}\n".encode())
    return h.hexdigest(), size, xattrs


def tree_digest(root: Path) -> tuple[str, int]:
    """:func:`rootfs_digest` of a tree an unprivileged ``--fakeroot`` build made, read inside
    a user namespace with the caller's sub-id map (root: read directly).  OSError when it
    cannot be read whole."""
    digest, size, _ = tree_scan(root)
    return digest, size


def tree_scan(root: Path) -> tuple[str, int, bool]:
    """:func:`tree_digest`, and whether the tree holds any extended attribute."""
    if os.geteuid() == 0:
        return rootfs_scan(root)
    argv = ["unshare", "--map-auto", "--map-root-user", sys.executable, "-c", _IN_NAMESPACE]
    try:
        done = runner.run([*argv, os.fspath(root)], check=False, readonly=True)
    except Exception:  # no unshare: read it ourselves (what we cannot read raises)
        return rootfs_scan(root)
    if done.returncode != 0:
        said = (done.stderr or "").strip().splitlines()
        raise PermissionError(13, said[-1] if said else "cannot read it whole", os.fspath(root))
    digest, size, xattrs = json.loads(done.stdout)
    return str(digest), int(size), bool(xattrs)
