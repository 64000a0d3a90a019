"""Strict validation of every value a session command or script is built from.

Each check takes the value and the name of the field it came from and
returns the value to use, or raises :class:`~scitex_container.errors.BadInputError`
naming that field.  Patterns are matched with ``re.fullmatch`` on ASCII
classes only (``$`` would accept a trailing newline, ``\\d`` other digits),
so nothing that passes can carry a newline, a quote, a glob character, a
comma (apptainer splits ``--env``/``--overlay`` values on commas) or a
leading ``-`` (it would read as an option).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from scitex_container.binds import BindSpec, make_bind
from scitex_container.errors import BadInputError
from scitex_container.paths import abs_path
from scitex_container.paths import no_control as _no_control

__all__ = ["abs_path"]  # the package's one path validator (scitex_container.paths)

#: Characters a login name may not hold here: the system's user database
#: accepts far more than POSIX's portable set (LDAP names such as ``John.Doe``),
#: so only what would break a path, a ``--home``/``--bind`` spec or an
#: ``--env`` value is refused; the account must exist (:func:`account`).
USERNAME_FORBIDDEN = frozenset(":/\\,\"'")
MAX_USERNAME = 256
#: Project identifiers such as ``my-project``.
SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Apptainer instance names; no glob characters, so ``instance list NAME`` is exact.
INSTANCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
#: Dev repository names, mounted at ``/opt/dev/<name>``.
DEV_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Session ids (directory names in the state dir).
SESSION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
#: SLURM partition names (one, or a comma-separated list for sbatch -p).
PARTITION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: SLURM node names (``--nodelist``).
NODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: SLURM job ids (plain jobs; arrays are not sessions).
JOB_ID_RE = re.compile(r"[0-9]{1,12}")
#: Environment variable names.
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")

MAX_CPUS = 4096
MAX_MEMORY_GB = 65536
MAX_DAYS = 365

_N = r"([0-9]{1,6})"
#: The six time formats sbatch accepts, with the unit of each group.
_TIME_FORMATS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(_N), ("m",)),
    (re.compile(rf"{_N}:{_N}"), ("m", "s")),
    (re.compile(rf"{_N}:{_N}:{_N}"), ("h", "m", "s")),
    (re.compile(rf"{_N}-{_N}"), ("d", "h")),
    (re.compile(rf"{_N}-{_N}:{_N}"), ("d", "h", "m")),
    (re.compile(rf"{_N}-{_N}:{_N}:{_N}"), ("d", "h", "m", "s")),
)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Upper bound of a group that is not the first one ("1:75:00" is refused).
_UNIT_MAX = {"h": 23, "m": 59, "s": 59}


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise BadInputError(f"must be a string, got {type(value).__name__}", field)
    return value


def _match(pattern: re.Pattern[str], value: object, field: str, what: str) -> str:
    text = _text(value, field)
    if not pattern.fullmatch(text):
        raise BadInputError(f"{text!r} is not a valid {what} (allowed: {pattern.pattern})", field)
    return text


def username(value: object, field: str = "username") -> str:
    """A login name that is safe in paths, bind specs and ``--env`` values.

    Dots, capitals, digits, ``@`` are fine; control characters, blanks,
    ``: / \\ , " '``, a leading ``-`` and ``.``/``..`` are not.
    """
    text = _text(value, field)
    _no_control(text, field)
    if not text or len(text) > MAX_USERNAME:
        raise BadInputError(f"must be 1 to {MAX_USERNAME} characters: {text!r}", field)
    bad = sorted({c for c in text if c in USERNAME_FORBIDDEN or c.isspace()})
    if bad:
        raise BadInputError(f"{text!r} is not a valid username (contains {bad[0]!r})", field)
    if text.startswith("-") or text in (".", ".."):
        raise BadInputError(f"{text!r} is not a valid username", field)
    return text


def account(value: object, field: str = "username") -> str:
    """A valid username of an account that exists on this system (pwd)."""
    import pwd

    text = username(value, field)
    try:
        pwd.getpwnam(text)
    except KeyError:
        raise BadInputError(f"no such user account on this system: {text!r}", field) from None
    return text


def node_name(value: object, field: str = "slurm_node") -> str:
    return _match(NODE_RE, value, field, "SLURM node name")


def project_slug(value: object, field: str = "project_slug") -> str:
    return _match(SLUG_RE, value, field, "project slug")


def instance_name(value: object, field: str = "instance_name") -> str:
    return _match(INSTANCE_RE, value, field, "instance name")


def dev_repo_name(value: object, field: str = "dev_repos.name") -> str:
    return _match(DEV_NAME_RE, value, field, "dev repo name")


def session_id(value: object, field: str = "session_id") -> str:
    return _match(SESSION_ID_RE, value, field, "session id")


def job_id(value: object, field: str = "job_id") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _match(JOB_ID_RE, value, field, "SLURM job id")


def partition(value: object, field: str = "slurm_partition") -> str:
    """One partition or a comma-separated list; ``""`` means the cluster default."""
    text = _text(value, field)
    if text == "":
        return text
    for part in text.split(","):
        if not PARTITION_RE.fullmatch(part):
            raise BadInputError(f"{text!r} is not a valid SLURM partition list", field)
    return text


def time_limit_seconds(value: object, field: str = "slurm_time_limit") -> int:
    """Seconds in a SLURM time limit; the formats are ``M``, ``M:S``, ``H:M:S``,
    ``D-H``, ``D-H:M`` and ``D-H:M:S``."""
    text = _text(value, field)
    for pattern, units in _TIME_FORMATS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        numbers = [int(g) for g in match.groups()]
        total = 0
        for i, (unit, number) in enumerate(zip(units, numbers, strict=True)):
            if i > 0 and number > _UNIT_MAX[unit]:
                raise BadInputError(f"{text!r}: {unit} field {number} is out of range", field)
            total += number * _UNIT_SECONDS[unit]
        if total <= 0:
            raise BadInputError(f"{text!r} must be longer than zero", field)
        if total > MAX_DAYS * 86400:
            raise BadInputError(f"{text!r} is longer than {MAX_DAYS} days", field)
        return total
    raise BadInputError(
        f"{text!r} is not a SLURM time limit (M, M:S, H:M:S, D-H, D-H:M or D-H:M:S)", field
    )


def time_limit(value: object, field: str = "slurm_time_limit") -> str:
    time_limit_seconds(value, field)
    return str(value)


def positive_int(value: object, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInputError(f"must be an integer, got {type(value).__name__}", field)
    if not 1 <= value <= maximum:
        raise BadInputError(f"must be between 1 and {maximum}, got {value}", field)
    return value


def cpus(value: object, field: str = "slurm_cpus") -> int:
    return positive_int(value, field, MAX_CPUS)


def memory_gb(value: object, field: str = "slurm_memory_gb") -> int:
    return positive_int(value, field, MAX_MEMORY_GB)


def env_value(value: object, field: str) -> str:
    """A ``--env`` value: apptainer reads the option as CSV, so no ``,`` or ``"``."""
    text = _text(value, field)
    _no_control(text, field)
    for ch in ',"':
        if ch in text:
            raise BadInputError(f"must not contain {ch!r}: {text!r}", field)
    return text


