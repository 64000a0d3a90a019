"""Python environments in layered and differently-shaped images (real images, cached by content).

An image FROM a venv image: its own lock's locked def builds and rebuilds
the same environments (each pinned with its own interpreter, by absolute
path).  A venv outside ``/opt/<name>/`` and an environment that a sourced
``%environment`` file puts on ``PATH`` are captured, the same by both captures.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import venvimages
from images import cached_build

from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import write_lock
from scitex_container.apptainer.lock.pin import generate_locked_def
from scitex_container.apptainer.lock.pyenvs import runtime_path
from scitex_container.errors import BadInputError, TreeUnreadable


@pytest.fixture(scope="module")
def venv_sif(debian_sif: Path) -> Path:
    return venvimages.venv_sif()


def test_the_locked_def_of_an_image_on_a_venv_image_rebuilds_it(venv_sif, tmp_path):
    rough_text = venvimages.layered_def_text(venv_sif)
    layered = cached_build("venv-layered", rough_text)
    lock = capture_lock(layered, None, method="static", captured_at="", with_digest=False)
    name, version = venvimages.LAYER_SYSTEM_ONLY
    assert lock.pip_environment == "/opt/venv"
    assert lock.pip_envs["/usr"][name] == version  # the system's
    assert lock.pip[name] == venvimages.VENV_ONLY[1]  # the venv's, untouched
    rough = tmp_path / "rough.def"
    rough.write_text(rough_text)
    locked = generate_locked_def(rough, write_lock(lock, tmp_path / "l.lock"), tmp_path / "x.def")
    text = Path(locked).read_text()
    system_part = text[text.index("# --- pip (/usr)") :]
    assert "/usr/bin/python3 -m pip" in system_part
    assert "'pip3'" not in system_part and " pip3 " not in system_part
    out = tmp_path / "locked.sif"
    done = subprocess.run(
        ["apptainer", "build", "--fakeroot", str(out), str(locked)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rebuilt = capture_lock(out, None, method="static", captured_at="", with_digest=False)
    diff = compare_locks(lock, rebuilt)
    assert diff.identical, diff.detail()  # the venv kept its own version


def _both(image: Path) -> dict:
    return {
        m: capture_lock(image, None, method=m, captured_at="", with_digest=False)
        for m in ("static", "exec")
    }


def test_a_top_level_venv_and_a_conda_env_are_environments(venv_sif):
    locks = _both(venvimages.more_envs_sif())
    for method, lock in locks.items():
        assert lock.pip_environment == "/venv", method  # first on PATH, outside /opt/<name>
        assert lock.pip[venvimages.PROBE] == venvimages.TOP_PROBE, method
        envs = lock.pip_envs
        assert envs[venvimages.CONDA_ENV][venvimages.PROBE] == venvimages.CONDA_PROBE, method
        assert envs["/opt/venv"][venvimages.PROBE] == venvimages.VENV_PROBE, method
        assert "/usr" in envs and "pip" in envs["/usr"], method  # the system's own freeze
    static, execd = locks["static"], locks["exec"]
    assert compare_locks(static, execd).identical
    assert static.pip_envs == execd.pip_envs


def test_a_sourced_environment_file_is_never_guessed(venv_sif):
    image = venvimages.sourced_env_sif()
    with pytest.raises(BadInputError, match="cannot be read without launching it"):
        capture_lock(image, None, method="static", captured_at="", with_digest=False)
    execd = capture_lock(image, None, method="exec", captured_at="", with_digest=False)
    auto = capture_lock(image, None, method="auto", captured_at="", with_digest=False)
    assert execd.pip_environment == auto.pip_environment == venvimages.CONDA_ENV
    assert execd.pip[venvimages.PROBE] == venvimages.CONDA_PROBE
    assert compare_locks(execd, auto).identical


@pytest.mark.parametrize(
    "text",
    [
        ". /opt/app/env.sh",
        "source /opt/app/env.sh",
        ". /opt/conda/etc/profile.d/conda.sh; conda activate py",
        'eval "$(/opt/conda/bin/conda shell.posix activate py)"',
        "addpath() { PATH=$1:$PATH; }\naddpath /opt/x/bin",
        "function addpath {\n PATH=/x:$PATH\n}",
    ],
)
def test_what_may_change_path_unseen_is_read_by_exec(text):
    with pytest.raises(TreeUnreadable):
        runtime_path({".singularity.d/env/90-environment.sh": text + "\n"})
    assert runtime_path({"90-environment.sh": "export PATH=/venv/bin:$PATH\n"})[0] == "/venv/bin"
