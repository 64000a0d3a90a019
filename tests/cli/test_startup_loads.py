"""What a command loads before it starts its first tool, against a budget.

The early ``verify --key`` start is gone (issue 19): start-up stays cheap for
every command by loading lazily instead.  A driver replaces the one spawn
path (``procgroup.spawn``) with a recorder that lists ``sys.modules`` at the
first process a command starts and exits; the test holds each command to a
budget of our own modules and to a list of heavy libraries it must not have
loaded by then.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from images import busybox_signed_by_new_key

_DRIVER = """\
import json, os, sys
from scitex_container.process import procgroup
def first(argv, **kw):
    sys.stdout.write(json.dumps({"argv": list(map(str, argv)), "modules": sorted(sys.modules)}))
    sys.stdout.flush()
    os._exit(0)
procgroup.spawn = first
sys.argv = ["scitex-container", *sys.argv[1:]]
from scitex_container.cli.entry import main
main()
"""

#: Libraries no command needs before its first tool runs (each costs 10-100 ms to import).
HEAVY = {"cryptography", "cyclonedx", "jsonschema", "yaml", "rich", "packaging", "filelock"}


def _loaded_at_first_tool(*args: str) -> tuple[list[str], set[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, *args], capture_output=True, text=True, timeout=120
    )
    assert done.stdout, f"no tool started: {done.stderr}"
    record = json.loads(done.stdout)
    own = {m for m in record["modules"] if m.split(".")[0] == "scitex_container"}
    third = {m.split(".")[0] for m in record["modules"]}
    return record["argv"], own, third


@pytest.mark.apptainer
def test_info_loads_little_before_asking_apptainer() -> None:
    argv, own, third = _loaded_at_first_tool("info")
    assert argv[1:] == ["--version"]
    assert len(own) <= 28, sorted(own)
    assert not third & HEAVY, sorted(third & HEAVY)


@pytest.mark.apptainer
def test_verify_with_a_key_loads_no_crypto_before_apptainer_verify(tmp_path: Path) -> None:
    image, pair = busybox_signed_by_new_key(tmp_path)
    argv, own, third = _loaded_at_first_tool("verify", str(image), "--key", str(pair.public))
    assert argv[1:3] == ["verify", "--key"]
    # apptainer is started from a thread while the main thread goes on importing what the
    # lock checks need (the two overlap on purpose): what those load may or may not be in
    # by the moment of the spawn, so the budget has room for them; the key is read
    # without cryptography, which must never be loaded first.
    assert len(own) <= 45, sorted(own)
    assert not third & (HEAVY - {"packaging"}), sorted(third & HEAVY)
