"""The site policy's authority: a user's policy only adds; untrusted policy files are refused.

In-process tests patch the module's site path (``DEFAULT_PATH``) to a
root-owned directory of the test, so nothing is ever written to
/etc/scitex-container; the tests that run as the unprivileged user see the
real default path through a private mount namespace (``sitepolicy.py``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from clirun import in_process
from images import busybox_sif
from otheruser import another_user
from storekit import signed_store

from scitex_container import envvars
from scitex_container.apptainer.signing import policy as policy_mod
from scitex_container.apptainer.signing.keys import load_public_key, new_keypair
from scitex_container.apptainer.signing.policy import load_policies
from scitex_container.apptainer.signing.sign import sign_artifact
from scitex_container.errors import UntrustedStateError


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """The site policy's path for this test (a root-owned 0755 directory; no file yet)."""
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o755)
    os.chmod(etc, 0o755)
    monkeypatch.setattr(policy_mod, "DEFAULT_PATH", etc / "policy.toml")
    monkeypatch.delenv(envvars.POLICY, raising=False)
    return etc / "policy.toml"


def _key(site: Path, pair, name: str = "site.pub") -> Path:
    (site.parent / "keys").mkdir(exist_ok=True, mode=0o755)
    dest = site.parent / "keys" / name
    shutil.copy(pair.public, dest)
    os.chmod(dest, 0o644)
    return dest


def _write(path: Path, body: str, mode: int = 0o644) -> Path:
    path.write_text(body)
    os.chmod(path, mode)
    return path


@pytest.mark.apptainer
def test_a_users_policy_cannot_switch_the_site_policy_off(
    tmp_path, site, signed_images, monkeypatch, capsys
):
    site_pair, _, images = signed_images
    key = _key(site, site_pair)
    _write(site, f'[require_signature]\nswitch = true\nkeys = ["{key}"]\n')
    mine = _write(tmp_path / "mine.toml", "")  # an empty policy of the caller's own
    monkeypatch.setenv(envvars.POLICY, str(mine))
    store = signed_store(tmp_path, images)

    assert [p.path for p in load_policies()] == [site, mine]
    code, _, err = in_process(capsys, "switch", "1.0", str(store))
    assert code == 1 and "signature:missing" in err and f"site policy {site}" in err
    assert not os.path.lexists(store / "current.sif")
    code, _, err = in_process(capsys, "switch", "2.0", str(store))
    assert code == 0, err


@pytest.mark.apptainer
def test_a_users_policy_adds_steps_and_keys_that_must_also_pass(
    tmp_path, site, signed_images, monkeypatch, capsys
):
    site_pair, other_pair, images = signed_images
    _key(site, site_pair)
    _key(site, other_pair, "other.pub")
    _write(site, '[require_signature]\nswitch = true\nkeyring = "keys"\n')  # both keys
    mine = _write(
        tmp_path / "mine.toml",
        f'[require_signature]\nswitch = true\ndeploy = true\nkeys = ["{site_pair.public}"]\n',
    )
    monkeypatch.setenv(envvars.POLICY, str(mine))
    store = signed_store(tmp_path, images)

    # 3.0 passes the site's keyring but not the key the added policy requires
    code, out, err = in_process(capsys, "--json", "switch", "3.0", str(store))
    assert code == 1 and f"added policy {mine}" in err and "signature:key" in err
    assert json.loads(out)["policy"] == str(mine)
    assert not os.path.lexists(store / "current.sif")
    code, _, err = in_process(capsys, "switch", "2.0", str(store))
    assert code == 0, err
    # deploy is required by the added policy only: still a gate
    os.unlink(store / "current.sif")
    os.symlink("scitex-v1.0.sif", store / "current.sif")
    code, _, err = in_process(capsys, "deploy", str(store), str(tmp_path / "target"))
    assert code == 1 and "to deploy" in err and f"added policy {mine}" in err


def _chown(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)


