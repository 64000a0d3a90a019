"""Settings of the stage cache: where it lives, whether ``build`` uses it, its size cap and
the age limit of network stages (from options or environment variables)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from scitex_container import envvars
from scitex_container.errors import BadInputError

#: Default size cap (bytes) before least-recently-used entries are evicted.
DEFAULT_MAX_BYTES = 20 * 1024**3
#: Default age (seconds) after which a stage that reached the network is rebuilt.
DEFAULT_MAX_AGE = 7 * 24 * 3600


def default_root() -> Path:
    """``$SCITEX_CONTAINER_STAGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/scitex-container/stages``."""
    chosen = os.environ.get(envvars.STAGE_CACHE_DIR)
    if chosen:
        return Path(chosen)
    return Path(envvars.user_cache_dir()) / "scitex-container" / "stages"


def enabled_by_default() -> bool:
    """Is the stage cache on for ``build``?  Yes, unless ``$SCITEX_CONTAINER_STAGE_CACHE``
    is ``0``, ``no``, ``false`` or ``off``."""
    value = os.environ.get(envvars.STAGE_CACHE, "").strip().lower()
    return value not in ("0", "no", "false", "off")


_SIZES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str, field: str = "--cache-max-size") -> int:
    """Bytes from ``500M``, ``20G``, ``1.5T`` or a plain number; BadInputError naming
    ``field``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]?)(?:i?[bB])?\s*", text or "")
    if match is None:
        raise BadInputError(f"not a size: {text!r} (e.g. 500M, 20G)", field)
    return int(float(match.group(1)) * _SIZES[match.group(2).lower()])


def default_max_bytes() -> int:
    """``$SCITEX_CONTAINER_STAGE_CACHE_MAX_SIZE``, else 20 GiB."""
    chosen = os.environ.get(envvars.STAGE_CACHE_MAX_SIZE)
    return parse_size(chosen, envvars.STAGE_CACHE_MAX_SIZE) if chosen else DEFAULT_MAX_BYTES


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str, field: str = "--cache-max-age") -> float:
    """Seconds from ``90``, ``30m``, ``12h``, ``7d`` or ``2w``; BadInputError naming ``field``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text or "")
    if match is None:
        raise BadInputError(f"not an age: {text!r} (e.g. 90, 30m, 12h, 7d, 2w)", field)
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]