def container_path(value: object, field: str = "container_path") -> str:
    """The image: an absolute path (a ``.sif`` file or a sandbox directory).

    Existence is not required here: the job may run on a node that sees
    other filesystems; the session lifecycle checks it before submitting.
    """
    return abs_path(value, field)


def overlay_path(value: object, field: str = "overlay") -> str:
    """A persistent overlay image's path (``session start`` checks that it exists)."""
    return abs_path(value, field)


def texlive_prefix(value: object, field: str = "texlive_prefix") -> str:
    text = _text(value, field)
    return abs_path(text, field) if text else text


def container_cmd(value: object, field: str = "container_cmd") -> str:
    """A command name or path (never an option)."""
    text = _text(value, field)
    _no_control(text, field)
    if not text or text.startswith("-"):
        raise BadInputError(f"is not a command name or path: {text!r}", field)
    return text


def bind(host: object, container: object, mode: str, field: str) -> BindSpec:
    """A bind checked for syntax only (absolute paths, no control characters).

    Whether the host path exists is checked where the session starts
    (:func:`.spec.require_host_paths`), not by the builders.
    """
    abs_path(host, f"{field}.host")
    if container not in (None, ""):
        abs_path(container, f"{field}.container")
    return make_bind(host, container, mode, field=field, must_exist=False)


