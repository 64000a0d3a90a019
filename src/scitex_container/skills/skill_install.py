"""Put the skill pages where agents look for them (the seed's ``skills install``).

The default is a symbolic link ``~/.scitex/dev/skills/scitex-container`` to
the bundled pages, so a package upgrade updates the skills; ``copy`` makes a
copy instead (marked with :data:`MARKER`).  Only what this module made is
ever replaced: our link, our marked copy, or a link the seed made to its own
pages.  Anything else at the target is refused, untouched.  The optional
``~/.claude/skills/scitex`` link is made only where nothing is.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scitex_container.errors import BadInputError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import atomic_symlink, fsync_dir
from scitex_container.process import runner
from scitex_container.skills.book import PACKAGE, pages_dir

#: The file that marks a copy as ours (so a later install may replace it).
MARKER = ".scitex-container-skills"
#: Link targets that are ours or the seed's pages (a link to them may be replaced).
_OUR_TARGETS = (("scitex_container", "skills", "pages"), ("scitex_container", "_skills", PACKAGE))


@dataclass(frozen=True)
class SkillsInstall:
    """Where the pages went and what was done (``linked``, ``copied``, ``present``,
    ``would link``, ``would copy``); ``claude_action``: ``linked``, ``present``,
    ``would link`` or ``skipped: ...`` (something else is there)."""

    source: str
    target: str
    mode: str
    action: str
    claude_link: str | None = None
    claude_action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_base() -> Path:
    """``~/.scitex/dev/skills`` (the seed's place)."""
    return Path.home() / ".scitex" / "dev" / "skills"


def _ours(target: Path, source: Path) -> bool:
    """Whether ``target`` is something an install made (and may replace)."""
    if target.is_symlink():
        dest = Path(os.path.realpath(target))
        return dest == source or any(dest.parts[-3:] == t for t in _OUR_TARGETS)
    return target.is_dir() and (target / MARKER).is_file()


def install_skills(
    dest: str | os.PathLike | None = None, copy: bool = False, claude_link: bool = False
) -> SkillsInstall:
    """Link (or copy) the pages to ``dest/scitex-container``; with ``claude_link``
    also ``~/.claude/skills/scitex`` -> ``dest``.  In a dry run nothing changes.

    Raises:
        BadInputError: the target exists and is not ours (field ``dest``).
    """
    source = pages_dir()
    base = Path(dest).expanduser().absolute() if dest is not None else default_base()
    target = base / PACKAGE
    mode = "copy" if copy else "link"
    exists = os.path.lexists(target)
    if exists and not _ours(target, source):
        raise BadInputError(f"{target} exists and was not made by `skills install`", "dest")
    linked_here = not copy and target.is_symlink() and os.path.realpath(target) == str(source)
    if linked_here:
        action = "present"
    elif runner.is_dry_run():
        action = f"would {mode}"
    else:
        base.mkdir(parents=True, exist_ok=True)
        if copy:
            _copy_in(source, target, base)
            action = "copied"
        else:
            if exists and not target.is_symlink():
                _set_aside(target, base)  # our earlier copy
            atomic_symlink(source, target)
            action = "linked"
    out = SkillsInstall(str(source), str(target), mode, action)
    if claude_link:
        link = Path.home() / ".claude" / "skills" / "scitex"
        out = SkillsInstall(**{**out.to_dict(), **_claude(link, base)})
    return out


def _copy_in(source: Path, target: Path, base: Path) -> None:
    """A fresh copy made beside ``target``, then renamed into place; our old copy removed."""
    fresh = temporaries.new_dir(".skills-", base)
    try:
        shutil.copytree(source, fresh, dirs_exist_ok=True)
        (fresh / MARKER).write_text("made by `scitex-container skills install --no-link`\n")
        if os.path.lexists(target):
            _set_aside(target, base)
        os.rename(fresh, target)
    except BaseException:
        temporaries.remove(fresh)
        raise
    temporaries.forget(fresh)
    fsync_dir(base)


def _set_aside(target: Path, base: Path) -> None:
    """Remove our earlier install at ``target`` (renamed first, so the name is free at once)."""
    old = temporaries.track(base / f".skills-old-{os.getpid()}")
    os.rename(target, old)
    temporaries.remove(old)


def _claude(link: Path, base: Path) -> dict[str, str]:
    out = {"claude_link": str(link)}
    if link.is_symlink() and os.path.realpath(link) == os.path.realpath(base):
        out["claude_action"] = "present"
    elif os.path.lexists(link):
        out["claude_action"] = "skipped: something else is there"
    elif runner.is_dry_run():
        out["claude_action"] = "would link"
    else:
        link.parent.mkdir(parents=True, exist_ok=True)
        atomic_symlink(base, link)
        out["claude_action"] = "linked"
    return out
