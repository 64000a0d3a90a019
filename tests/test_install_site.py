"""scripts/install-site.sh installs the tool once for every user (issue 21, item 8).

Run as root into a temporary prefix and bin directory; the installed
command is then run by the unprivileged test user, who can read neither
this checkout's venv nor root's home.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from otheruser import another_user
from storekit import REPO

pytestmark = pytest.mark.slow


def test_install_site_then_run_as_an_unprivileged_user() -> None:
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-site-", dir="/var/tmp"))
    try:
        os.chmod(top, 0o755)
        prefix, bindir = top / "opt" / "scitex-container", top / "bin"
        script = REPO / "scripts" / "install-site.sh"
        for _ in range(2):  # idempotent: the second run replaces the package in place
            done = subprocess.run(
                [str(script), str(prefix), str(bindir)], capture_output=True, text=True, timeout=900
            )
            assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("installed scitex-container, version ")
        command = bindir / "scitex-container"
        assert os.readlink(command) == str(prefix / "bin" / "scitex-container")
        for path in (prefix, prefix / "bin", prefix / "pyvenv.cfg"):
            st = path.lstat()
            assert st.st_uid == 0 and not st.st_mode & 0o022
        ran = subprocess.run(
            ["runuser", "-u", "scitex-test", "--", str(command), "--json", "info"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
        )
        assert ran.returncode == 0, ran.stderr
        assert "version" in json.loads(ran.stdout)
        refused = subprocess.run(
            ["runuser", "-u", "scitex-test", "--", str(script), str(top / "x")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2 and "run as root" in refused.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)
