"""Comparing two locks' version sets: the round-trip and verify gate."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scitex_container.apptainer.lock.lockfile import Lock, read_lock
from scitex_container.result import Result

MANAGERS = ("pip", "dpkg", "node", "apk")


@dataclass(frozen=True)
class LockDiff(Result):
    """Result of comparing two locks' flat version sets (keys like ``pip:numpy``).

    ``changed`` maps a name to its ``(version in a, version in b)``.
    """

    identical: bool
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    only_in_a: dict[str, str] = field(default_factory=dict)
    only_in_b: dict[str, str] = field(default_factory=dict)
    a_label: str = "a"
    b_label: str = "b"

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
        return LockDiff(not (changed or a or b), changed, a, b, self.a_label, self.b_label)

    def summary(self, limit: int = 10) -> str:
        """One-line human summary of the drift, or 'version sets identical'."""
        if self.identical:
            return "version sets identical"
        parts: list[str] = []
        if self.changed:
            sample = ", ".join(
                f"{n}: {a} -> {b}" for n, (a, b) in sorted(self.changed.items())[:limit]
            )
            more = ", ..." if len(self.changed) > limit else ""
            parts.append(f"{len(self.changed)} changed ({sample}{more})")
        for label, only in ((self.a_label, self.only_in_a), (self.b_label, self.only_in_b)):
            if only:
                sample = ", ".join(sorted(only)[:limit]) + (", ..." if len(only) > limit else "")
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
        }


def _as_lock(value: Lock | str | os.PathLike) -> Lock:
    return value if isinstance(value, Lock) else read_lock(value)


def compare_version_sets(
    set_a: Mapping[str, str], set_b: Mapping[str, str], *, a_label: str = "a", b_label: str = "b"
) -> LockDiff:
    """Compare two flat ``{key: version}`` maps."""
    if set_a == set_b:
        return LockDiff(True, a_label=a_label, b_label=b_label)
    get_a, get_b = set_a.get, set_b.get
    diff_a = [(k, v) for k, v in set_a.items() if get_b(k) != v]
    only_in_b = {k: v for k, v in set_b.items() if get_a(k) is None}
    changed = {k: (v, set_b[k]) for k, v in diff_a if k in set_b}
    only_in_a = {k: v for k, v in diff_a if k not in set_b}
    identical = not (changed or only_in_a or only_in_b)
    return LockDiff(identical, changed, only_in_a, only_in_b, a_label, b_label)


def compare_locks(
    lock_a: Lock | str | os.PathLike,
    lock_b: Lock | str | os.PathLike,
    *,
    a_label: str = "a",
    b_label: str = "b",
) -> LockDiff:
    """Compare two locks' flat version sets (Lock objects or lock file paths).

    Header lines (digest, date, command) never count: only versions do.
    Returns ``LockDiff(identical=True)`` when every key maps to the same
    version in both; otherwise it names every changed, added and missing key.

    Args:
        lock_a: The first lock.
        lock_b: The second lock.
        a_label: How the first lock is named in the summary.
        b_label: How the second lock is named in the summary.
    """
    return compare_version_sets(
        _as_lock(lock_a).versions_view(),
        _as_lock(lock_b).versions_view(),
        a_label=a_label,
        b_label=b_label,
    )
