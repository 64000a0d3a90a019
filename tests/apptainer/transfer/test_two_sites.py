"""An image travels between three "sites" and is rebuilt at the last one offline.

Site A builds (the cached archive round-trip image: Debian base + hello + a
local wheel), signs it, captures and archives its lock, and pushes it.
Site B pulls it under a policy that requires the site key, then exports a
bundle with the archive (manifest signed).  Site C, with the network cut
off (a namespace with only loopback), imports the bundle under a policy
that gates import, takes the def from the image itself (`apptainer
inspect --deffile`), pins it against the imported archive and rebuilds it
offline: the rebuilt image's lock equals the travelling lock.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from lockimages import archive_rough
from travel import policy_file, repo

from scitex_container.apptainer.lock.archive import archive_lock
from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import read_lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.apptainer.lock.provenance import embed_lock
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.sign import sign_artifact
from scitex_container.process import runner

pytestmark = [
    pytest.mark.slow,
    pytest.mark.apptainer,
    pytest.mark.registry,
    pytest.mark.skipif(os.geteuid() != 0, reason="unshare --net needs root"),
]


def test_build_push_pull_bundle_import_offline_and_rebuild_with_the_lock_reproduced(
    cli, tmp_path
) -> None:
    _, rough_sif = archive_rough()
    key = new_keypair(tmp_path / "keys")
    # -- site A: a signed version with its lock archived ------------------------------
    store_a = tmp_path / "a" / "app"
    store_a.mkdir(parents=True)
    version = store_a / "app-v20261201T000000Z.sif"
    shutil.copy(rough_sif, version)
    lock_path = Path(f"{version}.lock")
    embed_lock(version, capture_lock(version, lock_path, captured_at=""))  # as `build` does
    sign_artifact(version, key.private)
    (store_a / "app.sif").symlink_to(version.name)
    archive_a = tmp_path / "a" / "archive"
    archive_lock(lock_path, archive_a, image=version)
    assert read_lock(lock_path).artifacts  # the lock names its artifacts now
    ref = repo("sites") + ":v1"
    code, pushed = cli.json("push", store_a, ref)
    assert code == 0, pushed
    assert pushed["proof"] == ["lock", "statement"]
    # -- site B: pull under a policy that requires the site key ------------------------
    cli.env["SCITEX_CONTAINER_POLICY"] = str(
        policy_file(tmp_path / "a", ("pull", "switch", "import"), key.public)
    )
    code, pulled = cli.json("pull", ref, "-o", tmp_path / "b", "--name", "app")
    assert code == 0, pulled
    assert [c["role"] for c in pulled["proof"]] == ["lock", "statement"]
    assert all(c["status"] == "matches-signed-image" for c in pulled["proof"])
    bundle = tmp_path / "b" / "app.bundle"
    code, exported = cli.json(
        "bundle",
        "export",
        tmp_path / "b" / "app",
        "-o",
        bundle,
        "--archive",
        archive_a,
        "--key",
        key.private,
    )
    assert code == 0, exported
    assert exported["artifact_count"] == len(read_lock(lock_path).artifacts)
    # -- site C: no network; import, then rebuild from the archive ---------------------
    archive_c = tmp_path / "c" / "archive"
    ours = [sys.executable, "-m", "scitex_container", "--json"]
    with runner.offline():  # unshare --net: only loopback (the registry is out of reach too)
        imported = runner.run(
            [*ours, "bundle", "import", bundle, "-o", tmp_path / "c", "--archive", archive_c],
            env=cli.env,
            check=False,
            timeout=600,
        )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    arrived = tmp_path / "c" / "app" / "app.sif"
    deffile = runner.run(["apptainer", "inspect", "--deffile", arrived], readonly=True).stdout
    rough_def = tmp_path / "c" / "app.def"
    rough_def.write_text(deffile)
    travelled = Path(f"{os.path.realpath(arrived)}.lock")
    locked = generate_locked_def(
        rough_def, travelled, tmp_path / "c" / "app.locked.def", archive=archive_c
    )
    rebuilt = tmp_path / "c" / "rebuilt.sif"
    with runner.offline():
        runner.run(
            ["apptainer", "build", "--fakeroot", rebuilt, locked], timeout=900, cwd=tmp_path / "c"
        )
    diff = compare_locks(read_lock(travelled), capture_lock(rebuilt, None, captured_at=""))
    assert diff.identical, diff.summary()
