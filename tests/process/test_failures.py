"""A failed tool call becomes a specific ProcessError quoting the tool's own reason.

The unit tests read output the real tools printed on this test bed; the
others drive the real apptainer (a missing image, a read-only and a full
output directory, an apt pin that does not exist inside a build).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers.images import busybox_sif, debian_sif

from scitex_container import errors
from scitex_container.process import runner
from scitex_container.process.failures import classify, process_error

APT_BUILD_LOG = """\
INFO:    Starting build...
INFO:    Verifying bootstrap image /var/tmp/debian-pip.sif
INFO:    Extracting local image...
INFO:    Running post scriptlet
+ apt-get install -y python3-pip=99.9-1
Reading package lists...
E: Version '99.9-1' for 'python3-pip' was not found
FATAL:   While performing build: while running engine: while running %post section: exit status 100
"""

MISSING_IMAGE = (
    "FATAL:   While checking container encryption: could not open image /tmp/nope.sif: "
    "failed to retrieve path for /tmp/nope.sif: lstat /tmp/nope.sif: no such file or directory"
)


@pytest.mark.parametrize(
    ("output", "cls", "quoted"),
    [
        (APT_BUILD_LOG, errors.VersionNotFoundError, "E: Version '99.9-1'"),
        ("E: Unable to locate package nosuchpkg\n", errors.VersionNotFoundError, "nosuchpkg"),
        (
            "ERROR: No matching distribution found for foo==99\n",
            errors.VersionNotFoundError,
            "foo==99",
        ),
        (MISSING_IMAGE, errors.ImageNotFoundError, "could not open image"),
        ("Error: localhost/nope: image not known\n", errors.ImageNotFoundError, "not known"),
        (
            "FATAL:   While performing build: while creating SIF: while creating container: "
            "open /ro/a.sif: read-only file system\n",
            errors.PermissionDeniedError,
            "read-only file system",
        ),
        ("sbatch: error: open /x: Permission denied\n", errors.PermissionDeniedError, "Permission"),
        (
            "FATAL:   write /small/a.sif: no space left on device\n",
            errors.NoSpaceError,
            "no space left",
        ),
    ],
)
def test_classify_picks_the_subclass_and_the_reason_line(output, cls, quoted) -> None:
    found, reason = classify(output)
    assert found is cls and quoted in reason
    exc = process_error(["apptainer", "build", "x.sif", "x.def"], 255, "", output)
    assert type(exc) is cls and isinstance(exc, errors.ProcessError)
    assert quoted in str(exc) and "\n" not in str(exc)


def test_unclassified_and_timed_out_failures_stay_plain() -> None:
    exc = process_error(["sbatch", "j.sh"], 1, "", "sbatch: error: Invalid partition name\n")
    assert type(exc) is errors.ProcessError and str(exc).endswith("Invalid partition name")
    late = process_error(["apptainer", "exec"], None, "", MISSING_IMAGE, timed_out=True)
    assert type(late) is errors.ProcessError and "timed out" in str(late)


def test_only_the_end_of_a_long_log_is_searched() -> None:
    old_noise = "cp: cannot open 'x': Permission denied\n" + "ok\n" * 100
    exc = process_error(["apptainer", "build"], 255, "", old_noise + "FATAL: exit status 1\n")
    assert type(exc) is errors.ProcessError and exc.reason == "FATAL: exit status 1"


def test_stdout_is_data_not_a_reason() -> None:
    exc = process_error(["ls"], 2, "permission denied\n", "")
    assert type(exc) is errors.ProcessError


# -- the real apptainer -------------------------------------------------------


def test_real_exec_of_a_missing_image(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sif"
    with pytest.raises(errors.ImageNotFoundError) as info:
        runner.run(["apptainer", "exec", missing, "true"], timeout=60)
    assert str(missing) in str(info.value) and info.value.exit_code == errors.EXIT_BAD_INPUT


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", where], check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", where], check=False)


@pytest.mark.parametrize(
    ("options", "cls", "quoted"),
    [
        ("ro,size=1m", errors.PermissionDeniedError, "read-only file system"),
        ("size=100k", errors.NoSpaceError, "no space left on device"),
    ],
)
def test_real_build_into_an_unwritable_dir(tmp_path: Path, options, cls, quoted) -> None:
    with _tmpfs(tmp_path / "out", options) as out:
        log = tmp_path / "build.log"
        argv = ["apptainer", "build", "--fakeroot", out / "a.sif", busybox_sif()]
        with pytest.raises(cls) as info:
            runner.stream(argv, log_path=log, timeout=120)
    assert quoted in str(info.value) and str(log) in str(info.value)
    assert quoted in log.read_text()  # the log still has everything


def test_real_apt_failure_in_post_reaches_the_cli_error_line(tmp_path: Path) -> None:
    if shutil.which("apptainer") is None:
        pytest.fail("apptainer is part of the test bed")
    recipe = tmp_path / "apt.def"
    recipe.write_text(
        f"Bootstrap: localimage\nFrom: {debian_sif()}\n\n"
        "%post\n    apt-get install -y python3-pip=99.9-1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCITEX_")}
    done = subprocess.run(
        [sys.executable, "-m", "scitex_container", "build", recipe, "-o", tmp_path / "out"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == errors.EXIT_CHECK_FAILED
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert "E: Version '99.9-1' for 'python3-pip' was not found" in last
    assert not list((tmp_path / "out").rglob("*.sif"))
