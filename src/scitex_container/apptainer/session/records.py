"""Session records: one directory per session in a per-user state directory.

``~/.scitex/sessions/<id>/`` (or ``$SCITEX_CONTAINER_SESSIONS_DIR/<id>/``,
mode 0700) holds ``session.json`` (this record, mode 0600, written
atomically), and for SLURM sessions the submitted script and the job's
output.  A record is data, never code: it names no program (the container
command is resolved at use time, :func:`~scitex_container.apptainer.tool.detect_container_cmd`)
and is read back through the same validators as user input, so a tampered
or truncated record is refused, never interpolated.  The state directory,
each session directory and each record must be the caller's own and not
writable by others (:mod:`.ownership`).  A save never re-creates a session
directory that ``stop`` removed meanwhile.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from scitex_container import envvars
from scitex_container.apptainer.session import trust as ownership
from scitex_container.apptainer.session import validate as v
from scitex_container.errors import BadInputError, NotFoundError, SessionGone, UntrustedStateError
from scitex_container.process import runner
from scitex_container.result import Result

RECORD_FILE = "session.json"
SCRIPT_FILE = "start.sh"
OUTPUT_FILE = "job.out"
BACKENDS = ("slurm", "local")


@dataclass(frozen=True)
class SessionRecord(Result):
    """What we know about one session (the live state comes from squeue/apptainer)."""

    id: str
    backend: str
    image: str
    username: str
    project_slug: str
    instance: str = ""
    job_id: str = ""
    workdir: str = ""
    env: tuple[tuple[str, str], ...] = ()
    state: str = "starting"
    created: float = field(default_factory=time.time)
    node: str = ""
    #: The host project directory (absolute); "" in records written before it was kept.
    project_dir: str = ""

    def with_(self, **changes) -> SessionRecord:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The one JSON shape of a session in every command (and its record file):
        ``env`` a mapping, ``project`` and ``created_at`` as `session list` says them
        (``project_slug`` and the epoch ``created`` stay: older readers use them)."""
        data = super().to_dict()
        data["env"] = dict(self.env)
        data["project"] = self.project_slug
        data["created_at"] = iso_time(self.created)
        return data


def sessions_dir() -> Path:
    """The user's state directory of sessions."""
    override = os.environ.get(envvars.SESSIONS_DIR, "").strip()
    if override:
        return Path(v.abs_path(override, envvars.SESSIONS_DIR, forbid=":,%\\"))
    return Path.home() / ".scitex" / "sessions"


def session_dir(session_id: str) -> Path:
    return sessions_dir() / v.session_id(session_id)


def new_session_id(project_slug: str) -> str:
    import secrets  # (hashlib/hmac: not needed to list)

    return v.session_id(f"{v.project_slug(project_slug)[:64]}-{secrets.token_hex(3)}")


def trusted_root() -> Path | None:
    """The state directory after its ownership check; None when it does not exist."""
    root = sessions_dir()
    try:
        ownership.check(root, directory=True)
    except FileNotFoundError:
        return None
    return root


def create_dir(session_id: str) -> Path:
    """Make the session's directory (0700) in a trusted state dir; never reuse one."""
    path = session_dir(session_id)
    if not runner.is_dry_run():
        ownership.ensure_dir(sessions_dir())
        path.mkdir(mode=ownership.PRIVATE_DIR)
        ownership.check(path, directory=True)
    return path


def _write(path: Path, text: str, mode: int) -> None:
    # fsutil (tempfile, shutil, hashlib) is imported by writers only: `list` reads.
    from scitex_container.files.fsutil import atomic_write_text

    atomic_write_text(path, text, mode=mode, parents=False)


def save(record: SessionRecord) -> SessionRecord:
    """Write the record (0600) into its existing, trusted directory.

    Raises:
        SessionGone: the directory no longer exists (the session was stopped).
    """
    if runner.is_dry_run():
        return record
    directory = session_dir(record.id)
    try:
        ownership.check(sessions_dir(), directory=True)
        ownership.check(directory, directory=True)
        data = json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n"
        _write(directory / RECORD_FILE, data, ownership.PRIVATE_FILE)
    except FileNotFoundError:
        raise SessionGone(f"session {record.id} was stopped meanwhile", "session_id") from None
    return record


def write_private(session_id: str, name: str, text: str, mode: int) -> Path:
    """Write a file of the session (its script) atomically, never creating the directory."""
    path = session_dir(session_id) / name
    if not runner.is_dry_run():
        ownership.check(session_dir(session_id), directory=True)
        _write(path, text, mode)
    return path


