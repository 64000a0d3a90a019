"""The advice for a store the caller cannot write names only what can work (our logic alone)."""

from __future__ import annotations

from pathlib import Path

from scitex_container.apptainer.store.access import (
    OWNER_HINT,
    can_write,
    nearest_existing,
    writable_error,
    write_hint,
)


def test_sudo_is_advised_only_where_the_command_can_use_it_and_sudo_exists() -> None:
    # a command that writes its own log/metadata/marker as the caller: never --sudo
    for have in (True, False, None):
        assert write_hint(None, have) == OWNER_HINT
        assert "--sudo" not in write_hint(None, have)
    assert "--sudo" in write_hint(False, have_sudo=True)  # switch, rollback, deploy
    assert write_hint(False, have_sudo=False) == OWNER_HINT  # no sudo program here
    assert "a directory you can write" in OWNER_HINT


def test_a_missing_directory_is_judged_by_the_one_it_would_be_made_in(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    assert nearest_existing(deep) == tmp_path and can_write(deep)
    assert writable_error(deep) is None
    (tmp_path / "file").write_text("")
    assert nearest_existing(tmp_path / "file" / "x") == tmp_path / "file"
