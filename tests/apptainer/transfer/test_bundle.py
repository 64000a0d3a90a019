"""Bundles for air-gapped sites: export, then import checked member by member.

Bundles are altered here the way a broken copy or an attacker would: a
changed byte, a member left out, a member added, a link among the members,
an unsigned manifest under a policy that needs one, and an import cut off
by a signal while it streams.  Nothing may be published by any of them.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from debs import make_deb
from specialfiles import NULL, char_device
from travel import policy_file

from scitex_container.apptainer.lock.archive import archive_lock
from scitex_container.apptainer.lock.archive_store import ArchiveStore
from scitex_container.apptainer.lock.lockfile import Lock, render_lock, write_lock

pytestmark = pytest.mark.apptainer


def _store_with(tmp_path: Path, sif: Path, lock: Lock | None = None) -> Path:
    """A store holding ``sif`` as its active version (the bundle's source), with a lock."""
    import shutil

    store = tmp_path / "site-a" / "app"
    store.mkdir(parents=True)
    version = store / "app-v20261201T000000Z.sif"
    shutil.copy(sif, version)
    (store / "app.sif").symlink_to(version.name)
    if lock is not None:
        (store / f"{version.name}.lock").write_text(render_lock(lock))
    return store


def _members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def _rewrite(
    bundle: Path, out: Path, members: dict[str, bytes], links: tuple[str, ...] = ()
) -> Path:
    with tarfile.open(out, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
            tar.addfile(info)
    return out


def test_export_then_import_publishes_the_image_and_a_second_import_copies_nothing(
    images, cli, tmp_path
) -> None:
    _, _, sifs = images
    store = _store_with(tmp_path, sifs["signed"])
    bundle = tmp_path / "app.bundle"
    code, exported = cli.json("bundle", "export", store, "-o", bundle)
    assert code == 0, exported
    assert exported["members"] == ["image.sif", "statement.intoto.json"]
    members = _members(bundle)
    assert list(members)[:1] == ["manifest.json"]
    assert members["image.sif"] == sifs["signed"].read_bytes()
    code, imported = cli.json("bundle", "import", bundle, "-o", tmp_path / "site-c")
    assert code == 0, imported
    arrival = imported["arrival"]
    assert Path(arrival["path"]).read_bytes() == sifs["signed"].read_bytes()
    assert arrival["origin"]["kind"] == "bundle" and not arrival["reused"]
    code, again = cli.json("bundle", "import", bundle, "-o", tmp_path / "site-c")
    assert code == 0 and again["arrival"]["reused"]
    assert len(list((tmp_path / "site-c" / "app").glob("app-v*.sif"))) == 1
    # the same bytes exported twice: the same bundle (deterministic)
    assert cli("bundle", "export", store, "-o", tmp_path / "again.bundle").returncode == 0
    assert (tmp_path / "again.bundle").read_bytes() == bundle.read_bytes()


@pytest.mark.parametrize("how", ["changed", "missing", "extra", "link", "reordered"])
def test_an_altered_bundle_is_refused_naming_the_member_and_nothing_is_published(
    images, cli, tmp_path, how
) -> None:
    _, _, sifs = images
    store = _store_with(tmp_path, sifs["signed"])
    bundle = tmp_path / "ok.bundle"
    assert cli("bundle", "export", store, "-o", bundle).returncode == 0
    members = _members(bundle)
    links: tuple[str, ...] = ()
    if how == "changed":
        image = bytearray(members["image.sif"])
        image[len(image) // 2] ^= 0x01
        members["image.sif"] = bytes(image)
        named = "image.sif"
    elif how == "missing":
        del members["statement.intoto.json"]
        named = "statement.intoto.json"
    elif how == "extra":
        members["notes.txt"] = b"run me"
        named = "notes.txt"
    elif how == "link":
        links, named = ("sbom.cdx.json",), "sbom.cdx.json"
    else:
        members = {"image.sif": members.pop("image.sif"), **members}
        named = "manifest.json"
    altered = _rewrite(bundle, tmp_path / "altered.bundle", members, links)
    code, err = cli.json("bundle", "import", altered, "-o", tmp_path / "site-c")
    assert code == 1, err
    assert err["member"] == named, err
    assert not (tmp_path / "site-c").exists()


def test_a_bundle_carries_exactly_the_artifacts_the_lock_names_into_the_archive(
    images, cli, tmp_path
) -> None:
    _, _, sifs = images
    pkgs = {"scitex-travel-a": "1.0", "scitex-travel-b": "2.0-1"}
    for name, version in pkgs.items():
        make_deb(tmp_path / "saved", name, version)
    make_deb(tmp_path / "saved", "scitex-travel-unrelated", "9.9")
    archive = tmp_path / "arc-a"
    lock_path = write_lock(Lock(dpkg=dict(pkgs)), tmp_path / "app.lock")
    archive_lock(lock_path, archive, saved_dirs=(tmp_path / "saved",))
    other = write_lock(Lock(dpkg={"scitex-travel-unrelated": "9.9"}), tmp_path / "x.lock")
    archive_lock(other, archive, saved_dirs=(tmp_path / "saved",))  # in the archive, not the lock
    from scitex_container.apptainer.lock.lockfile import read_lock

    store = _store_with(tmp_path, sifs["signed"], read_lock(lock_path))
    bundle = tmp_path / "app.bundle"
    code, exported = cli.json("bundle", "export", store, "-o", bundle, "--archive", archive)
    assert code == 0, exported
    assert exported["artifact_count"] == 2
    target = tmp_path / "arc-c"
    code, imported = cli.json(
        "bundle", "import", bundle, "-o", tmp_path / "site-c", "--archive", target
    )
    assert code == 0, imported
    assert imported["artifacts_added"] == 2
    index = ArchiveStore(target).read_index()
    assert sorted(index) == ["dpkg:scitex-travel-a=1.0", "dpkg:scitex-travel-b=2.0-1"]
    source = ArchiveStore(archive).read_index()
    for entry, record in index.items():
        assert record == source[entry]
        assert ArchiveStore(target).blob(record["sha256"]).read_bytes() == (
            ArchiveStore(archive).blob(record["sha256"]).read_bytes()
        )
    # without an archive the lock's gap is named before anything is written
    empty = tmp_path / "arc-empty"
    empty.mkdir()
    code, err = cli.json(
        "bundle", "export", store, "-o", tmp_path / "no.bundle", "--archive", empty
    )
    assert code == 2 and "2 artifact(s) missing" in err["error"]
    assert not (tmp_path / "no.bundle").exists()


def test_a_policy_that_gates_import_needs_a_signed_image_and_a_signed_manifest(
    images, cli, tmp_path
) -> None:
    site, other, sifs = images
    store = _store_with(tmp_path, sifs["signed"], Lock(dpkg={"x": "1"}))
    cli.env["SCITEX_CONTAINER_POLICY"] = str(policy_file(tmp_path, ("import",), site.public))
    plain, signed, wrong = (tmp_path / f"{n}.bundle" for n in ("plain", "signed", "wrong"))
    assert cli("bundle", "export", store, "-o", plain).returncode == 0
    assert cli("bundle", "export", store, "-o", signed, "--key", site.private).returncode == 0
    assert cli("bundle", "export", store, "-o", wrong, "--key", other.private).returncode == 0
    code, err = cli.json("bundle", "import", plain, "-o", tmp_path / "c1")
    assert code == 1 and err["check"] == "manifest:signature", err
    code, err = cli.json("bundle", "import", wrong, "-o", tmp_path / "c2")
    assert code == 1 and err["member"] == "manifest.sig", err
    code, ok = cli.json("bundle", "import", signed, "-o", tmp_path / "c3")
    assert code == 0, ok
    assert ok["manifest_signer"] == ok["arrival"]["signature"]["signer"]
    unsigned_store = _store_with(tmp_path / "u", sifs["unsigned"])
    bad = tmp_path / "unsigned.bundle"
    assert cli("bundle", "export", unsigned_store, "-o", bad, "--key", site.private).returncode == 0
    code, err = cli.json("bundle", "import", bad, "-o", tmp_path / "c4")
    assert code == 1 and err["signature"]["failed_check"] == "signature:missing", err
    assert not any((tmp_path / d).exists() for d in ("c1", "c2", "c4"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_an_import_cut_off_while_streaming_leaves_nothing(images, tmp_path, signum) -> None:
    """The bundle comes through a pipe on stdin (`-`) we feed: the import is signalled while
    it waits for the rest of the image, at a point known from its scratch file, never from
    a sleep.  (A FIFO named as BUNDLE is refused, see tests/cli/lock/test_special_inputs.py.)"""
    _, _, sifs = images
    from travel import Cli

    cli = Cli(dict(os.environ))
    store = _store_with(tmp_path, sifs["signed"])
    bundle = tmp_path / "app.bundle"
    assert cli("bundle", "export", store, "-o", bundle).returncode == 0
    data = bundle.read_bytes()
    out = tmp_path / "site-c"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scitex_container", "bundle", "import", "-", "-o", out],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdin is not None
    with proc.stdin as feed:
        feed.write(data[: len(data) // 2])
        feed.flush()
        deadline = time.monotonic() + 60
        while not list((out / "app" / ".scitex" / "tmp").glob("*/m*")):
            assert time.monotonic() < deadline and proc.poll() is None, "never started streaming"
            time.sleep(0.02)
        os.kill(proc.pid, signum)
        proc.wait(timeout=60)
    if signum != signal.SIGKILL:
        assert proc.returncode == 128 + signum
        assert not out.exists()
        return
    # SIGKILL cannot clean up: the next import into that store sweeps the scratch it left
    assert list((out / "app" / ".scitex" / "tmp").iterdir())
    code, ok = cli.json("bundle", "import", bundle, "-o", out)
    assert code == 0, ok
    assert (
        not list((out / "app" / ".scitex" / "tmp").glob("*"))
        if (out / "app" / ".scitex" / "tmp").exists()
        else True
    )
    assert len(list((out / "app").glob("app-v*.sif"))) == 1


def test_a_manifest_that_lies_about_itself_is_refused(images, cli, tmp_path) -> None:
    _, _, sifs = images
    store = _store_with(tmp_path, sifs["signed"])
    bundle = tmp_path / "ok.bundle"
    assert cli("bundle", "export", store, "-o", bundle).returncode == 0
    members = _members(bundle)
    manifest = json.loads(members["manifest.json"])
    manifest["members"][0]["name"] = "../../etc/passwd"
    members["manifest.json"] = json.dumps(manifest).encode()
    code, err = cli.json(
        "bundle", "import", _rewrite(bundle, tmp_path / "x", members), "-o", tmp_path / "c"
    )
    assert code == 1 and "not a bundle member name" in err["error"]
    assert not (tmp_path / "c").exists()


def test_a_bundle_goes_through_a_pipe_and_a_device_is_written_through_not_replaced(
    images, cli, tmp_path
) -> None:
    _, _, sifs = images
    store = _store_with(tmp_path, sifs["signed"])
    argv = [sys.executable, "-m", "scitex_container"]
    export = subprocess.Popen([*argv, "bundle", "export", store, "-o", "-"], stdout=subprocess.PIPE)
    done = subprocess.run(
        [*argv, "--json", "bundle", "import", "-", "-o", tmp_path / "piped"],
        stdin=export.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert export.wait(timeout=60) == 0
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["arrival"]["origin"]["bundle"] == "stdin"
    null = tmp_path / "null"
    char_device(null, NULL)  # our own /dev/null, never the real one
    assert cli("bundle", "export", store, "-o", null).returncode == 0
    assert os.stat(null).st_rdev == os.makedev(1, 3)  # still the device
    code, err = cli.json("bundle", "export", store, "-o", "-")
    assert code == 2 and "--json" in err["error"]


def _manifest_of(members: dict[str, bytes]) -> dict:
    return json.loads(members["manifest.json"])


def test_a_role_that_lies_about_its_member_is_refused(images, cli, tmp_path) -> None:
    """A lock listed as an "sbom" would otherwise dodge the rule for locks."""
    _, _, sifs = images
    store = _store_with(tmp_path, sifs["signed"], Lock(dpkg={"x": "1"}))
    bundle = tmp_path / "ok.bundle"
    assert cli("bundle", "export", store, "-o", bundle).returncode == 0
    members = _members(bundle)
    manifest = _manifest_of(members)
    for row in manifest["members"]:
        if row["name"] == "image.sif.lock":
            row["role"] = "sbom"
    members["manifest.json"] = json.dumps(manifest).encode()
    code, err = cli.json(
        "bundle", "import", _rewrite(bundle, tmp_path / "x", members), "-o", tmp_path / "c"
    )
    assert code == 1 and "the role of this member is lock" in err["error"]


def test_under_an_import_policy_an_unsigned_manifest_cannot_swap_in_another_signed_image(
    images, cli, tmp_path
) -> None:
    site, _, sifs = images
    store = _store_with(tmp_path, sifs["signed"])
    bundle = tmp_path / "signed.bundle"
    assert cli("bundle", "export", store, "-o", bundle, "--key", site.private).returncode == 0
    members = _members(bundle)
    del members["manifest.sig"]  # the signature dropped: nothing else changed
    stripped = _rewrite(bundle, tmp_path / "stripped.bundle", members)
    cli.env["SCITEX_CONTAINER_POLICY"] = str(policy_file(tmp_path, ("import",), site.public))
    code, err = cli.json("bundle", "import", stripped, "-o", tmp_path / "c")
    assert code == 1 and err["check"] == "manifest:signature"
    assert not (tmp_path / "c").exists()


def test_an_artifact_the_lock_does_not_name_or_that_would_replace_an_archive_entry_is_refused(
    images, cli, tmp_path
) -> None:
    _, _, sifs = images
    make_deb(tmp_path / "saved", "scitex-travel-c", "1.0")
    make_deb(tmp_path / "evil", "scitex-travel-c", "1.0", priority="extra")  # other bytes
    lock_path = write_lock(Lock(dpkg={"scitex-travel-c": "1.0"}), tmp_path / "c.lock")
    good_archive = tmp_path / "arc-good"
    archive_lock(lock_path, good_archive, saved_dirs=(tmp_path / "saved",))
    evil_lock = write_lock(Lock(dpkg={"scitex-travel-c": "1.0"}), tmp_path / "evil.lock")
    evil_archive = tmp_path / "arc-evil"
    archive_lock(evil_lock, evil_archive, saved_dirs=(tmp_path / "evil",))
    from scitex_container.apptainer.lock.lockfile import read_lock

    store = _store_with(tmp_path / "e", sifs["signed"], read_lock(evil_lock))
    bundle = tmp_path / "evil.bundle"
    assert cli("bundle", "export", store, "-o", bundle, "--archive", evil_archive).returncode == 0
    before = (good_archive / "index.json").read_bytes()
    code, err = cli.json(
        "bundle", "import", bundle, "-o", tmp_path / "site", "--archive", good_archive
    )
    assert code == 1 and err["check"] == "artifact" and "maps" in err["error"], err
    assert (good_archive / "index.json").read_bytes() == before
    assert not (tmp_path / "site").exists()
    # an artifact entry the lock does not name: refused too
    members = _members(bundle)
    manifest = _manifest_of(members)
    for row in manifest["members"]:
        if row["role"] == "artifact":
            row["entries"] = {"dpkg:hello=2.10-3": next(iter(row["entries"].values()))}
    members["manifest.json"] = json.dumps(manifest).encode()
    code, err = cli.json(
        "bundle", "import", _rewrite(bundle, tmp_path / "x", members), "-o", tmp_path / "s2"
    )
    assert code == 1 and "not an artifact the lock names" in err["error"], err


@pytest.mark.parametrize("how", ["truncated", "header", "trailing"])
def test_a_truncated_bundle_a_changed_header_or_trailing_bytes_are_refused(
    images, cli, tmp_path, how
) -> None:
    _, _, sifs = images
    store = _store_with(tmp_path, sifs["signed"])
    bundle = tmp_path / "ok.bundle"
    assert cli("bundle", "export", store, "-o", bundle).returncode == 0
    data = bundle.read_bytes()
    altered = tmp_path / "altered.bundle"
    if how == "truncated":
        altered.write_bytes(data[: len(data) // 2])
    elif how == "trailing":
        altered.write_bytes(data + b"\0" * 512 + b"x" * 4096)
    else:
        with tarfile.open(bundle) as src, tarfile.open(altered, "w") as dst:
            for info in src.getmembers():
                fh = src.extractfile(info)
                if info.name == "image.sif":
                    info.mode = 0o6777
                dst.addfile(info, fh)
    code, err = cli.json("bundle", "import", altered, "-o", tmp_path / "c")
    assert code == 1, err
    assert {"truncated": "tar", "header": "header", "trailing": "trailing"}[how] == err["check"]
    assert len(err["error"].splitlines()) == 1
    assert not (tmp_path / "c").exists()
