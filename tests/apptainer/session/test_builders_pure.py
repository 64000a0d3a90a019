"""Builders are pure: syntax is checked, the local file system never; existence where it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from scitex_container.apptainer import (
    build_exec_args,
    build_instance_start_script,
    build_srun_command,
)
from scitex_container.apptainer.session.spec import SessionSpec, require_host_paths
from scitex_container.errors import BadInputError
from scitex_container.host import get_mount_config
from scitex_container.host.mounts import build_host_mount_binds

#: Paths of another node: none of them exists here.
ELSEWHERE = {
    "home": "/nonexistent-node/home/alice",
    "proj": "/nonexistent-node/proj/demo",
    "repo": "/nonexistent-node/src/alpha",
    "data": "/nonexistent-node/data",
}
REPOS = [{"name": "alpha", "host_path": ELSEWHERE["repo"]}]
MOUNTS = [{"host_path": ELSEWHERE["data"], "container_path": "/data", "mode": "ro"}]


def test_no_path_on_this_host_is_needed_to_build_a_command() -> None:
    assert not any(Path(p).exists() for p in ELSEWHERE.values())
    args = ("/images/app.sif", "alice", ELSEWHERE["home"], ELSEWHERE["proj"], "demo", REPOS, MOUNTS)
    argv = build_exec_args(*args)
    assert f"{ELSEWHERE['repo']}:/opt/dev/alpha:ro" in argv
    assert f"{ELSEWHERE['data']}:/data:ro" in argv
    script = build_instance_start_script(*args[:5], "scitex-alice-demo", REPOS, MOUNTS)
    assert ELSEWHERE["data"] in script and "INSTANCE_READY" in script
    srun = build_srun_command(*args)
    assert srun[0] == "srun" and f"{ELSEWHERE['proj']}:/home/alice/proj/demo:rw" in srun
    assert build_host_mount_binds(MOUNTS) == ["--bind", f"{ELSEWHERE['data']}:/data:ro"]


def test_a_mount_without_a_mode_is_read_write_in_the_dict_form_as_in_the_string_form() -> None:
    plain = [{"host_path": ELSEWHERE["data"], "container_path": "/data"}]
    assert build_host_mount_binds(plain) == ["--bind", f"{ELSEWHERE['data']}:/data:rw"]
    as_text = get_mount_config("", f"{ELSEWHERE['data']}:/data")["bind_args"]
    assert f"{ELSEWHERE['data']}:/data:rw" in as_text  # the two forms agree (the seed's rw)


def test_the_reference_example_of_get_mount_config_runs_as_printed() -> None:
    out = get_mount_config("", "/data:/data:ro,/scratch:/scratch")
    hosts = [(m["host"], m["container"]) for m in out["mounts"]]
    assert ("/data", "/data") in hosts and ("/scratch", "/scratch") in hosts
    assert "/data:/data:ro" in out["bind_args"]


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"host_user_dir": "relative/home"}, "host_user_dir"),
        ({"host_project_dir": "/proj/a\nb"}, "host_project_dir"),
        ({"dev_repos": [{"name": "x", "host_path": "/src/x\x1b"}]}, "dev_repos[0].host"),
        ({"host_mounts": [{"host_path": "/d", "container_path": "d"}]}, "host_mounts[0].container"),
        ({"host_mounts": [{"host_path": "/d", "mode": "rwx"}]}, "host_mounts[0].mode"),
        ({"host_mounts": [{"host_path": "/a:b"}]}, "host_mounts[0].host"),
    ],
)
def test_syntax_is_still_refused_naming_the_field(kwargs, where) -> None:
    args = {
        "container_path": "/images/app.sif",
        "username": "alice",
        "host_user_dir": ELSEWHERE["home"],
        "host_project_dir": ELSEWHERE["proj"],
        "project_slug": "demo",
    }
    args.update(kwargs)
    with pytest.raises(BadInputError) as err:
        build_exec_args(**args)
    assert err.value.where == where


def test_get_mount_config_checks_existence_only_when_asked_to_resolve(tmp_path: Path) -> None:
    there = tmp_path / "data"
    there.mkdir()
    raw = f"{there}:/data,{tmp_path}/missing:/missing:rw"
    mounts = get_mount_config("", raw)["mounts"]
    assert {m["container"] for m in mounts} >= {"/data", "/missing"}
    with pytest.raises(BadInputError) as err:
        get_mount_config("", raw, resolve=True)
    assert "missing" in str(err.value) and err.value.where == "host_mounts_raw[1].host"
    assert get_mount_config("", f"{there}:/data", resolve=True)["mounts"][0]["host"] == str(there)


def test_existence_is_checked_where_the_session_starts(tmp_path: Path) -> None:
    home, proj, repo, data, over = (tmp_path / n for n in ("home", "proj", "repo", "data", "o.img"))
    spec = SessionSpec.create(
        "/images/app.sif",
        "alice",
        str(home),
        str(proj),
        "demo",
        [{"name": "alpha", "host_path": str(repo)}],
        [{"host_path": str(data), "container_path": "/data"}],
        overlay=str(over),
        container_cmd="apptainer",
    )
    order = [
        (home, "host_user_dir"),
        (proj, "host_project_dir"),
        (repo, "dev_repos[0].host"),
        (data, "host_mounts[0].host"),
        (over, "overlay"),
    ]
    for path, where in order:
        with pytest.raises(BadInputError) as err:
            require_host_paths(spec)
        assert err.value.where == where and str(path) in str(err.value)
        path.mkdir() if path.suffix != ".img" else path.write_bytes(b"")
    require_host_paths(spec)
    # a file where a directory is needed is named as such
    (tmp_path / "home").rmdir()
    (tmp_path / "home").write_text("")
    with pytest.raises(BadInputError, match="is not a directory"):
        require_host_paths(spec)


def test_session_start_refuses_a_missing_home_before_anything_runs(
    tmp_path: Path, busybox_sif: Path
) -> None:
    from scitex_container.apptainer.session.api import start_session

    with pytest.raises(BadInputError) as err:
        start_session(
            busybox_sif,
            project_dir=tmp_path,
            home_dir=tmp_path / "no-such-home",
            backend="local",
        )
    assert err.value.where == "host_user_dir" and "no-such-home" in str(err.value)
