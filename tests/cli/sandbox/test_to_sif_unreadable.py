"""`sandbox to-sif` by a user who cannot read a file inside the sandbox (root's
0600 file): the error names that file (owner, mode), the sandbox and the output,
never our hidden ``.OUT.sif.*.building`` temporary nor apptainer's tar message."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from otheruser import another_user
from uservenv import user_python

pytestmark = pytest.mark.apptainer
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture()
def shared(busybox_sif: Path) -> Iterator[Path]:
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-tosif-", dir="/var/tmp"))
    os.chmod(top, 0o777)
    sandbox = top / "sb"
    subprocess.run(
        ["apptainer", "-s", "build", "--sandbox", sandbox, busybox_sif],
        check=True,
        capture_output=True,
    )
    for root, dirs, files in os.walk(sandbox):
        for name in dirs + files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444 | (0o111 if name in dirs else 0))
    (sandbox / "root-only").write_text("secret\n")
    os.chmod(sandbox / "root-only", 0o600)
    yield top
    shutil.rmtree(top)


def test_the_unreadable_file_inside_is_named(shared: Path) -> None:
    sandbox, out = shared / "sb", shared / "out.sif"
    as_user = ["runuser", "-u", "scitex-test", "--", str(user_python(REPO))]
    done = subprocess.run(
        [*as_user, "-m", "scitex_container", "sandbox", "to-sif", str(sandbox), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    [line] = done.stderr.splitlines()
    assert line == (
        f"error: {sandbox}: cannot read root-only inside it (owner root, mode 0600); "
        f"{out} was not written"
    ), line
    assert ".building" not in line and "tar" not in line
    assert not out.exists()
    assert not [p for p in shared.iterdir() if p.name.startswith(".")]
