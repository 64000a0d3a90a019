"""Host tools bound into containers at the same absolute paths as on the host, runnable.

:func:`get_texlive_binds` and :func:`get_mount_config` are the public face
of :mod:`.plan`: data directories and programs are callable at their host
paths inside the container (programs through launchers that bring the
host's loader and libraries, bound privately under ``/opt/scitex-host``);
raw ``host:container[:mode]`` specs are validated with the one bind model.
"""

from __future__ import annotations

import os
import re

from scitex_container.binds import BindSpec, bind_args, bind_from_mapping, parse_bind_spec
from scitex_container.errors import BadInputError
from scitex_container.host.groups import IMAGEMAGICK, TEXLIVE, Group
from scitex_container.host.plan import GroupMounts, plan_group

#: Kept for callers of the first version of this module.
TEXLIVE_BINS = TEXLIVE.binaries
TEXLIVE_SHARE = TEXLIVE.share

#: Directories on every default PATH: nothing to add for programs there.
STANDARD_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def auto_prefix(group: Group) -> str:
    """``/usr`` when the group's probe programs are in ``/usr/bin``, else ``""``."""
    return "/usr" if any(os.path.exists(f"/usr/bin/{p}") for p in group.probe) else ""


def texlive_bind_specs(prefix: str = "/usr", *, resolve: bool = True) -> list[BindSpec]:
    """The validated binds of :func:`get_texlive_binds` (``resolve=False``: a
    builder's, without the dynamically linked programs: see :mod:`.plan`)."""
    return list(plan_group(TEXLIVE, prefix, resolve=resolve).binds)


def get_texlive_binds(prefix: str = "/usr") -> list[dict]:
    """Generate bind mount entries for TeX Live under ``prefix``.

    Data directories and programs land at the same absolute path inside the
    container as on the host.  A dynamically linked program's path holds a
    launcher that runs the host's program (bound under
    ``/opt/scitex-host/texlive/bin``) with the host's loader and libraries
    (bound under ``/opt/scitex-host/texlive/lib``), so it runs although the
    container has none of its libraries.

    Returns:
        ``[{"host": "/usr/share/texlive", "container": "/usr/share/texlive", "mode": "ro"}, ...]``

    Raises:
        BadInputError: When there is no TeX Live under ``prefix`` (the
            error names what is missing).
    """
    return [b.to_dict() for b in texlive_bind_specs(prefix)]


