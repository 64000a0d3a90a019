"""Planning the binds that make one host package group run inside a container.

For a group under a prefix (``/usr`` for apt installs) the plan binds:

* its data directories (TeX Live's ``share/texlive``, ``share/texmf``,
  ``/var/lib/texmf``, ``/etc/texmf``; ImageMagick's ``/etc/ImageMagick-*``,
  ``share/ImageMagick-*`` and module directories) read-only at the same path;
* statically linked programs and scripts at the same path (a symlink is
  bound as the file it resolves to, so ``/usr/bin/convert`` works although
  it points into ``/etc/alternatives``);
* each dynamically linked program privately at
  ``/opt/scitex-host/<group>/bin/<name>``, every shared library the host's
  loader resolves for the programs and the group's dlopen()ed modules (plus
  the loader itself) at ``/opt/scitex-host/<group>/lib`` - never over the
  container's own libraries - and, at the program's own path, a launcher
  that runs it with them (:mod:`.wrappers`).

What cannot run is listed under ``unrunnable`` with the reason; scripts run
with the container's interpreter and are listed under ``needs_interpreter``.

Resolving the dynamically linked programs runs the host's loader and writes
launchers: only where a command is about to run here (``resolve=True``:
``session start``, ``get_mount_config(..., resolve=True)``).  A builder's
plan (``resolve=False``) runs and writes nothing: those programs are listed
under ``deferred``.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scitex_container.binds import BindSpec, make_bind
from scitex_container.errors import BadInputError
from scitex_container.host.elf import (
    Listing,
    host_machine,
    inspect,
    loader_listing,
    loader_supports_argv0,
)
from scitex_container.host.groups import Group
from scitex_container.host.wrappers import private_dir, wrapper_dir, wrapper_text
from scitex_container.process import runner
from scitex_container.result import Result


@dataclass(frozen=True)
class GroupMounts(Result):
    """Everything needed to use one host package group inside a container."""

    group: str
    prefix: str
    binds: tuple[BindSpec, ...] = ()
    path_additions: tuple[str, ...] = ()
    #: program name -> its path inside the container (a launcher, same path as on the host)
    launchers: dict[str, str] = field(default_factory=dict)
    #: ``{"binary", "group", "reason"}`` for programs that cannot run inside
    unrunnable: tuple[dict, ...] = ()
    #: ``{"binary", "group", "interpreter"}``: scripts run by the container's interpreter
    needs_interpreter: tuple[dict, ...] = ()
    errors: tuple[str, ...] = ()
    #: ``{"binary", "group", "reason"}``: dynamically linked programs a builder's plan
    #: leaves to where the command runs (``resolve=True`` binds them with launchers)
    deferred: tuple[dict, ...] = ()


def _nested(path: str, roots: list[str]) -> bool:
    return any(path != r and path.startswith(r.rstrip("/") + "/") for r in roots)


def data_dirs(group: Group, prefix: str) -> list[str]:
    """The group's existing data and module directories (outermost only, sorted)."""
    found: list[str] = []
    for pattern in group.share + group.module_globs:
        found += glob.glob(os.path.join(prefix, pattern))
    if os.path.normpath(prefix) == "/usr":
        for pattern in group.system_globs:
            found += glob.glob(pattern)
    dirs = sorted({os.path.normpath(p) for p in found if os.path.isdir(p)})
    return [d for d in dirs if not _nested(d, dirs)]


def _modules(group: Group, prefix: str) -> list[str]:
    out: list[str] = []
    for pattern in group.module_globs:
        for root in glob.glob(os.path.join(prefix, pattern)):
            out += (str(p) for p in Path(root).rglob("*.so") if p.is_file())
    return sorted(out)


def _listings(paths: list[str], loader: str) -> dict[str, Listing]:
    if not paths:
        return {}
    workers = min(8, 2 * (os.cpu_count() or 1), len(paths))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(paths, pool.map(lambda p: loader_listing(p, loader), paths), strict=False))


def _why_not(listing: Listing) -> str | None:
    if listing.error:
        return listing.error
    if listing.missing:
        return "the host's loader cannot find " + ", ".join(listing.missing)
    return None


@dataclass
class _Draft:
    """The plan of one group while it is being made."""

    name: str
    direct: list[str] = field(default_factory=list)  # static programs and scripts
    dynamic: list[tuple[str, str, str]] = field(default_factory=list)  # (name, path, loader)
    unrunnable: list[dict] = field(default_factory=list)
    needs: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def cannot(self, path: str, reason: str) -> None:
        self.unrunnable.append({"binary": path, "group": self.name, "reason": reason})


def _classify(draft: _Draft, group: Group, bindir: str) -> None:
    machine = host_machine()
    for prog in group.binaries:
        path = os.path.join(bindir, prog)
        if not os.path.exists(path):
            continue
        kind = inspect(path)
        if kind.kind == "script":
            draft.direct.append(path)
            draft.needs.append(
                {"binary": path, "group": draft.name, "interpreter": kind.interpreter}
            )
        elif kind.kind != "elf" or kind.shared_object:
            draft.cannot(path, "not an ELF program or a #! script")
        elif machine is not None and kind.machine != machine:
            draft.cannot(path, f"built for another machine (ELF e_machine {kind.machine})")
        elif kind.interpreter is None:
            draft.direct.append(path)  # statically linked: runs as it is
        else:
            draft.dynamic.append((prog, path, kind.interpreter))


