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
    "from scitex_container.apptainer.cache.digest import rootfs_digest\n"
    "sys.stdout.write(json.dumps(rootfs_digest(sys.argv[1])))\n"
)


def _raise(exc: OSError) -> None:
    raise exc  # a directory we cannot list: the tree cannot be vouched for


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
    h = hashlib.sha256()
    size = 0
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
            meta = f"{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0{_xattrs(path)}"
            h.update(f"{rel}/{name}\0{meta}\0{what}\n".encode())
        st = os.lstat(dirpath)
        meta = f"{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0{_xattrs(dirpath)}"
        h.update(f"{rel}\0D\0{meta}\n".encode())
    return h.hexdigest(), size


def tree_digest(root: Path) -> tuple[str, int]:
    """:func:`rootfs_digest` of a tree an unprivileged ``--fakeroot`` build made, read inside
    a user namespace with the caller's sub-id map (root: read directly).  OSError when it
    cannot be read whole."""
    if os.geteuid() == 0:
        return rootfs_digest(root)
    argv = ["unshare", "--map-auto", "--map-root-user", sys.executable, "-c", _IN_NAMESPACE]
    try:
        done = runner.run([*argv, os.fspath(root)], check=False, readonly=True)
    except Exception:  # no unshare: read it ourselves (what we cannot read raises)
        return rootfs_digest(root)
    if done.returncode != 0:
        said = (done.stderr or "").strip().splitlines()
        raise PermissionError(13, said[-1] if said else "cannot read it whole", os.fspath(root))
    digest, size = json.loads(done.stdout)
    return str(digest), int(size)
