"""Every one of the reference's 53 functions, called as its API page documents it.

Each example uses the page's own values where it gives some (version
``2.19.5``, sandbox ``20260225_173700``, instance ``scitex-user-project``,
project ``my-project``, prefix ``/usr``, the ``get_mount_config`` and
``get_dev_mounts`` examples printed verbatim) and checks the documented
return shape.  Paths of "another node" (``/nonexistent-node/...``) show that
the builders never look at this host's file system.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from compose_stack import remove_project, write_project
from images import BUSYBOX_DEF

import scitex_container as top
from scitex_container import apptainer, docker, host

pytestmark = [pytest.mark.apptainer]

#: The reference page's functions, by namespace (53 in all).
REFERENCE = {
    "scitex_container": [
        "build", "cleanup", "deploy", "docker_rebuild", "docker_restart", "env_snapshot",
        "host_check", "host_install", "list_versions", "rollback", "sandbox_create", "status",
        "switch", "verify",
    ],
    "scitex_container.apptainer": [
        "build", "build_dev_pythonpath", "build_exec_args", "build_host_mount_binds",
        "build_instance_start_script", "build_sbatch_command",
        "build_shell_in_allocation_command", "build_srun_command", "cleanup",
        "cleanup_sandboxes", "cleanup_sifs", "deploy", "detect_container_cmd",
        "find_containers_dir", "freeze", "get_active_sandbox", "get_active_version",
        "is_sandbox", "list_sandboxes", "list_versions", "rollback", "rollback_sandbox",
        "sandbox_configure_ps1", "sandbox_create", "sandbox_maintain", "sandbox_to_sif",
        "sandbox_update", "status", "switch_sandbox", "switch_version", "verify",
    ],
    "scitex_container.docker": ["get_dev_mounts", "rebuild", "restart", "status"],
    "scitex_container.host": [
        "check_packages", "get_mount_config", "get_texlive_binds", "install_packages",
    ],
}  # fmt: skip
MODULES = {"scitex_container": top, "scitex_container.apptainer": apptainer}
MODULES |= {"scitex_container.docker": docker, "scitex_container.host": host}
CASES = [(mod, name) for mod, names in REFERENCE.items() for name in names]

HOME, PROJECT = "/nonexistent-node/home/alice", "/nonexistent-node/proj/my-project"
VERSION_KEYS = {"version", "path", "size", "date", "active"}


class World:
    """A flat store, a sandbox store and a def, made once for the module."""

    def __init__(self, root: Path, busybox: Path) -> None:
        self.root, self.busybox = root, busybox
        self.store = root / "store"
        self.store.mkdir()
        for i, version in enumerate(["2.19.4", "2.19.5"]):
            shutil.copyfile(busybox, self.store / f"scitex-v{version}.sif")
            os.utime(self.store / f"scitex-v{version}.sif", (1e9 + i, 1e9 + i))
        os.symlink("scitex-v2.19.5.sif", self.store / "current.sif")
        shutil.copyfile(busybox, self.store / "scitex-base-v1.0.sif")
        self.defs = root / "containers"
        self.defs.mkdir()
        self.def_path = self.defs / "apptainer-base.def"
        self.def_path.write_text(BUSYBOX_DEF)
        self.boxes = root / "boxes"
        self.boxes.mkdir()

    def fresh(self, name: str) -> Path:
        path = self.root / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir()
        return path

    def sandbox_store(self) -> Path:
        """Two sandboxes (one real, from the image) and the active link."""
        boxes = self.fresh("boxes")
        first = apptainer.sandbox_create(
            self.busybox, boxes, output_dir=boxes / "sandbox-20260225_173700"
        )
        (boxes / "sandbox-20260101_000000" / ".singularity.d").mkdir(parents=True)
        os.symlink(first.name, boxes / "current-sandbox")
        return boxes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, busybox_sif: Path) -> World:
    return World(tmp_path_factory.mktemp("reference"), busybox_sif)


def _store_copy(w: World) -> Path:
    target = w.fresh("store")
    for p in w.store.iterdir():
        if p.is_symlink():
            os.symlink(os.readlink(p), target / p.name)
        elif p.is_file():
            shutil.copyfile(p, target / p.name)
    return target


# --- the examples -------------------------------------------------------------------------


def ex_build(fn: Callable, w: World) -> None:
    # "e.g. sac's apptainer-base.def -> sac-base/sac-base.sif"
    out = w.fresh("out")
    built = fn(def_path=w.def_path, output_dir=out, image_name="sac-base")
    assert Path(built) == out / "sac-base" / "sac-base.sif" and Path(built).exists()


def ex_cleanup(fn: Callable, w: World) -> None:
    store = _store_copy(w)
    removed = fn(store, keep=1)
    assert [p.name for p in removed] == ["scitex-v2.19.4.sif"]
    assert (store / "scitex-base-v1.0.sif").exists()


def ex_deploy(fn: Callable, w: World) -> None:
    target = w.fresh("deployed")
    assert fn(_store_copy(w), target) is None
    assert os.readlink(target / "current.sif") == "scitex-v2.19.5.sif"
    assert (target / "scitex-base-v1.0.sif").exists()


def ex_env_snapshot(fn: Callable, w: World) -> None:
    snap = fn(containers_dir=w.store, dev_repos=[str(w.root)])
    expected = {"schema_version", "timestamp", "container", "host", "dev_repos", "lock_files"}
    assert expected <= set(snap)


def ex_host_check(fn: Callable, w: World) -> None:
    out = fn()
    for group in ("texlive", "imagemagick"):
        assert {"installed", "version", "binaries"} <= set(out[group])
    assert out["texlive"]["installed"] == bool(shutil.which("pdflatex"))


def ex_host_install(fn: Callable, w: World) -> None:
    out = fn(check_only=True)
    assert {"texlive", "imagemagick", "script"} <= set(out)
    assert {"status", "returncode"} <= set(out["texlive"])


def ex_list_versions(fn: Callable, w: World) -> None:
    rows = fn(w.store)
    assert [r["version"] for r in rows] == ["2.19.5", "2.19.4"]
    assert set(rows[0]) >= VERSION_KEYS and rows[0]["active"]


def ex_rollback(fn: Callable, w: World) -> None:
    store = _store_copy(w)
    assert fn(store) == "2.19.4"


def ex_sandbox_create(fn: Callable, w: World) -> None:
    boxes = w.fresh("created")
    made = fn(w.busybox, boxes)
    # one naming scheme: UTC, as image versions (the reference's local names still read)
    assert re.fullmatch(r"sandbox-\d{8}T\d{6}Z", made.name), made.name
    assert os.readlink(boxes / "current-sandbox") == made.name


def ex_status(fn: Callable, w: World) -> None:
    rows = fn(w.defs)
    keys = {"name", "def_path", "sif_path", "sif_size", "sif_date"}
    keys |= {"hash_current", "hash_stored", "needs_rebuild"}
    assert rows and keys <= set(rows[0]) and rows[0]["name"] == "apptainer-base"


def ex_switch(fn: Callable, w: World) -> None:
    store = _store_copy(w)
    assert fn("2.19.4", store) is None
    assert fn("2.19.5", store) is None  # the page's example version
    assert os.readlink(store / "current.sif") == "scitex-v2.19.5.sif"


def ex_verify(fn: Callable, w: World) -> None:
    out = fn(w.store / "scitex-v2.19.5.sif")
    assert {"sif", "def_origin", "pip_lock", "dpkg_lock", "overall"} <= set(out)
    assert out["sif"]["exists"] and len(out["sif"]["sha256"]) == 64
    # "unverified" (nothing vouched for the bytes) is ours beside pass|fail (README)
    assert out["overall"] in ("pass", "fail", "unverified")


def ex_build_dev_pythonpath(fn: Callable, w: World) -> None:
    assert fn([{"name": "scitex-python"}, {"name": "b"}]) == (
        "/opt/dev/scitex-python/src:/opt/dev/b/src"
    )
    assert fn([]) == ""


def ex_build_exec_args(fn: Callable, w: World) -> None:
    argv = fn("/images/scitex.sif", "alice", HOME, PROJECT, "my-project", texlive_prefix="")
    assert argv[:2] == ["apptainer", "exec"] and "--containall" in argv


def ex_build_host_mount_binds(fn: Callable, w: World) -> None:
    mounts = [{"host_path": "/nonexistent-node/data", "container_path": "/data", "mode": "ro"}]
    assert fn(mounts) == ["--bind", "/nonexistent-node/data:/data:ro"]
    if shutil.which("pdflatex") == "/usr/bin/pdflatex":  # the page's /usr example
        binds = fn(texlive_prefix="/usr")
        assert binds[0] == "--bind" and "/usr/share/texlive:/usr/share/texlive:ro" in binds


def ex_build_instance_start_script(fn: Callable, w: World) -> None:
    script = fn("/images/scitex.sif", "alice", HOME, PROJECT, "my-project", "scitex-user-project")
    assert script.startswith("#!") and "INSTANCE_READY" in script and "INSTANCE_FAILED" in script


def ex_build_sbatch_command(fn: Callable, w: World) -> None:
    argv = fn("scitex-user-project", "/tmp/start.sh", username="alice", project_slug="my-project")
    assert argv[0] == "sbatch" and argv[-1] == "/tmp/start.sh"
    joined = " ".join(argv)
    for option in ("compute", "8:00:00", "4", "16"):
        assert option in joined


def ex_build_shell_in_allocation_command(fn: Callable, w: World) -> None:
    argv = fn("12345", "scitex-user-project", username="alice")
    assert argv[0] == "srun" and "--overlap" in argv and any("12345" in a for a in argv)


def ex_build_srun_command(fn: Callable, w: World) -> None:
    argv = fn("/images/scitex.sif", "alice", HOME, PROJECT, "my-project", screen_session="x")
    assert argv[0] == "srun" and "apptainer" in argv


def ex_cleanup_sandboxes(fn: Callable, w: World) -> None:
    boxes = w.sandbox_store()
    assert [p.name for p in fn(boxes, keep=1)] == ["sandbox-20260101_000000"]


def ex_cleanup_sifs(fn: Callable, w: World) -> None:
    store = _store_copy(w)
    removed = {p.name for p in fn(store, keep=0)}
    assert {"scitex-v2.19.4.sif", "scitex-v2.19.5.sif", "current.sif"} <= removed


def ex_detect_container_cmd(fn: Callable, w: World) -> None:
    assert fn() in ("apptainer", "singularity")


def ex_find_containers_dir(fn: Callable, w: World) -> None:
    here = os.getcwd()
    os.chdir(w.root)  # ./containers/ is searched first
    try:
        assert Path(fn()).resolve() == w.defs.resolve()
    finally:
        os.chdir(here)


def ex_freeze(fn: Callable, w: World) -> None:
    out = fn(w.store / "scitex-v2.19.5.sif", w.fresh("frozen"))
    assert set(out) == {"pip", "dpkg", "node"}


def ex_get_active_sandbox(fn: Callable, w: World) -> None:
    assert fn(w.sandbox_store()) == "20260225_173700"
    assert fn(w.fresh("none")) is None


def ex_get_active_version(fn: Callable, w: World) -> None:
    assert fn(w.store) == "2.19.5"
    assert fn(w.fresh("none")) is None


def ex_is_sandbox(fn: Callable, w: World) -> None:
    assert fn("image.sif") is False
    assert fn("image-sandbox") is True and fn("sandbox") is True


def ex_list_sandboxes(fn: Callable, w: World) -> None:
    rows = fn(w.sandbox_store())
    assert [r["version"] for r in rows] == ["20260225_173700", "20260101_000000"]
    assert {"version", "path", "date", "active"} <= set(rows[0])


def ex_rollback_sandbox(fn: Callable, w: World) -> None:
    assert fn(w.sandbox_store()) == "20260101_000000"


def ex_sandbox_configure_ps1(fn: Callable, w: World) -> None:
    box = w.sandbox_store() / "sandbox-20260225_173700"
    assert fn(box) is None
    env = (box / ".singularity.d" / "env" / "90-environment.sh").read_text()
    assert "SCITEX_CLOUD_APPTAINER_PS1" in env


def ex_sandbox_maintain(fn: Callable, w: World) -> None:
    box = w.sandbox_store() / "sandbox-20260225_173700"
    assert fn(box, ["sh", "-c", "echo hi > /tmp/maintained"]) == 0
    assert fn(box, ["false"]) != 0


def ex_sandbox_to_sif(fn: Callable, w: World) -> None:
    box = w.sandbox_store() / "sandbox-20260225_173700"
    out = fn(box, w.fresh("sif") / "from-sandbox.sif")
    assert Path(out).is_file() and Path(out).name == "from-sandbox.sif"


def ex_sandbox_update(fn: Callable, w: World) -> None:
    box = w.sandbox_store() / "sandbox-20260225_173700"
    result = fn(box, proj_root=w.fresh("proj"), packages=("scitex-absent",))
    assert result == {"scitex-absent": "skipped"}


def ex_switch_sandbox(fn: Callable, w: World) -> None:
    boxes = w.sandbox_store()
    assert fn("20260101_000000", boxes) is None
    assert fn("20260225_173700", boxes) is None  # the page's example timestamp
    assert os.readlink(boxes / "current-sandbox") == "sandbox-20260225_173700"


def ex_get_dev_mounts(fn: Callable, w: World) -> None:
    repos = [
        {"host": "../../scitex-python", "container": "/scitex-python"},
        {"host": "/abs/path/to/myrepo", "container": "/myrepo", "mode": "rw"},
    ]
    out = fn(repos)
    # the page prints "./../../scitex-python:..." but also says relative paths are
    # "returned as-is", as the seed's code does: both name the same path for Compose
    assert os.path.normpath(out[0].split(":")[0]) == "../../scitex-python"
    assert out[0].endswith(":/scitex-python:ro") and out[1] == "/abs/path/to/myrepo:/myrepo:rw"


def ex_get_mount_config(fn: Callable, w: World) -> None:
    out = fn("", "/data:/data:ro,/scratch:/scratch")  # printed on the page
    assert {"bind_args", "path_additions", "mounts"} <= set(out)
    assert {(m["host"], m["container"]) for m in out["mounts"]} >= {
        ("/data", "/data"),
        ("/scratch", "/scratch"),
    }


def ex_get_texlive_binds(fn: Callable, w: World) -> None:
    binds = fn(prefix="/usr")
    if shutil.which("pdflatex") == "/usr/bin/pdflatex":
        entry = {"host": "/usr/share/texlive", "container": "/usr/share/texlive", "mode": "ro"}
        assert entry in binds
    assert all({"host", "container", "mode"} <= set(b) for b in binds)


EXAMPLES: dict[str, Callable[[Callable, World], None]] = {
    "build": ex_build,
    "cleanup": ex_cleanup,
    "deploy": ex_deploy,
    "env_snapshot": ex_env_snapshot,
    "host_check": ex_host_check,
    "check_packages": ex_host_check,
    "host_install": ex_host_install,
    "install_packages": ex_host_install,
    "list_versions": ex_list_versions,
    "rollback": ex_rollback,
    "sandbox_create": ex_sandbox_create,
    "switch": ex_switch,
    "switch_version": ex_switch,
    "verify": ex_verify,
    "build_dev_pythonpath": ex_build_dev_pythonpath,
    "build_exec_args": ex_build_exec_args,
    "build_host_mount_binds": ex_build_host_mount_binds,
    "build_instance_start_script": ex_build_instance_start_script,
    "build_sbatch_command": ex_build_sbatch_command,
    "build_shell_in_allocation_command": ex_build_shell_in_allocation_command,
    "build_srun_command": ex_build_srun_command,
    "cleanup_sandboxes": ex_cleanup_sandboxes,
    "cleanup_sifs": ex_cleanup_sifs,
    "detect_container_cmd": ex_detect_container_cmd,
    "find_containers_dir": ex_find_containers_dir,
    "freeze": ex_freeze,
    "get_active_sandbox": ex_get_active_sandbox,
    "get_active_version": ex_get_active_version,
    "is_sandbox": ex_is_sandbox,
    "list_sandboxes": ex_list_sandboxes,
    "rollback_sandbox": ex_rollback_sandbox,
    "sandbox_configure_ps1": ex_sandbox_configure_ps1,
    "sandbox_maintain": ex_sandbox_maintain,
    "sandbox_to_sif": ex_sandbox_to_sif,
    "sandbox_update": ex_sandbox_update,
    "switch_sandbox": ex_switch_sandbox,
    "get_dev_mounts": ex_get_dev_mounts,
    "get_mount_config": ex_get_mount_config,
    "get_texlive_binds": ex_get_texlive_binds,
}
#: The compose functions share one real project (see test_compose_examples).
COMPOSE = {
    ("scitex_container", "docker_rebuild"),
    ("scitex_container", "docker_restart"),
    ("scitex_container.docker", "rebuild"),
    ("scitex_container.docker", "restart"),
    ("scitex_container.docker", "status"),
}
STATUS_BY_MODULE = {"scitex_container": ex_status, "scitex_container.apptainer": ex_status}


def test_the_table_covers_the_53_reference_functions() -> None:
    assert len(CASES) == len(set(CASES)) == 53
    for mod, name in CASES:
        assert inspect.isfunction(getattr(MODULES[mod], name)), f"{mod}.{name}"
        assert (mod, name) in COMPOSE or name in EXAMPLES or name == "status"


@pytest.mark.parametrize(("mod", "name"), [c for c in CASES if c not in COMPOSE])
def test_documented_example(world: World, mod: str, name: str) -> None:
    example = STATUS_BY_MODULE[mod] if name == "status" else EXAMPLES[name]
    example(getattr(MODULES[mod], name), world)


@pytest.mark.compose
def test_compose_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    name = f"sctxt{uuid.uuid4().hex[:10]}"
    project = write_project(tmp_path / name, name)
    try:
        assert docker.rebuild(env="dev", project_dir=project.dir) == 0
        assert top.docker_rebuild(env="dev", project_dir=project.dir) == 0
        assert docker.restart(env="dev", project_dir=project.dir) == 0
        assert top.docker_restart(env="dev", project_dir=project.dir) == 0
        out = docker.status(env="dev", project_dir=project.dir)
        assert out["returncode"] == 0 and Path(out["compose_file"]) == project.file
        assert {c["state"] for c in out["containers"]} == {"running"}
        assert {"name", "state", "image", "raw"} <= set(out["containers"][0])
    finally:
        remove_project(name, [project.image])
