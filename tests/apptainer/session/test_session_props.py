"""Property tests of the argv builders: arbitrary input is refused (naming a field)
or turned into an argv whose every value arrived intact and well-formed.

2,000 examples per builder here; the ``slow`` variants run 20,000.
"""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from session_strategies import (
    CONTROL,
    DEV_NAME,
    DEV_OK,
    DEV_REPOS,
    HOST_MOUNTS,
    IMAGE,
    INSTANCE,
    INSTANCE_OK,
    INTS,
    JOB_ID,
    NORMAL_EXAMPLES,
    PARTITION,
    PATH_SPEC,
    SLOW_EXAMPLES,
    SLUG,
    SLUG_OK,
    TEXLIVE,
    TIME,
    USER_OK,
    USERNAME,
    arguments,
    oracle_int,
    oracle_partition,
    oracle_time_seconds,
    profile,
    realize,
    realize_mounts,
    realize_repos,
)

from scitex_container.apptainer import (
    build_dev_pythonpath,
    build_exec_args,
    build_sbatch_command,
    build_shell_in_allocation_command,
    build_srun_command,
)
from scitex_container.errors import BadInputError

FIELDS = (
    "container_path",
    "username",
    "host_user_dir",
    "host_project_dir",
    "project_slug",
    "dev_repos",
    "host_mounts",
    "texlive",
    "texlive_prefix",
    "overlay",
    "instance_name",
    "script_path",
    "output_path",
    "slurm_partition",
    "slurm_time_limit",
    "slurm_cpus",
    "slurm_memory_gb",
    "job_id",
)
VALUE_OPTS = {"--env", "--home", "--bind", "--overlay", "--pwd", "--hostname"}


def _refused(exc: BadInputError) -> None:
    event(f"refused: {exc.where.split('[')[0] if exc.where else exc.where}")
    assert exc.where and exc.where.split("[")[0].split(".")[0] in FIELDS, exc.where


def check_exec_argv(argv: list[str], image: str, user: str, slug: str, repos, cmd: str) -> None:
    """Structural invariants of ``apptainer exec`` argv from accepted input."""
    event("accepted")
    assert argv[:2] == [cmd, "exec"] and argv[-1] == image
    assert all(isinstance(a, str) and not CONTROL.search(a) for a in argv)
    assert ("--containall" in argv) == image.endswith(".sif")
    opts = argv[2:-1]
    i = 0
    envs, binds = {}, []
    while i < len(opts):
        opt = opts[i]
        assert opt.startswith("--"), opt
        if opt in VALUE_OPTS:
            value = opts[i + 1]
            assert not value.startswith("-")
            if opt == "--env":
                key, _, val = value.partition("=")
                assert "," not in val and '"' not in val
                envs[key] = val
            elif opt == "--bind":
                host, container, mode = value.split(":")
                assert host.startswith("/") and container.startswith("/") and mode in ("ro", "rw")
                binds.append((host, container, mode))
            elif opt == "--home":
                assert len(value.split(":")) == 2
            i += 2
        else:
            i += 1
    assert envs["USER"] == user and envs["SCITEX_PROJECT"] == slug
    # what the seed's build_exec_args sets, kept
    assert envs["SCITEX_CLOUD"] == "true" and envs["SHELL"] == "/bin/bash"
    assert envs["PATH"] == "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
    assert argv[argv.index("--hostname") + 1] == "scitex-cloud"
    for repo in repos or []:
        assert any(c == f"/opt/dev/{repo['name']}" and m == "ro" for _h, c, m in binds)
        assert f"/opt/dev/{repo['name']}/src" in envs["PYTHONPATH"].split(":")
    assert any(c == f"/home/{user}/proj/{slug}" and m == "rw" for _h, c, m in binds)


