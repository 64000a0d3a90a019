"""The registry of temporaries an interrupt may leave: what it sweeps and what it must not."""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.files import temporaries


def test_sweep_removes_what_is_still_registered_and_forgets_it(tmp_path: Path) -> None:
    made = temporaries.new_dir("t-", tmp_path)
    (made / "f").write_text("x")
    kept = temporaries.track(tmp_path / "kept")
    kept.write_text("x")
    temporaries.forget(kept)  # renamed into place, say
    assert made.stat().st_mode & 0o777 == 0o700
    assert made in temporaries.sweep()
    assert not made.exists() and kept.exists()
    assert temporaries.sweep() == []  # nothing is swept twice


def test_a_file_that_belongs_to_what_was_put_in_place_is_kept(tmp_path: Path) -> None:
    version = tmp_path / "v1.sif"
    meta = temporaries.track(tmp_path / "v1.sif.meta.json", unless=version)
    meta.write_text("{}")
    version.write_text("image")  # the rename happened, the forget did not
    temporaries.sweep()
    assert meta.exists()
    orphan = temporaries.track(tmp_path / "v2.sif.meta.json", unless=tmp_path / "v2.sif")
    orphan.write_text("{}")
    temporaries.sweep()  # its version never appeared: a record of nothing
    assert not orphan.exists()


def test_a_forked_child_never_sweeps_its_parents_temporaries(tmp_path: Path) -> None:
    path = temporaries.track(tmp_path / "parents")
    path.write_text("x")
    pid = os.fork()
    if pid == 0:  # the child's atexit would sweep too: os._exit skips it, sweep() is explicit
        os._exit(0 if temporaries.sweep() == [] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert path.exists()
    temporaries.remove(path)
    assert not path.exists() and temporaries.pending() == []


def test_a_directory_name_taken_by_someone_else_is_skipped_not_swept(
    tmp_path: Path, monkeypatch
) -> None:
    names = iter(["taken", "free"])
    monkeypatch.setattr(temporaries.secrets, "token_hex", lambda _n: next(names))
    (tmp_path / "t-taken").mkdir()
    made = temporaries.new_dir("t-", tmp_path)
    assert made.name == "t-free"
    temporaries.sweep()
    assert (tmp_path / "t-taken").is_dir() and not made.exists()
