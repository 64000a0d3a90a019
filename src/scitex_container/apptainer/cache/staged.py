"""A build through the stage cache: resume from the deepest cached stage.

:func:`prepare` splits the def (:mod:`.stages`) and keys every stage
(:mod:`.stage_keys`); :func:`run_staged` looks the keys up from the deepest stage
back, builds each missing stage as a sandbox into the cache (one ``apptainer
build --sandbox`` per stage, ``Bootstrap: localimage`` from the one before)
and builds the final artifact from the last one.  It returns a
:class:`StagedReport` saying, stage by stage, what was reused (and how old
it was), what was built, and which entries were found corrupt and removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.cache import multistage, shellstate
from scitex_container.apptainer.cache.entries import (
    DEFAULT_MAX_AGE,
    Entry,
    StageCache,
)
from scitex_container.apptainer.cache.fallbacks import full, no_space, unreadable, xattrs_lost
from scitex_container.apptainer.cache.stage_keys import (
    StageContext,
    argument_values,
    earlier_keys,
    plan_keys,
    used_args,
)
from scitex_container.apptainer.cache.stages import BASE_LABEL, StagePlan, StageSpec, plan_stages
from scitex_container.apptainer.cache.storing import Storing
from scitex_container.apptainer.deffile.document import DefFile
from scitex_container.errors import (
    DefFileError,
    ProcessError,
    StageCacheFallback,
)
from scitex_container.files import temporaries
from scitex_container.files.fsutil import atomic_write_text
from scitex_container.result import Result

#: Seconds an interrupted build waits for the record of the stage it was building on, so the
#: finished stage is kept (a debootstrap is not redone after Ctrl-C mid-``%post``).
INTERRUPT_WAIT = 2.0
#: Runs one ``apptainer build`` of ``def`` into ``out`` (sandbox or not), with ``build_args``.
BuildFn = Callable[[Path, Path, bool, Mapping[str, str]], tuple[str, ...]]


@dataclass(frozen=True)
class StageRun(Result):
    """What happened to one stage."""

    name: str
    key: str
    line: int
    reused: bool
    network: bool
    age: float | None  #: seconds since the reused entry was made
    duration: float  #: seconds spent building it (0 when reused)
    lookup: str  #: ``hit``, ``missing``, ``expired``, ``corrupt: ...``, ``untrusted: ...``,
    #: ``not looked up``, ``skipped: ...``
    stored: float = 0.0  #: of ``duration``, seconds spent storing the entry (digest, lock)
    #: neither reused nor built: its result is inside the later stage's entry that was reused
    #: (not looked up, so not verified on its own), or nothing copies from it
    skipped: bool = False


@dataclass(frozen=True)
class StagedReport(Result):
    """The stages of one build through the cache."""

    cache: Path
    stages: tuple[StageRun, ...]
    corrupt: tuple[str, ...]  #: keys of entries found corrupt and removed
    commands: tuple[tuple[str, ...], ...]
    lookup_seconds: float = 0.0  #: spent finding and verifying the entries reused
    notes: tuple[str, ...] = ()  #: what went wrong without stopping the build (said once)

    @property
    def reused(self) -> tuple[StageRun, ...]:
        return tuple(s for s in self.stages if s.reused)

    def record(self) -> list[dict]:
        """The part kept in the version's metadata and provenance statement."""
        return [
            {
                "stage": s.name,
                "key": s.key,
                "reused": s.reused,
                "skipped": s.skipped,
                "age_seconds": None if s.age is None else round(s.age, 1),
                "network": s.network,
                "seconds": round(s.duration, 1),
                "store_seconds": round(s.stored, 1),
            }
            for s in self.stages
        ]


@dataclass(frozen=True)
class Prepared(Result):
    """A def split into stages, with their keys."""

    plan: StagePlan
    keys: tuple[str, ...]
    earlier: tuple[str, ...] = ()  #: the keys of ``plan.earlier``, in order


def prepare(
    deffile: DefFile,
    *,
    build_args: Mapping[str, str] | None,
    context: StageContext,
) -> Prepared:
    """Split and key ``deffile`` (raises DefFileError for a misplaced checkpoint)."""
    plan = plan_stages(deffile)
    if multistage.sources(deffile.emit()):  # ours to write: a recipe's own would be filled in
        plan = StagePlan((), "", "the text `@scitex-stage:NAME@` is reserved for the stage cache")
    if plan.uncacheable is not None:
        return Prepared(plan, ())
    values = [argument_values(stage.arguments, build_args) for stage in deffile.stages]
    sources = earlier_keys(plan, context, values[:-1])
    return Prepared(plan, plan_keys(plan, context, values[-1], sources), tuple(sources.values()))


