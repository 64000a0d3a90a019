"""Finding the container command, its version, and what works on this host.

Later code asks :func:`probe_host` instead of guessing, e.g. whether a build
needs ``--fakeroot``.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from scitex_container import envvars
from scitex_container.errors import ToolMissingError
from scitex_container.process import runner
from scitex_container.result import Result

INSTALL_HINT = (
    "install Apptainer >= 1.3 (https://apptainer.org/docs/admin/main/installation.html; "
    "on Debian 12 run scripts/setup-host.sh), or set "
    f"{envvars.CONTAINER_CMD} to the binary to use"
)


def detect_container_cmd() -> str:
    """Detect the apptainer or singularity command.

    ``$SCITEX_CONTAINER_CMD`` (a name on PATH or a path) wins when set.

    Returns:
        The container command ('apptainer' or 'singularity', or the override).

    Raises:
        ToolMissingError (a FileNotFoundError): if neither command is found.
    """
    override = os.environ.get(envvars.CONTAINER_CMD, "").strip()
    if override:
        if runner.which(override):
            return override
        raise ToolMissingError(override, f"it is named by ${envvars.CONTAINER_CMD}")
    for name in ("apptainer", "singularity"):
        if runner.which(name):
            return name
    raise ToolMissingError("apptainer` or `singularity", INSTALL_HINT)  # both were tried


def trusted_container_cmd() -> str:
    """The container command as a path root alone can have put there.

    A check the site policy relies on must not be answered by a program the
    caller chose: ``$SCITEX_CONTAINER_CMD`` and ``PATH`` are the caller's.
    The command found is resolved through links to its file, which (and
    every folder above it) must be owned by root and writable by nobody
    else; otherwise UntrustedStateError (exit 2) names the path and owner.
    """
    import stat

    from scitex_container.errors import UntrustedStateError
    from scitex_container.files.ownership import owner_name

    name = detect_container_cmd()
    found = runner.which(name)
    real = Path(os.path.realpath(found or name))
    for path in (real, *real.parents):
        st = os.stat(path)
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UntrustedStateError(
                f"the site policy's signature check runs only a root-owned container command; "
                f"`{name}` is {real}, and {path} is owned by {owner_name(st.st_uid)} "
                f"(mode {stat.S_IMODE(st.st_mode):04o})",
                str(path),
            )
    return str(real)


@functools.lru_cache(maxsize=8)
def _version_of(cmd: str) -> str:
    out = runner.run([cmd, "--version"], readonly=True, timeout=30).stdout.strip()
    match = re.search(r"(\d+\.\d+(?:\.\d+)?[\w.+~-]*)", out)
    return match.group(1) if match else out


def container_version(cmd: str | None = None) -> str:
    """Version string of the container command, e.g. ``1.4.5``."""
    return _version_of(cmd or detect_container_cmd())


def _has_subid(user: str, uid: int, path: str) -> bool:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        parts = line.strip().split(":")
        if (
            len(parts) == 3
            and parts[0] in (user, str(uid))
            and parts[2].isdigit()
            and int(parts[2]) >= 65536
        ):
            return True
    return False


def _userns_enabled() -> bool:
    try:
        if int(Path("/proc/sys/user/max_user_namespaces").read_text()) <= 0:
            return False
    except (OSError, ValueError):
        pass
    try:
        return Path("/proc/sys/kernel/unprivileged_userns_clone").read_text().strip() != "0"
    except OSError:
        return True


@dataclass(frozen=True)
class HostCapabilities(Result):
    """What this host lets the container command do for the current user."""

    user: str
    is_root: bool
    userns: bool
    subid_mapping: bool
    fuse_usable: bool

    @property
    def fakeroot(self) -> bool:
        """Whether ``--fakeroot`` with a real subuid/subgid mapping works."""
        return self.userns and self.subid_mapping

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["fakeroot"] = self.fakeroot
        return d


def probe_host() -> HostCapabilities:
    """Probe the host (cheap: reads /proc and /etc, runs nothing)."""
    import pwd

    uid = os.geteuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    subid = _has_subid(user, uid, "/etc/subuid") and _has_subid(user, uid, "/etc/subgid")
    return HostCapabilities(
        user=user,
        is_root=uid == 0,
        userns=_userns_enabled(),
        subid_mapping=subid,
        fuse_usable=os.access("/dev/fuse", os.R_OK | os.W_OK),
    )


def choose_fakeroot(requested: bool | None, caps: HostCapabilities | None = None) -> bool:
    """Decide whether a build passes ``--fakeroot``.

    An explicit True/False wins.  Automatic choice: use ``--fakeroot`` when a
    real subuid/subgid mapping exists for this user (it works for every
    bootstrap agent, and as root it avoids capability checks that fail on
    hosts whose bounding set is incomplete); otherwise let the container
    command decide (a root build runs natively, an unprivileged one falls
    back to Apptainer's own root-mapped namespace).
    """
    if requested is not None:
        return requested
    caps = caps or probe_host()
    return caps.fakeroot
