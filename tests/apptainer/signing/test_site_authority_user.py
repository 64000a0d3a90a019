"""The site policy holds against the real unprivileged user.

Every command runs as ``scitex-test`` in a private mount namespace where a
root-owned site policy sits at the real default path,
``/etc/scitex-container/policy.toml`` (``sitepolicy.py``: a bind mount
that ends with the command; nothing is written under /etc).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from otheruser import another_user
from sitepolicy import require_unshare, run_with_site_dir, stage_dir
from uservenv import user_python

pytestmark = pytest.mark.apptainer
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def user_ws(signed_images) -> Iterator[tuple[Path, Path, Path, object]]:
    """(the user's workspace, the stage of /etc/scitex-container, the user's python, user)."""
    user = another_user()
    require_unshare()
    python = user_python(REPO)
    ws = Path(tempfile.mkdtemp(prefix="scitex-authority-", dir="/var/tmp"))
    stage = stage_dir()
    try:
        site, _, images = signed_images
        store = ws / "store"
        store.mkdir()
        for version, name in (("1.0", "unsigned"), ("2.0", "site")):
            shutil.copy(images[name], store / f"scitex-v{version}.sif")
        (ws / "cache").mkdir()
        (ws / "bb.def").write_text(BUSYBOX_DEF)
        (ws / "mine.toml").write_text("")  # the user's own (empty) policy
        for path in (ws, *ws.rglob("*")):
            os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(ws, 0o755)
        (stage / "keys").mkdir(mode=0o755)
        shutil.copy(site.public, stage / "keys" / "site.pub")
        os.chmod(stage / "keys" / "site.pub", 0o644)
        policy = stage / "policy.toml"
        policy.write_text('[require_signature]\nswitch = true\nkeys = ["keys/site.pub"]\n')
        os.chmod(policy, 0o644)
        yield ws, stage, python, user
    finally:
        shutil.rmtree(ws, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)


def _as_user(ws: Path, stage: Path, python: Path, *args: str):
    env = [
        f"XDG_CACHE_HOME={ws / 'cache'}",
        f"SCITEX_CONTAINER_POLICY={ws / 'mine.toml'}",
        f"PATH={os.environ['PATH']}",
    ]
    argv = ["runuser", "-u", "scitex-test", "--", "env", "-i", *env, str(python)]
    return run_with_site_dir(stage, [*argv, "-m", "scitex_container", *args], cwd=ws)


def test_the_users_empty_policy_does_not_lift_the_site_gate(user_ws) -> None:
    ws, stage, python, _ = user_ws
    store = ws / "store"
    done = _as_user(ws, stage, python, "switch", "1.0", str(store))
    assert done.returncode == 1, done.stderr
    assert "site policy /etc/scitex-container/policy.toml" in done.stderr
    assert "signature:missing" in done.stderr and not os.path.lexists(store / "current.sif")
    done = _as_user(ws, stage, python, "switch", "2.0", str(store))
    assert done.returncode == 0, done.stderr
    # build activates a new unsigned version: the same gate, nothing published
    done = _as_user(ws, stage, python, "build", str(ws / "bb.def"), "-o", str(ws / "out"))
    assert done.returncode == 1 and "to switch" in done.stderr, done.stderr
    assert not list((ws / "out" / "bb").glob("bb-v*.sif"))
    assert not Path("/etc/scitex-container/policy.toml").exists()  # never on the machine


def test_a_site_policy_the_user_owns_is_refused_naming_owner_and_mode(user_ws) -> None:
    ws, stage, python, user = user_ws
    os.chown(stage / "policy.toml", user.pw_uid, user.pw_gid)
    done = _as_user(ws, stage, python, "switch", "2.0", str(ws / "store"))
    assert done.returncode == 2, done.stderr
    assert "/etc/scitex-container/policy.toml" in done.stderr
    assert f"owner {user.pw_name}, mode 0644" in done.stderr
    os.chown(stage / "policy.toml", 0, 0)
    # a keyring anyone can write, holding a key the user put there
    ring = stage / "ring"
    ring.mkdir()
    os.chmod(ring, 0o777)
    shutil.copy(stage / "keys" / "site.pub", ring / "mine.pub")
    os.chown(ring / "mine.pub", user.pw_uid, user.pw_gid)
    (stage / "policy.toml").write_text('[require_signature]\nswitch = true\nkeyring = "ring"\n')
    done = _as_user(ws, stage, python, "switch", "2.0", str(ws / "store"))
    assert done.returncode == 2, done.stderr
    assert "/etc/scitex-container/ring" in done.stderr and "mode 0777" in done.stderr
    assert not os.path.lexists(ws / "store" / "current.sif")