def _from_dict(data: object, where: str) -> SessionRecord:
    if not isinstance(data, dict):
        raise BadInputError("is not a session record", where)
    try:
        env_data = data.get("env", [])  # a mapping; older records: a list of pairs
        pairs = env_data.items() if isinstance(env_data, dict) else env_data
        env = tuple((str(k), str(val)) for k, val in pairs)
        record = SessionRecord(
            id=v.session_id(data["id"], f"{where}:id"),
            backend=str(data["backend"]),
            image=v.container_path(data["image"], f"{where}:image"),
            username=v.username(data["username"], f"{where}:username"),
            project_slug=v.project_slug(data["project_slug"], f"{where}:project_slug"),
            instance=str(data.get("instance", "")),
            job_id=str(data.get("job_id", "")),
            workdir=str(data.get("workdir", "")),
            env=env,
            state=str(data.get("state", "")),
            created=float(data.get("created", 0.0)),
            node=str(data.get("node", "")),
            project_dir=str(data.get("project_dir", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BadInputError):
            raise
        raise BadInputError(f"is not a valid session record ({exc})", where) from None
    if record.backend not in BACKENDS:
        raise BadInputError(f"unknown backend {record.backend!r}", f"{where}:backend")
    if record.instance:
        v.instance_name(record.instance, f"{where}:instance")
    if record.job_id:
        v.job_id(record.job_id, f"{where}:job_id")
    if record.workdir:
        v.abs_path(record.workdir, f"{where}:workdir")
    for key, value in record.env:
        if not v.ENV_KEY_RE.fullmatch(key):
            raise BadInputError(f"bad variable name {key!r}", f"{where}:env")
        v.env_value(value, f"{where}:env.{key}")
    return record


def load(session_id: str) -> SessionRecord:
    """The record of ``session_id``, after the ownership checks of its path.

    Raises:
        NotFoundError: no such session; UntrustedStateError: see :mod:`.ownership`;
        BadInputError: a record that does not validate.
    """
    sid = v.session_id(session_id)
    root = sessions_dir()
    try:
        ownership.check(root, directory=True)
    except FileNotFoundError:
        raise NotFoundError(
            f"no session {sid!r} (see `scitex-container session list`)", "session_id"
        ) from None
    return _load_in(root, sid)


def find(ref: str) -> SessionRecord:
    """The session ``ref`` names: its session id, its SLURM job id or its instance name.

    ``session list`` shows all three; each is accepted wherever a session is
    taken (exec, attach, stop).  A name two sessions share is refused.
    """
    if not isinstance(ref, str) or not v.SESSION_ID_RE.fullmatch(ref):
        # ids, job ids and instance names share this syntax: what has another
        # form names no session (said as an unknown one is, never looked up)
        raise NotFoundError(
            f"no session, job or instance {ref!r}: not of the session-id form"
            f" ({v.SESSION_ID_RE.pattern}; see `scitex-container session list`)",
            "session_id",
        )
    root = trusted_root()
    if root is not None and os.path.lexists(root / ref):
        return _load_in(root, ref)
    matches = [r for r in all_records() if ref in (r.job_id, r.instance)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(r.id for r in matches)
        raise BadInputError(
            f"{ref!r} names {len(matches)} sessions ({ids}): give the id", "session"
        )
    raise NotFoundError(
        f"no session, job or instance {ref!r} (see `scitex-container session list`)", "session"
    )


def _load_in(root: Path, session_id: str) -> SessionRecord:
    """``load`` in a state directory already checked (``all_records`` checks it once)."""
    directory = root / session_id
    path = directory / RECORD_FILE
    try:
        ownership.check(directory, directory=True)
        text = ownership.read_private(path)
    except FileNotFoundError:
        raise NotFoundError(
            f"no session {session_id!r} (see `scitex-container session list`)", "session_id"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"is not valid JSON ({exc.msg})", str(path)) from None
    record = _from_dict(data, str(path))
    if record.id != session_id:
        raise BadInputError(f"holds session {record.id!r}, not {session_id!r}", str(path))
    return record


def all_records() -> list[SessionRecord]:
    """Every valid record, oldest first.

    Records that do not validate are skipped; state owned by someone else
    is refused (:class:`~.UntrustedStateError`), never skipped.
    """
    root = trusted_root()
    if root is None:
        return []
    out: list[SessionRecord] = []
    for entry in sorted(root.iterdir()):
        if not v.SESSION_ID_RE.fullmatch(entry.name):
            continue
        if not os.path.lexists(entry / RECORD_FILE) and not entry.is_symlink():
            continue
        try:
            out.append(_load_in(root, entry.name))
        except UntrustedStateError:
            raise
        except (BadInputError, OSError):
            continue
    return sorted(out, key=lambda r: (r.created, r.id))


def remove(session_id: str) -> None:
    """Remove the session's directory (checked first: never someone else's)."""
    if runner.is_dry_run():
        return
    path = session_dir(session_id)
    try:
        ownership.check(sessions_dir(), directory=True)
        ownership.check(path, directory=True)
    except FileNotFoundError:
        return
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def drop_failed(record: SessionRecord, keep: bool) -> None:
    """A failed start's record: removed, or kept as ``failed`` (``--keep-failed``).

    A session that ``stop`` removed meanwhile is never brought back.
    """
    try:
        if keep:
            save(record.with_(state="failed"))
        else:
            remove(record.id)
    except SessionGone:
        pass


def iso_time(epoch: float) -> str:
    """``2026-12-06T19:57:00Z``: how every session command's JSON says when (``created_at``)."""
    import datetime

    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
