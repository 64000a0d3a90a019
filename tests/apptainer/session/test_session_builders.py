"""The builders and validators on chosen cases: what goes in, what comes out, what is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scitex_container.apptainer import (
    build_dev_pythonpath,
    build_exec_args,
    build_instance_start_script,
    build_sbatch_command,
    build_shell_in_allocation_command,
    build_srun_command,
    job_instance_name,
)
from scitex_container.apptainer.session import validate as v
from scitex_container.errors import BadInputError
from scitex_container.host import get_mount_config
from scitex_container.host.mounts import build_host_mount_binds


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name in ("home", "proj", "dev", "data", "overlay"):
        (tmp_path / name).mkdir()
        out[name] = str(tmp_path / name)
    img = tmp_path / "over.img"
    img.write_bytes(b"")
    out["img"] = str(img)
    return out


def _exec(dirs, image="/images/app.sif", **kw) -> list[str]:
    return build_exec_args(
        image, "alice", dirs["home"], dirs["proj"], "demo", container_cmd="apptainer", **kw
    )


def test_sif_gets_containall_and_a_tmpfs(dirs) -> None:
    argv = _exec(dirs)
    assert argv[:5] == ["apptainer", "exec", "--containall", "--cleanenv", "--writable-tmpfs"]
    assert argv[-3:] == ["--pwd", "/home/alice/proj/demo", "/images/app.sif"]
    assert f"{dirs['home']}:/home/alice" in argv
    assert f"{dirs['proj']}:/home/alice/proj/demo:rw" in argv
    assert "SCITEX_PROJECT=demo" in argv and "USER=alice" in argv
    assert not any(a.startswith("PYTHONPATH=") for a in argv)


def test_sandbox_is_contained_without_containall(dirs) -> None:
    argv = _exec(dirs, image="/images/app-sandbox")
    assert "--containall" not in argv
    assert argv[2:5] == ["--contain", "--cleanenv", "--writable-tmpfs"]


def test_overlay_image_replaces_the_tmpfs(dirs) -> None:
    argv = _exec(dirs, overlay=dirs["img"])
    assert "--writable-tmpfs" not in argv
    assert argv[argv.index("--overlay") + 1] == dirs["img"]
    # a builder is pure: the overlay may live on the node that runs the command
    argv = _exec(dirs, overlay="/no/such/overlay.img")
    assert argv[argv.index("--overlay") + 1] == "/no/such/overlay.img"


def test_dev_repos_are_read_only_with_pythonpath(dirs) -> None:
    repos = [
        {"name": "alpha", "host_path": dirs["dev"]},
        {"name": "beta.x", "host_path": dirs["data"]},
    ]
    argv = _exec(dirs, dev_repos=repos)
    assert f"{dirs['dev']}:/opt/dev/alpha:ro" in argv
    assert f"{dirs['data']}:/opt/dev/beta.x:ro" in argv
    assert "PYTHONPATH=/opt/dev/alpha/src:/opt/dev/beta.x/src" in argv
    assert build_dev_pythonpath(repos) == "/opt/dev/alpha/src:/opt/dev/beta.x/src"
    assert build_dev_pythonpath([]) == ""


def test_host_mounts_and_texlive(dirs, tmp_path: Path) -> None:
    prefix = tmp_path / "tex"
    (prefix / "share" / "texlive").mkdir(parents=True)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "pdflatex").write_text("#!/bin/sh\necho tex\n")
    (prefix / "bin" / "pdflatex").chmod(0o755)
    argv = _exec(
        dirs,
        host_mounts=[{"host_path": dirs["data"], "container_path": "/data", "mode": "rw"}],
        texlive_prefix=str(prefix),
    )
    assert f"{dirs['data']}:/data:rw" in argv
    assert f"{prefix}/share/texlive:{prefix}/share/texlive:ro" in argv
    # programs are checked and bound where the command runs (session start)
    assert not any("pdflatex" in a for a in argv)
    # A prefix outside the default PATH puts its bin/ first on the container's PATH.
    assert f"PREPEND_PATH={prefix}/bin" in argv
    assert not any(a.startswith("PREPEND_PATH=") for a in _exec(dirs, texlive_prefix="/usr"))


def test_a_texlive_prefix_only_on_the_nodes_gives_binds_from_the_string(dirs) -> None:
    """The builders never read this host's disk for the prefix (it may exist only on nodes)."""
    prefix = "/nodes-only/texlive/2024"
    assert not os.path.exists(prefix)
    for argv in (
        _exec(dirs, texlive_prefix=prefix),
        build_host_mount_binds([], prefix),
        get_mount_config(prefix, "")["bind_args"],
    ):
        assert f"{prefix}/share/texlive:{prefix}/share/texlive:ro" in argv
    assert f"PREPEND_PATH={prefix}/bin" in _exec(dirs, texlive_prefix=prefix)
    config = get_mount_config(prefix, "")
    assert config["env"] == {"PREPEND_PATH": f"{prefix}/bin"}
    assert f"{prefix}/bin/pdflatex" in {d["binary"] for d in config["deferred"]}
    # where the command runs, it is refused like a missing mount
    for raw, where in (("", "texlive_prefix"), ("/nonexistent:/data", "host_mounts_raw[0].host")):
        with pytest.raises(BadInputError) as err:
            get_mount_config(prefix if not raw else "", raw, resolve=True)
        assert err.value.where == where and "does not exist" in str(err.value)


