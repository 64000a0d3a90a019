"""Why a build through the stage cache goes cold: the fallbacks it raises while storing."""

from __future__ import annotations

from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.errors import DiskFullError, NoSpaceError, StageCacheFallback
from scitex_container.files.pathinfo import is_no_space


def full(exc: BaseException) -> bool:
    """Did a write into the cache fail for space (apptainer's, or ours)?"""
    if isinstance(exc, (NoSpaceError, DiskFullError)):
        return True
    return is_no_space(exc)


def no_space(cache: StageCache, name: str) -> StageCacheFallback:
    return StageCacheFallback(
        f"the stage cache's file system ({cache.root}) is full while storing stage {name}: "
        "built cold (prune it, or set --cache-max-size)"
    )


def unreadable(name: str, exc: OSError) -> StageCacheFallback:
    return StageCacheFallback(
        f"stage {name} holds {exc.filename or 'files'} which cannot be read whole, even in "
        f"your user namespace ({exc.strerror}): nothing stored from it, built cold"
    )


def xattrs_lost(name: str) -> StageCacheFallback:
    return StageCacheFallback(
        f"built cold: stage {name} holds extended attributes, which apptainer's stage copy drops"
    )