def _build_entry(
    cache: StageCache,
    key: str,
    spec: StageSpec,
    def_text: str,
    build: BuildFn,
    scratch: Path,
    args: Mapping[str, str],
) -> tuple[Entry, tuple[str, ...], float]:
    """Build one stage as a sandbox into a new entry of ``cache`` (and the seconds storing it
    took)."""
    def_file = scratch / f"{spec.name}.def"
    atomic_write_text(def_file, def_text)
    try:
        work = cache.making(key)
    except OSError as exc:
        raise (no_space(cache, spec.name) if full(exc) else exc) from exc
    try:
        command = build(def_file, work / "rootfs", True, args)
        began = time.monotonic()
        try:
            entry = cache.publish(work, key, spec.name, spec.network, hold=True)
        except OSError as exc:
            raise (no_space(cache, spec.name) if full(exc) else unreadable(spec.name, exc)) from exc
        return entry, command, time.monotonic() - began
    except BaseException as exc:
        cache.discard(work)
        if full(exc):
            raise no_space(cache, spec.name) from exc
        raise


def _state_refusal(
    plan: StagePlan, spec: StageSpec, exc: BaseException, nonce: str | None
) -> DefFileError | None:
    """The refusal at a checkpoint of ``spec`` when its epilogue found state that cannot be
    handed on, or its prologue state not taken back (:mod:`.shellstate`); None for any
    other failure."""
    if spec.kind != "post" or not isinstance(exc, ProcessError):
        return None
    what = shellstate.reported(exc.stderr or "", nonce)
    line = None if what is None else shellstate.refused_at(what, spec.checkpoint, spec.line)
    if what is None or line is None:
        return None
    return DefFileError(shellstate.refusal(what), plan.path, line)


def _earlier_roots(
    prepared: Prepared,
    cache: StageCache,
    build: BuildFn,
    scratch: Path,
    build_args: Mapping[str, str] | None,
    max_age: float,
    progress: Callable[[str], None] | None,
) -> tuple[list[StageRun], dict[str, str], list[tuple[str, ...]], list[str], float | None]:
    """Reuse or build every earlier ``Stage:``: their runs, root fs by name, commands, corrupt
    keys, and when the oldest network-reaching one of them was made (None: none reached it):
    a stage that copies from them is as old as they are for ``--cache-max-age``."""
    since: float | None = None
    runs: list[StageRun] = []
    roots: dict[str, str] = {}
    commands: list[tuple[str, ...]] = []
    corrupt: list[str] = []
    for spec, key in zip(prepared.plan.earlier, prepared.earlier, strict=True):
        found = cache.lookup(key, max_age=max_age)
        if found.why.startswith("corrupt"):
            corrupt.append(key)
        entry, began, stored = found.entry, time.monotonic(), 0.0
        if entry is None:
            if progress is not None:
                progress(f"stage {spec.name}: building")
            text = spec.def_text(None, "", roots)
            args = used_args(spec, build_args)
            entry, command, stored = _build_entry(cache, key, spec, text, build, scratch, args)
            commands.append(command)
        reused = found.entry is not None
        age = entry.age() if reused else None
        took = 0.0 if reused else time.monotonic() - began
        line, why = spec.line, found.why
        runs.append(StageRun(spec.name, key, line, reused, spec.network, age, took, why, stored))
        roots[spec.name.removeprefix("stage-")] = os.fspath(entry.rootfs)
        if entry.network:
            made = entry.network_since if entry.network_since is not None else entry.made
            since = made if since is None else min(since, made)
    return runs, roots, commands, corrupt, since


def _skipped(spec: StageSpec, key: str, why: str) -> StageRun:
    return StageRun(spec.name, key, spec.line, False, spec.network, None, 0.0, why, skipped=True)


def _deepest(
    cache: StageCache, prepared: Prepared, max_age: float
) -> tuple[int, Entry | None, dict[int, str], list[str]]:
    """The deepest reusable stage (index, -1: none; its entry), lookups made, corrupt keys."""
    cached = prepared.plan.cached
    seen: dict[int, str] = {}
    corrupt: list[str] = []
    for index in range(len(cached) - 1, -1, -1):
        found = cache.lookup(prepared.keys[index], max_age=max_age)
        seen[index] = found.why
        if found.why.startswith("corrupt"):
            corrupt.append(prepared.keys[index])
        if found.entry is not None:
            return index, found.entry, seen, corrupt
    return -1, None, seen, corrupt


