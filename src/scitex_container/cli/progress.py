"""Progress a person can follow, from the first second of a long command.

Every long command (build, repro, lock archive, sandbox work) shows the
same three things: the phase it is in (bootstrap, %post, squashfs,
capture, archive...: :mod:`scitex_container.apptainer.building.phases`),
the time since it started and the log its tool's output goes to.

* On a terminal: one live line on stderr, redrawn four times a second and
  cut to the terminal's width (rich), with the tool's last line at its end.
  A log path that line would cut is printed whole on a line of its own
  (which stays) as soon as it is known; the live line then leaves it out.
* Not a terminal: a heartbeat line on stderr within the first second
  (once the log is known) and then every :data:`HEARTBEAT` seconds (phase,
  elapsed, log, last tool line), so a pipe or a batch log shows a command
  that is alive without a line per phase of a one-second build.
* ``-v`` also prints the tool's own output line by line (and the CLI logs
  every command it runs); ``-q`` prints none of this.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator

import click

from scitex_container.apptainer.building.phases import parse_event, phase_of
from scitex_container.cli.context import Options

#: Seconds between two heartbeat lines when stderr is not a terminal.
HEARTBEAT = 8.0


def _elapsed(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


class Progress:
    """The state a display shows; called with each line of output (or our events)."""

    def __init__(self, label: str, phase: str, echo: Callable[[str], None] | None) -> None:
        self.label = label
        self.phase = phase
        self.log: str | None = None
        self.last = ""
        self.began = time.monotonic()
        self.changed = threading.Event()  # a phase or the log changed: say so now
        self._echo = echo  # -v: the tool's own lines
        #: called with the log path once it is known; True: it was shown whole elsewhere
        self.on_log: Callable[[str], bool] | None = None
        self.log_shown = False

    def __call__(self, line: str) -> None:
        event = parse_event(line)
        if event is not None:
            kind, value = event
            if kind == "log":
                self.log = value
                self.log_shown = bool(self.on_log and self.on_log(value))
            elif kind == "phase":
                self.phase = value
            self.last = ""  # a new phase or tool: the previous one's last line is not its
            self.changed.set()
            return
        phase = phase_of(line)
        if phase is not None and phase != self.phase:
            self.phase = phase
            self.changed.set()
        if line.strip():
            self.last = line.strip()
        if self._echo is not None:
            self._echo(line)

    def line(self) -> str:
        """``phase · elapsed · label · log PATH · last line`` (what matters first)."""
        parts = [self.phase, _elapsed(time.monotonic() - self.began), self.label]
        if self.log and not self.log_shown:
            parts.append(f"log {self.log}")
        if self.last:
            parts.append(self.last)
        return " · ".join(parts)


@contextlib.contextmanager
def progress_line(
    opts: Options, label: str, phase: str = "starting"
) -> Iterator[Callable[[str], None] | None]:
    """The progress callback for a long command, with its display running."""
    if opts.verbosity < 0:
        yield None
        return
    if sys.stderr.isatty():
        with _live(opts, label, phase) as progress:
            yield progress
        return
    echo = (lambda line: click.echo(line, err=True)) if opts.verbosity > 0 else None
    progress = Progress(label, phase, echo)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(progress, stop), daemon=True)
    beat.start()
    try:
        yield progress
    finally:
        stop.set()
        progress.changed.set()  # wakes the first wait: a quick command does not wait it out
        beat.join(timeout=1.0)


def _heartbeat(progress: Progress, stop: threading.Event) -> None:
    """One line as soon as the log is known (within a second), then every HEARTBEAT s."""
    began = time.monotonic()
    progress.changed.wait(1.0)
    while progress.log is None and not stop.is_set():  # a phase first, its log just after:
        left = 1.0 - (time.monotonic() - began)  # the first line names the log if it comes
        if left <= 0:  # within the first second
            break
        progress.changed.clear()
        if progress.log is not None:
            break
        progress.changed.wait(left)
    while not stop.is_set():
        click.echo(f"[{progress.line()}]", err=True)
        if stop.wait(HEARTBEAT):
            return


@contextlib.contextmanager
def _live(opts: Options, label: str, phase: str) -> Iterator[Progress]:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console(stderr=True)
    progress = Progress(label, phase, None)
    spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def render() -> Text:
        tick = spinner[int((time.monotonic() - progress.began) * 8) % len(spinner)]
        return Text(f"{tick} {progress.line()}", no_wrap=True, overflow="ellipsis")

    def show_log(path: str) -> bool:
        """A log path the live line would cut goes on its own line, whole, and stays."""
        room = console.width - len(f"x {progress.phase} · 00m00s · {progress.label} · log ")
        if len(path) <= room:
            return False
        live.console.print(Text(f"log {path}"), soft_wrap=True)  # the terminal wraps it
        return True

    with Live(console=console, get_renderable=render, refresh_per_second=4, transient=True) as live:
        if opts.verbosity > 0:
            progress._echo = lambda line: live.console.print(Text(line))
        progress.on_log = show_log
        yield progress


#: An input at least this large is named on stderr before it is hashed (not on a terminal,
#: where the live line names it): a first `status` over a 12 GB input is not silent.
BIG_INPUT = 64 * 1024 * 1024


@contextlib.contextmanager
def hashing_progress(opts: Options, label: str) -> Iterator[None]:
    """Progress while a command hashes its inputs (``status``...)."""
    with progress_line(opts, label, "hashing inputs") as progress, observing(progress, label):
        yield


@contextlib.contextmanager
def observing(progress: Callable[[str], None] | None, label: str) -> Iterator[None]:
    """Feed ``progress`` each input being hashed; name a big one on a pipe at once."""
    if progress is None:
        yield
        return
    from scitex_container.files.digests import observe_hashing

    tty = sys.stderr.isatty()

    def seen(path: str, size: int) -> None:
        line = f"hashing {path} ({size / 1024 / 1024:.0f} MiB)"
        if size >= BIG_INPUT and not tty:
            click.echo(f"[{label}: {line}]", err=True)
        progress(line)

    with observe_hashing(seen):
        yield
