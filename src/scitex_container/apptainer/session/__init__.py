"""Container sessions: an Apptainer instance per session, on SLURM or on this host."""

from scitex_container.apptainer.session.api import (
    attach_session,
    choose_backend,
    exec_in_session,
    start_session,
    stop_session,
)
from scitex_container.apptainer.session.listing import SessionInfo, list_sessions
from scitex_container.apptainer.session.records import SessionRecord

__all__ = [
    "SessionInfo",
    "SessionRecord",
    "attach_session",
    "choose_backend",
    "exec_in_session",
    "list_sessions",
    "start_session",
    "stop_session",
]
