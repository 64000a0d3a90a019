"""Installing host packages with the installer script shipped in this package.

The script (``scitex_container/host/scripts/install-host-packages.sh``) is
found with :mod:`importlib.resources`, so it works from a wheel as well as
from a source tree.  Each requested group is first checked (a read-only run of
the script's ``--check`` mode, which asks dpkg); only a missing group is
installed, in a second run of the script, optionally through ``sudo``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from scitex_container.errors import NotFoundError, ProcessError
from scitex_container.host.groups import GROUPS
from scitex_container.process import runner

SCRIPT_NAME = "install-host-packages.sh"
TAG = "scitex-host-packages:"
CHECK_TIMEOUT = 120.0
INSTALL_TIMEOUT = 3600.0


def script_resource():
    """The shipped installer as an importlib.resources Traversable."""
    return resources.files("scitex_container.host").joinpath("scripts", SCRIPT_NAME)


@contextlib.contextmanager
def script_path() -> Iterator[Path]:
    """A real file path of the installer for the duration of the block.

    Raises:
        NotFoundError (a FileNotFoundError): if the package does not ship it.
    """
    resource = script_resource()
    if not resource.is_file():
        raise NotFoundError(
            f"the installer {SCRIPT_NAME} is missing from the package", str(resource)
        )
    with resources.as_file(resource) as path:
        yield Path(path)


def _statuses(stdout: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == TAG:
            out[parts[1]] = parts[2]
    return out


def _detail(done: runner.Completed) -> str | None:
    lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else None


def _run_script(
    script: Path, group: str, *, check_only: bool, use_sudo: bool, recommended: bool
) -> tuple[str, int | None, str | None]:
    flag = "--texlive-recommended" if group == "texlive" and recommended else f"--{group}"
    argv = ["bash", str(script), flag]
    if check_only:
        argv.append("--check")
    else:
        argv = runner.with_sudo(argv, use_sudo)
    try:
        done = runner.run(
            argv,
            check=False,
            readonly=check_only,
            timeout=CHECK_TIMEOUT if check_only else INSTALL_TIMEOUT,
            env={"LC_ALL": "C"},
        )
    except ProcessError as exc:  # timed out
        return "failed", None, str(exc)
    if done.dry_run:
        return "missing", None, "dry run: not installed"
    status = _statuses(done.stdout).get(group)
    if status is None:
        return "failed", done.returncode, _detail(done) or "the installer reported nothing"
    return status, done.returncode, _detail(done) if done.returncode else None


def install_packages(
    texlive: bool = False,
    imagemagick: bool = False,
    all: bool = False,
    check_only: bool = False,
    *,
    use_sudo: bool = False,
    texlive_recommended: bool = False,
) -> dict:
    """Install host packages by calling the shipped shell script.

    Args:
        texlive: Install a minimal TeX Live (``texlive-latex-base``).
        imagemagick: Install ImageMagick.
        all: Install all groups (overrides the two flags above).  With no
            group chosen at all every group is meant, as in the reference.
        check_only: Only check (``--check``): install nothing.
        use_sudo: Run the installer through ``sudo -n`` when not root.
        texlive_recommended: Also install ``texlive-latex-recommended`` and
            ``texlive-fonts-recommended`` with the TeX Live group.

    Returns:
        Status per group plus the script path::

            {"texlive": {"status": "installed", "returncode": 0, ...},
             "imagemagick": {"status": "skipped", "returncode": None, ...},
             "script": "/abs/path/to/install-host-packages.sh"}

        ``status`` is the reference's word: ``installed`` (there now, whether
        this call installed it or it already was), ``failed``, ``skipped``
        (not requested), and ``missing`` (check mode, or a dry run).  ``state``
        says more: ``present`` (it already was: nothing installed),
        ``installed`` (this call installed it), or the status.  Each group also
        carries ``detail`` (the installer's last message, or None).  In check
        mode the result also has the reference's ``check``: ``{"returncode":
        0 when every requested group is there, else 1}``.

    Raises:
        FileNotFoundError: If the install script cannot be found.
    """
    # no group chosen means every group (the reference's install_packages)
    all = all or not (texlive or imagemagick or texlive_recommended)
    wanted = {"texlive": texlive or all, "imagemagick": imagemagick or all}
    result: dict = {}
    with script_path() as script:
        for group in GROUPS:
            if not wanted[group]:
                result[group] = {
                    "status": "skipped",
                    "returncode": None,
                    "detail": None,
                    "state": "skipped",
                }
                continue
            opts = {"use_sudo": use_sudo, "recommended": texlive_recommended}
            status, rc, detail = _run_script(script, group, check_only=True, **opts)
            if status == "missing" and not check_only:
                status, rc, detail = _run_script(script, group, check_only=False, **opts)
            result[group] = {
                "status": "installed" if status == "present" else status,
                "returncode": rc,
                "detail": detail,
                "state": status,
            }
        result["script"] = os.path.abspath(script)
    if check_only:
        states = [r["state"] for g, r in result.items() if wanted.get(g)]
        result["check"] = {"returncode": 0 if states.count("present") == len(states) else 1}
    return result
