"""Session state is trusted only when it is the caller's own (no scheduler needed).

The unit tests run as whoever runs the suite and hand paths to another
account with chown (root only); the CLI test runs as the unprivileged test
user against state that root planted, as a hostile co-user would.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

import pytest

from scitex_container import errors
from scitex_container.apptainer.session import records

OTHER = "scitex-test"


@pytest.fixture
def state(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SCITEX_CONTAINER_SESSIONS_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _record(**kw) -> records.SessionRecord:
    base = dict(id="demo-abc123", backend="slurm", image="/i.sif", username="alice")
    base.update(project_slug="demo", instance="sx-alice-demo-7", job_id="7")
    base.update(kw)
    return records.SessionRecord(**base)


def _other_uid() -> int:
    if os.geteuid() != 0:
        pytest.skip("handing a path to another user needs root")
    try:
        return pwd.getpwnam(OTHER).pw_uid
    except KeyError:
        pytest.skip(f"user {OTHER} is required (scripts/setup-host.sh)")


def test_created_state_is_private_in_every_path(state: Path, tmp_path: Path) -> None:
    os.umask(0o022)
    nested = tmp_path / "a" / "b" / "state"
    os.environ["SCITEX_CONTAINER_SESSIONS_DIR"] = str(nested)
    rec = _record()
    records.create_dir(rec.id)
    records.save(rec)
    for path in (tmp_path / "a", tmp_path / "a" / "b", nested, nested / rec.id):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE((nested / rec.id / "session.json").stat().st_mode) == 0o600
    assert records.load(rec.id) == rec


def test_save_never_recreates_a_stopped_session(state: Path) -> None:
    rec = _record()
    records.create_dir(rec.id)
    records.save(rec)
    records.remove(rec.id)  # what `stop` does while a start still waits
    with pytest.raises(errors.SessionGone):
        records.save(rec.with_(state="failed"))
    assert not (state / rec.id).exists()


def test_world_writable_state_dir_is_refused(state: Path) -> None:
    state.mkdir()
    state.chmod(0o777)
    with pytest.raises(errors.UntrustedStateError) as err:
        records.all_records()
    assert err.value.where == str(state)
    assert "writable by other users" in str(err.value) and "mode 0777" in str(err.value)
    with pytest.raises(errors.UntrustedStateError):
        records.create_dir("x-1")
    assert list(state.iterdir()) == []


def test_symlinked_state_dir_record_and_session_dir_are_refused(
    state: Path, tmp_path: Path
) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    state.symlink_to(real)
    with pytest.raises(errors.UntrustedStateError, match="symbolic link"):
        records.all_records()
    state.unlink()
    rec = _record()
    records.create_dir(rec.id)
    records.save(rec)
    record_file = state / rec.id / "session.json"
    planted = tmp_path / "planted.json"
    planted.write_text(record_file.read_text())
    record_file.unlink()
    record_file.symlink_to(planted)
    with pytest.raises(errors.UntrustedStateError, match="symbolic link"):
        records.load(rec.id)
    other = tmp_path / "otherdir"
    other.mkdir(mode=0o700)
    (state / "demo-def456").symlink_to(other)
    with pytest.raises(errors.UntrustedStateError, match="symbolic link"):
        records.load("demo-def456")


def test_foreign_owned_state_is_refused_with_its_owner(state: Path) -> None:
    uid = _other_uid()
    rec = _record()
    records.create_dir(rec.id)
    records.save(rec)
    os.chown(state / rec.id / "session.json", uid, -1)
    with pytest.raises(errors.UntrustedStateError) as err:
        records.all_records()
    assert f"owner {OTHER}" in str(err.value) and "session.json" in str(err.value)
    os.chown(state / rec.id / "session.json", 0, -1)
    os.chown(state, uid, -1)
    with pytest.raises(errors.UntrustedStateError, match=f"owner {OTHER}"):
        records.load(rec.id)
    with pytest.raises(errors.UntrustedStateError):
        records.remove(rec.id)
    assert (state / rec.id / "session.json").exists(), "nothing of another user is deleted"


def test_a_record_names_no_program(state: Path) -> None:
    """A planted container_cmd is ignored: the command comes from the configuration."""
    rec = _record()
    records.create_dir(rec.id)
    data = {**rec.to_dict(), "container_cmd": "/tmp/evil"}
    path = state / rec.id / "session.json"
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    loaded = records.load(rec.id)
    assert "container_cmd" not in loaded.to_dict()
    assert "/tmp/evil" not in json.dumps(loaded.to_dict())


@pytest.mark.apptainer
def test_user_refuses_state_planted_by_another_user(workspace) -> None:
    """root plays the hostile co-user: a world-writable state dir with a planted record."""
    ws = workspace
    ws.state.chmod(0o777)
    planted = ws.state / "demo-abc123"
    planted.mkdir()
    evil = ws.root / "evil.sh"
    evil.write_text(f"#!/bin/sh\ntouch {ws.root}/pwned\n")
    evil.chmod(0o755)
    rec = {**_record().to_dict(), "username": "scitex-test", "backend": "local"}
    (planted / "session.json").write_text(json.dumps({**rec, "container_cmd": str(evil)}))
    for args in (("session", "list"), ("session", "exec", "demo-abc123", "--", "true")):
        done = ws.cli(*args)
        assert done.returncode == 2, done.stderr
        assert str(ws.state) in done.stderr and "owner scitex-test" in done.stderr
        assert "mode 0777" in done.stderr
    ws.state.chmod(0o700)
    done = ws.cli("session", "list")
    assert done.returncode == 2 and "owner root" in done.stderr, done.stderr
    assert str(planted) in done.stderr
    assert not (ws.root / "pwned").exists()


@pytest.mark.parametrize("mode", [0o666, 0o620])
def test_writable_record_or_session_dir_is_refused_not_skipped(state: Path, mode: int) -> None:
    """A record (or its directory) others could rewrite is refused with its path, owner
    and mode; ``list`` refuses too rather than quietly leaving it out."""
    rec = _record()
    records.create_dir(rec.id)
    records.save(rec)
    record_file = state / rec.id / "session.json"
    me = pwd.getpwuid(os.getuid()).pw_name
    record_file.chmod(mode)
    for call in (lambda: records.load(rec.id), records.all_records):
        with pytest.raises(errors.UntrustedStateError) as err:
            call()
        assert err.value.where == str(record_file)
        assert "writable by other users" in str(err.value) and f"owner {me}" in str(err.value)
        assert f"mode {mode:04o}" in str(err.value)
    record_file.chmod(0o600)
    (state / rec.id).chmod(0o777)
    with pytest.raises(errors.UntrustedStateError) as err:
        records.all_records()
    assert err.value.where == str(state / rec.id) and "mode 0777" in str(err.value)
