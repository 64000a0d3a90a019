"""Which host package groups are installed: programs on PATH and a version probe.

A group counts as installed only when its version probe runs and prints what
the real program prints (``pdfTeX ...``, ``Version: ImageMagick ...``): a
program of the same name that is something else does not count.  The groups
are probed in parallel threads; with nothing installed no process starts.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from scitex_container.errors import ProcessError
from scitex_container.host.groups import GROUPS, Group
from scitex_container.process import runner

PROBE_TIMEOUT = 20.0


def _version(group: Group, found: dict[str, str]) -> str | None:
    for name in group.probe:
        path = found.get(name)
        if path is None:
            continue
        try:
            done = runner.run(
                [path, *group.version_args], readonly=True, check=False, timeout=PROBE_TIMEOUT
            )
        except (ProcessError, OSError):
            continue
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines and group.version_pattern.match(lines[0].strip()):
            return lines[0].strip()
    return None


def check_group(group: Group) -> dict:
    """``{"installed", "version", "binaries"}`` of one group."""
    found = {name: path for name in group.binaries if (path := runner.which(name))}
    version = _version(group, found)
    return {"installed": version is not None, "version": version, "binaries": list(found)}


def check_packages() -> dict:
    """Check which host packages are installed.

    Returns:
        Structured status per package group::

            {
                "texlive": {"installed": True, "version": "pdfTeX 3.141592653...",
                            "binaries": ["pdflatex", "bibtex", ...]},
                "imagemagick": {"installed": True, "version": "Version: ImageMagick 6.9...",
                                "binaries": ["convert", "identify"]},
            }

        ``binaries`` lists the group's programs found on PATH; ``installed``
        is True only when the version probe ran and looked like the real thing.
    """
    with ThreadPoolExecutor(max_workers=len(GROUPS)) as pool:
        futures = {name: pool.submit(check_group, group) for name, group in GROUPS.items()}
        return {name: future.result() for name, future in futures.items()}
