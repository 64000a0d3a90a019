"""`build` activates only what the site policy's `switch` gate lets through.

A new version is checked on its temporary file before it is published; a
reused kept version goes through ``Store.switch``.  A reuse that moves the
active link back says so, and ``status`` shows it before.  The site path
is patched in-process (nothing is written under /etc).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from images import BUSYBOX_DEF

from scitex_container import envvars
from scitex_container.apptainer.building.decision import image_statuses
from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.signing import policy as policy_mod
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.cli.main import main
from scitex_container.errors import PolicyRefusedError

pytestmark = pytest.mark.apptainer


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(envvars.POLICY, raising=False)
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF + "\n%files\n    payload /payload\n")
    (tmp_path / "payload").write_text("v1\n")
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o755)
    os.chmod(etc, 0o755)
    monkeypatch.setattr(policy_mod, "DEFAULT_PATH", etc / "policy.toml")
    return tmp_path


def _require_switch(project: Path) -> Path:
    """Write the site policy (switch gated by a new site key); return the key pair's dir."""
    pair = new_keypair(project / "site")
    key = project / "etc" / "site.pub"
    shutil.copy(pair.public, key)
    os.chmod(key, 0o644)
    policy = project / "etc" / "policy.toml"
    policy.write_text(f'[require_signature]\nswitch = true\nkeys = ["{key}"]\n')
    os.chmod(policy, 0o644)
    return pair.private


def _build(project: Path, **kw):
    return build_version(def_path=project / "bb.def", output_dir=project / "out", **kw)


def _versions(project: Path) -> list[str]:
    store = project / "out" / "bb"
    return sorted(p.name for p in store.glob("bb-v*.sif")) if store.is_dir() else []


def test_a_new_unsigned_version_is_never_published_or_activated(project: Path) -> None:
    private = _require_switch(project)
    with pytest.raises(PolicyRefusedError, match=r"signature:missing") as exc:
        _build(project)
    assert exc.value.exit_code == 1 and "to switch" in str(exc.value)
    assert _versions(project) == []
    assert not os.path.lexists(project / "out" / "bb" / "bb.sif")
    assert not [p for p in (project / "out" / "bb").iterdir() if p.name.endswith(".sif")]
    # signed with the site key, the same build passes the gate and becomes active
    done = _build(project, sign_key=private)
    assert done.built and os.path.realpath(done.path) == str(done.artifact)


def test_an_unchanged_build_moving_back_is_gated_and_reported(project: Path, capsys) -> None:
    v1 = _build(project).version
    (project / "payload").write_text("v2\n")
    v2 = _build(project).version
    (project / "payload").write_text("v1\n")  # the inputs of v1 again
    [row] = image_statuses(project, output_dir=project / "out")
    assert row.needs_rebuild is False and row.switch_to == v1 and row.version == v2

    _require_switch(project)  # v1 is unsigned: going back to it is a switch the policy refuses
    with pytest.raises(PolicyRefusedError, match=r"to switch.*signature:missing"):
        _build(project)
    link = project / "out" / "bb" / "bb.sif"
    assert os.readlink(link) == f"bb-v{v2}.sif"

    os.unlink(project / "etc" / "policy.toml")
    with pytest.raises(SystemExit) as exc:
        main(["status", "--check", str(project), "-o", str(project / "out")])
    assert exc.value.code == 1 and v1 in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--json", "build", str(project / "bb.def"), "-o", str(project / "out")])
    data = json.loads(capsys.readouterr().out)
    assert exc.value.code == 0 and data["built"] is False
    assert data["version"] == v1 and data["switched_from"] == v2
    assert os.readlink(link) == f"bb-v{v1}.sif"
    with pytest.raises(SystemExit):
        main(["build", str(project / "bb.def"), "-o", str(project / "out")])
    assert "unchanged" in capsys.readouterr().out  # now active: nothing moved
