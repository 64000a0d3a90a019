"""The seed's documented CLI examples (its README), run against real apptainer.

Restated from the seed's README: status, build (--def-name and a bare
name), list, switch, rollback, verify, env-snapshot, sandbox create --sif,
sandbox maintain --sandbox, host check/mounts, mcp doctor/list-tools and
--help-recursive.  The version commands run on a containers directory in
the seed's own flat layout (scitex-v<version>.sif beside current.sif).
"""

from __future__ import annotations

import json
import shutil

import pytest
from images import BUSYBOX_DEF


@pytest.mark.apptainer
def test_the_seed_readme_examples_run_with_the_seed_meaning(sx, tmp_path, monkeypatch, busybox_sif):
    monkeypatch.chdir(tmp_path)
    containers = tmp_path / "containers"
    containers.mkdir()
    (containers / "scitex-final.def").write_text(BUSYBOX_DEF)

    status = sx("--json", "status")
    assert status.code == 0, status.err
    assert [r["name"] for r in status.json()] == ["scitex-final"]

    built = sx("--json", "build", "--def-name", "scitex-final")
    assert built.code == 0, built.err
    assert built.json()["built"] is True
    again = sx("--json", "build", "scitex-final")  # the seed's bare name: unchanged, skipped
    assert again.code == 0 and again.json()["built"] is False
    assert sx("--json", "build", "-f").json()["built"] is True  # no name: scitex-final
    assert sx("--json", "build", "--force", "scitex-final").json()["built"] is True  # ours too

    sif = containers / "scitex-final" / "scitex-final.sif"
    for version in ("2.19.4", "2.19.5"):  # the seed's own layout
        shutil.copyfile(sif, containers / f"scitex-v{version}.sif")
    listed = sx("--json", "list")
    assert listed.code == 0 and set(listed.json()) == {"containers_dir", "active", "versions"}
    assert {r["version"] for r in listed.json()["versions"]} == {"2.19.4", "2.19.5"}
    assert listed.json()["containers_dir"] == str(containers)
    assert sx("switch", "2.19.5").code == 0
    assert (containers / "current.sif").readlink().name == "scitex-v2.19.5.sif"
    rolled = sx("--json", "rollback")
    assert rolled.code == 0 and rolled.json()["version"] == "2.19.4"
    by_dir = sx("--json", "list", "-d", containers).json()
    assert by_dir["versions"][0]["active"] in (True, False)
    assert by_dir["active"] == "2.19.4"  # after the rollback
    assert sx("--json", "apptainer", "list").json() == sx("--json", "list").json()

    verified = sx("--json", "verify")  # no image: the active one, as the seed
    verdict = verified.json()
    # the active version's file, as the seed's CLI (scitex-v<active>.sif)
    assert verdict["sif"]["path"] == str(containers / "scitex-v2.19.4.sif")
    # a copied SIF has no recorded digest: "unverified", the honest verdict (exit 4)
    assert verified.code == {"pass": 0, "unverified": 4}[verdict["overall"]], verified.out

    snap = sx("env-snapshot")  # the seed's readable summary ...
    assert snap.code == 0 and "Version:   2.19.4" in snap.out
    as_json = sx("--json", "env-snapshot", "--dev-repo", tmp_path / "gone")  # ... or its schema
    assert as_json.code == 0
    data = json.loads(as_json.out)
    assert data["schema_version"] == "1.0" and data["container"]["version"] == "2.19.4"
    assert data["dev_repos"][0]["error"] == "path does not exist"

    created = sx("sandbox", "create", "--sif", containers / "scitex-v2.19.5.sif", "-o", "sb")
    assert created.code == 0, created.err
    ran = sx("sandbox", "maintain", "--sandbox", "sb/", "sh", "-c", "echo hi > /hi")
    assert ran.code == 0, ran.err
    assert (tmp_path / "sb" / "hi").read_text() == "hi\n"

    assert sx("host", "check").code in (0, 1)  # 1: a package is missing here
    assert sx("host", "mounts").code == 0
    assert sx("docker", "rebuild", "--help").code == 0
    assert sx("mcp", "doctor").code == 0
    assert "switch(version: string" in sx("mcp", "list-tools", "-vv").out

    everything = sx("--help-recursive")
    assert everything.code == 0
    for heading in ("scitex-container sandbox maintain", "scitex-container apptainer list"):
        assert f"=== {heading} ===" in everything.out
    assert "--def-name" in everything.out and "Alias of `versions`" in everything.out


def test_seed_spellings_refuse_two_names_for_one_thing(sx, tmp_path):
    clash = sx("--json", "build", "x", "--def-name", "y")
    assert clash.code == 2
    assert "DEFINITION and --def-name" in clash.json()["error"]
    missing = sx("sandbox", "create")
    assert missing.code == 2 and "missing SOURCE" in missing.err
    bad = sx("sandbox", "maintain", "--sandbox", tmp_path / "nope", "true")
    assert bad.code == 2 and "does not exist" in bad.err


def test_purge_sifs_and_mcp_start_as_the_seed_had_them(sx, tmp_path):
    for version in ("1.0", "1.1", "1.2"):
        (tmp_path / f"scitex-v{version}.sif").write_bytes(b"not really a sif")
    (tmp_path / "scitex-v1.0.sif.old").write_bytes(b"x")
    (tmp_path / "current.sif").symlink_to("scitex-v1.2.sif")
    dry = sx("--json", "--dry-run", "sandbox", "purge-sifs", "-d", tmp_path, "-k", "1")
    assert dry.code == 1 and len(list(tmp_path.glob("scitex-v*.sif"))) == 3  # nothing removed
    done = sx("--json", "sandbox", "purge-sifs", "-d", tmp_path, "--keep", "1", "-y")
    assert done.code == 0, done.err
    left = {p.name for p in tmp_path.iterdir()}
    assert "scitex-v1.0.sif" not in left and "scitex-v1.0.sif.old" not in left
    assert {"current.sif", "scitex-v1.2.sif"} <= left  # the active one stays
    refused = sx("mcp", "start", "--transport", "http", "-h", "0.0.0.0", "-p", "8086")
    assert refused.code == 2 and "stdio only" in refused.err


def test_show_status_is_the_seeds_dashboard(sx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    containers = tmp_path / "containers"
    containers.mkdir()
    (containers / "a.def").write_text("Bootstrap: scratch\n")
    for version in ("1.0", "1.1"):
        (containers / f"scitex-v{version}.sif").write_bytes(b"x")
    (containers / "current.sif").symlink_to("scitex-v1.1.sif")
    ran = sx("--json", "show-status")
    assert ran.code == 0, ran.err
    data = ran.json()
    assert set(data) == {"apptainer", "host", "docker"}
    assert data["apptainer"]["active"] == "1.1" and data["apptainer"]["mode"] == "SIF"
    assert [v["version"] for v in data["apptainer"]["versions"]] == ["1.1", "1.0"]
    assert set(data["host"]) == {"texlive", "imagemagick"}
    assert data["docker"] == {
        "dev": {"error": "no compose file found"},
        "prod": {"error": "no compose file found"},
    }
    assert "active:     1.1 (SIF)" in sx("show-status").out
