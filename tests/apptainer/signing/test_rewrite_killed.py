"""A SIGKILL between a rewrite's metadata write and its rename (issue 21, integrity).

`sign` and `sbom --embed` record the new digest, then rename the new bytes
over the version.  The CLI is run in a child whose ``os.replace`` sends it
a real SIGKILL at the moment it would rename the copy over the version
(the metadata with the new digest already written): `verify` must accept
the version (the old bytes, the old record), never call it tampered, and a
later `sign` must succeed and verify.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import cli
from storekit import store_version

from scitex_container.apptainer.store import sidecars as layout
from scitex_container.files.fsutil import sha256_file

pytestmark = pytest.mark.apptainer

#: The CLI, killed by SIGKILL when it renames a copy over the file named in argv[1] for
#: the argv[2]-th time.
_KILLED_AT_RENAME = """
import os, signal, sys
target, nth = os.path.realpath(sys.argv[1]), int(sys.argv[2])
real_replace = os.replace
seen = []
def replace(src, dst, *a, **k):
    if os.path.realpath(dst) == target and os.path.basename(os.fspath(src)).startswith("."):
        seen.append(dst)
        if len(seen) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *a, **k)
os.replace = replace
from scitex_container.cli.main import main
main(sys.argv[3:])
"""


def _killed(target: Path, nth: int, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _KILLED_AT_RENAME, str(target), str(nth), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["sign", "sbom"])
def test_a_kill_between_the_metadata_and_the_rename_is_not_tampering(
    tmp_path: Path,
    key,
    command: str,
) -> None:
    image = store_version(tmp_path)
    before = sha256_file(image)
    meta_path = layout.sidecar(image, layout.META_SUFFIX)
    args = (
        ("sign", image, "--key", key.private) if command == "sign" else ("sbom", "--embed", image)
    )
    done = _killed(image, 1, *args)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert sha256_file(image) == before  # the rename never happened
    written = json.loads(meta_path.read_text())
    assert written["sha256"] != before  # the new digest was recorded: the window was hit
    out = cli("--json", "verify", image)
    report = json.loads(out.stdout)
    assert report["integrity"]["status"] == "pass" and out.returncode == 0, out.stdout
    assert report["integrity"]["recorded_sha256"] == before, report
    # the next rewrite starts from the settled record and completes
    again = cli("sign", image, "--key", key.private)
    assert again.returncode == 0, again.stderr
    out = cli("--json", "verify", image)
    assert out.returncode == 0 and json.loads(out.stdout)["integrity"]["status"] == "pass"
    final = json.loads(meta_path.read_text())
    assert "rewrite_pending" not in final and final["sha256"] == sha256_file(image)
    history = [h["sha256"] for h in final["digest_history"]]
    assert history == [before], history  # the killed attempt left no step in the history


def test_a_kill_after_the_rename_keeps_the_new_record(tmp_path: Path, key) -> None:
    """Killed once the rename is done, before the pending mark is dropped: the new bytes stand."""
    image = store_version(tmp_path)
    before = sha256_file(image)
    meta_path = layout.sidecar(image, layout.META_SUFFIX)
    done = _killed(meta_path, 2, "sign", image, "--key", key.private)  # 1st: the new record
    assert done.returncode == -signal.SIGKILL, done.stderr
    meta = json.loads(meta_path.read_text())
    assert "rewrite_pending" in meta and sha256_file(image) == meta["sha256"] != before
    out = cli("--json", "verify", image)
    integrity = json.loads(out.stdout)["integrity"]
    assert out.returncode == 0 and integrity["status"] == "pass", out.stdout
    assert integrity["recorded_sha256"] == sha256_file(image)
    os.truncate(image, os.path.getsize(image) - 1)  # other bytes: still tampering
    out = cli("--json", "verify", image)
    assert json.loads(out.stdout)["integrity"]["tampered"] is True, out.stdout
