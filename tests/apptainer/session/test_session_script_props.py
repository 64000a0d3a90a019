"""The instance start script under arbitrary input, and its branches with a stand-in.

For arbitrary values in every field the builder either refuses them (naming
the field) or produces a script that passes ``bash -n``, carries no user value
in a comment and no ``#SBATCH`` line.  A sample of those scripts is run with a
stand-in ``apptainer`` that only records its argv: the recorded calls must be
exactly the intended ones, with every value intact, and no injected payload
may create a file.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from session_strategies import (
    DEV_REPOS,
    HOST_MOUNTS,
    IMAGE,
    INSTANCE,
    NORMAL_EXAMPLES,
    PATH_SPEC,
    PWNED,
    RUN_EXAMPLES,
    SLOW_EXAMPLES,
    SLUG,
    TEXLIVE,
    USERNAME,
    arguments,
    install_stand_in,
    payload,
    profile,
    read_calls,
    realize,
    realize_mounts,
    realize_repos,
)
from signals import default_signals

from scitex_container.apptainer import build_instance_start_script
from scitex_container.apptainer.session.argv import plan_session
from scitex_container.errors import BadInputError

BIN = Path(tempfile.mkdtemp(prefix="scitex-stand-in-"))
atexit.register(shutil.rmtree, BIN, True)
install_stand_in(BIN)
JOB = "4242"

FIELDS = dict(
    image=IMAGE,
    user=USERNAME,
    home=PATH_SPEC,
    project=PATH_SPEC,
    slug=SLUG,
    name=INSTANCE,
    repos=DEV_REPOS,
    mounts=HOST_MOUNTS,
    texlive=TEXLIVE,
    cmd=(st.just("apptainer"), st.one_of(st.text(max_size=20), payload)),
)


def _build(kw: dict) -> tuple[str, dict] | None:
    args = dict(
        container_path=realize(kw["image"]),
        username=kw["user"],
        host_user_dir=realize(kw["home"]),
        host_project_dir=realize(kw["project"]),
        project_slug=kw["slug"],
        dev_repos=realize_repos(kw["repos"]),
        host_mounts=realize_mounts(kw["mounts"]),
        texlive_prefix=kw["texlive"],
        container_cmd=kw["cmd"],
    )
    try:
        script = build_instance_start_script(instance_name=kw["name"], **args)
    except BadInputError as exc:
        event(f"refused: {(exc.where or '').split('[')[0].split('.')[0]}")
        assert exc.where
        return None
    event("accepted")
    return script, args


_REFERENCE_COMMENTS: list[str] = []


def _comments(script: str) -> list[str]:
    return [ln for ln in script.splitlines() if ln.lstrip().startswith("#")]


def _static_check(script: str) -> None:
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if not _REFERENCE_COMMENTS:
        with tempfile.TemporaryDirectory() as home:
            _REFERENCE_COMMENTS.extend(
                _comments(
                    build_instance_start_script(
                        "/i.sif", "u", home, home, "p", "n", container_cmd="apptainer"
                    )
                )
            )
    # No user value in a comment: the comment lines are the template's, exactly.
    assert _comments(script) == _REFERENCE_COMMENTS
    assert not any(ln.startswith("#SBATCH") for ln in script.splitlines())


def script_static_property(kw: dict) -> None:
    built = _build(kw)
    if built:
        _static_check(built[0])


@profile(NORMAL_EXAMPLES)
@given(kw=arguments(**FIELDS))
def test_script_static_property(kw) -> None:
    script_static_property(kw)


@pytest.mark.slow
@profile(SLOW_EXAMPLES)
@given(kw=arguments(**FIELDS))
def test_script_static_property_slow(kw) -> None:
    script_static_property(kw)


def run_script(script: str, workdir: Path, *, env: dict | None = None, timeout: float = 30):
    path = workdir / "start.sh"
    path.write_text(script)
    full_env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(workdir),
        "SLURM_JOB_ID": JOB,
        "FAKE_APPTAINER_LOG": str(workdir / "calls"),
        **(env or {}),
    }
    return subprocess.run(
        ["bash", str(path)],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def script_run_property(kw: dict) -> None:
    kw = {**kw, "cmd": "apptainer"}
    built = _build(kw)
    assume(built is not None)  # 200 runs of accepted input
    script, args = built
    if "touch" in script:
        event("a payload was accepted (quoted)")
    _static_check(script)
    plan = plan_session(**args)
    name = kw["name"]  # the given name, as the seed (unique_per_job is the caller's choice)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        done = run_script(script, work)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines() == [
            f"INSTANCE_NAME={name}",
            "INSTANCE_READY",
            "INSTANCE_STOPPED",
            "INSTANCE_ENDED",  # confirmed not listed after the stop
        ]
        assert read_calls(work / "calls") == [
            ["instance", "start", *plan.flags, plan.image, name],
            ["instance", "list", "--json", name],
            ["instance", "list", "--json", name],
            ["instance", "stop", "--timeout", "3", name],
            ["instance", "list", "--json", name],
        ]
        assert sorted(os.listdir(work)) == ["calls", "calls.n", "start.sh"]
    assert not PWNED.exists(), "an injected payload ran"


@profile(RUN_EXAMPLES)
@given(kw=arguments(**FIELDS))
def test_script_run_property(kw) -> None:
    script_run_property(kw)


@pytest.mark.slow
@profile(RUN_EXAMPLES * 3)
@given(kw=arguments(**FIELDS))
def test_script_run_property_slow(kw) -> None:
    script_run_property(kw)


# ----------------------------------------------------------------- the branches


@pytest.fixture
def script(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    return build_instance_start_script(
        "/img/x.sif",
        "alice",
        str(tmp_path / "home"),
        str(tmp_path / "home"),
        "proj",
        "sx",
        container_cmd="apptainer",
        poll_seconds=3600,
    )


def test_failed_start_prints_failed_exits_nonzero_and_cleans_up(
    script: str, tmp_path: Path
) -> None:
    done = run_script(script, tmp_path, env={"FAKE_START_RC": "3"})
    assert done.returncode == 1
    # the fake still lists the instance after the stop: no end marker
    assert done.stdout.splitlines() == ["INSTANCE_FAILED: instance start failed"]
    calls = read_calls(tmp_path / "calls")
    assert [c[:2] for c in calls] == [
        ["instance", "start"],
        ["instance", "stop"],
        ["instance", "list"],
    ]


def test_instance_not_listed_after_start_is_a_failure(script: str, tmp_path: Path) -> None:
    done = run_script(script, tmp_path, env={"FAKE_LISTED": "0"})
    assert done.returncode == 1
    assert done.stdout.splitlines()[-2].startswith("INSTANCE_FAILED")
    assert done.stdout.splitlines()[-1] == "INSTANCE_ENDED"
    calls = read_calls(tmp_path / "calls")
    assert calls[-2] == ["instance", "stop", "--timeout", "3", "sx"]
    assert calls[-1] == ["instance", "list", "--json", "sx"]


def test_unique_per_job_names_the_instance_after_the_job(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    args = ("/img/x.sif", "alice", str(tmp_path / "home"), str(tmp_path / "home"), "proj")
    unique = build_instance_start_script(
        *args, "sx", container_cmd="apptainer", poll_seconds=1, unique_per_job=True
    )
    done = run_script(unique, tmp_path)
    assert done.stdout.splitlines()[0] == f"INSTANCE_NAME=sx-{JOB}"
    assert read_calls(tmp_path / "calls")[0][-1] == f"sx-{JOB}"
    # a name already ending in the job id is kept as it is
    kept = build_instance_start_script(
        *args, f"sx-{JOB}", container_cmd="apptainer", poll_seconds=1, unique_per_job=True
    )
    (tmp_path / "calls").unlink()
    run_script(kept, tmp_path)
    assert read_calls(tmp_path / "calls")[0][-1] == f"sx-{JOB}"


def test_non_numeric_job_id_fails_before_starting(script: str, tmp_path: Path) -> None:
    done = run_script(script, tmp_path, env={"SLURM_JOB_ID": "1;touch x"})
    assert done.returncode == 2 and done.stdout.startswith("INSTANCE_FAILED")
    assert read_calls(tmp_path / "calls") == [] and not (tmp_path / "x").exists()


def _started(script: str, tmp_path: Path, **fake: str) -> subprocess.Popen:
    """The start script run under the fake apptainer (``fake``: its FAKE_* knobs), read
    until it said the instance is ready."""
    path = tmp_path / "start.sh"
    path.write_text(script)
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "SLURM_JOB_ID": JOB,
        **fake,
        "FAKE_APPTAINER_LOG": str(tmp_path / "calls"),
    }
    proc = subprocess.Popen(
        ["bash", str(path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # the suite may run under `nohup ... &`
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip(), proc.stdout.readline().strip()]
    assert lines == ["INSTANCE_NAME=sx", "INSTANCE_READY"]
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_stops_the_instance_without_waiting_for_the_sleep(
    script: str, tmp_path: Path, sig
) -> None:
    """scancel sends SIGTERM to the batch script; the trap runs at once (sleep & wait)."""
    proc = _started(script, tmp_path, FAKE_LISTED="1000000")
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)  # the poll is 3600 s: only the trap can end it
    assert proc.returncode == 143
    assert out.strip() == "INSTANCE_STOPPED: the job ended or was cancelled"  # still listed
    calls = read_calls(tmp_path / "calls")
    assert calls[-2] == ["instance", "stop", "--timeout", "3", "sx"]
    assert calls[-1] == ["instance", "list", "--json", "sx"]
    assert sum(c[:2] == ["instance", "stop"] for c in calls) == 1


@pytest.mark.parametrize("cancel_first", [False, True])
def test_a_term_while_the_instance_stops_still_prints_the_end_marker(
    script: str, tmp_path: Path, cancel_first: bool
) -> None:
    """scancel's TERM reaches the script again during its cleanup (the EXIT trap after
    the instance was stopped from outside, or the TERM trap): the marker still comes."""
    # listed at the start only: every path may end the instance
    proc = _started(script, tmp_path, FAKE_LISTED="1", FAKE_STOP_TERM="1")
    if cancel_first:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert out.splitlines()[-1] == "INSTANCE_ENDED", out
    # the test's TERM may come before the poll saw the instance gone (143) or after (0)
    assert proc.returncode in ((0, 143) if cancel_first else (0,)), out


def test_exact_name_detection_ignores_longer_names(tmp_path: Path) -> None:
    """A listed ``sx-4242x`` is not ``sx-4242``: grep compares the whole JSON value."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apptainer").write_text(
        '#!/bin/bash\nif [ "$2" = list ]; then '
        'printf \'{"instances": [{"instance": "%s", "pid": 1}]}\\n\' '
        '"${!#}x"; fi\nexit 0\n'
    )
    (fake / "apptainer").chmod(0o755)
    (tmp_path / "h").mkdir()
    script = build_instance_start_script(
        "/i.sif",
        "u",
        str(tmp_path / "h"),
        str(tmp_path / "h"),
        "p",
        "sx",
        container_cmd="apptainer",
    )
    path = tmp_path / "s.sh"
    path.write_text(script)
    done = subprocess.run(
        ["bash", str(path)],
        env={"PATH": f"{fake}:/usr/bin:/bin", "SLURM_JOB_ID": JOB},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1 and "INSTANCE_FAILED" in done.stdout
