"""Working inside a sandbox: maintenance commands, package updates, prompt, back to SIF."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from scitex_container import envvars
from scitex_container.apptainer import tool
from scitex_container.apptainer.building.atomic import build_image
from scitex_container.apptainer.signing.policy import output_gate
from scitex_container.errors import AccessDeniedError, BadInputError, NotFoundError, ScitexError
from scitex_container.files.fsutil import atomic_write_text, remove_path
from scitex_container.process import runner

log = logging.getLogger(__name__)

ENV_SCRIPT = Path(".singularity.d") / "env" / "90-environment.sh"
_BEGIN = "# >>> scitex-container ps1 >>>"
_END = "# <<< scitex-container ps1 <<<"
_BLOCK = re.compile(re.escape(_BEGIN) + r".*?" + re.escape(_END) + r"\n?", re.S)

#: The reference's ecosystem packages, updated when ``packages`` is not given.
DEFAULT_PACKAGES = (
    "scitex",
    "figrecipe",
    "scitex-writer",
    "scitex-dataset",
    "crossref-local",
    "openalex-local",
    "socialia",
    "scitex-linter",
    "scitex-container",
)
#: Repository directory names that differ from the package name (tried in order).
PACKAGE_DIRS = {"scitex": ("scitex-python", "scitex-code")}
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
_COPY_IGNORE = shutil.ignore_patterns(
    ".venv",
    "venv",
    "__pycache__",
    "*.pyc",
    ".tox",
    ".nox",
    "node_modules",
    "build",
    "dist",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)
_STAGING = Path("opt") / ".scitex-update"
#: Variable inside the container holding the default prompt.
DEFAULT_PS1_VAR = "SCITEX_CLOUD_APPTAINER_PS1_DEFAULT"


def _sandbox(path: str | os.PathLike) -> Path:
    sandbox = Path(path)
    if not sandbox.is_dir():
        raise NotFoundError(f"sandbox directory not found: {sandbox}", str(sandbox))
    from scitex_container.apptainer.lock.imagecheck import check_image

    return check_image(sandbox)  # an empty or unrelated directory is no sandbox (exit 2)


def _exec_prefix(fakeroot: bool | None) -> list[str]:
    argv = [tool.detect_container_cmd(), "exec", "--writable"]
    if tool.choose_fakeroot(fakeroot):
        argv.append("--fakeroot")
    return argv


def sandbox_maintain(
    sandbox_dir: str | os.PathLike, command: Sequence[str], *, fakeroot: bool | None = None
) -> int:
    """Run ``command`` inside the sandbox with ``--writable`` (and ``--fakeroot``).

    For admin maintenance (installing packages...); user sessions should use
    ``--writable-tmpfs`` instead.  Output goes straight to our stdout/stderr.

    Args:
        sandbox_dir: The sandbox directory.

    Returns:
        The command's exit code.
    """
    sandbox = _sandbox(sandbox_dir)
    if not command:
        raise BadInputError("no command given", "command")
    argv = [*_exec_prefix(fakeroot), str(sandbox), *command]
    return runner.run(argv, check=False, capture=False, contained=True).returncode


def _package_dir(package: str, proj_root: Path) -> Path | None:
    for name in (*PACKAGE_DIRS.get(package, ()), package):
        candidate = proj_root / name
        if candidate.is_dir() and any((candidate / f).is_file() for f in _PROJECT_FILES):
            return candidate
    return None


def sandbox_update(
    sandbox_dir: str | os.PathLike,
    *,
    proj_root: str | os.PathLike | None = None,
    packages: Sequence[str] | None = None,
    install_deps: bool = False,
    build_isolation: bool = False,
    fakeroot: bool | None = None,
) -> dict[str, str]:
    """Install packages from local repositories into an existing sandbox.

    Each package's repository (``<proj_root>/<name>``; ``scitex`` is
    ``scitex-python`` or ``scitex-code``) is copied into the sandbox and
    installed there with ``python3 -m pip install`` (``--no-deps`` unless
    ``install_deps``; without build isolation unless asked, so it works
    offline with the image's own build backend).

    Args:
        sandbox_dir: The sandbox directory.
        build_isolation: Let pip build in an isolated environment (needs the network);
            default ``--no-build-isolation``.
        fakeroot: Force ``--fakeroot`` on (True) or off (False); None chooses it (on
            when not root, or when root lacks the capabilities).

    Returns:
        Package name -> ``ok``, ``failed`` or ``skipped`` (no repository).
    """
    sandbox = _sandbox(sandbox_dir).resolve()
    root = Path(proj_root).expanduser() if proj_root is not None else Path.home() / "proj"
    names = tuple(packages) if packages is not None else DEFAULT_PACKAGES
    flags = [] if install_deps else ["--no-deps"]
    if not build_isolation:
        flags.append("--no-build-isolation")
    results: dict[str, str] = {}
    for name in names:
        repo = _package_dir(name, root)
        if repo is None:
            log.warning("no repository for %s in %s; skipped", name, root)
            results[name] = "skipped"
            continue
        inside = Path("/") / _STAGING / repo.name
        staged = sandbox / _STAGING / repo.name
        argv = [
            *_exec_prefix(fakeroot),
            "--env",
            "PIP_BREAK_SYSTEM_PACKAGES=1",
            "--env",
            "PIP_DISABLE_PIP_VERSION_CHECK=1",
            str(sandbox),
            "python3",
            "-m",
            "pip",
            "install",
            "--no-input",
            *flags,
            str(inside),
        ]
        if runner.is_dry_run():
            runner.run(argv, check=False, contained=True)
            results[name] = "ok"
            continue
        try:
            remove_path(staged)
            shutil.copytree(repo, staged, symlinks=True, ignore=_COPY_IGNORE)
            done = runner.run(argv, check=False, contained=True)
        finally:
            remove_path(staged)
        results[name] = "ok" if done.returncode == 0 else "failed"
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
            log.warning("installing %s failed: %s", name, tail[0])
    return results


def ps1_snippet(default_ps1: str) -> str:
    """The prompt block: ``$SCITEX_CLOUD_APPTAINER_PS1`` when set, else ``default_ps1``.

    ``--env`` values are not visible while apptainer sources the env
    scripts; apptainer replays the PS1 they set with ``PS1="<value>"`` at
    the shell's first prompt, when they are.  So PS1 holds an expansion of
    the variable, falling back to the default kept in its own variable
    (which needs no quoting in that replay).
    """
    var = envvars.APPTAINER_PS1
    value = "${" + var + ":-$" + DEFAULT_PS1_VAR + "}"
    return (
        f"{_BEGIN}\n"
        f"# Prompt: ${var} when set (apptainer --env {var}=...), else the default.\n"
        f"{DEFAULT_PS1_VAR}={shlex.quote(default_ps1)}\n"
        f"PS1={shlex.quote(value)}\n"
        f"export {DEFAULT_PS1_VAR} PS1\n"
        f"{_END}\n"
    )


def sandbox_configure_ps1(sandbox_dir: str | os.PathLike, default_ps1: str = r"\W $ ") -> None:
    r"""Set the prompt in a sandbox's ``/.singularity.d/env/90-environment.sh``.

    The snippet reads ``SCITEX_CLOUD_APPTAINER_PS1`` at run time and falls
    back to ``default_ps1``; users override it with
    ``--env SCITEX_CLOUD_APPTAINER_PS1='(mylab) \W $ '``.  Apptainer's
    ``99-base.sh`` sets ``PS1="Apptainer> "`` only when PS1 is unset, and
    ``90-environment.sh`` runs first.  Running it again replaces the block.

    Args:
        sandbox_dir: The sandbox directory.
    """
    sandbox = _sandbox(sandbox_dir)
    script = sandbox / ENV_SCRIPT
    if not script.parent.is_dir():
        raise NotFoundError(f"not an apptainer sandbox (no {ENV_SCRIPT.parent})", str(sandbox))
    try:
        text = script.read_text()
        mode = stat.S_IMODE(script.stat().st_mode)
    except FileNotFoundError:
        text, mode = "#!/bin/sh\n", 0o755
    body = _BLOCK.sub("", text)
    if body and not body.endswith("\n"):
        body += "\n"
    if not runner.is_dry_run():
        atomic_write_text(script, body + ps1_snippet(default_ps1), mode=mode)


def sandbox_to_sif(
    sandbox_dir: str | os.PathLike,
    output_sif: str | os.PathLike,
    *,
    fakeroot: bool | None = None,
    sign_key: str | os.PathLike | None = None,
) -> Path:
    """Convert a sandbox directory back to a SIF image (atomically; no sudo).

    With ``sign_key`` the SIF is signed before it is renamed into place; a
    site policy requiring signed ``sandbox_to_sif`` outputs refuses (and
    removes) an output that does not verify, leaving ``output_sif`` as it was.

    Args:
        sandbox_dir: The sandbox directory.
        fakeroot: Force ``--fakeroot`` on (True) or off (False); None chooses it (on
            when not root, or when root lacks the capabilities).

    When ``output_sif`` is the active link of an image store, or the store's
    directory (as ``build -o STORE``), the SIF is written as a new version of
    that store and the link switched to it (:func:`store_of_output` tells which).

    Returns:
        Path to the created .sif file.
    """
    sandbox = _sandbox(sandbox_dir)
    out = Path(output_sif)
    meta = {"source": str(sandbox.resolve())}
    store = _store_at(out)
    if store is not None:  # the active link of a store: a new version of it, then activated
        with _store_dir(store), store.build_lock(), _unreadable_said(sandbox, out):
            final = store.path_of(store.new_version())
            build_image(
                sandbox,
                final,
                fakeroot=fakeroot,
                metadata=meta,
                finalize=output_gate("sandbox_to_sif", final, sign_key),
                publish=lambda tmp, done, info: store.publish(tmp, done, meta=info),
            )
        return final
    gate = output_gate("sandbox_to_sif", out, sign_key)  # site policy (signing/policy.py)
    with _unreadable_said(sandbox, out):
        build_image(sandbox, out, fakeroot=fakeroot, metadata=meta, finalize=gate)
    return out.absolute()


@contextlib.contextmanager
def _unreadable_said(sandbox: Path, out: Path) -> Iterator[None]:
    """A build that failed on a file of the sandbox the caller cannot read names that
    file (owner, mode), the sandbox and the output, never our hidden temporary."""
    try:
        yield
    except ScitexError:
        found = _first_unreadable(sandbox)
        if found is None:
            raise
        from scitex_container.files.pathinfo import owner_mode

        raise AccessDeniedError(
            f"{sandbox}: cannot read {found.relative_to(sandbox)} inside it "
            f"({owner_mode(found)}); {out} was not written"
        ) from None


def _first_unreadable(sandbox: Path) -> Path | None:
    """The first file or directory under ``sandbox`` the caller cannot read (or enter)."""
    for root, dirs, files in os.walk(sandbox):
        for name in sorted(dirs):
            path = Path(root, name)
            if not path.is_symlink() and not os.access(path, os.R_OK | os.X_OK):
                return path
        for name in sorted(files):
            path = Path(root, name)
            if not path.is_symlink() and not os.access(path, os.R_OK):
                return path
    return None


def _store_dir(store):
    """The store's directory, made for a first version (removed again if that fails)."""
    import contextlib

    from scitex_container.apptainer.store.state import discard_state
    from scitex_container.files.fsutil import made_dirs

    if runner.is_dry_run() or store.dir.is_dir():
        return contextlib.nullcontext(store.dir)
    return made_dirs(store.dir, empty=discard_state)


def store_of_output(out: str | os.PathLike):
    """The image store ``sandbox_to_sif(..., out)`` adds a version to and activates (None:
    ``out`` is a plain SIF path, written as it is)."""
    return _store_at(Path(out))


def _store_dir_at(out: Path):
    """The one image store of directory ``out`` (itself, or the one image ``build -o`` put
    one level down); a directory holding none is refused (never a guessed name in it)."""
    from scitex_container.apptainer.store.opening import open_one_store

    store = open_one_store(out)
    if store.scheme.kind != "sif" or not (store.version_names() or os.path.lexists(store.link)):
        raise BadInputError(
            "is a directory holding no image store: give OUT.sif, an image store's"
            " directory or its active link",
            str(out),
        )
    return store


def _store_at(out: Path):
    """The SIF store whose active link ``out`` is (a link there is never replaced by a file).

    ``<dir>/<name>/<name>.sif`` not there yet, in a directory holding no other
    image, is the link of the image store ``<dir>/<name>/`` (as ``build``
    writes it): its first version.
    """
    from scitex_container.apptainer.sif.magic import has_sif_magic
    from scitex_container.apptainer.store.core import Store
    from scitex_container.apptainer.store.guard import check_store
    from scitex_container.apptainer.store.naming import image_scheme
    from scitex_container.apptainer.store.opening import open_store, schemes_in

    if not os.path.lexists(out) and out.name == f"{out.parent.name}.sif":
        scheme = image_scheme(out.parent.name)
        if all(s == scheme for s in schemes_in(out.parent)):
            store = Store(Path(os.path.normpath(out.parent.absolute())), scheme)
            check_store(store.dir, scheme)
            return store
    if out.is_dir() and not out.is_symlink():  # a store directory, as `build -o STORE` takes
        return _store_dir_at(out)
    if not out.is_symlink():
        if out.is_file() and has_sif_magic(out):
            store = open_store(out)
            version = store.scheme.version_of(out.name)
            if version is not None and store.dir == Path(os.path.normpath(out.parent.absolute())):
                raise BadInputError(
                    f"is version {version} of the store whose active link is {store.link}; "
                    "a version is never rewritten (give the active link to add a version)",
                    str(out),
                )
        return None
    store = open_store(out)
    if store.scheme.kind != "sif" or store.link != Path(os.path.normpath(out.absolute())):
        return None
    return store