def _resolve(
    draft: _Draft, group: Group, prefix: str
) -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    """The group's loader, its runnable dynamic programs and the libraries they need."""
    loader = Counter(ld for _, _, ld in draft.dynamic).most_common(1)[0][0]
    candidates: list[tuple[str, str]] = []
    for prog, path, ld in draft.dynamic:
        if ld != loader:
            draft.cannot(path, f"uses the loader {ld}, not the group's {loader}")
        elif not os.path.exists(loader):
            draft.cannot(path, f"its loader {loader} is missing on the host")
        else:
            candidates.append((prog, path))
    modules = _modules(group, prefix) if candidates else []
    listings = _listings([p for _, p in candidates] + modules, loader)
    libs: dict[str, str] = {}

    def take(listing: Listing, owner: str) -> None:
        for soname, lib in listing.libs:
            if "/" in soname:
                continue
            known = libs.setdefault(soname, lib)
            if os.path.realpath(known) != os.path.realpath(lib):
                draft.errors.append(
                    f"{owner}: {soname} resolves to {lib}, already bound from {known}"
                )

    ok: list[tuple[str, str]] = []
    for prog, path in candidates:
        reason = _why_not(listings[path])
        if reason:
            draft.cannot(path, reason)
        else:
            take(listings[path], path)
            ok.append((prog, path))
    for module in modules:
        reason = _why_not(listings[module])
        if reason:
            draft.errors.append(f"module {module} will not load: {reason}")
        else:
            take(listings[module], module)
    return loader, ok, libs


#: Why a builder's plan leaves a dynamically linked program out.
DEFERRED_REASON = (
    "dynamically linked: its loader, libraries and launcher are set up where the "
    "command runs (session start, or resolve=True)"
)
#: Why a builder's plan (``resolve=False``) leaves every program to where the command runs.
PURE_REASON = (
    "a builder does not read this host's disk: the program is checked and bound where "
    "the command runs (session start, or resolve=True)"
)


def _pure_plan(group: Group, prefix: str) -> GroupMounts:
    """What a pure builder binds for ``group`` under ``prefix``, from the string alone.

    The group's main data directory (``<prefix>/share/texlive``) and its
    ``bin/`` on PATH; every program is ``deferred``: whether it is a script, a
    static or a dynamically linked program (which needs the host's loader run
    and a launcher written) is found where the command runs.
    """
    literal = [p for p in group.share if not any(c in p for c in "*?[")][:1]
    binds = tuple(
        make_bind(d, d, "ro", field=f"{group.name}.data", must_exist=False)
        for d in (os.path.join(prefix, p) for p in literal)
    )
    bindir = os.path.join(prefix, "bin")
    deferred = tuple(
        {"binary": os.path.join(bindir, prog), "group": group.name, "reason": PURE_REASON}
        for prog in group.binaries
    )
    return GroupMounts(group.name, prefix, binds, (bindir,), deferred=deferred)


def plan_group(
    group: Group,
    prefix: str,
    *,
    wrapper_root: str | os.PathLike | None = None,
    resolve: bool = True,
) -> GroupMounts:
    """Plan the binds that make ``group`` under ``prefix`` usable in a container.

    ``resolve=False`` (a pure builder): no loader is run and no launcher
    written; the dynamically linked programs are listed under ``deferred``.
    """
    prefix = os.path.normpath(prefix)
    if not prefix.startswith("/"):
        raise BadInputError(f"must be an absolute path, got {prefix!r}", f"{group.name} prefix")
    name = group.name
    bindir = os.path.join(prefix, "bin")
    draft = _Draft(name)
    if not resolve:  # a builder's: from the prefix string alone, never this host's disk
        return _pure_plan(group, prefix)
    if not os.path.isdir(prefix):
        raise BadInputError(f"host path does not exist: {prefix}", f"{name}_prefix")
    binds = [make_bind(d, d, "ro", field=f"{name}.data") for d in data_dirs(group, prefix)]
    _classify(draft, group, bindir)
    launchers: dict[str, str] = {}
    deferred: tuple[dict, ...] = ()
    if draft.dynamic:
        loader, ok, libs = _resolve(draft, group, prefix)
        if ok:
            lib_dir, real_dir = private_dir(name, "lib"), private_dir(name, "bin")
            private_loader = f"{lib_dir}/{os.path.basename(loader)}"
            binds += [
                make_bind(lib, f"{lib_dir}/{so}", "ro", field=f"{name}.lib")
                for so, lib in sorted(libs.items())
            ]
            binds.append(make_bind(loader, private_loader, "ro", field=f"{name}.loader"))
            binds += [
                make_bind(path, f"{real_dir}/{prog}", "ro", field=f"{name}.program")
                for prog, path in ok
            ]
            argv0 = loader_supports_argv0(loader)
            texts = {
                prog: wrapper_text(path, f"{real_dir}/{prog}", private_loader, lib_dir, argv0=argv0)
                for prog, path in ok
            }
            host_dir = wrapper_dir(name, texts, wrapper_root)
            exists = not runner.is_dry_run()
            binds += [
                make_bind(host_dir / prog, path, "ro", field=f"{name}.launcher", must_exist=exists)
                for prog, path in ok
            ]
            launchers = {prog: path for prog, path in ok}
    binds += [make_bind(path, path, "ro", field=f"{name}.program") for path in draft.direct]
    path_additions = (bindir,) if launchers or draft.direct else ()
    return GroupMounts(
        name,
        prefix,
        tuple(binds),
        path_additions,
        launchers,
        tuple(draft.unrunnable),
        tuple(draft.needs),
        tuple(draft.errors),
        deferred,
    )
