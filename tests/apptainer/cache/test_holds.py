"""A build holds every entry it reuses: `cache prune --all` (or another build's eviction)
leaves it in place while the build runs, says so, and the build's image is whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scitex_container.apptainer.cache import holds

RECIPE = """\
Bootstrap: localimage
From: {base}

%post
    echo one > /one
    # scitex: checkpoint
{tail}
%runscript
    cat /one
"""
WAIT = (
    "    touch {dir}/waiting\n    while [ ! -e {dir}/gate ]; do sleep 0.1; done\n"
    "    echo two > /two\n"
)


def files(image: Path) -> list[str]:
    """The paths in the image's root fs partition (read with unsquashfs at its offset)."""
    from scitex_container.apptainer.sif.header import read_sif

    part = read_sif(image).primary_partition()
    assert part is not None
    argv = ["unsquashfs", "-l", "-o", str(part.offset), "-d", "", str(image)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    history = "/.singularity.d/bootstrap_history/"  # a staged build's chain of bases
    paths = done.stdout.splitlines()
    return sorted(p for p in paths if p.startswith("/") and not p.startswith(history))


def wait_for(path: Path, proc: subprocess.Popen, deadline: float) -> None:
    while not path.exists():
        assert proc.poll() is None, "the build ended early"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.apptainer
@pytest.mark.stage_cache
def test_prune_all_leaves_an_entry_a_running_build_reuses_and_its_image_is_whole(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    cache = tmp_path / "stages"
    first = tmp_path / "first.def"
    first.write_text(RECIPE.format(base=busybox_sif, tail="    echo 2 > /two\n"))
    assert sx("build", "--cache-dir", cache, first).code == 0  # makes the post-1 entry
    listed = {
        e["stage"]: e["key"] for e in sx("--json", "cache", "list", "--cache-dir", cache).json()
    }
    held_key = listed["post-1"]

    gate = tmp_path / "g"
    gate.mkdir()
    recipe = tmp_path / "r.def"
    recipe.write_text(RECIPE.format(base=busybox_sif, tail=WAIT.format(dir=gate)))
    cli = Path(sys.executable).parent / "scitex-container"
    log = (tmp_path / "build.out").open("w")
    argv = ["--json", "build", "--cache-dir", str(cache), "-o", str(tmp_path / "warm")]
    proc = subprocess.Popen(
        [str(cli), *argv, str(recipe)], stdout=log, stderr=(tmp_path / "build.err").open("w")
    )
    try:
        wait_for(gate / "waiting", proc, time.monotonic() + 120)  # post-1 reused, post-2 runs
        assert holds.in_use(cache / "entries" / held_key)
        pruned = sx("--json", "cache", "prune", "--all", "--cache-dir", cache)
        assert pruned.code == 0, pruned.err
        assert held_key not in pruned.json()["removed"] and pruned.json()["removed"]
        assert f"{held_key}: in use by a running build, left in place" in pruned.err
        assert (cache / "entries" / held_key / "rootfs" / "one").exists()
        # another build's eviction (a cap of 1 byte) leaves it too
        other = tmp_path / "other.def"
        other.write_text(RECIPE.format(base=busybox_sif, tail="    echo 3 > /three\n"))
        evicting = sx("build", "--cache-dir", cache, "--cache-max-size", "1", other)
        assert evicting.code == 0, evicting.err
        assert (cache / "entries" / held_key / "rootfs" / "one").exists()
        (gate / "gate").touch()
        assert proc.wait(timeout=120) == 0, (tmp_path / "build.err").read_text()
    finally:
        (gate / "gate").touch()
        proc.wait(timeout=120)
        log.close()
    assert not holds.in_use(cache / "entries" / held_key)  # released when the build ended
    warm = json.loads((tmp_path / "build.out").read_text())
    assert [s["name"] for s in warm["stages"] if s["reused"]] == ["post-1"]
    image = Path(warm["path"])
    made = sx("--json", "build", "--no-cache", "-o", tmp_path / "cold", recipe)
    assert made.code == 0, made.err
    cold = Path(made.json()["path"])
    assert files(image) == files(cold) and "/one" in files(image) and "/two" in files(image)
    # and once the build is over, prune removes it
    assert (
        held_key in sx("--json", "cache", "prune", "--all", "--cache-dir", cache).json()["removed"]
    )


def test_a_removal_takes_the_hold_first_and_a_link_is_never_held(tmp_path: Path) -> None:
    entry = tmp_path / "e"
    entry.mkdir()
    fd = holds.hold(entry)
    assert fd is not None and holds.in_use(entry)
    with pytest.raises(BlockingIOError, match="in use by a running build"), holds.exclusive(entry):
        pass
    os.close(fd)
    assert not holds.in_use(entry)
    (entry / "used").unlink()
    os.symlink("/etc/passwd", entry / "used")
    before = os.stat("/etc/passwd").st_mtime
    assert holds.hold(entry) is None  # never opened through the link
    assert os.stat("/etc/passwd").st_mtime == before
