"""Several Python environments in one image: [pip] is the runtime PATH's, nothing merged.

A real image (the shared Debian base + a venv at /opt/venv that %environment
puts first on PATH; the system Python and the venv hold one package at two
versions) is captured both ways and against the seed's own capture.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import seedlockgen
import venvimages

from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import Lock, parse_lock, read_lock, write_lock
from scitex_container.apptainer.lock.pin import render_locked_def
from scitex_container.apptainer.lock.pyenvs import environment_of, runtime_path
from scitex_container.errors import TreeUnreadable


@pytest.fixture(scope="module")
def venv_sif(debian_sif: Path) -> Path:
    return venvimages.venv_sif()


@pytest.fixture(scope="module")
def captured(venv_sif: Path) -> dict[str, Lock]:
    return {
        m: capture_lock(venv_sif, None, method=m, captured_at="", with_digest=False)
        for m in ("static", "exec")
    }


def test_pip_is_the_runtime_environment_and_the_system_is_kept(captured):
    lock = captured["static"]
    assert lock.pip_environment == "/opt/venv"
    # the venv's version, although the system has the same name at another
    assert lock.pip[venvimages.PROBE] == venvimages.VENV_PROBE
    assert venvimages.VENV_ONLY[0] in lock.pip
    system = lock.pip_envs["/usr"]  # installed there from a wheel path: a URL line
    (url_key,) = [k for k in system if k.startswith(venvimages.PROBE + " @ file://")]
    assert f"probe-{venvimages.SYSTEM_PROBE}-py3" in url_key
    assert venvimages.VENV_ONLY[0] not in system
    assert lock.pip_conflicts()[venvimages.PROBE] == {
        "/opt/venv": venvimages.VENV_PROBE,
        "/usr": "@ " + url_key.split(" @ ")[1],
    }
    assert f"pip@/usr:{url_key}" in lock.version_set()


def test_static_and_exec_captures_agree(captured):
    static, execd = captured["static"], captured["exec"]
    assert compare_locks(static, execd).identical
    assert static.pip_environment == execd.pip_environment
    assert {e: dict(m) for e, m in static.pip_envs.items()} == {
        e: dict(m) for e, m in execd.pip_envs.items()
    }
    assert static.provided_by == execd.provided_by


def test_no_drift_against_the_seeds_capture_of_the_same_image(venv_sif, captured, tmp_path):
    seed = seedlockgen.write(seedlockgen.capture(venv_sif), tmp_path / "seed.lock")
    seed_lock = read_lock(seed)
    assert seed_lock.pip[venvimages.PROBE] == venvimages.VENV_PROBE  # the venv's pip ran
    for lock in captured.values():
        diff = compare_locks(seed_lock, lock)
        assert diff.identical, diff.detail()
    # a real change inside the venv is seen, whatever the system holds
    changed = Lock(**{**captured["static"].__dict__})
    changed.pip = {**captured["static"].pip, venvimages.PROBE: venvimages.SYSTEM_PROBE}
    diff = compare_locks(seed_lock, changed)
    assert list(diff.changed) == [f"pip:{venvimages.PROBE}"]


def test_the_environments_round_trip_and_the_seed_reads_only_pip(captured, tmp_path):
    lock = captured["exec"]
    path = write_lock(lock, tmp_path / "x.lock")
    text = path.read_text()
    assert f"# pip-env: /usr {venvimages.PROBE} @ file:///opt/w/sys/" in text
    back = read_lock(path)
    assert compare_locks(lock, back).identical
    assert back.pip_conflicts() == lock.pip_conflicts()
    seed_view = seedlockgen.parse(text)
    assert seed_view.pip[venvimages.PROBE] == venvimages.VENV_PROBE


def test_each_environment_is_pinned_with_its_own_pip(venv_sif, captured, tmp_path):
    rough = tmp_path / "rough.def"
    rough.write_text(venvimages.venv_def_text(venv_sif))
    text = render_locked_def(rough, captured["static"], tmp_path / "locked.def")
    venv_part = text[text.index("# --- pip (/opt/venv)") : text.index("# --- pip (/usr)")]
    system_part = text[text.index("# --- pip (/usr)") :]
    assert "/opt/venv/bin/python3 -m pip" in venv_part
    assert f"{venvimages.PROBE}=={venvimages.VENV_PROBE}" in venv_part
    assert "/opt/*/bin/pip" not in venv_part + system_part  # never another environment's
    assert f"{venvimages.PROBE} @ file:///opt/w/sys/" in system_part
    assert "/opt/venv" not in system_part.split("SCITEX_PIP_PINS")[0]
    subprocess.run(["sh", "-n"], input=text.split("%post", 1)[1], text=True, check=True)


def test_runtime_path_rules():
    scripts = {
        ".singularity.d/env/90-environment.sh": "# c\n    export PATH=/opt/venv/bin:$PATH\n",
        ".singularity.d/env/99-runtimevars.sh": 'PATH="${SING_USER_DEFINED_PATH}"\n',
    }
    assert runtime_path(scripts)[:2] == ["/opt/venv/bin", "/usr/local/sbin"]
    with pytest.raises(TreeUnreadable):
        runtime_path({"90-environment.sh": "export PATH=$HOME/bin:$PATH\n"})
    with pytest.raises(TreeUnreadable):
        runtime_path({"90-environment.sh": "if [ -d /x ]; then\n export PATH=/x:$PATH\nfi\n"})
    assert environment_of("/opt/venv/bin/python3") == "/opt/venv"
    assert environment_of("usr/local/lib/python3.11/dist-packages") == "/usr"


def test_a_bad_pip_env_line_is_refused_naming_the_line():
    from scitex_container.errors import BadInputError

    with pytest.raises(BadInputError, match=r"<lock>:2"):
        parse_lock("# scitex-container lock\n# pip-env: relative x==1\n[pip]\n")


def _seed_exec(image: Path, *argv: str) -> list[str]:
    done = subprocess.run(
        ["apptainer", "exec", "--cleanenv", "--no-home", str(image), *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()


def test_verify_counts_what_the_seeds_verify_counted(venv_sif, tmp_path):
    """The seed's verify said "All N packages match" with N its own tools' line count."""
    from scitex_container.apptainer.lock.verify_image import verify

    pip = _seed_exec(venv_sif, "pip", "freeze")
    dpkg = _seed_exec(venv_sif, "dpkg-query", "-W", "-f=${Package}=${Version}\n")
    (tmp_path / "requirements-lock.txt").write_text("\n".join(pip) + "\n")
    (tmp_path / "dpkg-lock.txt").write_text("\n".join(dpkg) + "\n")
    out = verify(venv_sif, lock_dir=tmp_path)
    assert out["pip_lock"]["detail"] == f"All {len(set(pip))} packages match"
    assert out["dpkg_lock"]["detail"] == f"All {len(set(dpkg))} packages match"
