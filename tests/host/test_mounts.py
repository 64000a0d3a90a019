"""Mount plans for host tools: same-path binds, private libraries, honest 'unrunnable' reports."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from scitex_container import runner
from scitex_container.apptainer.binds import build_host_mount_binds
from scitex_container.errors import BadInputError
from scitex_container.host import get_mount_config, get_texlive_binds
from scitex_container.host.elf import inspect, parse_listing
from scitex_container.host.groups import TEXLIVE
from scitex_container.host.mounts import parse_host_mounts, plan_group
from scitex_container.host.wrappers import PRIVATE_ROOT

LIB_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")


def _is_library_path(path: str) -> bool:
    name = os.path.basename(path)
    return ".so" in name and any(path.startswith(d + "/") for d in LIB_DIRS)


def test_parse_host_mounts_accepts_commas_and_newlines(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    binds = parse_host_mounts(f"{a}:/data:ro, {b}:{b}:rw\n\n{a}")
    assert [(x.host, x.container, x.mode) for x in binds] == [
        (str(a), "/data", "ro"), (str(b), str(b), "rw"), (str(a), str(a), "ro"),
    ]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("relative:/x", "must be an absolute path"),
        ("/no/such/dir:/x", "host path does not exist"),
        ("/tmp:/x:rx", "mode must be 'ro' or 'rw'"),
        ("/tmp:/x:ro:extra", "expected host[:container[:mode]]"),
        ("/tmp:relative", "must be an absolute path"),
    ],
)
def test_bad_raw_entries_name_the_entry(entry: str, words: str) -> None:
    with pytest.raises(BadInputError) as info:
        get_mount_config("/nonexistent-prefix", f"/tmp:/tmp,{entry}")
    message = str(info.value)
    assert words in message and repr(entry) in message and "host_mounts_raw[1]" in message


def test_texlive_binds_land_at_the_same_path_and_libraries_stay_private(host_packages: dict) -> None:
    binds = get_texlive_binds("/usr")
    by_container = {b["container"]: b for b in binds}
    for path in ("/usr/share/texlive", "/usr/share/texmf", "/var/lib/texmf", "/etc/texmf", "/usr/bin/pdflatex"):
        assert by_container[path]["host"] == path and by_container[path]["mode"] == "ro"
    for bind in binds:
        assert set(bind) == {"host", "container", "mode"}
        if bind["container"].startswith(PRIVATE_ROOT + "/"):
            continue
        assert bind["host"] == bind["container"], bind
        assert not _is_library_path(bind["container"]), f"would shadow a container library: {bind}"
    libs = {os.path.basename(b["container"]) for b in binds if b["container"].startswith(f"{PRIVATE_ROOT}/texlive/lib/")}
    assert {"libkpathsea.so.6", "libc.so.6", "ld-linux-x86-64.so.2"} <= libs


def test_build_host_mount_binds_uses_the_same_plan(host_packages: dict) -> None:
    args = build_host_mount_binds(texlive_prefix="/usr")
    assert args[0::2] == ["--bind"] * (len(args) // 2)
    specs = set(args[1::2])
    assert "/usr/share/texlive:/usr/share/texlive:ro" in specs
    assert "/usr/bin/pdflatex:/usr/bin/pdflatex:ro" in specs
    assert any(s.endswith(f":{PRIVATE_ROOT}/texlive/bin:ro") for s in specs)


def test_mount_config_keys_launchers_and_path_order(host_packages: dict, tmp_path: Path) -> None:
    config = get_mount_config("", f"{tmp_path}:{tmp_path}:rw", imagemagick_prefix="", wrapper_root=tmp_path / "w")
    assert {"bind_args", "path_additions", "mounts", "wrappers", "unrunnable", "needs_interpreter", "errors"} <= set(config)
    assert config["mounts"][0] == {"host": str(tmp_path), "container": str(tmp_path), "mode": "rw"}
    assert config["unrunnable"] == [] and config["errors"] == []
    paths = config["path_additions"]
    assert paths.index(f"{PRIVATE_ROOT}/texlive/bin") < paths.index("/usr/bin")
    assert paths.index(f"{PRIVATE_ROOT}/imagemagick/bin") < paths.index("/usr/bin")
    assert config["env"] == {"PREPEND_PATH": ":".join(paths)}
    assert config["wrappers"]["pdflatex"] == f"{PRIVATE_ROOT}/texlive/bin/pdflatex"
    assert config["wrappers"]["convert"] == f"{PRIVATE_ROOT}/imagemagick/bin/convert"
    launcher_dir = next(m["host"] for m in config["mounts"] if m["container"] == f"{PRIVATE_ROOT}/texlive/bin")
    text = (Path(launcher_dir) / "pdflatex").read_text()
    assert text.startswith("#!/bin/sh\n") and "/usr/bin/pdflatex" in text and "--library-path" in text
    assert os.access(Path(launcher_dir) / "pdflatex", os.X_OK)
    scripts = {n["binary"]: n["interpreter"] for n in config["needs_interpreter"]}
    assert scripts.get("/usr/bin/mktextfm") == "/bin/sh"


def test_dry_run_writes_no_launchers(host_packages: dict, tmp_path: Path) -> None:
    with runner.dry_run():
        config = get_mount_config("/usr", "", wrapper_root=tmp_path / "w")
    assert config["wrappers"]["pdflatex"]
    assert not (tmp_path / "w").exists()


def test_elf_inspection_and_listing_parser(tmp_path: Path) -> None:
    sh = inspect("/bin/sh")
    assert sh.kind == "elf" and sh.interpreter and sh.interpreter.startswith("/")
    script = tmp_path / "s"
    script.write_text("#!/usr/bin/perl -w\nprint 1;\n")
    assert inspect(script).kind == "script" and inspect(script).interpreter == "/usr/bin/perl -w"
    listing = parse_listing(
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f)\n"
        "\tlibnope.so.9 => not found\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n"
    )
    assert listing.libs == (("libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"),)
    assert listing.missing == ("libnope.so.9",)


def test_programs_that_cannot_run_are_reported_with_the_reason(host_packages: dict, tmp_path: Path) -> None:
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        pytest.skip("patchelf (installed by scripts/setup-host.sh) is needed to make a broken program")
    bindir = tmp_path / "prefix" / "bin"
    bindir.mkdir(parents=True)
    good = bindir / "pdftex"
    shutil.copy2("/usr/bin/pdftex", good)
    missing_lib = bindir / "pdflatex"
    shutil.copy2("/usr/bin/pdftex", missing_lib)
    subprocess.run([patchelf, "--add-needed", "libscitex-absent.so.1", str(missing_lib)], check=True)
    foreign = bindir / "tex"
    shutil.copy2("/usr/bin/tex", foreign)
    with open(foreign, "r+b") as fh:  # claim to be an aarch64 program
        fh.seek(18)
        fh.write((183).to_bytes(2, "little"))
    data = bindir / "bibtex"
    data.write_bytes(b"\0\1\2 not a program")
    data.chmod(0o755)
    plan = plan_group(TEXLIVE, str(tmp_path / "prefix"), wrapper_root=tmp_path / "w")
    reasons = {u["binary"]: u["reason"] for u in plan.unrunnable}
    assert "libscitex-absent.so.1" in reasons[str(missing_lib)]
    assert "another machine" in reasons[str(foreign)]
    assert "not an ELF program" in reasons[str(data)]
    assert set(plan.wrappers) == {"pdftex"}
    containers = {b.container for b in plan.binds}
    assert str(good) in containers and str(missing_lib) not in containers


def test_a_prefix_without_the_tools_binds_nothing(tmp_path: Path) -> None:
    assert get_texlive_binds(str(tmp_path)) == []
    config = get_mount_config(str(tmp_path), "", imagemagick_prefix=str(tmp_path))
    assert config["bind_args"] == [] and config["path_additions"] == [] and config["env"] == {}
