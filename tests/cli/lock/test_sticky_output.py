"""A dry run predicts a sticky directory's refusal (issue 21, left).

In a sticky directory (mode 1777, like /tmp) only a file's owner, the
directory's owner or root may replace it.  `lock pin -o` onto another user's
file there: the dry run said "would write" (exit 1) while the real run
refused (exit 2).  Now both print the same one line, exit 2, and neither
touches the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from otheruser import OTHER, another_user
from storekit import REPO
from uservenv import user_python

LOCK = "# scitex-container lock\n[pip]\nalpha==1.0\n[dpkg]\nfake=1.0\n[node]\n"
DEF = "Bootstrap: scratch\n\n%post\n    pip install alpha\n"


@pytest.fixture()
def sticky_dir():
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-sticky-", dir="/tmp"))
    os.chmod(top, 0o755)
    (top / "x.def").write_text(DEF)
    (top / "x.lock").write_text(LOCK)
    (top / "shared").mkdir()
    os.chmod(top / "shared", 0o1777)
    yield top
    shutil.rmtree(top)


def test_the_dry_run_refuses_as_the_real_run_does_in_a_sticky_dir(sticky_dir: Path) -> None:
    out = sticky_dir / "shared" / "x.locked.def"
    args = ("lock", "pin", str(sticky_dir / "x.def"), str(sticky_dir / "x.lock"), "-o", str(out))
    made = subprocess.run([sys.executable, "-m", "scitex_container", *args], capture_output=True)
    assert made.returncode == 0 and out.stat().st_uid == 0, made.stderr  # root's own, generated
    (sticky_dir / "x.lock").write_text(LOCK.replace("alpha==1.0", "alpha==2.0"))  # would change
    before = out.read_bytes()
    python = user_python(REPO)
    said = {}
    for mode in ("--dry-run", None):
        argv = [str(python), "-m", "scitex_container", *([mode] if mode else []), *args]
        done = subprocess.run(
            ["runuser", "-u", OTHER, "--", *argv], capture_output=True, text=True, cwd="/"
        )
        assert done.returncode == 2, (mode, done.stdout, done.stderr)
        assert "would write" not in done.stdout
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        said[mode] = lines[0]
    assert said["--dry-run"] == said[None], said
    assert said[None] == (
        f"error: {out}: permission denied (owner root, mode 0644;"
        f" {out.parent} is sticky: only the file's owner may replace it)"
    )
    assert out.read_bytes() == before and out.stat().st_uid == 0
    assert sorted(os.listdir(out.parent)) == [out.name]  # no temporary left beside it