def test_container_command_comes_from_detection(dirs, monkeypatch, tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "singularity"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SCITEX_CONTAINER_CMD", str(fake))
    argv = build_exec_args("/i.sif", "alice", dirs["home"], dirs["proj"], "demo")
    assert argv[0] == str(fake)
    assert build_shell_in_allocation_command("7", "inst")[4] == str(fake)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "al:ice"}, "username"),
        ({"username": "-alice"}, "username"),
        ({"username": "al,ice"}, "username"),
        ({"username": "al\nice"}, "username"),
        ({"username": "alice\n"}, "username"),  # `$` in a regex would accept this
        ({"project_slug": "-demo"}, "project_slug"),
        ({"project_slug": "de,mo"}, "project_slug"),
        ({"container_path": "relative.sif"}, "container_path"),
        ({"container_path": "/a:b.sif"}, "container_path"),
        ({"container_path": "/a\nb.sif"}, "container_path"),
        ({"host_project_dir": "relative"}, "host_project_dir"),
        ({"dev_repos": [{"name": "../x", "host_path": "/tmp"}]}, "dev_repos[0].name"),
        ({"dev_repos": "x"}, "dev_repos"),
        (
            {"host_mounts": [{"host_path": "/tmp", "container_path": "/d", "mode": "rwx"}]},
            "host_mounts[0].mode",
        ),
        (
            {"host_mounts": [{"host_path": "/tmp", "container_path": "d"}]},
            "host_mounts[0].container",
        ),
        ({"texlive_prefix": "usr"}, "texlive_prefix"),
    ],
)
def test_invalid_input_is_refused_naming_the_field(dirs, kwargs, field) -> None:
    args = dict(
        container_path="/i.sif",
        username="alice",
        host_user_dir=dirs["home"],
        host_project_dir=dirs["proj"],
        project_slug="demo",
        container_cmd="apptainer",
    )
    args.update(kwargs)
    with pytest.raises(BadInputError) as err:
        build_exec_args(**args)
    assert err.value.where == field
    with pytest.raises(BadInputError):
        build_instance_start_script(instance_name="sx", **args)


def test_srun_command(dirs) -> None:
    argv = build_srun_command(
        "/i.sif",
        "alice",
        dirs["home"],
        dirs["proj"],
        "demo",
        slurm_partition="",
        slurm_time_limit="2-12",
        slurm_cpus=2,
        slurm_memory_gb=3,
        container_cmd="apptainer",
    )
    assert argv[:8] == [
        "srun",
        "--pty",
        "--chdir=/tmp",
        "--time=2-12",
        "--cpus-per-task=2",
        "--mem=3G",
        "--ntasks=1",
        "--job-name=terminal_alice",
    ]
    assert argv[-3:-1] == ["/bin/sh", "-c"]


