"""Stage-cache entries made by hand (for tests of our own bookkeeping, no build)."""

from __future__ import annotations

import os
from typing import Any


def key(n: int) -> str:
    """The ``n``-th stage key: 64 hex digits, as a real stage key is."""
    return f"{n:064x}"


def add(cache: Any, n: int, size: int = 10, network: bool = False, *, link: bool = False):
    """Publish entry ``key(n)``: a root fs holding ``etc/data`` (``size`` bytes), with
    ``link``, ``etc/link`` -> ``data`` too; its %post named ``post-N``."""
    work = cache.making(key(n))
    (work / "rootfs" / "etc").mkdir(parents=True)
    (work / "rootfs" / "etc" / "data").write_bytes(b"x" * size)
    if link:
        os.symlink("data", work / "rootfs" / "etc" / "link")
    return cache.publish(work, key(n), f"post-{n}", network)
