"""The reference builders are pure: no PATH lookup, no launcher written, no loader run.

Run with PATH set to an empty directory (no apptainer, no loader, no tool at
all) and HOME, XDG_CACHE_HOME read-only: they return the same shape as on a
host with everything, name the container command ``apptainer`` (resolved
where the command runs) and create, change or run nothing.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, os
from scitex_container.apptainer import (
    build_exec_args, build_instance_start_script, build_sbatch_command,
    build_shell_in_allocation_command, build_srun_command,
)
from scitex_container.host import get_mount_config
from scitex_container.host.mounts import build_host_mount_binds
tl = os.environ["TL"]
args = ("/images/app.sif", "alice", "/n/home/alice", "/n/proj/demo", "demo")
out = {
    "exec": build_exec_args(*args, texlive_prefix=tl),
    "srun": build_srun_command(*args, texlive_prefix=tl),
    "script": build_instance_start_script(*args, "scitex-alice-demo", texlive_prefix=tl),
    "sbatch": build_sbatch_command("scitex-alice-demo", "/n/start.sh"),
    "shell": build_shell_in_allocation_command("12", "scitex-alice-demo", "alice"),
    "binds": build_host_mount_binds([], tl),
    "config": sorted(get_mount_config(tl, "/data:/data:ro"))
}
print(json.dumps(out))
"""


def _tree(root: Path) -> list[tuple[str, int, float]]:
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime) for p in root.rglob("*")
    )


def _builders(tmp: Path, path: str, tl: str) -> dict:
    import json

    home = tmp / "home"
    env = {
        "PATH": path,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "SCITEX_CONTAINER_HOST_WRAPPERS": str(home / "wrappers"),
        "TL": tl,
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_builders_need_no_tool_and_touch_no_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    before = _tree(tmp_path)
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)  # read-only: a write here fails loudly (as a user)
    try:
        missing_tl = "/nonexistent/texlive-prefix"
        bare = _builders(tmp_path, str(empty), missing_tl)
        full = _builders(tmp_path, os.environ["PATH"], "/usr")
    finally:
        home.chmod(0o700)
    assert _tree(tmp_path) == before, "a builder created or changed a file"
    for key in ("exec", "srun", "shell"):
        assert "apptainer" in bare[key], key
    assert "apptainer" in bare["script"]
    assert bare["exec"][0] == "apptainer", "the container command is named, not looked up"
    assert full["exec"][0] == "apptainer"
    # the same shape with or without the tools and TeX Live on this host
    for key in ("exec", "srun"):
        options = [{a for a in found[key] if a.startswith("--")} for found in (bare, full)]
        assert options[0] == options[1], key
        assert bare[key][-3:] == full[key][-3:] or key == "srun"
    assert bare["shell"] == full["shell"] and bare["sbatch"] == full["sbatch"]
    assert full["binds"][0::2] == ["--bind"] * (len(full["binds"]) // 2)
    assert bare["config"] == full["config"]
    assert f"PREPEND_PATH={missing_tl}/bin" in " ".join(bare["exec"])