@pytest.mark.parametrize("good", ["30", "90:00", "8:00:00", "1-0", "1-12:30", "7-23:59:59", "0:30"])
def test_time_limit_formats(good: str) -> None:
    assert v.time_limit(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0",
        "0:00",
        "1:60",
        "1:60:00",
        "1-24",
        "1-0:60",
        "366-0",
        "1:2:3:4",
        "1-2-3",
        " 30",
        "30\n",
        "\u0663\u0660",
        "UNLIMITED",
        "-5",
    ],
)
def test_bad_time_limits(bad: str) -> None:
    with pytest.raises(BadInputError) as err:
        v.time_limit(bad)
    assert err.value.where == "slurm_time_limit"


@pytest.mark.parametrize(
    ("value", "ok"),
    [(1, True), (4096, True), (0, False), (4097, False), (True, False), ("4", False), (2.0, False)],
)
def test_cpus_bounds(value, ok) -> None:
    if ok:
        assert v.cpus(value) == value
    else:
        with pytest.raises(BadInputError):
            v.cpus(value)


def test_sbatch_command(tmp_path: Path) -> None:
    script = str(tmp_path / "start.sh")
    argv = build_sbatch_command("sx-a", script, "compute", "1:00:00", 1, 2, "alice", "demo")
    assert argv == [
        "sbatch",
        "--parsable",
        "--partition=compute",
        "--time=1:00:00",
        "--cpus-per-task=1",
        "--mem=2G",
        "--nodes=1",
        "--ntasks=1",
        "--job-name=scitex_alice_demo",
        "--output=/dev/null",  # the reference's default: no file in the script's directory
        "--no-requeue",
        script,
    ]
    given = build_sbatch_command("sx-a", script, output_path=f"{tmp_path}/o.out")
    assert given[-4:-1] == [f"--output={tmp_path}/o.out", f"--chdir={tmp_path}", "--no-requeue"]
    assert build_sbatch_command("sx-a", script)[8] == "--job-name=sx-a"
    for bad, field in [
        ({"output_path": "/x/%j.out"}, "output_path"),
        ({"slurm_partition": "a b"}, "slurm_partition"),
        ({"slurm_memory_gb": 0}, "slurm_memory_gb"),
        ({"username": "B ob"}, "username"),
    ]:
        with pytest.raises(BadInputError) as err:
            build_sbatch_command("sx-a", script, **bad)
        assert err.value.where == field
    with pytest.raises(BadInputError) as err:
        build_sbatch_command("sx a", script)
    assert err.value.where == "instance_name"


def test_shell_in_allocation_command() -> None:
    argv = build_shell_in_allocation_command(12, "sx-a-12", "alice", container_cmd="apptainer")
    assert argv[:6] == ["srun", "--overlap", "--jobid=12", "--pty", "apptainer", "exec"]
    assert "instance://sx-a-12" in argv and "USER=alice" in argv
    assert argv[argv.index("--pwd") + 1] == "/home/alice", "a shell needs a working directory"
    piped = build_shell_in_allocation_command("12", "sx-a-12", pty=False, container_cmd="apptainer")
    assert "--pty" not in piped and not any(a.startswith("USER=") for a in piped)
    assert piped[piped.index("--pwd") + 1] == "/"
    # The instance keeps the given name (the seed's contract) ...
    given = build_shell_in_allocation_command("12", "sx-a", container_cmd="apptainer")
    assert "instance://sx-a" in given and "instance://sx-a-12" not in given
    # ... and reaches the job-unique instance of a script built with unique_per_job.
    composed = build_shell_in_allocation_command(
        "12", "sx-a", container_cmd="apptainer", unique_per_job=True
    )
    assert "instance://sx-a-12" in composed
    assert job_instance_name("sx-a", 12) == "sx-a-12" == job_instance_name("sx-a-12", "12")
    for bad in [("12;x", "sx"), ("12", "sx*"), ("12", "-sx"), ("", "sx")]:
        with pytest.raises(BadInputError):
            build_shell_in_allocation_command(*bad, container_cmd="apptainer")


