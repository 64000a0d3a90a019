"""Who may have written the files the site policy trusts: policy files, keyrings, keys.

The site policy (and every key or keyring it names) must be owned by root
and writable by nobody else; a policy a user adds with
``SCITEX_CONTAINER_POLICY`` (and its keys) may also be owned by that user.
Otherwise a user who can write the file, or the directory holding it,
could swap in a key of their own and have their image pass the gate.

A refusal is an :class:`~scitex_container.errors.UntrustedStateError`
(exit 2) naming the path, its owner and its mode.  Links are followed (a
site may link its configuration), but the file they lead to is what is
checked, and so are the directory of the named path and the directory of
the file it resolves to.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scitex_container.errors import UntrustedStateError
from scitex_container.files.ownership import describe, owner_name
from scitex_container.files.pathinfo import special_not_a_directory


def trusted_owners(site: bool) -> frozenset[int]:
    """The uids that may own a policy file or key: root, plus the caller for a user's policy."""
    return frozenset({0}) if site else frozenset({0, os.getuid()})


def _rule(owners: frozenset[int]) -> str:
    if owners == {0}:
        return "it must be owned by root and writable only by root"
    others = sorted(owner_name(u) for u in owners if u != 0)
    return f"it must be owned by root or {', '.join(others)} and writable only by its owner"


def _why(st: os.stat_result, owners: frozenset[int], directory: bool) -> str | None:
    if directory and not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if not directory and not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_uid not in owners:
        return f"is owned by {owner_name(st.st_uid)}"
    sticky_root_dir = directory and st.st_uid == 0 and st.st_mode & stat.S_ISVTX
    if st.st_mode & 0o022 and not sticky_root_dir:
        return "is writable by " + ("others" if st.st_mode & 0o002 else "its group")
    return None


def _check(path: Path, what: str, owners: frozenset[int], directory: bool) -> os.stat_result:
    st = os.stat(path)
    if directory and (kind := special_not_a_directory(path, st.st_mode)) is not None:
        raise kind  # a FIFO where the keyring is: said as what it is
    why = _why(st, owners, directory)
    if why is not None:
        raise UntrustedStateError(
            f"{what} {why} ({describe(st)}); {_rule(owners)}, refusing it", str(path)
        )
    return st


def check_trusted_file(
    path: str | os.PathLike, what: str, owners: frozenset[int], *, directory: bool = False
) -> None:
    """Refuse ``path`` (a policy file, a key file or, with ``directory``, a keyring).

    The path itself (links followed), the directory that holds it and the
    directory of what it resolves to must be owned by one of ``owners``
    (a directory by root too) and writable by nobody else.

    Raises:
        FileNotFoundError: ``path`` does not exist (the caller words it).
        UntrustedStateError: exit 2, naming the path, its owner and its mode.
    """
    path = Path(path)
    _check(path, what, owners, directory)
    dirs = {path.absolute().parent, Path(os.path.realpath(path)).parent}
    for parent in sorted(dirs):
        _check(parent, f"the directory holding {what}", owners | {0}, True)
