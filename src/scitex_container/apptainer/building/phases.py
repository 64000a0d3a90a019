"""Where a long command is: the phase a line of its output marks, and our own events.

A build's output is apptainer's (``INFO:    Running post scriptlet``),
debootstrap's (``I: Retrieving ...``) and the def's own scripts.  The
lines that start a phase are recognised here, once, so every display
(a terminal's live line, a pipe's heartbeat) names the same phases.  Our
own steps (the log path of a build, the round trip's capture and archive
steps) travel on the same progress callback as *events*: lines with a
marker no tool prints, which a display shows as state rather than output.
"""

from __future__ import annotations

import os
import re

#: Marks a line on the progress callback as our event, not a tool's output.
EVENT = "\x00scitex:"

#: (pattern, phase): the first pattern a line matches names the phase it starts.
PHASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^INFO:\s+Starting build"), "bootstrap"),
    (re.compile(r"^I: (Retrieving|Validating|Checking|Extracting|Unpacking)"), "bootstrap"),
    (re.compile(r"^I: (Installing|Configuring)"), "bootstrap: installing"),
    (re.compile(r"^INFO:\s+Running setup scriptlet"), "%setup"),
    (re.compile(r"^INFO:\s+Copying .* (to|from)"), "%files"),
    (re.compile(r"^INFO:\s+Running post scriptlet"), "%post"),
    (re.compile(r"^INFO:\s+Running test(script)?"), "%test"),
    (re.compile(r"^INFO:\s+Adding "), "metadata"),
    (re.compile(r"^INFO:\s+Creating SIF file"), "squashfs"),
    (re.compile(r"^INFO:\s+Creating sandbox directory"), "sandbox"),
    (re.compile(r"^INFO:\s+Build complete"), "publish"),
    (re.compile(r"^INFO:\s+(Signing|Sign)"), "sign"),
)


def phase_of(line: str) -> str | None:
    """The phase ``line`` starts, or None (most lines start none)."""
    if not line.startswith(("INFO", "I: ")):
        return None
    for pattern, phase in PHASES:
        if pattern.search(line):
            return phase
    return None


def log_event(path: str | os.PathLike[str]) -> str:
    """The event that names the log a command's output also goes to."""
    return f"{EVENT}log:{os.fspath(path)}"


def phase_event(phase: str) -> str:
    """The event that starts one of our own phases (capture, archive, ...)."""
    return f"{EVENT}phase:{phase}"


def parse_event(line: str) -> tuple[str, str] | None:
    """``(kind, value)`` of an event line (``("log", path)``, ``("phase", name)``), else None."""
    if not line.startswith(EVENT):
        return None
    kind, _, value = line[len(EVENT) :].partition(":")
    return kind, value
