"""Comparing two locks' version sets: the round-trip and verify gate."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from scitex_container.apptainer.lock.lockfile import (
    PIP_CAPTURE_FREEZE,
    Lock,
    read_lock,
)
from scitex_container.apptainer.lock.syntax import (
    VersionSet,
    normalize_pip_version,
    version_key_identity,
)
from scitex_container.result import Result

MANAGERS = ("pip", "dpkg", "node", "apk")
#: What ``pip freeze`` leaves out without ``--all`` (pip 23 on Python < 3.12;
#: from 3.12 only ``pip``): the seed's captures never list them.
FREEZE_OMITS = ("distribute", "pip", "setuptools", "wheel")


def _by_identity(item: tuple[str, Any]) -> tuple[str, str]:
    """Sort key: the normalized name (the seed's keys were lower-case), then as written."""
    return version_key_identity(item[0]), item[0]


@dataclass(frozen=True)
class LockDiff(Result):
    """Result of comparing two locks' flat version sets (keys like ``pip:numpy``).

    ``changed`` maps a name to its ``(version in a, version in b)``.  Keys
    and versions are shown as the locks wrote them; the comparison under
    them is normalized.  :meth:`summary` keeps the seed's wording; labels
    and names are in :meth:`detail` and ``ignored``.
    """

    identical: bool
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    only_in_a: dict[str, str] = field(default_factory=dict)
    only_in_b: dict[str, str] = field(default_factory=dict)
    a_label: str = "a"
    b_label: str = "b"
    #: Keys left out of the comparison (the names ``pip freeze`` omits, when
    #: only one side was captured with it), as written on either side.
    ignored: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Keys are shown as written; a lookup by any spelling of a pip name
        # (``pip:typing_extensions``, ``pip:Typing.Extensions``) finds them.
        for name in ("changed", "only_in_a", "only_in_b"):
            object.__setattr__(self, name, VersionSet(getattr(self, name)))

    @property
    def diff_count(self) -> int:
        return len(self.changed) + len(self.only_in_a) + len(self.only_in_b)

    def names(self) -> list[str]:
        """Every drifted key, sorted."""
        return sorted({*self.changed, *self.only_in_a, *self.only_in_b})

    def counts_by_manager(self) -> dict[str, int]:
        """Number of drifted entries per package manager."""
        counts = dict.fromkeys(MANAGERS, 0)
        for key in (*self.changed, *self.only_in_a, *self.only_in_b):
            manager = key.split(":", 1)[0]
            counts[manager] = counts.get(manager, 0) + 1
        return counts

    def for_manager(self, manager: str) -> LockDiff:
        """The part of this diff about one package manager."""
        prefix = manager + ":"

        def pick(d: dict) -> dict:
            return {k: v for k, v in d.items() if k.startswith(prefix)}

        changed, a, b = pick(self.changed), pick(self.only_in_a), pick(self.only_in_b)
        ignored = tuple(k for k in self.ignored if k.startswith(prefix))
        return LockDiff(not (changed or a or b), changed, a, b, self.a_label, self.b_label, ignored)

    def summary(self) -> str:
        """The seed's one-line summary, word for word, or 'version sets identical'.

        ``N changed (name: a -> b, ...)`` (ten at most), ``N only in rough``,
        ``N only in rebuild``: scripts written against the seed grep these.
        The labelled text with names is :meth:`detail`.
        """
        if self.identical:
            return "version sets identical"
        parts: list[str] = []
        if self.changed:
            sample = ", ".join(
                f"{n}: {a} -> {b}"
                for n, (a, b) in sorted(self.changed.items(), key=_by_identity)[:10]
            )
            parts.append(f"{len(self.changed)} changed ({sample})")
        if self.only_in_a:
            parts.append(f"{len(self.only_in_a)} only in rough")
        if self.only_in_b:
            parts.append(f"{len(self.only_in_b)} only in rebuild")
        return "; ".join(parts)

    def detail(self, limit: int = 10) -> str:
        """Like :meth:`summary`, with this diff's labels and the names on each side."""
        if self.identical:
            return "version sets identical"
        parts: list[str] = []
        if self.changed:
            sample = ", ".join(
                f"{n}: {a} -> {b}"
                for n, (a, b) in sorted(self.changed.items(), key=_by_identity)[:limit]
            )
            more = ", ..." if len(self.changed) > limit else ""
            parts.append(f"{len(self.changed)} changed ({sample}{more})")
        for label, only in ((self.a_label, self.only_in_a), (self.b_label, self.only_in_b)):
            if only:
                sample = ", ".join(sorted(only, key=version_key_identity)[:limit]) + (
                    ", ..." if len(only) > limit else ""
                )
                parts.append(f"{len(only)} only in {label} ({sample})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "diff_count": self.diff_count,
            "changed": {
                k: {self.a_label: a, self.b_label: b} for k, (a, b) in sorted(self.changed.items())
            },
            "only_in_a": dict(sorted(self.only_in_a.items())),
            "only_in_b": dict(sorted(self.only_in_b.items())),
            "a_label": self.a_label,
            "b_label": self.b_label,
            "counts": self.counts_by_manager(),
            "summary": self.summary(),
            "detail": self.detail(),
            "ignored": list(self.ignored),
        }


def _as_lock(value: Lock | str | os.PathLike) -> Lock:
    return value if isinstance(value, Lock) else read_lock(value)


def _keyed(values: Mapping[str, str], ignore: frozenset[str]) -> dict[str, tuple[str, str]]:
    """``{identity: (key as written, version as written)}``, ignored identities left out."""
    out: dict[str, tuple[str, str]] = {}
    for key, version in values.items():
        ident = version_key_identity(key)
        if ident not in ignore:
            out.setdefault(ident, (str(key), str(version)))
    return out


def _same_version(key: str, a: str, b: str) -> bool:
    """Equal text, or (pip) equal PEP 440 versions (``1.0RC1`` is ``1.0rc1``, ``6.0`` ``6.0.0``).

    An arbitrary-equality pin (version ``=1.0-custom``, from ``===``) names
    the same installed version as ``==1.0-custom``: the operator is syntax.
    """
    if a == b:
        return True
    if not key.startswith("pip:"):
        return False
    a, b = a.removeprefix("="), b.removeprefix("=")
    if a == b:
        return True
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return normalize_pip_version(a) == normalize_pip_version(b)


def compare_version_sets(
    set_a: Mapping[str, str],
    set_b: Mapping[str, str],
    *,
    a_label: str = "a",
    b_label: str = "b",
    ignore: Iterable[str] = (),
) -> LockDiff:
    """Compare two flat ``{key: version}`` maps, normalized underneath.

    pip keys match by :func:`~.syntax.pip_identity` (``Typing_Extensions``
    is ``typing-extensions``) and pip versions by their PEP 440 normal form
    (``1.0RC1`` is ``1.0rc1``); the diff shows keys and versions as each
    side wrote them (a changed key as ``a`` wrote it).  ``ignore``: keys
    (any spelling) left out on both sides.
    """
    ignored_ids = frozenset(version_key_identity(k) for k in ignore)
    keyed_a, keyed_b = _keyed(set_a, ignored_ids), _keyed(set_b, ignored_ids)
    skipped = sorted(
        {str(k) for m in (set_a, set_b) for k in m if version_key_identity(k) in ignored_ids}
    )
    changed: dict[str, tuple[str, str]] = {}
    only_in_a: dict[str, str] = {}
    for ident, (key, va) in keyed_a.items():
        other = keyed_b.get(ident)
        if other is None:
            only_in_a[key] = va
        elif not _same_version(ident, va, other[1]):
            changed[key] = (va, other[1])
    only_in_b = {key: vb for ident, (key, vb) in keyed_b.items() if ident not in keyed_a}
    identical = not (changed or only_in_a or only_in_b)
    return LockDiff(identical, changed, only_in_a, only_in_b, a_label, b_label, tuple(skipped))


def comparable_sets(lock_a: Lock, lock_b: Lock) -> tuple[VersionSet, VersionSet, tuple[str, ...]]:
    """The two locks' version sets as they should be compared, and the keys to leave out.

    Two locks of one capture style compare as they are.  When exactly one
    is seed-style (``pip_capture == "freeze"``), ours is seen the way the
    seed's capture would have seen the same image, so one image never
    drifts against itself:

    * pip: the names ``pip freeze`` omits (:data:`FREEZE_OMITS`) are left out;
    * dpkg (the seed's ``dpkg-query -W -f '${Package}=${Version}'`` drops the
      architecture and lists removed packages whose config files remain),
      for each name the seed's lock has: with our native package there, it
      is compared and our ``name:arch`` entries are left out; with only
      foreign ones (``libc6:i386`` alone), the first compares as
      ``dpkg:name``; with the name only in our ``dpkg_config_files`` (state
      ``rc``), the same version is left out and another one is ``changed``.

    Everything else still counts: a seed entry we have in no form is only in
    the seed's lock, an installed package of ours it lacks only in ours.
    """
    set_a, set_b = lock_a.version_set(), lock_b.version_set()
    seed_a = freeze_style(lock_a)
    if seed_a == freeze_style(lock_b):
        return set_a, set_b, ()
    seed, ours = (lock_a, lock_b) if seed_a else (lock_b, lock_a)
    ours_set = dict(set_b if seed_a else set_a)
    # what ``pip freeze`` omits, unless the seed's lock lists it (then it counts)
    ignore = [f"pip:{name}" for name in FREEZE_OMITS if name not in seed.pip]
    # the seed's capture saw only the runtime environment's pip
    ignore += [key for key in ours_set if key.startswith("pip@")]
    foreign: dict[str, list[str]] = {}
    for name in ours.dpkg:
        if ":" in name:
            foreign.setdefault(name.split(":", 1)[0], []).append(name)
    config = {name.split(":", 1)[0]: v for name, v in sorted(ours.dpkg_config_files.items())}
    for name, version in seed.dpkg.items():
        if name in ours.dpkg:
            ignore += [f"dpkg:{other}" for other in foreign.get(name, ())]
        elif name in foreign:
            first, *rest = sorted(foreign[name])
            ours_set[f"dpkg:{name}"] = ours_set.pop(f"dpkg:{first}")
            ignore += [f"dpkg:{other}" for other in rest]
        elif name in config:
            if config[name] == version:
                ignore.append(f"dpkg:{name}")
            else:
                ours_set[f"dpkg:{name}"] = config[name]
    ours_view = VersionSet(ours_set)
    return (set_a, ours_view, tuple(ignore)) if seed_a else (ours_view, set_b, tuple(ignore))


def freeze_style(lock: Lock) -> bool:
    """Captured with ``pip freeze`` (the seed's): said so, or neither tool nor capture recorded.

    A lock made in Python with no header fields reads back from its file as
    the seed's (no ``# tool:`` line), so it is compared the same way in memory.
    """
    return lock.pip_capture == PIP_CAPTURE_FREEZE or not (lock.pip_capture or lock.tool_version)


def freeze_omitted(lock_a: Lock, lock_b: Lock) -> tuple[str, ...]:
    """The keys :func:`comparable_sets` leaves out (kept for callers)."""
    return comparable_sets(lock_a, lock_b)[2]


def compare_locks(
    lock_a: Lock | str | os.PathLike,
    lock_b: Lock | str | os.PathLike,
    *,
    a_label: str = "a",
    b_label: str = "b",
) -> LockDiff:
    """Compare two locks' flat version sets (Lock objects or lock file paths).

    Header lines (digest, date, command) never count: only versions do,
    normalized (see :func:`compare_version_sets`).  A seed-captured lock
    against one of ours is compared with ours seen as the seed's capture
    would see it (:func:`comparable_sets`; what is left out is listed in
    ``ignored``).
    Returns ``LockDiff(identical=True)`` when every key maps to the same
    version in both; otherwise it names every changed, added and missing key.

    Args:
        lock_a: The first lock.
        lock_b: The second lock.
        a_label: How the first lock is named in the summary.
        b_label: How the second lock is named in the summary.
    """
    set_a, set_b, ignore = comparable_sets(_as_lock(lock_a), _as_lock(lock_b))
    return compare_version_sets(set_a, set_b, a_label=a_label, b_label=b_label, ignore=ignore)
