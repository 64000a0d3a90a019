"""An interrupt at *every* line of a build before apptainer starts leaves nothing behind.

The random-delay trials in ``test_interrupts.py`` hit the short windows
between "made a temporary" and "inside the ``try`` that removes it" only
now and then (CI once caught a SIGINT landing after the build's scratch
directory was made and before its removal was armed).  Here a trace
function raises ``KeyboardInterrupt`` at the 1st, 2nd, ... line executed in
our own modules (and contextlib's), so each such window is hit
deterministically; then the test does what the CLI does on its way out of
an interrupt (:func:`scitex_container.files.temporaries.sweep`).  This is about our
own cleanup logic: apptainer
is never started (the trace interrupts the call that would start it, or a
copy of a SIF it built stands in for it); the real-signal trials are in
``test_interrupts.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import sha256

import scitex_container
from scitex_container.apptainer.building.atomic import build_image
from scitex_container.apptainer.building.versioned import build_version
from scitex_container.files import temporaries
from scitex_container.process import runner

pytestmark = pytest.mark.apptainer

OURS = str(Path(scitex_container.__file__).parent)
#: contextlib: the step between a context manager's set-up and its ``with``
#: body.  (Not threading: an interrupt inside its internals can leave a
#: thread that no ``join`` ever ends, in any program; the real-signal trials
#: cover the wait in ``Thread.start``, where CI's SIGINT landed.)
WATCHED = (OURS, contextlib.__file__)


class _InterruptAt:
    """A trace function: KeyboardInterrupt at watched line ``n``, or when apptainer would start."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0
        self.reached_stream = False

    def __call__(self, frame, event, arg):
        if event == "call" and frame.f_code is runner.stream.__code__:
            self.reached_stream = True
            raise KeyboardInterrupt
        return self._line if frame.f_code.co_filename.startswith(WATCHED) else None

    def _line(self, frame, event, arg):
        if event == "line":
            self.seen += 1
            if self.seen == self.n:
                raise KeyboardInterrupt
        return self._line


def _interrupt_each_line(call: Callable[[], object], check: Callable[[int], None]):
    """Run ``call`` interrupted at watched line 1, 2, ... until apptainer would start."""
    n, runs = 1, 0
    while True:
        tracer = _InterruptAt(n)
        sys.settrace(tracer)
        try:
            with pytest.raises(KeyboardInterrupt):
                call()
        finally:
            sys.settrace(None)
        temporaries.sweep()  # what the CLI does on its way out of an interrupt
        check(n)
        runs += 1
        if tracer.reached_stream:
            return tracer.seen, runs
        n += 1


def _files(top: Path) -> list[str]:
    return sorted(str(p.relative_to(top)) for p in top.rglob("*"))


def test_an_interrupt_at_any_line_of_build_image_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)

    def check(n: int) -> None:
        assert _files(out) == [], f"interrupt at watched line {n}"

    seen, runs = _interrupt_each_line(
        lambda: build_image(tmp_path / "bb.def", out / "bb.sif"), check
    )
    assert runs > 20 and runs == seen + 1  # every line was hit, and then the start of apptainer


def test_an_interrupt_at_any_line_of_a_store_build_keeps_the_store_intact(tmp_path: Path) -> None:
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    link = build_version(def_path=tmp_path / "bb.def", output_dir=tmp_path / "out").path
    store = link.parent
    active = os.path.realpath(link)
    digest = sha256(Path(active))
    before = _files(store)

    def again() -> object:
        return build_version(def_path=tmp_path / "bb.def", output_dir=tmp_path / "out", force=True)

    def check(n: int) -> None:
        what = f"interrupt at watched line {n}"
        assert os.path.realpath(link) == active, what
        assert _files(store) == before, what  # no scratch, no temporary, no stray sidecar

    seen, runs = _interrupt_each_line(again, check)
    assert runs > 300 and runs == seen + 1, (seen, runs)
    assert sha256(Path(active)) == digest
    assert again().built  # and the store still builds


class _InterruptAfterBuild(_InterruptAt):
    """Count and interrupt only the lines run after apptainer's build returned."""

    armed = False

    def __call__(self, frame, event, arg):
        if not self.armed:
            return None
        return self._line if frame.f_code.co_filename.startswith(WATCHED) else None


def test_an_interrupt_at_any_line_of_publishing_keeps_old_or_new_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From apptainer's return to the published version, every line.

    apptainer's build is replaced by a copy of a SIF it built (so each of
    the many runs takes milliseconds); everything after it is the real code:
    digest, metadata, publish under the store's lock, link switch.
    """
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    link = build_version(def_path=tmp_path / "bb.def", output_dir=tmp_path / "out").path
    store = link.parent
    built = tmp_path / "built.sif"
    shutil.copyfile(os.path.realpath(link), built)
    tracers: list[_InterruptAfterBuild] = []

    def apptainer_build(argv, **_kw):  # argv[-2] is the temporary output
        shutil.copyfile(built, argv[-2])
        tracers[-1].armed = True

    monkeypatch.setattr(runner, "stream", apptainer_build)
    n = 0
    while True:
        n += 1
        old = os.path.realpath(link)
        tracers.append(_InterruptAfterBuild(n))
        sys.settrace(tracers[-1])
        try:
            build_version(
                def_path=tmp_path / "bb.def",
                output_dir=tmp_path / "out",
                force=True,
                provenance=False,
            )
            finished = True
        except KeyboardInterrupt:
            finished = False
        finally:
            sys.settrace(None)
        temporaries.sweep()
        what = f"interrupt at line {n} after the build"
        now = Path(os.path.realpath(link))
        assert str(now) in (old, str(store / now.name)), what
        meta = json.loads(now.with_name(now.name + ".meta.json").read_text())
        assert meta["sha256"] == sha256(now), what  # old or new, whole and recorded
        hidden = [p.name for p in store.iterdir() if p.name.startswith(".")]
        assert hidden == [".scitex"], what
        scratch = store / ".scitex" / "tmp"  # an empty one may stay: the next build's
        assert not scratch.exists() or not any(scratch.iterdir()), what
        for path in store.glob("bb-v*.sif"):  # no version without its record
            assert path.with_name(path.name + ".meta.json").is_file(), (what, path.name)
        if finished:
            break
    assert n > 100, n
