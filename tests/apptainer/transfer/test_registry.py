"""push/pull through the test bed's real registry (Debian's docker-registry on 127.0.0.1:5000).

Every test uses a repository of its own.  What a second site sees is what
these tests check: the version, its recorded origin, the proof checked
against the signed copies inside the SIF, the site policy, and nothing
published when anything fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import urllib.request
from pathlib import Path

import pytest
from travel import REGISTRY, policy_file, repo

from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.apptainer.transfer.oci_client import OciClient, sha256_digest
from scitex_container.apptainer.transfer.oci_ref import parse_ref
from scitex_container.apptainer.transfer.push import referrers_tag

pytestmark = [pytest.mark.apptainer, pytest.mark.registry]


def _versions(store: Path) -> list[str]:
    return sorted(p.name for p in store.glob("*-v*.sif") if not p.name.endswith(".json"))


def test_push_then_pull_makes_an_active_version_recording_where_it_came_from(
    images, cli, tmp_path
) -> None:
    _, _, sifs = images
    ref = repo("roundtrip") + ":v1"
    code, pushed = cli.json("push", sifs["signed"], ref)
    assert code == 0, pushed
    assert pushed["proof"] == ["statement"]  # busybox carries a statement, no lock or SBOM
    code, pulled = cli.json("pull", ref, "-o", tmp_path / "site-b", "--name", "app")
    assert code == 0, pulled
    store = tmp_path / "site-b" / "app"
    assert _versions(store) == [Path(pulled["path"]).name]
    assert os.readlink(store / "app.sif") == Path(pulled["path"]).name
    assert Path(pulled["path"]).read_bytes() == sifs["signed"].read_bytes()
    origin = load_metadata(pulled["path"])["origin"]
    assert origin["reference"] == ref
    assert origin["manifest_digest"] == pushed["manifest_digest"]
    assert origin["proof"] == [
        {
            "role": "statement",
            "status": "matches-signed-image",
            "sha256": origin["proof"][0]["sha256"],
        }
    ]
    # the same digest again: a no-op (no second copy), the version stays active
    code, again = cli.json("pull", ref, "-o", tmp_path / "site-b", "--name", "app")
    assert code == 0 and again["reused"] is True
    assert _versions(store) == [Path(pulled["path"]).name]
    said = cli("pull", ref, "-o", tmp_path / "site-b", "--name", "app").stdout
    assert said.startswith(f"unchanged {pulled['path']}"), said  # as build and deploy say it


def test_a_moved_tag_pulls_the_new_image_and_a_digest_pulls_the_old_one(
    images, cli, tmp_path
) -> None:
    _, _, sifs = images
    base = repo("moved")
    code, first = cli.json("push", sifs["signed"], base + ":t")
    assert code == 0, first
    code, second = cli.json("push", sifs["other"], base + ":t")  # the tag moves
    assert code == 0, second
    assert first["manifest_digest"] != second["manifest_digest"]
    out = tmp_path / "site"
    code, now = cli.json("pull", base + ":t", "-o", out, "--name", "img")
    assert code == 0 and now["sha256"] == second["sif_sha256"]
    code, old = cli.json("pull", f"{base}@{first['manifest_digest']}", "-o", out, "--name", "img")
    assert code == 0 and old["sha256"] == first["sif_sha256"] and not old["reused"]
    assert len(_versions(out / "img")) == 2
    assert os.readlink(out / "img" / "img.sif") == Path(old["path"]).name


def test_the_policy_refuses_an_unsigned_pull_and_nothing_is_published(
    images, cli, tmp_path
) -> None:
    site, _, sifs = images
    ref = repo("refused") + ":v1"
    assert cli("push", sifs["unsigned"], ref).returncode == 0
    cli.env["SCITEX_CONTAINER_POLICY"] = str(policy_file(tmp_path, ("pull",), site.public))
    code, err = cli.json("pull", ref, "-o", tmp_path / "site-b")
    assert code == 1, err
    assert err["action"] == "pull" and err["signature"]["failed_check"] == "signature:missing"
    assert not (tmp_path / "site-b").exists()
    # signed by another key: refused too; signed by the site key: accepted
    other_ref = repo("other") + ":v1"
    assert cli("push", sifs["other"], other_ref).returncode == 0
    code, err = cli.json("pull", other_ref, "-o", tmp_path / "site-b")
    assert code == 1 and err["signature"]["failed_check"] == "signature:key"
    good = repo("good") + ":v1"
    assert cli("push", sifs["signed"], good).returncode == 0
    code, ok = cli.json("pull", good, "-o", tmp_path / "site-b")
    assert code == 0, ok
    assert ok["signature"]["ok"] is True


def test_a_proof_that_is_not_the_signed_images_is_refused(images, cli, tmp_path) -> None:
    _, _, sifs = images
    ref_text = repo("forged") + ":v1"
    code, pushed = cli.json("push", sifs["signed"], ref_text)
    assert code == 0, pushed
    ref = parse_ref(ref_text)
    client = OciClient(ref)
    tag = referrers_tag(pushed["manifest_digest"])
    manifest = client.manifest(tag).json()
    forged = b'{"_type": "https://in-toto.io/Statement/v1", "subject": []}'
    layer = client.put_blob(forged, "application/vnd.in-toto+json")
    layer["annotations"] = manifest["layers"][0]["annotations"]
    manifest["layers"] = [layer]
    client.put_manifest(tag, json.dumps(manifest).encode())
    done = cli("pull", ref_text, "-o", tmp_path / "site")
    assert done.returncode == 1
    assert "the statement does not match the one signed inside the image" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "site").exists()


def test_an_unreachable_registry_and_a_missing_tag_fail_in_one_line(cli, tmp_path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = f"oras://127.0.0.1:{port}/x/y:z"
    done = cli("pull", gone, "-o", tmp_path / "out")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert gone in done.stderr and "unreachable" in done.stderr
    missing = repo("missing") + ":nope"
    code, err = cli.json("pull", missing, "-o", tmp_path / "out")
    assert code == 1 and "HTTP 404" in err["error"] and err["reference"] == missing
    assert not (tmp_path / "out").exists()


class _CuttingProxy(threading.Thread):
    """A loopback proxy to the registry that drops a connection after ``limit`` bytes back."""

    def __init__(self, limit: int) -> None:
        super().__init__(daemon=True)
        self.limit = limit
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.cut = threading.Event()

    def run(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        host, port = REGISTRY.split(":")
        upstream = socket.create_connection((host, int(port)))

        def up() -> None:
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=up, daemon=True).start()
        sent = 0
        try:
            while data := upstream.recv(65536):
                if sent + len(data) > self.limit:
                    client.sendall(data[: self.limit - sent])
                    self.cut.set()
                    break
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:  # shutdown, not only close: it wakes the other thread's recv and sends FIN
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self.server.close()


def test_a_registry_that_goes_away_mid_transfer_leaves_nothing(images, cli, tmp_path) -> None:
    _, _, sifs = images
    path = repo("cut").split(REGISTRY + "/", 1)[1]
    assert cli("push", sifs["signed"], f"oras://{REGISTRY}/{path}:v1").returncode == 0
    proxy = _CuttingProxy(limit=200_000)  # manifests pass; the 1 MB SIF is cut short
    proxy.start()
    try:
        through = f"oras://127.0.0.1:{proxy.port}/{path}:v1"
        done = cli("pull", through, "-o", tmp_path / "site")
    finally:
        proxy.close()
    assert proxy.cut.is_set(), "the transfer was never cut"
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "site").exists()


def test_push_refuses_a_version_that_no_longer_matches_its_recorded_digest(
    images, cli, tmp_path
) -> None:
    _, _, sifs = images
    ref = repo("good") + ":v1"
    assert cli("push", sifs["signed"], ref).returncode == 0
    code, pulled = cli.json("pull", ref, "-o", tmp_path / "a")
    assert code == 0
    with open(pulled["path"], "r+b") as fh:  # a byte flipped after publish
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_END)
        fh.write(bytes([last[0] ^ 1]))
    done = cli("push", tmp_path / "a" / Path(pulled["store"]).name, repo("bad") + ":v1")
    assert done.returncode == 1 and "tampered" in done.stderr


def test_the_registry_serves_what_was_pushed_byte_for_byte(images, cli) -> None:
    """The raw distribution API agrees with what push reported (no client of ours involved)."""
    _, _, sifs = images
    ref = repo("raw") + ":v1"
    code, pushed = cli.json("push", sifs["signed"], ref)
    assert code == 0
    name = ref.split(REGISTRY + "/", 1)[1].rsplit(":", 1)[0]
    url = f"http://{REGISTRY}/v2/{name}/blobs/sha256:{pushed['sif_sha256']}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert sha256_digest(resp.read()) == f"sha256:{pushed['sif_sha256']}"


def test_a_kept_version_is_reused_only_when_its_bytes_are_the_pulled_image(
    images, cli, tmp_path
) -> None:
    """A version whose metadata claims the digest but whose bytes are another image is not
    "the same digest pulled twice": the image is pulled and published as a new version."""
    import shutil

    _, _, sifs = images
    ref = repo("forgedkeep") + ":v1"
    code, pushed = cli.json("push", sifs["signed"], ref)
    assert code == 0
    store = tmp_path / "site" / "app"
    store.mkdir(parents=True)
    fake = store / "app-v20260101T000000Z.sif"
    shutil.copy(sifs["unsigned"], fake)
    meta = {"sha256": pushed["sif_sha256"], "version": "20260101T000000Z", "schema": 1}
    (store / f"{fake.name}.meta.json").write_text(json.dumps(meta))
    code, pulled = cli.json("pull", ref, "-o", tmp_path / "site", "--name", "app")
    assert code == 0 and not pulled["reused"], pulled
    assert Path(pulled["path"]).read_bytes() == sifs["signed"].read_bytes()


def test_push_refuses_a_version_replaced_by_a_link(images, cli, tmp_path) -> None:
    _, _, sifs = images
    store = tmp_path / "s" / "app"
    store.mkdir(parents=True)
    version = store / "app-v20261201T000000Z.sif"
    version.symlink_to(sifs["other"])
    (store / "app.sif").symlink_to(version.name)
    done = cli("push", store, repo("linked") + ":v1")
    assert done.returncode != 0 and "link" in done.stderr, done.stderr


def test_under_a_pull_policy_an_unsigned_travelling_lock_is_not_kept(images, cli, tmp_path) -> None:
    """The registry's lock is covered by no signature: the version keeps the lock signed
    inside the image, or none (here: none)."""
    import shutil

    site, _, sifs = images
    sif = tmp_path / "inj.sif"
    shutil.copy(sifs["signed"], sif)
    Path(f"{sif}.lock").write_text("# scitex-container lock\n[dpkg]\nhello=2.10-3\n")
    ref = repo("lockinj") + ":v1"
    code, pushed = cli.json("push", sif, ref)
    assert code == 0 and "lock" in pushed["proof"]
    cli.env["SCITEX_CONTAINER_POLICY"] = str(policy_file(tmp_path, ("pull",), site.public))
    code, pulled = cli.json("pull", ref, "-o", tmp_path / "p")
    assert code == 0, pulled
    assert not Path(f"{pulled['path']}.lock").exists()
    assert pulled["origin"]["lock"] == "none"
