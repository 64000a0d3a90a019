"""The documentation site builds with warnings as errors and holds what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_with_warnings_as_errors(tmp_path):
    out = tmp_path / "html"
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-q",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    pages = {p.stem for p in out.glob("*.html")}
    assert {
        "getting_started",
        "architecture",
        "threat_model",
        "compatibility",
        "cli",
        "mcp",
        "api",
    } <= pages
    api = (out / "api.html").read_text()
    for name in (
        "scitex_container.build",
        "scitex_container.apptainer.build_exec_args",
        "scitex_container.docker.rebuild",
        "scitex_container.host.check_packages",
    ):
        assert f'id="{name}"' in api, name
    cli = (out / "cli.html").read_text()
    for anchor in (
        "scitex-container-sandbox-maintain",
        "scitex-container-list",
        "cmdoption-scitex-container-build-def-name",
    ):
        assert f'id="{anchor}"' in cli, anchor
    assert "sandbox_create" in (out / "mcp.html").read_text()
    # the architecture page is the README's section, cut at build time
    assert "runner.py" in (out / "architecture.html").read_text()
    compatibility = (out / "compatibility.html").read_text()
    assert "The README has no" not in compatibility and "build_exec_args" in compatibility


def test_a_readme_section_the_docs_include_must_exist(tmp_path, monkeypatch):
    """A renamed README heading fails the docs build instead of an empty page."""
    import importlib.util

    import pytest

    spec = importlib.util.spec_from_file_location("docs_conf", ROOT / "docs" / "conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    readme = (ROOT / "README.md").read_text()
    for title in conf.README_SECTIONS.values():
        assert conf.readme_section(readme, title) is not None, title
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(readme.replace("## Compatibility with", "## Compat with"))
    monkeypatch.setattr(conf, "ROOT", tmp_path)
    monkeypatch.setattr(conf, "HERE", tmp_path / "docs")
    with pytest.raises(RuntimeError, match="Compatibility with the reference"):
        conf._generate(None)


def test_every_public_function_documents_every_parameter():
    """The reference page can be compared with ours function by function."""
    import importlib
    import inspect

    gaps = []
    for name in (
        "scitex_container",
        "scitex_container.apptainer",
        "scitex_container.docker",
        "scitex_container.host",
    ):
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if not callable(obj) or isinstance(obj, type):
                continue
            doc = inspect.getdoc(obj) or ""
            params = [p for p in inspect.signature(obj).parameters if not p.startswith("_")]
            gaps += [f"{name}.{attr}({p})" for p in params if p not in doc]
            if not doc:
                gaps.append(f"{name}.{attr}: no docstring")
    assert not gaps, gaps