def dev_repos(value: object, field: str = "dev_repos") -> list[tuple[str, BindSpec]]:
    """``[{name, host_path}, ...]`` as ``(name, bind at /opt/dev/<name> ro)``."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise BadInputError(f"must be a list, got {type(value).__name__}", field)
    out: list[tuple[str, BindSpec]] = []
    seen: set[str] = set()
    for i, repo in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(repo, Mapping):
            raise BadInputError(
                f"must be a mapping with name and host_path, got {type(repo).__name__}", where
            )
        name = dev_repo_name(repo.get("name"), f"{where}.name")
        if name in seen:
            raise BadInputError(f"dev repo {name!r} is listed twice", f"{where}.name")
        seen.add(name)
        spec = bind(repo.get("host_path"), f"/opt/dev/{name}", "ro", where)
        out.append((name, spec))
    return out


def host_mounts(value: object, field: str = "host_mounts") -> list[BindSpec]:
    """``[{host_path, container_path, mode}, ...]`` validated."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise BadInputError(f"must be a list, got {type(value).__name__}", field)
    out: list[BindSpec] = []
    for i, entry in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(entry, Mapping):
            raise BadInputError(f"must be a mapping, got {type(entry).__name__}", where)
        host = entry.get("host_path", entry.get("host"))
        container = entry.get("container_path", entry.get("container"))
        mode = entry.get("mode") or "rw"  # no mode: read-write, as the seed (and the string form)
        if mode not in ("ro", "rw"):
            raise BadInputError(f"mode must be 'ro' or 'rw', got {mode!r}", f"{where}.mode")
        out.append(bind(host, container, mode, where))
    return out


def dir_path(value: object, field: str) -> str:
    """A directory's absolute path (syntax only: it may be on another node)."""
    return abs_path(value, field)


def existing_dir(value: object, field: str) -> str:
    text = abs_path(value, field, must_exist=True)
    if not Path(text).is_dir():
        raise BadInputError(f"is not a directory: {text}", field)
    return text


#: A SLURM node list for ``--nodelist``: names, comma lists and ranges (``n[1-3,5]``).
NODELIST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-\[\],]{0,255}")
#: A SLURM ``--constraint`` expression: features joined by ``&``, ``|`` and ``,``
#: with optional brackets, parentheses and ``*count`` (no spaces, quotes or ``$``).
CONSTRAINT_RE = re.compile(r"[A-Za-z0-9_\[(][A-Za-z0-9_.:&|,*\-\[\]()]{0,255}")


def nodelist(value: object, field: str = "slurm_nodelist") -> str:
    """Nodes a session must run on (``""``: any)."""
    text = _text(value, field)
    if text and not NODELIST_RE.fullmatch(text):
        raise BadInputError(f"{text!r} is not a valid SLURM node list", field)
    return text


def constraint(value: object, field: str = "slurm_constraint") -> str:
    """Node features a session requires (``""``: none)."""
    text = _text(value, field)
    if text and not CONSTRAINT_RE.fullmatch(text):
        raise BadInputError(f"{text!r} is not a valid SLURM constraint", field)
    return text
