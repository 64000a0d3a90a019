"""The site policy: reading policy.toml, and its gates on switch, deploy, session start, to-sif.

The gates run the real apptainer verify on small busybox SIFs; session start
is refused before anything reaches sbatch, so that test needs no running job.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from clirun import in_process
from images import busybox_sif
from storekit import signed_store

from scitex_container import envvars
from scitex_container.apptainer.signing import policy as policy_mod
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.policy import load_policy, parse_policy, require_signature
from scitex_container.errors import BadInputError, NotFoundError, PolicyRefusedError

ALL = "switch = true\ndeploy = true\nsession_start = true\nsandbox_to_sif = true\n"


def _policy(tmp_path: Path, body: str, monkeypatch=None) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(body)
    if monkeypatch is not None:
        monkeypatch.setenv(envvars.POLICY, str(path))
    return path


# -- reading the policy (no apptainer) ---------------------------------------


@pytest.fixture
def site_key(tmp_path):
    return new_keypair(tmp_path / "site")


def test_no_policy_file_means_no_gate(tmp_path, monkeypatch):
    monkeypatch.delenv(envvars.POLICY, raising=False)
    monkeypatch.setattr(policy_mod, "DEFAULT_PATH", tmp_path / "absent.toml")
    assert load_policy() is None
    assert require_signature("switch", tmp_path / "anything.sif") is None


def test_policy_reads_steps_and_keys(tmp_path, site_key, monkeypatch):
    ring = tmp_path / "ring"
    new_keypair(ring, kind="ed25519")
    body = f'[require_signature]\nswitch = true\ndeploy = false\nkeys = ["{site_key.public}"]\n'
    body += 'keyring = "ring"\n'  # relative to the policy file
    pol = parse_policy(_policy(tmp_path, body))
    assert pol.require == ("switch",)
    assert len(pol.keys) == 2 and pol.keys[0].fingerprint == site_key.fingerprint
    # a step the policy does not cover is not gated, even for a missing image
    monkeypatch.setenv(envvars.POLICY, str(pol.path))
    assert require_signature("deploy", tmp_path / "missing.sif") is None


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (
            "[require_signature]\nswitch = true\nkeys = []\nswich = true\n",
            "require_signature.swich",
        ),
        ("[require_signatures]\nswitch = true\n", "require_signatures"),
        ("[require_signature]\nswitch = 1\nkeys = []\n", "require_signature.switch"),
        ("[require_signature]\nswitch = true\n", "keys"),
        ('[require_signature]\nswitch = true\nkeys = ["nope.pub"]\n', "require_signature.keys[0]"),
        ("[require_signature]\nswitch = true\nkeys = 'a.pub'\n", "require_signature.keys"),
        ('[require_signature]\nkeyring = "no-ring"\n', "require_signature.keyring"),
        ("[require_signature\nswitch = true\n", "not valid TOML"),
    ],
)
def test_malformed_policy_names_file_and_key(tmp_path, body, names):
    path = _policy(tmp_path, body)
    with pytest.raises(BadInputError) as exc:
        parse_policy(path)
    assert exc.value.exit_code == 2
    assert str(path) in str(exc.value) and names in str(exc.value)


def test_private_key_in_policy_is_refused(tmp_path, site_key):
    path = _policy(tmp_path, f'[require_signature]\ndeploy = true\nkeys = ["{site_key.private}"]\n')
    with pytest.raises(BadInputError, match=r"keys\[0\].*private key"):
        parse_policy(path)


def test_world_writable_policy_is_refused(tmp_path, site_key):
    path = _policy(tmp_path, f'[require_signature]\nkeys = ["{site_key.public}"]\n')
    os.chmod(path, 0o666)
    with pytest.raises(BadInputError, match=r"writable by others \(owner root, mode 0666\)"):
        parse_policy(path)


def test_policy_named_by_the_environment_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv(envvars.POLICY, str(tmp_path / "gone.toml"))
    with pytest.raises(NotFoundError, match=r"gone\.toml"):
        load_policy()


def test_cli_malformed_policy_exits_2_naming_file_and_key(tmp_path, monkeypatch, capsys):
    path = _policy(tmp_path, "[require_signature]\nswitch = yes\n", monkeypatch)
    store = tmp_path / "store"
    store.mkdir()
    # a SIF header (the store's own check passes) so the policy is what refuses
    header = b"#!/usr/bin/env run-singularity\n".ljust(32, b"\0") + b"SIF_MAGIC\0" + b"x" * 64
    (store / "scitex-v1.0.sif").write_bytes(header)
    code, _, err = in_process(capsys, "switch", "1.0", str(store))
    assert code == 2 and str(path) in err
    assert not (store / "current.sif").exists()


# -- the gates, with the real apptainer ----------------------------------------


def _site_policy(tmp_path, site, monkeypatch) -> Path:
    return _policy(tmp_path, f'[require_signature]\n{ALL}keys = ["{site.public}"]\n', monkeypatch)


@pytest.mark.apptainer
def test_switch_refuses_unsigned_and_foreign_accepts_site_signed(
    tmp_path, signed_images, monkeypatch, capsys
):
    site, _, images = signed_images
    store = signed_store(tmp_path, images)
    _site_policy(tmp_path, site, monkeypatch)
    link = store / "current.sif"

    code, _, err = in_process(capsys, "switch", "1.0", str(store))
    assert code == 1 and "scitex-v1.0.sif" in err and "signature:missing" in err
    assert not os.path.lexists(link)

    code, out, err = in_process(capsys, "--json", "switch", "3.0", str(store))
    assert code == 1 and "signature:key" in err
    data = json.loads(out)
    assert data["exit_code"] == 1 and data["action"] == "switch"
    assert data["signature"]["ok"] is False and data["signature"]["failed_check"] == "signature:key"
    assert not os.path.lexists(link)

    code, _, _ = in_process(capsys, "switch", "2.0", str(store))
    assert code == 0 and os.readlink(link) == "scitex-v2.0.sif"
    # rollback goes through the same gate: 1.0 is unsigned, the link stays on 2.0
    code, _, err = in_process(capsys, "rollback", str(store))
    assert code == 1 and "signature:missing" in err
    assert os.readlink(link) == "scitex-v2.0.sif"


@pytest.mark.apptainer
def test_deploy_refuses_unsigned_before_copying_and_deploys_signed(
    tmp_path, signed_images, monkeypatch, capsys
):
    site, _, images = signed_images
    store = signed_store(tmp_path, images)
    os.symlink("scitex-v1.0.sif", store / "current.sif")  # made before the policy
    _site_policy(tmp_path, site, monkeypatch)
    target = tmp_path / "target"

    code, _, err = in_process(capsys, "deploy", str(store), str(target))
    assert code == 1 and "to deploy" in err and "scitex-v1.0.sif" in err
    assert not target.exists() or not any(target.iterdir())

    code, _, _ = in_process(capsys, "switch", "2.0", str(store))
    assert code == 0
    code, out, _ = in_process(capsys, "--json", "deploy", str(store), str(target))
    assert code == 0, out
    assert os.readlink(target / "current.sif") == "scitex-v2.0.sif"


@pytest.mark.apptainer
@pytest.mark.slurm
def test_session_start_is_refused_before_submission(tmp_path, signed_images, monkeypatch, capsys):
    site, _, images = signed_images
    _site_policy(tmp_path, site, monkeypatch)
    sessions = tmp_path / "sessions"
    monkeypatch.setenv(envvars.SESSIONS_DIR, str(sessions))
    project = tmp_path / "proj"
    project.mkdir()
    name = f"sx-policy-{os.getpid()}"

    def jobs() -> str:
        done = subprocess.run(["squeue", "-h", "-o", "%j"], capture_output=True, text=True)
        return done.stdout

    for image, check in ((images["unsigned"], "signature:missing"), (images["other"], "key")):
        code, out, err = in_process(
            capsys,
            "--json",
            "session",
            "start",
            str(image),
            "-p",
            str(project),
            "--slurm",
            "--name",
            name,
        )
        assert code == 1 and str(image) in err and check in err
        assert json.loads(out)["action"] == "session_start"
        assert name not in jobs()
        assert not sessions.exists() or not any(sessions.iterdir())

    # a site-signed image passes the gate: the dry run plans the sbatch submission
    code, out, err = in_process(
        capsys,
        "--dry-run",
        "session",
        "start",
        str(images["site"]),
        "-p",
        str(project),
        "--slurm",
        "--name",
        name,
    )
    assert code == 1, err  # a dry run with a submission pending exits 1
    assert "sbatch" in out and "policy" not in err


@pytest.mark.apptainer
def test_sandbox_to_sif_output_is_gated(tmp_path, signed_images, monkeypatch, capsys):
    site, other, _ = signed_images
    sandbox = tmp_path / "sb"
    subprocess.run(
        ["apptainer", "build", "--sandbox", str(sandbox), str(busybox_sif())],
        check=True,
        capture_output=True,
    )
    _site_policy(tmp_path, site, monkeypatch)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = out_dir / "keep.sif"
    existing.write_bytes(b"an older file we did not make")

    code, _, err = in_process(capsys, "sandbox", "to-sif", str(sandbox), str(existing))
    assert code == 1 and "keep.sif" in err and "signature:missing" in err
    code, _, err = in_process(
        capsys, "sandbox", "to-sif", str(sandbox), str(existing), "--sign", str(other.private)
    )
    assert code == 1 and "signature:key" in err
    # refused outputs are removed; the file that was there is untouched
    assert existing.read_bytes() == b"an older file we did not make"
    # (only the build log sidecar, which every build writes, is left beside it)
    assert sorted(p.name for p in out_dir.iterdir()) == ["keep.sif", "keep.sif.build.log"]

    fresh = out_dir / "fresh.sif"
    code, _, err = in_process(
        capsys, "sandbox", "to-sif", str(sandbox), str(fresh), "--sign", str(site.private)
    )
    assert code == 0, err
    assert require_signature("sandbox_to_sif", fresh).signer == site.fingerprint


def test_refusal_error_carries_the_verdict(tmp_path, site_key, monkeypatch):
    """Our own logic: a non-SIF is refused with the `sif` check, no apptainer needed."""
    _policy(
        tmp_path, f'[require_signature]\nswitch = true\nkeys = ["{site_key.public}"]\n', monkeypatch
    )
    junk = tmp_path / "junk.sif"
    junk.write_bytes(b"not a sif")
    with pytest.raises(PolicyRefusedError) as exc:
        require_signature("switch", junk)
    assert exc.value.exit_code == 1 and "junk.sif" in str(exc.value)
    assert exc.value.details["signature"]["failed_check"] == "sif"
