"""Host TeX Live and ImageMagick, bound into a real Debian container without them, really run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scitex_container.host import get_mount_config

pytestmark = pytest.mark.apptainer

DOC = r"""\documentclass{article}
\begin{document}
Hello from the host's \TeX{} inside a container.
\end{document}
"""


def _exec(sif: Path, config: dict | None, script: str, *binds: str) -> subprocess.CompletedProcess:
    argv = ["apptainer", "exec", "--containall", "--no-home"]
    if config is not None:
        argv += config["bind_args"]
        for key, value in config["env"].items():
            argv += ["--env", f"{key}={value}"]
    for bind in binds:
        argv += ["--bind", bind]
    argv += [str(sif), "sh", "-c", script]
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def config(host_packages: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("launchers")
    return get_mount_config("", "", imagemagick_prefix="", wrapper_root=root, resolve=True)


def test_the_image_has_no_tex_of_its_own(debian_sif: Path) -> None:
    out = _exec(debian_sif, None, "command -v pdflatex || command -v convert || echo none")
    assert out.stdout.strip() == "none", out.stdout


def test_pdflatex_from_the_host_compiles_a_document_from_a_host_mount(
    debian_sif: Path, config: dict, tmp_path: Path
) -> None:
    work = tmp_path / "doc"
    work.mkdir()
    (work / "hello.tex").write_text(DOC)
    out = _exec(
        debian_sif,
        config,
        f"cd {work} && command -v pdflatex && "
        "pdflatex -interaction=nonstopmode -halt-on-error hello.tex",
        f"{work}:{work}:rw",
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.splitlines()[0] == config["launchers"]["pdflatex"] == "/usr/bin/pdflatex"
    pdf = work / "hello.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    assert "TeX Live" in (work / "hello.log").read_text()


def test_kpathsea_sees_the_programs_host_location(debian_sif: Path, config: dict) -> None:
    # kpathsea derives SELFAUTOLOC from argv[0]; the launcher keeps the host path.
    out = _exec(
        debian_sif, config, "kpsewhich -var-value SELFAUTOLOC; kpsewhich -var-value TEXMFDIST"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["/usr/bin", "/usr/share/texlive/texmf-dist"]


def test_imagemagick_convert_runs_inside_through_the_binds(
    debian_sif: Path, config: dict, tmp_path: Path
) -> None:
    assert not [u for u in config["unrunnable"] if u["group"] == "imagemagick"]
    out = _exec(
        debian_sif,
        config,
        f"cd {tmp_path} && convert -size 40x20 xc:red red.png"
        " && convert red.png -resize 50% small.jpg && identify small.jpg",
        f"{tmp_path}:{tmp_path}:rw",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "red.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "small.jpg").read_bytes().startswith(b"\xff\xd8")
    assert "20x10" in out.stdout


def test_the_containers_own_programs_keep_their_own_libraries(
    debian_sif: Path, config: dict
) -> None:
    # A container program (python3) started next to the bound tools sees no host
    # library path and loads its libc from the image, not from /opt/scitex-host.
    out = _exec(
        debian_sif,
        config,
        "echo LD=${LD_LIBRARY_PATH:-unset}; "
        "python3 -c \"print([l.split()[-1] for l in open('/proc/self/maps') "
        "if 'libc.so' in l][0])\"",
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "scitex-host" not in lines[0]  # apptainer's own /.singularity.d/libs may be there
    assert lines[1].startswith(("/usr/lib/", "/lib/")) and "scitex-host" not in lines[1]


def test_host_scripts_reach_the_launchers_by_path_and_by_name(
    debian_sif: Path, config: dict
) -> None:
    # TeX Live's shell scripts put their own directory first on PATH and call
    # kpsewhich by name; absolute calls must work too.
    out = _exec(
        debian_sif,
        config,
        "mktexlsr --version; mktextfm --help >/dev/null; /usr/bin/kpsewhich article.cls",
    )
    assert out.returncode == 0, out.stderr
    assert "error while loading shared libraries" not in out.stderr, out.stderr
    assert "Cannot find mktex.opt" not in out.stderr, out.stderr
    assert out.stdout.splitlines()[-1] == "/usr/share/texlive/texmf-dist/tex/latex/base/article.cls"


def test_latex_then_dvipdfmx_chain(debian_sif: Path, config: dict, tmp_path: Path) -> None:
    (tmp_path / "d.tex").write_text(DOC)
    out = _exec(
        debian_sif,
        config,
        f"cd {tmp_path} && latex -interaction=nonstopmode -halt-on-error d.tex >/dev/null"
        " && dvipdfmx -q d.dvi",
        f"{tmp_path}:{tmp_path}:rw",
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")


def test_the_raw_host_binary_alone_does_not_run(debian_sif: Path, config: dict) -> None:
    # Why the launchers exist: without the host loader and libraries it fails.
    out = _exec(debian_sif, config, "/opt/scitex-host/texlive/bin/pdflatex --version")
    assert out.returncode != 0 and "error while loading shared libraries" in out.stderr


def test_without_argv0_support_the_launchers_still_compile(
    host_packages: dict, debian_sif: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A host loader older than glibc 2.33 has no --argv0: the program then sees
    # its private path as argv[0]; Debian's TeX Live still finds its files.
    from scitex_container.host import plan

    monkeypatch.setattr(plan, "loader_supports_argv0", lambda loader: False)
    config = get_mount_config("/usr", "", wrapper_root=tmp_path / "w", resolve=True)
    launcher = next(m["host"] for m in config["mounts"] if m["container"] == "/usr/bin/pdflatex")
    assert "--argv0" not in Path(launcher).read_text()
    work = tmp_path / "doc"
    work.mkdir()
    (work / "hello.tex").write_text(DOC)
    out = _exec(
        debian_sif,
        config,
        f"cd {work} && pdflatex -interaction=nonstopmode -halt-on-error hello.tex",
        f"{work}:{work}:rw",
    )
    assert out.returncode == 0, out.stdout[-2000:]
    assert (work / "hello.pdf").read_bytes().startswith(b"%PDF")