def parse_host_mounts(raw: str, *, must_exist: bool = False) -> list[BindSpec]:
    """Parse ``host:container[:mode]`` entries separated by commas or newlines.

    Syntax only unless ``must_exist`` (then every host path must exist here).
    """
    out: list[BindSpec] = []
    entries = [e.strip() for e in re.split(r"[,\n]", raw or "")]
    for index, entry in enumerate(e for e in entries if e):
        try:
            field = f"host_mounts_raw[{index}]"
            out.append(parse_bind_spec(entry, field=field, must_exist=must_exist))
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
    resolve: bool = False,
) -> dict:
    """Parse mount configuration and return structured bind mount info.

    Args:
        texlive_prefix: TeX Live's prefix (e.g. ``/usr``); empty: ``/usr`` if
            TeX Live's programs are there, else no TeX Live mounts.
        host_mounts_raw: ``host:container[:mode]`` entries separated by commas
            or newlines, e.g. ``"/data:/data:ro,/scratch:/scratch"``; each is
            validated for syntax (absolute paths, no control characters,
            mode ro/rw): the mounts may be meant for another node.
        imagemagick_prefix: ImageMagick's prefix; None (default): no
            ImageMagick mounts; empty: ``/usr`` if it is installed there.
        wrapper_root: Host directory for the program launchers (default:
            :func:`scitex_container.host.wrappers.default_root`).
        resolve: For a command that runs on this host: check here that every
            host path exists, report two host paths bound at one container
            path unless they resolve to the same file, and set up the
            dynamically linked programs (run the host's loader, write their
            launchers).  Without it nothing is run or written: those programs
            are listed under ``deferred`` (a builder's plan is pure).

    Returns:
        A dict; ``path_additions`` must be on the container's PATH (pass
        ``env`` as ``--env KEY=VALUE`` to apptainer for that)::

            {"bind_args": ["--bind", "/usr/share/texlive:/usr/share/texlive:ro", ...],
             "path_additions": ["/usr/bin"],
             "env": {},  # {"PREPEND_PATH": ...} for a prefix outside the default PATH
             "mounts": [{"host", "container", "mode"}, ...],
             "launchers": {"pdflatex": "/usr/bin/pdflatex", ...},
             "unrunnable": [{"binary", "group", "reason"}, ...],
             "needs_interpreter": [{"binary", "group", "interpreter"}, ...],
             "deferred": [{"binary", "group", "reason"}, ...],  # without resolve
             "errors": [...]}

    Raises:
        BadInputError: an entry of ``host_mounts_raw`` is malformed, or (with
            ``resolve``) names a host path that does not exist (the message
            names the entry).
    """
    binds = parse_host_mounts(host_mounts_raw, must_exist=resolve)
    plans: list[GroupMounts] = []
    tl = texlive_prefix or auto_prefix(TEXLIVE)
    if tl:
        plans.append(plan_group(TEXLIVE, tl, wrapper_root=wrapper_root, resolve=resolve))
    im = (
        imagemagick_prefix
        if imagemagick_prefix is None
        else (imagemagick_prefix or auto_prefix(IMAGEMAGICK))
    )
    if im:
        plans.append(plan_group(IMAGEMAGICK, im, wrapper_root=wrapper_root, resolve=resolve))
    errors: list[str] = []
    for plan in plans:
        binds += plan.binds
        errors += plan.errors
    seen: dict[str, BindSpec] = {}
    for bind in binds:
        first = seen.setdefault(bind.container, bind)
        if first.host != bind.host and (
            not resolve or os.path.realpath(first.host) != os.path.realpath(bind.host)
        ):
            errors.append(f"{bind.container} is bound twice: from {first.host} and {bind.host}")
    path_additions = _dedupe([p for plan in plans for p in plan.path_additions])
    extra = [p for p in path_additions if p not in STANDARD_PATH]
    return {
        "bind_args": bind_args(binds),
        "path_additions": path_additions,
        # Apptainer prepends PREPEND_PATH to the container's own PATH (--env).
        "env": {"PREPEND_PATH": ":".join(extra)} if extra else {},
        "mounts": [b.to_dict() for b in dict.fromkeys(binds)],
        "launchers": {k: v for plan in plans for k, v in plan.launchers.items()},
        "unrunnable": [u for plan in plans for u in plan.unrunnable],
        "needs_interpreter": [n for plan in plans for n in plan.needs_interpreter],
        "deferred": [d for plan in plans for d in plan.deferred],
        "errors": errors,
    }


def build_host_mount_binds(
    host_mounts: list[dict] | None = None, texlive_prefix: str = ""
) -> list[str]:
    """Build ``--bind`` argument pairs for host package mounts.

    Args:
        host_mounts: ``{host_path, container_path, mode}`` dicts (validated).
        texlive_prefix: Host prefix of a TeX Live installation (e.g. ``/usr``);
            when set, its share directories and binaries are bound read-only at
            the same paths inside the container, with the libraries and
            launchers that let them run there
            (:func:`scitex_container.host.get_texlive_binds`).  Pure: the
            dynamically linked programs, which need the host's loader run and
            launchers written, are left to where the command runs (``session
            start`` binds them; see :mod:`.plan`).

    Returns:
        Flat list of alternating ``"--bind"`` / ``"<spec>"`` strings.
    """
    binds = [
        bind_from_mapping(m, field=f"host_mounts[{i}]", must_exist=False)
        for i, m in enumerate(host_mounts or [])
    ]
    if texlive_prefix:
        binds += texlive_bind_specs(texlive_prefix, resolve=False)
    return bind_args(binds)


__all__ = [
    "GroupMounts",
    "build_host_mount_binds",
    "get_mount_config",
    "get_texlive_binds",
    "parse_host_mounts",
    "plan_group",
]
