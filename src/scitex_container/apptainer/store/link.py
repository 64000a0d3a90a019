"""What is wrong with a store's active link, said with what to do about it.

The active link is the one thing in a store a user sees first, so when it
is not a link to one of the store's versions, ``status``, ``versions`` and
``rollback`` say so instead of acting as if there were no active version.
Nothing here changes anything: a foreign file at the link path is the
user's, and is never removed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scitex_container.apptainer.store.naming import Scheme
from scitex_container.errors import BadInputError, StoreStateError


def link_problem(link: Path, directory: Path, scheme: Scheme) -> str | None:
    """One line about the active link when it is not a link to a version, else None.

    Callers ask :meth:`Store.link_problem <.core.Store.link_problem>`.
    """
    if not os.path.lexists(link):
        return None
    if not os.path.islink(link):
        kind = "directory" if os.path.isdir(link) else "file"
        return (
            f"{link} is a {kind} the store did not write, not the active link; "
            f"move it away, then `switch VERSION {link}`"
        )
    target = os.readlink(link)
    parent = os.path.dirname(target.rstrip("/"))
    inside = not parent or os.path.realpath(os.path.join(directory, parent)) == os.path.realpath(
        directory
    )
    if not inside:
        return (
            f"{link} points outside the store (to {target}); "
            f"`switch VERSION {link}` to point it at a version here"
        )
    repair = f"`switch VERSION {link}` to repair it"
    if not os.path.exists(link):
        return f"{link} points at {target}, which does not exist; {repair}"
    if scheme.version_of(os.path.basename(target.rstrip("/"))) is None:
        return f"{link} points at {target}, which is not a version; {repair}"
    st = os.lstat(os.path.join(directory, target))
    wanted = stat.S_ISDIR if scheme.kind == "sandbox" else stat.S_ISREG
    if not wanted(st.st_mode):
        what = "a directory" if scheme.kind == "sandbox" else "a regular file"
        return (
            f"{link} points at {target}, which is not {what} (a version the store wrote is); "
            f"`switch VERSION {link}` to repair it"
        )
    return None


def no_active(link: Path, directory: Path, scheme: Scheme) -> str:
    """Why there is no active version, saying what ``directory`` holds instead."""
    problem = link_problem(link, directory, scheme)
    if problem:
        return problem
    try:
        names = sorted(n for n in os.listdir(directory) if not n.startswith("."))
    except OSError:
        names = []
    if any(scheme.version_of(n) is not None for n in names):
        return f"{link} is missing"
    pattern = f"{scheme.prefix}*{scheme.suffix}"
    subdirs = [f"{n}/" for n in names if os.path.isdir(os.path.join(directory, n))]
    if subdirs:
        shown = ", ".join(subdirs[:5]) + (", ..." if len(subdirs) > 5 else "")
        held = f"it holds the directories {shown}; name the image's own directory"
    elif names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        held = f"it holds {shown}"
    else:
        return _empty(directory, scheme)
    return f"{directory} holds no image version ({pattern}) and no {link.name}: {held}"


def points_at(link: Path, artifact: Path | None) -> bool:
    """Does ``link`` point at ``artifact`` now (the ``activated`` key of build and to-sif)?"""
    if artifact is None or not os.path.islink(link):
        return False
    target = os.path.join(os.path.dirname(link), os.readlink(link))
    return os.path.normpath(target) == os.path.normpath(os.path.abspath(artifact))


def empty_line(directory: Path, scheme: Scheme) -> str | None:
    """The one line every store command says of an empty directory (hidden entries such as
    our own ``.scitex/`` aside), or None when ``directory`` holds anything or is none."""
    try:
        names = [n for n in os.listdir(directory) if not n.startswith(".")]
    except OSError:
        return None
    return None if names else _empty(directory, scheme)


def _empty(directory: Path, scheme: Scheme) -> str:
    """What an empty directory is as a store: nothing yet, and what would come."""
    if scheme.kind == "sandbox":
        first = f"{directory}/{scheme.prefix}<version>{scheme.suffix} and its active link"
        return f"{directory} is empty: no sandbox yet (the first would be {first} {scheme.active})"
    return (
        f"{directory} is empty: no image yet (`build DEF -o {directory}` would create"
        f" {directory}/<name>/<name>-v<version>.sif and its active link <name>/<name>.sif)"
    )


def unknown_active(link: Path, directory: Path, scheme: Scheme) -> str:
    """Why cleanup refuses: the store cannot tell which version is active."""
    why = no_active(link, directory, scheme)
    return (
        f"cannot tell which version of {link.name} in {directory} is active ({why}); "
        f"refusing to remove its versions (`cleanup --force {link}` removes them anyway)"
    )


def check_link_path(link: Path) -> None:
    """Refuse (BadInputError naming it) a file or directory at the link path: it is not ours."""
    if os.path.lexists(link) and not link.is_symlink():
        raise BadInputError(
            "a file the store did not write is at the active link path; "
            "refusing to replace it (move it away, then switch again)",
            str(link),
        )


def require_active(active: str | None, link: Path, directory: Path, scheme: Scheme) -> str:
    """``active``, or StoreStateError (exit 2) saying why there is no active version."""
    if active is None:
        problem = no_active(link, directory, scheme)
        raise StoreStateError(f"no active version in {directory}: {problem}")
    return active