def exec_args_property(image, user, home, project, slug, repos, mounts, texlive) -> None:
    image_s, home_s, project_s = realize(image), realize(home), realize(project)
    repos_r, mounts_r = realize_repos(repos), realize_mounts(mounts)
    try:
        argv = build_exec_args(
            image_s,
            user,
            home_s,
            project_s,
            slug,
            repos_r,
            mounts_r,
            texlive,
            container_cmd="apptainer",
        )
    except BadInputError as exc:
        _refused(exc)
        return
    assert USER_OK(user) and SLUG_OK(slug)
    assert all(DEV_OK(r["name"]) for r in repos_r or [])
    check_exec_argv(argv, image_s, user, slug, repos_r, "apptainer")


EXEC_GIVEN = dict(
    image=IMAGE,
    user=USERNAME,
    home=PATH_SPEC,
    project=PATH_SPEC,
    slug=SLUG,
    repos=DEV_REPOS,
    mounts=HOST_MOUNTS,
    texlive=TEXLIVE,
)


@profile(NORMAL_EXAMPLES)
@given(kw=arguments(**EXEC_GIVEN))
def test_exec_args_property(kw) -> None:
    exec_args_property(**kw)


@pytest.mark.slow
@profile(SLOW_EXAMPLES)
@given(kw=arguments(**EXEC_GIVEN))
def test_exec_args_property_slow(kw) -> None:
    exec_args_property(**kw)


def srun_property(image, user, home, project, slug, partition, time_limit, cpus, mem) -> None:
    image_s, home_s, project_s = realize(image), realize(home), realize(project)
    try:
        argv = build_srun_command(
            image_s,
            user,
            home_s,
            project_s,
            slug,
            None,
            None,
            "",
            partition,
            time_limit,
            cpus,
            mem,
            container_cmd="apptainer",
        )
    except BadInputError as exc:
        _refused(exc)
        return
    assert oracle_partition(partition) and oracle_time_seconds(time_limit)
    assert oracle_int(cpus, 4096) and oracle_int(mem, 65536)
    head = argv[: argv.index("apptainer")]
    expected = ["srun", "--pty", "--chdir=/tmp"]
    expected += [f"--partition={partition}"] if partition else []
    expected += [
        f"--time={time_limit}",
        f"--cpus-per-task={cpus}",
        f"--mem={mem}G",
        "--ntasks=1",
        f"--job-name=terminal_{user}",
    ]
    assert head == expected
    tail = argv[len(head) :]
    assert tail[-3:-1] == ["/bin/sh", "-c"]
    check_exec_argv(tail[:-3], image_s, user, slug, None, "apptainer")


SRUN_GIVEN = dict(
    image=IMAGE,
    user=USERNAME,
    home=PATH_SPEC,
    project=PATH_SPEC,
    slug=SLUG,
    partition=PARTITION,
    time_limit=TIME,
    cpus=INTS,
    mem=INTS,
)


@profile(NORMAL_EXAMPLES)
@given(kw=arguments(**SRUN_GIVEN))
def test_srun_property(kw) -> None:
    srun_property(**kw)


@pytest.mark.slow
@profile(SLOW_EXAMPLES)
@given(kw=arguments(**SRUN_GIVEN))
def test_srun_property_slow(kw) -> None:
    srun_property(**kw)


def sbatch_property(name, script, partition, time_limit, cpus, mem, user, slug, output) -> None:
    script_s = realize(script)
    output_s = realize(output) if output else None
    try:
        argv = build_sbatch_command(
            name, script_s, partition, time_limit, cpus, mem, user, slug, output_path=output_s
        )
    except BadInputError as exc:
        _refused(exc)
        return
    event("accepted")
    assert INSTANCE_OK(name) and oracle_partition(partition) and oracle_time_seconds(time_limit)
    assert oracle_int(cpus, 4096) and oracle_int(mem, 65536)
    assert argv[0] == "sbatch" and argv[-1] == script_s and script_s.startswith("/")
    opts = dict(a[2:].split("=", 1) for a in argv[1:-1] if "=" in a)
    assert opts["time"] == time_limit and opts.get("partition", "") == partition
    assert opts["cpus-per-task"] == str(cpus) and opts["mem"] == f"{mem}G"
    job = opts["job-name"]
    assert job == (f"scitex_{user}" + (f"_{slug}" if slug else "") if user else name)
    assert "%" not in opts["output"] and "\\" not in opts["output"]
    assert all(not CONTROL.search(a) for a in argv)