def test_script_quotes_values_and_keeps_them_out_of_comments(dirs, tmp_path: Path) -> None:
    odd = tmp_path / "it's $(x) `y`"
    odd.mkdir()
    script = build_instance_start_script(
        f"/img/$(touch {tmp_path}/p).sif",
        "alice",
        str(odd),
        dirs["proj"],
        "demo",
        "sx-demo",
        container_cmd="apptainer",
    )
    assert "IMAGE='/img/$(touch" in script
    comment_lines = [ln for ln in script.splitlines() if ln.startswith("#")]
    assert not any("alice" in ln or "demo" in ln or "touch" in ln for ln in comment_lines)
    code = [ln.strip() for ln in script.splitlines() if not ln.lstrip().startswith("#")]
    assert not any(ln.startswith(("set -e", "set -o errexit", "set -o pipefail")) for ln in code)
    assert "trap on_signal TERM INT HUP" in script and "trap stop_instance EXIT" in script
    with pytest.raises(BadInputError) as err:
        build_instance_start_script(
            "/i.sif", "alice", dirs["home"], dirs["proj"], "demo", "x" * 101
        )
    assert err.value.where == "instance_name"


def test_mount_with_a_colon_in_the_host_path_says_so(tmp_path: Path) -> None:
    from scitex_container.binds import parse_bind_spec

    with pytest.raises(BadInputError) as err:
        parse_bind_spec(f"{tmp_path}/a:b", field="--mount")
    assert err.value.where == "--mount" and "contains ':' cannot be bound" in str(err.value)
    assert parse_bind_spec(f"{tmp_path}:/data:rw").container == "/data"


def test_usernames_as_the_system_has_them() -> None:
    for name in ("John.Doe", "jane.doe2", "A1", "u@example", "_x"):
        assert v.username(name) == name
    for name in ("a b", "a:b", "a/b", "-a", "..", "a,b", 'a"b', "a\tb", ""):
        with pytest.raises(BadInputError):
            v.username(name)
    assert v.account("root") == "root"
    with pytest.raises(BadInputError, match="no such user account"):
        v.account("John.Doe-not-here")


def test_session_spec_round_trips_and_drives_every_builder(dirs) -> None:
    from scitex_container.apptainer.session.argv import exec_argv, srun_argv
    from scitex_container.apptainer.session.sbatch_script import sbatch_argv, start_script
    from scitex_container.apptainer.session.spec import SessionSpec

    args = [
        "/images/app.sif",
        "John.Doe",
        dirs["home"],
        dirs["proj"],
        "demo",
        [{"name": "pkg", "host_path": dirs["dev"]}],
        [{"host_path": dirs["data"], "container_path": "/data", "mode": "rw"}],
    ]
    spec = SessionSpec.create(
        *args,
        container_cmd="apptainer",
        slurm_partition="",
        slurm_cpus=2,
        slurm_node="vm",
    )
    assert SessionSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(BadInputError):
        SessionSpec.from_dict({**spec.to_dict(), "slurm_cpus": 0})
    with pytest.raises(BadInputError):
        SessionSpec.from_dict({**spec.to_dict(), "extra": 1})
    assert exec_argv(spec) == build_exec_args(*args, container_cmd="apptainer")
    srun = srun_argv(spec)
    assert "--nodelist=vm" in srun and "--cpus-per-task=2" in srun
    assert start_script(spec, "sx") == build_instance_start_script(
        *args[:5], "sx", *args[5:], container_cmd="apptainer"
    )
    assert "--nodelist=vm" in sbatch_argv(spec, "/tmp/s.sh")


@pytest.mark.apptainer
def test_the_seed_hostname_and_environment_reach_the_container(dirs, busybox_sif) -> None:
    import subprocess

    argv = build_exec_args(
        str(busybox_sif), "alice", dirs["home"], dirs["proj"], "demo", container_cmd="apptainer"
    )
    probe = 'cat /proc/sys/kernel/hostname; echo "$SCITEX_CLOUD|$SHELL|$PATH|$USER"'
    done = subprocess.run(
        [*argv, "sh", "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "scitex-cloud",
        "true|/bin/bash|/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin|alice",
    ]
