"""Why a SLURM session ``ended``: SLURM's own record of the job, kept once read.

Sources, in order: what we kept from an earlier look (``ended.txt`` in the
session's directory, since SLURM forgets a finished job after ``MinJobAge``),
``scontrol show job`` while SLURM still knows the job (state, reason, exit
code), ``sacct`` where accounting is enabled, and the job's output file
(``slurmstepd`` writes ``*** JOB J ON NODE CANCELLED AT T DUE TO TIME LIMIT ***``).
Without any of them the answer says so: :data:`UNKNOWN`.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from scitex_container.apptainer.session import records, trust
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.errors import ScitexError
from scitex_container.process import runner

UNKNOWN = "reason unknown (no SLURM record)"
ENDED_FILE = "ended.txt"

#: SLURM's job states, in words a person reads.
STATE_WORDS = {
    "COMPLETED": "completed",
    "CANCELLED": "cancelled",
    "TIMEOUT": "time limit reached",
    "NODE_FAIL": "node failure",
    "FAILED": "failed",
    "OUT_OF_MEMORY": "out of memory",
    "PREEMPTED": "preempted",
    "BOOT_FAIL": "boot failure",
    "DEADLINE": "deadline reached",
}
_FIELD = re.compile(r"(\w+)=(\S*)")
_STEPD = re.compile(r"\*\*\* JOB \d+ ON \S+ CANCELLED AT \S+(?: DUE TO (.+?))?(?: \*\*\*|$)")


def describe(state: str, reason: str = "", exit_code: str = "") -> str:
    """``time limit reached (TIMEOUT, exit code 0:15)``: SLURM's words kept beside ours."""
    state = state.split()[0] if state else ""
    detail = [state] if state else []
    if reason and reason != "None":
        detail.append(f"reason {reason}")
    if exit_code:
        detail.append(f"exit code {exit_code}")
    return f"{STATE_WORDS.get(state, state.lower() or 'ended')} ({', '.join(detail)})"


def parse_scontrol(text: str) -> str | None:
    """The ending ``scontrol show job -o`` reports; None while the job has not ended."""
    fields = dict(_FIELD.findall(text))
    state = fields.get("JobState", "")
    if state not in STATE_WORDS:
        return None
    return describe(state, fields.get("Reason", ""), fields.get("ExitCode", ""))


def parse_output(lines: list[str]) -> str | None:
    """What ``slurmstepd`` wrote into the job's output when it cancelled the job."""
    for line in reversed(lines):
        found = _STEPD.search(line)
        if found:
            why = (found.group(1) or "").strip().lower()
            return f"cancelled due to {why} (job output)" if why else "cancelled (job output)"
    return None


def _ask(argv: list[str]) -> str:
    try:
        done = runner.run(argv, check=False, readonly=True, timeout=30)
    except ScitexError:  # no such tool, or no answer in time
        return ""
    return done.stdout if done.returncode == 0 else ""


def _sacct(job_id: str) -> str | None:
    out = _ask(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State,Reason,ExitCode"])
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].split()[0] in STATE_WORDS:
            return describe(*parts)
    return None


def why_ended(record: SessionRecord) -> str:
    """Why the session's job ended, from SLURM's record (see the module's text)."""
    directory = records.session_dir(record.id)
    kept = _read(directory / ENDED_FILE)
    if kept:
        return kept[0]
    if not record.job_id:
        return UNKNOWN
    why = parse_scontrol(_ask(["scontrol", "show", "job", "-o", record.job_id]))
    why = why or _sacct(record.job_id)
    why = why or parse_output(_read(directory / records.OUTPUT_FILE))
    if why is None:
        return UNKNOWN
    # SLURM forgets a job after MinJobAge: keep what it said (kept or not, the answer stands)
    with contextlib.suppress(OSError, ScitexError):
        records.write_private(record.id, ENDED_FILE, why + "\n", trust.PRIVATE_FILE)
    return why


def _read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
