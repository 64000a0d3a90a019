"""Host tools bound into containers at the same absolute paths as on the host, runnable.

For a package group under a prefix (``/usr`` for apt installs) the plan binds:

* its data directories (TeX Live's ``share/texlive``, ``share/texmf``,
  ``/var/lib/texmf``, ``/etc/texmf``; ImageMagick's ``/etc/ImageMagick-*`` and
  module directories) read-only at the same path;
* its programs at the same path (a symlink is bound as the file it resolves
  to, so ``/usr/bin/convert`` works although it points into
  ``/etc/alternatives``);
* for dynamically linked programs (and dlopen()ed modules): every shared
  library the host's loader resolves, plus the loader itself, into the
  private ``/opt/scitex-host/<group>/lib`` (never over the container's own
  libraries), and a launcher per program in ``/opt/scitex-host/<group>/bin``
  that runs it with that loader and library path (see :mod:`.wrappers`).

``/opt/scitex-host/<group>/bin`` must come first on the container's PATH
(``path_additions``).  Programs that cannot run there are listed under
``unrunnable`` with the reason; scripts run with the container's own
interpreter and are listed under ``needs_interpreter``.
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import runner
from ..apptainer.binds import BindSpec, bind_args, make_bind, parse_bind_spec
from ..errors import BadInputError
from ..result import Result
from .elf import Listing, host_machine, inspect, loader_listing
from .groups import GROUPS, IMAGEMAGICK, TEXLIVE, Group
from .wrappers import PRIVATE_ROOT, private_dir, wrapper_dir, wrapper_text

#: Kept for callers of the first version of this module.
TEXLIVE_BINS = TEXLIVE.binaries
TEXLIVE_SHARE = TEXLIVE.share


@dataclass(frozen=True)
class GroupMounts(Result):
    """Everything needed to use one host package group inside a container."""

    group: str
    prefix: str
    binds: tuple[BindSpec, ...] = ()
    path_additions: tuple[str, ...] = ()
    #: program name -> launcher path inside the container
    wrappers: dict[str, str] = field(default_factory=dict)
    #: ``{"binary", "group", "reason"}`` for programs that cannot run inside
    unrunnable: tuple[dict, ...] = ()
    #: ``{"binary", "group", "interpreter"}``: scripts run by the container's interpreter
    needs_interpreter: tuple[dict, ...] = ()
    errors: tuple[str, ...] = ()


def _same(path: str, field_name: str) -> BindSpec:
    return make_bind(path, path, "ro", field=field_name)


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
        return dict(zip(paths, pool.map(lambda p: loader_listing(p, loader), paths)))


def _why_not(listing: Listing) -> str | None:
    if listing.error:
        return listing.error
    if listing.missing:
        return "the host's loader cannot find " + ", ".join(listing.missing)
    return None


def plan_group(group: Group, prefix: str, *, wrapper_root: str | os.PathLike | None = None) -> GroupMounts:
    """Plan the binds that make ``group`` under ``prefix`` usable in a container."""
    prefix = os.path.normpath(prefix)
    if not prefix.startswith("/"):
        raise BadInputError(f"must be an absolute path, got {prefix!r}", f"{group.name} prefix")
    bindir = os.path.join(prefix, "bin")
    name = group.name
    binds = [_same(d, f"{name}.data") for d in data_dirs(group, prefix)]
    unrunnable: list[dict] = []
    needs: list[dict] = []
    errors: list[str] = []
    direct: list[str] = []  # programs that run as they are (static, scripts)
    dynamic: list[tuple[str, str, str]] = []  # (name, path, loader)
    machine = host_machine()
    for prog in group.binaries:
        path = os.path.join(bindir, prog)
        if not os.path.exists(path):
            continue
        kind = inspect(path)
        if kind.kind == "script":
            direct.append(path)
            needs.append({"binary": path, "group": name, "interpreter": kind.interpreter})
        elif kind.kind != "elf" or kind.shared_object:
            unrunnable.append({"binary": path, "group": name, "reason": "not an ELF program or a #! script"})
        elif machine is not None and kind.machine != machine:
            unrunnable.append({"binary": path, "group": name,
                               "reason": f"built for another machine (ELF e_machine {kind.machine})"})
        elif kind.interpreter is None:
            direct.append(path)  # statically linked: runs anywhere on this machine
        else:
            dynamic.append((prog, path, kind.interpreter))

    wrappers: dict[str, str] = {}
    path_additions: list[str] = []
    if dynamic:
        loader = Counter(ld for _, _, ld in dynamic).most_common(1)[0][0]
        runnable: list[tuple[str, str]] = []
        for prog, path, ld in dynamic:
            if ld != loader:
                unrunnable.append({"binary": path, "group": name,
                                   "reason": f"uses the loader {ld}, not the group's {loader}"})
            elif not os.path.exists(loader):
                unrunnable.append({"binary": path, "group": name,
                                   "reason": f"its loader {loader} is missing on the host"})
            else:
                runnable.append((prog, path))
        modules = _modules(group, prefix) if runnable else []
        listings = _listings([p for _, p in runnable] + modules, loader)
        libs: dict[str, str] = {}

        def take(listing: Listing, owner: str) -> None:
            for soname, lib in listing.libs:
                if "/" in soname:
                    continue
                known = libs.setdefault(soname, lib)
                if os.path.realpath(known) != os.path.realpath(lib):
                    errors.append(f"{owner}: {soname} resolves to {lib}, already bound from {known}")

        ok: list[tuple[str, str]] = []
        for prog, path in runnable:
            reason = _why_not(listings[path])
            if reason:
                unrunnable.append({"binary": path, "group": name, "reason": reason})
            else:
                take(listings[path], path)
                ok.append((prog, path))
        for module in modules:
            reason = _why_not(listings[module])
            if reason:
                errors.append(f"module {module} will not load: {reason}")
            else:
                take(listings[module], module)
        if ok:
            lib_dir, bin_dir = private_dir(name, "lib"), private_dir(name, "bin")
            loader_name = os.path.basename(loader)
            binds += [make_bind(lib, f"{lib_dir}/{so}", "ro", field=f"{name}.lib")
                      for so, lib in sorted(libs.items())]
            binds.append(make_bind(loader, f"{lib_dir}/{loader_name}", "ro", field=f"{name}.loader"))
            texts = {prog: wrapper_text(path, loader_name, lib_dir) for prog, path in ok}
            host_dir = wrapper_dir(name, texts, wrapper_root)
            binds.append(make_bind(host_dir, bin_dir, "ro", field=f"{name}.launchers",
                                   must_exist=not runner.is_dry_run()))
            direct += [path for _, path in ok]
            wrappers = {prog: f"{bin_dir}/{prog}" for prog, _ in ok}
            path_additions.append(bin_dir)
    binds += [_same(path, f"{name}.program") for path in direct]
    if direct:
        path_additions.append(bindir)
    return GroupMounts(name, prefix, tuple(binds), tuple(path_additions), wrappers,
                       tuple(unrunnable), tuple(needs), tuple(errors))


def auto_prefix(group: Group) -> str:
    """``/usr`` when the group's probe programs are in ``/usr/bin``, else ``""``."""
    return "/usr" if any(os.path.exists(f"/usr/bin/{p}") for p in group.probe) else ""


