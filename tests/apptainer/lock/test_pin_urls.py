"""A seed lock's direct-URL pip line whose file the rough %post deleted still builds.

The rough def installs a wheel by path and deletes it; the seed's capture
records ``Name @ file:///...`` (the name as the wheel spells it).  The
locked def's pip stanza must see that entry as installed (same normalized
name, same version) and never try to fetch the vanished file.
"""

from __future__ import annotations

import subprocess

import seedlockgen
import venvimages
from images import cached_build

from scitex_container.apptainer.lock.lockfile import read_lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.apptainer.repro.stanzas import AWK_PIP_TODO


def test_a_url_pin_whose_file_is_gone_is_not_reinstalled(debian_sif, tmp_path):
    rough_text = venvimages.urlgone_def_text(debian_sif)
    rough_sif = cached_build("urlgone", rough_text)
    seed = seedlockgen.capture(rough_sif)
    url_keys = [k for k in seed.pip if " @ file://" in k]
    assert url_keys and url_keys[0].startswith(venvimages.URL_WHEEL[0])  # as the wheel spells it
    lock_path = seedlockgen.write(seed, tmp_path / "seed.lock")
    rough = tmp_path / "rough.def"
    rough.write_text(rough_text)
    locked = generate_locked_def(rough, lock_path, tmp_path / "locked.def")
    out = tmp_path / "locked.sif"
    done = subprocess.run(
        ["apptainer", "build", "--fakeroot", str(out), str(locked)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pip pins to install" not in done.stderr  # nothing was reinstalled
    assert read_lock(lock_path).pip[url_keys[0]] == ""


def test_the_todo_rules(tmp_path):
    """Which pins the stanza installs, given what pip freeze prints (real awk)."""
    (tmp_path / "todo.awk").write_text(AWK_PIP_TODO)
    (tmp_path / "freeze").write_text(
        "djangofake @ file:///opt/tmpw/DjangoFake-5.0-py3-none-any.whl\n"
        "scitex_demo_util==0.3.1\n"
        "bar @ https://h/bar-1.0.whl?sig==abc\n"
        "qux==2.0\n"
    )
    pins = [
        "DjangoFake @ file:///opt/tmpw/DjangoFake-5.0-py3-none-any.whl",  # same, other spelling
        "scitex-demo-util==0.3.1",  # same, normalized name
        "Bar @ https://h/bar-1.0-py3-none-any.whl",  # installed, version unknown: present
        "qux @ file:///w/qux-3.0-py3-none-any.whl",  # installed at another version
        "new==1.0",  # not installed
        "scitex-demo-util[x]==0.4",  # another version
    ]
    (tmp_path / "pins").write_text("\n".join(pins) + "\n")
    done = subprocess.run(
        ["awk", "-f", "todo.awk", "freeze", "pins"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == pins[3:]
