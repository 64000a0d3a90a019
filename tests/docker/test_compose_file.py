"""Compose file discovery: env-specific first, bounded by the repository root and home."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from scitex_container.docker import compose_file as cf
from scitex_container.errors import BadInputError, NotFoundError

SERVICE = "services:\n  app:\n    image: localhost/busybox:test\n"


def touch(path: Path, text: str = SERVICE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home" / "user"
    h.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    return h


def test_env_specific_file_preferred(home: Path) -> None:
    proj = home / "proj"
    touch(proj / "docker-compose.yml")
    touch(proj / "compose.yml")
    prod = touch(proj / "docker-compose.prod.yml")
    assert cf.find_compose_file("prod", proj) == prod.resolve()
    assert cf.find_compose_file("dev", proj) == (proj / "docker-compose.yml").resolve()


@pytest.mark.parametrize(
    ("names", "env", "expected"),
    [
        (["docker-compose.dev.yaml", "docker-compose.yml"], "dev", "docker-compose.dev.yaml"),
        (["docker-compose.yaml", "compose.yml"], "dev", "docker-compose.yaml"),
        (["compose.yaml"], "dev", "compose.yaml"),
        (["compose.yml", "compose.yaml"], "x", "compose.yml"),
    ],
)
def test_order_of_names(home: Path, names: list[str], env: str, expected: str) -> None:
    for name in names:
        touch(home / "p" / name)
    assert cf.find_compose_file(env, home / "p").name == expected


def test_unknown_env_lists_the_files_found(home: Path) -> None:
    proj = home / "proj"
    touch(proj / "docker-compose.dev.yml")
    touch(proj / "docker-compose.prod.yml")
    with pytest.raises(BadInputError) as info:
        cf.find_compose_file("staging", proj)
    message = str(info.value)
    assert "staging" in message
    assert "docker-compose.dev.yml, docker-compose.prod.yml" in message


def test_generic_fallback_warns_when_other_envs_exist(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proj = home / "proj"
    touch(proj / "docker-compose.yml")
    touch(proj / "docker-compose.prod.yml")
    with caplog.at_level(logging.WARNING):
        assert cf.find_compose_file("prdo", proj).name == "docker-compose.yml"
    assert "docker-compose.prod.yml" in caplog.text


def test_walks_up_to_the_repository_root(home: Path) -> None:
    repo = home / "repo"
    (repo / ".git").mkdir(parents=True)
    found = touch(repo / "docker-compose.dev.yml")
    deep = repo / "src" / "pkg"
    deep.mkdir(parents=True)
    assert cf.find_compose_file("dev", cwd=deep) == found.resolve()


def test_never_looks_above_the_repository_root(home: Path) -> None:
    touch(home / "docker-compose.yml")  # an unrelated project above the repo
    repo = home / "repo"
    (repo / ".git").mkdir(parents=True)
    deep = repo / "src"
    deep.mkdir()
    with pytest.raises(NotFoundError) as info:
        cf.find_compose_file("dev", cwd=deep)
    assert str(repo) in str(info.value)


def test_git_file_marks_a_root_too(home: Path) -> None:  # worktrees and submodules
    touch(home / "docker-compose.yml")
    sub = home / "sub"
    sub.mkdir()
    (sub / ".git").write_text("gitdir: ../.git/modules/sub\n")
    with pytest.raises(NotFoundError):
        cf.find_compose_file("dev", cwd=sub)


def test_never_looks_above_home(home: Path) -> None:
    touch(home.parent / "docker-compose.yml")  # above $HOME, no repository around
    deep = home / "a" / "b"
    deep.mkdir(parents=True)
    with pytest.raises(NotFoundError) as info:
        cf.find_compose_file("dev", cwd=deep)
    assert f"up to {home}" in str(info.value)
    # but home itself is searched
    found = touch(home / "compose.yml")
    assert cf.find_compose_file("dev", cwd=deep) == found.resolve()


def test_search_uses_process_cwd(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = touch(home / "proj" / "docker-compose.dev.yml")
    (home / "proj" / "sub").mkdir()
    monkeypatch.chdir(home / "proj" / "sub")
    assert cf.find_compose_file() == found.resolve()


def test_project_dir_is_not_walked_upward(home: Path) -> None:
    touch(home / "docker-compose.yml")
    (home / "empty").mkdir()
    with pytest.raises(NotFoundError, match="no compose file"):
        cf.find_compose_file("dev", home / "empty")


def test_project_dir_may_be_the_file_itself(home: Path) -> None:
    f = touch(home / "stack.yml")
    assert cf.find_compose_file("dev", f) == f.resolve()


def test_missing_project_dir(home: Path) -> None:
    with pytest.raises(NotFoundError, match="no such directory"):
        cf.find_compose_file("dev", home / "nope")


@pytest.mark.parametrize("env", ["", "../x", "a/b", "-x", None, "dev prod"])
def test_bad_env_names(env) -> None:
    with pytest.raises(BadInputError) as info:
        cf.find_compose_file(env, "/")
    assert info.value.where == "env"


def test_project_name_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = touch(home / "My.Project_1" / "docker-compose.yml")
    assert cf.project_name(f) == "myproject_1"
    assert cf.project_name(f, data={"name": "from-file"}) == "from-file"
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "from-env")
    assert cf.project_name(f, data={"name": "from-file"}) == "from-env"
    assert cf.project_name(f, "explicit", {"name": "from-file"}) == "explicit"
    with pytest.raises(BadInputError, match="project name"):
        cf.project_name(f, "Bad Name")


def test_project_name_from_a_directory_with_no_usable_letters(home: Path) -> None:
    f = touch(home / "__" / "docker-compose.yml")
    with pytest.raises(BadInputError, match="cannot derive"):
        cf.project_name(f)


def test_yaml_problem_has_line(tmp_path: Path) -> None:
    f = touch(
        tmp_path / "docker-compose.yml", "services:\n  web:\n    image: [unclosed\n    command: x\n"
    )
    data, problem = cf.load_compose(f)
    assert data is None and problem is not None
    assert problem.line == 4 and "expected ',' or ']'" in problem.message
    f.write_text("- just\n- a list\n")
    assert "mapping" in cf.load_compose(f)[1].message
    f.write_text(SERVICE)
    assert cf.load_compose(f) == ({"services": {"app": {"image": "localhost/busybox:test"}}}, None)


def test_outside_home_and_any_repository_only_the_start_dir_is_searched(tmp_path: Path) -> None:
    # tmp_path is outside the fake home below and holds no .git on the way up.
    outer = tmp_path / "unrelated"
    outer.mkdir()
    (outer / "docker-compose.yml").write_text("services: {}\n")
    start = outer / "deep" / "cwd"
    start.mkdir(parents=True)
    fake_home = tmp_path / "home-elsewhere"
    fake_home.mkdir()
    assert cf.search_dirs(start, fake_home) == [start.resolve()]
    with pytest.raises(NotFoundError):
        cf.find_compose_file("dev", cwd=start, home=fake_home)