def texlive_bind_specs(prefix: str = "/usr") -> list[BindSpec]:
    """The validated binds of :func:`get_texlive_binds`."""
    return list(plan_group(TEXLIVE, prefix).binds)


def get_texlive_binds(prefix: str = "/usr") -> list[dict]:
    """Generate bind mount entries for TeX Live under ``prefix``.

    Data directories and programs land at the same absolute path inside the
    container as on the host.  The libraries and loader the programs need
    are bound under ``/opt/scitex-host/texlive/lib`` and a launcher per
    program under ``/opt/scitex-host/texlive/bin``, which must come first
    on the container's PATH (see :func:`get_mount_config`).

    Returns:
        ``[{"host": "/usr/share/texlive", "container": "/usr/share/texlive", "mode": "ro"}, ...]``
        (empty when there is no TeX Live under ``prefix``).
    """
    return [b.to_dict() for b in texlive_bind_specs(prefix)]


def parse_host_mounts(raw: str) -> list[BindSpec]:
    """Parse ``host:container[:mode]`` entries separated by commas or newlines."""
    out: list[BindSpec] = []
    entries = [e.strip() for e in re.split(r"[,\n]", raw or "")]
    for index, entry in enumerate(e for e in entries if e):
        try:
            out.append(parse_bind_spec(entry, field=f"host_mounts_raw[{index}]"))
        except BadInputError as exc:
            raise BadInputError(f"{exc.detail} (entry {entry!r})", exc.where) from None
    return out


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def get_mount_config(
    texlive_prefix: str = "",
    host_mounts_raw: str = "",
    *,
    imagemagick_prefix: str | None = None,
    wrapper_root: str | os.PathLike | None = None,
) -> dict:
    """Parse mount configuration and return structured bind mount info.

    Args:
        texlive_prefix: TeX Live's prefix (e.g. ``/usr``); empty: ``/usr`` if
            TeX Live's programs are there, else no TeX Live mounts.
        host_mounts_raw: ``host:container[:mode]`` entries separated by commas
            or newlines, e.g. ``"/data:/data:ro,/scratch:/scratch"``; each is
            validated (absolute paths, existing host path, mode ro/rw).
        imagemagick_prefix: ImageMagick's prefix; None (default): no
            ImageMagick mounts; empty: ``/usr`` if it is installed there.
        wrapper_root: Host directory for the program launchers (default:
            :func:`scitex_container.host.wrappers.default_root`).

    Returns:
        ``{"bind_args": ["--bind", "/usr/share/texlive:/usr/share/texlive:ro", ...],
        "path_additions": ["/opt/scitex-host/texlive/bin", "/usr/bin"],
        "env": {"PREPEND_PATH": "/opt/scitex-host/texlive/bin:/usr/bin"},
        "mounts": [{"host", "container", "mode"}, ...],
        "wrappers": {"pdflatex": "/opt/scitex-host/texlive/bin/pdflatex", ...},
        "unrunnable": [{"binary", "group", "reason"}, ...],
        "needs_interpreter": [{"binary", "group", "interpreter"}, ...],
        "errors": [...]}``.  Prepend ``path_additions`` to the container's
        PATH, e.g. by passing ``env`` as ``--env KEY=VALUE`` to apptainer.

    Raises:
        BadInputError: an entry of ``host_mounts_raw`` is malformed (the
            message names the entry).
    """
    binds = parse_host_mounts(host_mounts_raw)
    plans: list[GroupMounts] = []
    tl = texlive_prefix or auto_prefix(TEXLIVE)
    if tl:
        plans.append(plan_group(TEXLIVE, tl, wrapper_root=wrapper_root))
    im = imagemagick_prefix if imagemagick_prefix is None else (imagemagick_prefix or auto_prefix(IMAGEMAGICK))
    if im:
        plans.append(plan_group(IMAGEMAGICK, im, wrapper_root=wrapper_root))
    errors: list[str] = []
    for plan in plans:
        binds += plan.binds
        errors += plan.errors
    seen: dict[str, BindSpec] = {}
    for bind in binds:
        first = seen.setdefault(bind.container, bind)
        if first.host != bind.host and os.path.realpath(first.host) != os.path.realpath(bind.host):
            errors.append(f"{bind.container} is bound twice: from {first.host} and {bind.host}")
    # Every launcher directory before any program directory, so a launcher
    # always wins over the raw host program it wraps.
    path_additions = _dedupe(
        [p for plan in plans for p in plan.path_additions if p.startswith(PRIVATE_ROOT)]
        + [p for plan in plans for p in plan.path_additions]
    )
    return {
        "bind_args": bind_args(binds),
        "path_additions": path_additions,
        # Apptainer prepends PREPEND_PATH to the container's own PATH (--env).
        "env": {"PREPEND_PATH": ":".join(path_additions)} if path_additions else {},
        "mounts": [b.to_dict() for b in dict.fromkeys(binds)],
        "wrappers": {k: v for plan in plans for k, v in plan.wrappers.items()},
        "unrunnable": [u for plan in plans for u in plan.unrunnable],
        "needs_interpreter": [n for plan in plans for n in plan.needs_interpreter],
        "errors": errors,
    }


__all__ = ["GROUPS", "GroupMounts", "get_mount_config", "get_texlive_binds", "plan_group"]
