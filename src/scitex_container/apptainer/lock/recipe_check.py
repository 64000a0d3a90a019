"""Does a locked def mean what its rough def means?  One check per def file.

:func:`check_recipe` writes the locked def of a rough def into another
directory (the case ``repro`` always has), then compares:

* the ``%files`` sources of both, resolved as apptainer resolves them
  (:func:`..deffile.sources.host_sources`): the same host paths, in order;
* with ``build``, that the locked def builds wherever the rough one builds
  (both with the real ``apptainer build``, through the store), and that
  the pins ran after the rough ``%post`` (``marker``, a line the rough
  ``%post`` prints, comes before the pin stanzas' own message in the log).

``scripts/check-recipes.py`` runs it over any directory of def files; the
tests run it over the corpus in ``tests/apptainer/lock/data/recipes``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.deffile import parse_def
from scitex_container.apptainer.deffile.sources import host_sources
from scitex_container.apptainer.lock.lockfile import Lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.errors import ScitexError
from scitex_container.files.fsutil import atomic_write_text
from scitex_container.result import Result

#: Proof in a build log that the apt stanza ran: its message in an image
#: without apt, or the trace of its query in one with apt.
PINS_RAN = ("apt pins skipped", "+ dpkg-query -W")
#: A lock whose one dpkg pin makes the apt stanza run (and, without apt, say so).
PROBE_LOCK = Lock(dpkg={"scitex-probe": "1.0"})


@dataclass(frozen=True)
class RecipeCheck(Result):
    """The outcome for one def file; ``ok`` when nothing differs."""

    def_path: str
    locked_def: str
    sources_equal: bool
    rough_sources: tuple[str, ...]
    locked_sources: tuple[str, ...]
    rough_built: bool | None = None  #: None: not built
    locked_built: bool | None = None
    pins_ran: bool | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        if self.error or not self.sources_equal:
            return False
        if self.rough_built is None or not self.rough_built:
            return True  # where the rough def does not build, there is nothing to match
        return bool(self.locked_built) and bool(self.pins_ran)


def _sources(def_path: Path) -> tuple[str, ...]:
    found = host_sources(parse_def(def_path), base_dir=def_path.parent, strict=False)
    return tuple(os.fspath(p) for s in found for p in s.paths)


def _build(def_path: Path, out: Path, sandbox: bool) -> tuple[bool, str]:
    from scitex_container.apptainer.building.versioned import build_version

    try:
        result = build_version(
            def_path=def_path,
            output_dir=out,
            image_name="recipe",
            provenance=False,
            sandbox=sandbox,
        )
    except ScitexError as exc:
        logs = sorted((out / "recipe").glob("*.build.log")) if (out / "recipe").is_dir() else []
        return False, logs[-1].read_text(errors="replace") if logs else str(exc)
    log = result.log_path.read_text(errors="replace") if result.log_path else ""
    return True, log


def check_recipe(
    rough_def: str | os.PathLike,
    work_dir: str | os.PathLike,
    *,
    lock: Lock = PROBE_LOCK,
    apt_scope: str = "all",
    build: bool = False,
    sandbox: bool = False,
    marker: str = "",
) -> RecipeCheck:
    """Pin ``rough_def`` into ``work_dir`` and compare (see the module docstring).

    ``sandbox`` builds directories instead of SIFs (no squashfs: faster).
    """
    rough = Path(rough_def).absolute()
    work = Path(work_dir).absolute()
    work.mkdir(parents=True, exist_ok=True)
    locked = work / (rough.stem + ".locked.def")
    try:
        generate_locked_def(rough, lock, locked, apt_scope=apt_scope)
        before, after = _sources(rough), _sources(locked)
    except ScitexError as exc:
        return RecipeCheck(str(rough), str(locked), False, (), (), error=str(exc))
    result = RecipeCheck(str(rough), str(locked), before == after, before, after)
    if not build:
        return result
    rough_ok, _ = _build(rough, work / "rough-store", sandbox)
    if not rough_ok:
        return _replace(result, rough_built=False)
    locked_ok, log = _build(locked, work / "locked-store", sandbox)
    at = min((log.find(p) for p in PINS_RAN if p in log), default=-1)
    ran = at >= 0 and (not marker or -1 < log.find(marker) < at)
    atomic_write_text(work / (rough.stem + ".locked.log"), log)
    return _replace(result, rough_built=True, locked_built=locked_ok, pins_ran=ran)


def _replace(check: RecipeCheck, **changes: object) -> RecipeCheck:
    from dataclasses import replace

    return replace(check, **changes)  # type: ignore[arg-type]