SBATCH_GIVEN = dict(
    name=INSTANCE,
    script=PATH_SPEC,
    partition=PARTITION,
    time_limit=TIME,
    cpus=INTS,
    mem=INTS,
    user=(st.one_of(st.just(""), USERNAME[0]), USERNAME[1]),
    slug=(st.one_of(st.just(""), SLUG[0]), SLUG[1]),
    output=(st.one_of(st.none(), PATH_SPEC[0]), PATH_SPEC[1]),
)


@profile(NORMAL_EXAMPLES)
@given(kw=arguments(**SBATCH_GIVEN))
def test_sbatch_property(kw) -> None:
    sbatch_property(**kw)


@pytest.mark.slow
@profile(SLOW_EXAMPLES)
@given(kw=arguments(**SBATCH_GIVEN))
def test_sbatch_property_slow(kw) -> None:
    sbatch_property(**kw)


def shell_property(job, name, user) -> None:
    try:
        argv = build_shell_in_allocation_command(job, name, user, container_cmd="apptainer")
    except BadInputError as exc:
        _refused(exc)
        return
    event("accepted")
    assert INSTANCE_OK(name)
    env = ["--env", f"USER={user}", "--env", f"LOGNAME={user}", "--env", "TERM=xterm-256color"]
    assert argv == [
        "srun",
        "--overlap",
        f"--jobid={job}",
        "--pty",
        "apptainer",
        "exec",
        "--cleanenv",
        *(env if user else []),
        "--pwd",
        f"/home/{user}" if user else "/",
        f"instance://{name}",  # the given name, as the seed
        "/bin/sh",
        "-c",
        "if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l",
    ]
    assert str(job).isascii() and str(job).isdigit() and (not user or USER_OK(user))


SHELL_GIVEN = dict(
    job=JOB_ID, name=INSTANCE, user=(st.one_of(st.just(""), USERNAME[0]), USERNAME[1])
)


@profile(NORMAL_EXAMPLES)
@given(kw=arguments(**SHELL_GIVEN))
def test_shell_property(kw) -> None:
    shell_property(**kw)


@pytest.mark.slow
@profile(SLOW_EXAMPLES)
@given(kw=arguments(**SHELL_GIVEN))
def test_shell_property_slow(kw) -> None:
    shell_property(**kw)


def pythonpath_property(names) -> None:
    repos = [{"name": n} for n in names]
    try:
        out = build_dev_pythonpath(repos)
    except BadInputError as exc:
        _refused(exc)
        return
    event("accepted")
    assert all(DEV_OK(n) for n in names)
    assert out == ":".join(f"/opt/dev/{n}/src" for n in names)
    assert out.split(":") == [f"/opt/dev/{n}/src" for n in names] if names else out == ""


PYPATH_GIVEN = dict(
    names=(
        st.lists(DEV_NAME[0], max_size=4),
        st.lists(st.one_of(*DEV_NAME), min_size=1, max_size=4),
    )
)


@profile(NORMAL_EXAMPLES)
@given(kw=arguments(**PYPATH_GIVEN))
def test_dev_pythonpath_property(kw) -> None:
    pythonpath_property(**kw)


@pytest.mark.slow
@profile(SLOW_EXAMPLES)
@given(kw=arguments(**PYPATH_GIVEN))
def test_dev_pythonpath_property_slow(kw) -> None:
    pythonpath_property(**kw)