@pytest.mark.parametrize("case", ["user-owned", "group-writable", "keyring-0777", "user-key"])
def test_untrusted_site_policy_files_are_refused_naming_path_owner_mode(
    tmp_path, site, case, capsys
):
    user = another_user()
    pair = new_keypair(tmp_path / "k")
    key = _key(site, pair)
    body = f'[require_signature]\nswitch = true\nkeys = ["{key}"]\n'
    _write(site, body)
    bad, owner, mode = site, "root", "0644"
    if case == "user-owned":
        _chown(site, user.pw_uid, user.pw_gid)
        owner = user.pw_name
    elif case == "group-writable":
        os.chmod(site, 0o664)
        mode = "0664"
    elif case == "keyring-0777":
        ring = site.parent / "ring"
        ring.mkdir()
        os.chmod(ring, 0o777)
        shutil.copy(pair.public, ring / "user.pub")
        _chown(ring / "user.pub", user.pw_uid, user.pw_gid)
        _write(site, '[require_signature]\nswitch = true\nkeyring = "ring"\n')
        bad, mode = ring, "0777"
    else:
        _chown(key, user.pw_uid, user.pw_gid)
        bad, owner = key, user.pw_name
    with pytest.raises(UntrustedStateError) as exc:
        load_policies()
    assert exc.value.exit_code == 2
    assert str(bad) in str(exc.value) and f"owner {owner}, mode {mode}" in str(exc.value)
    # the CLI: exit 2, whatever the step (here a switch in an empty store)
    store = tmp_path / "store"
    store.mkdir()
    header = b"#!/usr/bin/env run-singularity\n".ljust(32, b"\0") + b"SIF_MAGIC\0" + b"x" * 64
    (store / "scitex-v1.0.sif").write_bytes(header)
    code, out, err = in_process(capsys, "--json", "switch", "1.0", str(store))
    assert code == 2 and str(bad) in err and f"owner {owner}, mode {mode}" in err
    assert json.loads(out)["exit_code"] == 2


def test_a_policy_the_caller_added_may_be_theirs_but_not_someone_elses(tmp_path, site, monkeypatch):
    user = another_user()
    pair = new_keypair(tmp_path / "k")
    mine = _write(tmp_path / "mine.toml", f'[require_signature]\nkeys = ["{pair.public}"]\n')
    monkeypatch.setenv(envvars.POLICY, str(mine))
    assert [p.site for p in load_policies()] == [False]  # no site file: the added one alone
    _chown(mine, user.pw_uid, user.pw_gid)
    with pytest.raises(UntrustedStateError, match=f"owner {user.pw_name}, mode 0644"):
        load_policies()


def test_a_key_in_a_directory_others_can_write_is_refused(tmp_path, site):
    pair = new_keypair(tmp_path / "k")
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o777)  # not sticky: anyone could replace the key file
    shutil.copy(pair.public, loose / "site.pub")
    _write(site, f'[require_signature]\nswitch = true\nkeys = ["{loose / "site.pub"}"]\n')
    with pytest.raises(UntrustedStateError, match=r"directory holding the key file.*mode 0777"):
        load_policies()


def test_the_policy_check_never_runs_a_container_command_the_caller_names(tmp_path, monkeypatch):
    """A user's ``SCITEX_CONTAINER_CMD`` (or PATH) naming a fake apptainer that says "verified"
    cannot answer for the site policy: the gate runs only a root-owned command."""
    from scitex_container.apptainer.signing.signature_check import verify_signature

    fake = tmp_path / "fakeapp"
    fake.write_text('#!/bin/sh\n[ "$1" = verify ] && exit 0\nexec apptainer "$@"\n')
    fake.chmod(0o755)
    os.chmod(tmp_path, 0o777)  # a folder others can write: what a user controls
    monkeypatch.setenv("SCITEX_CONTAINER_CMD", str(fake))
    image = tmp_path / "img.sif"
    shutil.copy(busybox_sif(), image)
    sign_artifact(image, new_keypair(tmp_path / "user").private)
    site = new_keypair(tmp_path / "site")
    with pytest.raises(UntrustedStateError, match="root-owned container command"):
        verify_signature(image, [load_public_key(site.public)], trusted=True)
    monkeypatch.delenv("SCITEX_CONTAINER_CMD")
    verdict = verify_signature(image, [load_public_key(site.public)], trusted=True)
    assert not verdict.ok and verdict.failed_check == "signature:key"