def run_staged(
    prepared: Prepared,
    cache: StageCache,
    out: Path,
    *,
    sandbox: bool,
    build_args: Mapping[str, str] | None,
    build: BuildFn,
    scratch: Path,
    max_age: float = DEFAULT_MAX_AGE,
    progress: Callable[[str], None] | None = None,
    nonce: str | None = None,
) -> StagedReport:
    """Build ``out`` from the deepest cached stage of ``prepared`` on (``nonce``: the token
    ``build`` gives each stage's ``%post`` as :data:`.shellstate.NONCE_VAR`)."""
    plan = prepared.plan
    cached = plan.cached
    cache.open()
    looking = time.monotonic()
    start, found, seen, corrupt = _deepest(cache, prepared, max_age)
    looked = time.monotonic() - looking
    if found is not None and found.xattrs:  # every stage after it would lose them
        raise xattrs_lost(found.stage)
    runs: list[StageRun] = []
    commands: list[tuple[str, ...]] = []
    roots: dict[str, str] = {}
    ancestors: float | None = None  # when the oldest network stage copied from was made
    if any(s.sources for s in plan.stages[start + 1 :]):  # what is left copies from them
        early = _earlier_roots(prepared, cache, build, scratch, build_args, max_age, progress)
        runs, roots, commands, found_corrupt, ancestors = early
        corrupt += found_corrupt
    else:  # nothing left copies from them: neither built nor looked up
        for spec, key in zip(plan.earlier, prepared.earlier, strict=True):
            runs.append(_skipped(spec, key, "skipped: nothing left to build copies from it"))
    base: Path | None = found.rootfs if found is not None else None
    for index in range(start):  # inside the entry reused, which was verified whole
        spec, key = cached[index], prepared.keys[index]
        runs.append(_skipped(spec, key, f"skipped: within the reused {cached[start].name}"))
    if found is not None:
        spec = cached[start]
        runs.append(
            StageRun(spec.name, found.key, spec.line, True, spec.network, found.age(), 0.0, "hit")
        )
    # when the oldest network-reaching stage below what is built now was made
    since: float | None = ancestors
    if found is not None and found.network:
        made = found.network_since if found.network_since is not None else found.made
        since = made if since is None else min(since, made)
    storing = Storing(cache)

    def committed(done: tuple[Entry, float] | None) -> None:
        if done is None:
            return
        entry, took = done
        if entry.xattrs:  # the stage built on it lost them: kept, but the build goes cold
            raise xattrs_lost(entry.stage)
        at = next(
            i for i, r in enumerate(runs) if r.key == entry.key and not (r.reused or r.skipped)
        )
        run = runs[at]
        runs[at] = dataclasses.replace(run, duration=run.duration + took, stored=took)

    def build_on(def_file: Path, target: Path, as_sandbox: bool, args: Mapping[str, str]):
        try:
            return build(def_file, target, as_sandbox, args)
        except Exception:
            committed(storing.commit())  # the stage before it is kept: a fix reuses it
            raise
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: the stage before it is whole
            # kept if its record is ready (not waited for long: the user is leaving); the
            # interrupt is what the caller must see
            with contextlib.suppress(Exception):
                committed(storing.commit(timeout=INTERRUPT_WAIT))
            raise

    try:
        for index in range(start + 1, len(cached)):
            spec, key = cached[index], prepared.keys[index]
            if progress is not None:
                progress(f"stage {spec.name}: building")
            began = time.monotonic()
            below = storing.rootfs or base
            text = spec.def_text(os.fspath(below) if below else None, plan.arguments, roots)
            def_file = scratch / f"{spec.name}.def"
            atomic_write_text(def_file, text)
            # an entry holds every earlier stage too: it reached the network if any of them did
            network = any(c.network for c in (*plan.earlier, *cached[: index + 1]))
            if network and since is None:
                since = time.time()
            try:
                work = cache.making(key)
            except OSError as exc:
                raise (no_space(cache, spec.name) if full(exc) else exc) from exc
            try:
                commands.append(
                    build_on(def_file, work / "rootfs", True, used_args(spec, build_args))
                )
            except BaseException as exc:
                cache.discard(work)
                if full(exc):
                    raise no_space(cache, spec.name) from exc
                refused = _state_refusal(plan, spec, exc, nonce)
                if refused is not None:
                    raise refused from exc
                raise
            took = time.monotonic() - began
            lookup = seen.get(index, "not looked up")
            runs.append(
                StageRun(spec.name, key, spec.line, False, spec.network, None, took, lookup)
            )
            try:
                committed(storing.commit())  # the stage below: this build has copied it
            except StageCacheFallback:
                cache.discard(work)  # built on a base that lost its extended attributes
                raise
            storing.start(work, key, spec.name, network, since)
        final = plan.stages[-1]
        if progress is not None:
            progress("stage final: building")
        began = time.monotonic()
        def_file = scratch / "stage-final.def"
        below = storing.rootfs or base
        text = final.def_text(os.fspath(below) if below else None, plan.arguments, roots)
        # `From:` names where the entry was while it was made: the label names its key
        atomic_write_text(def_file, f"{text}\n%labels\n    {BASE_LABEL} {prepared.keys[-2]}\n")
        commands.append(build_on(def_file, out, sandbox, used_args(final, build_args)))
        took = time.monotonic() - began
        runs.append(
            StageRun(
                final.name, prepared.keys[-1], final.line, False, False, None, took, "not cached"
            )
        )
        try:
            committed(storing.commit())
        except StageCacheFallback:
            temporaries.remove_path(out)  # not published: the cold build replaces it
            raise
    finally:
        storing.close()
        cache.release()  # the entries reused and made: a prune may remove them now
    notes = tuple(cache.notes)
    return StagedReport(cache.root, tuple(runs), tuple(corrupt), tuple(commands), looked, notes)
