"""Sphinx configuration: autodoc of the public API, sphinx-click for the CLI, README sections.

Pages that restate a README section (architecture, threat model,
compatibility) include the section itself, cut out of README.md at build
time into ``_readme/`` (never committed), so the README stays the one
source.  A section the README does not have yet becomes a one-line note,
not a broken build.  The MCP tool table is generated from the server's own
catalog the same way.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from scitex_container._version import __version__  # noqa: E402

project = "scitex-container"
author = "scitex-container developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_click",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_readme"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = True
myst_heading_anchors = 3
html_theme = "alabaster"
suppress_warnings = ["myst.xref_missing"]  # README links to repository files, not pages

#: page -> the README section it includes (its "## " heading).
README_SECTIONS = {
    "architecture": "Architecture",
    "threat_model": "Threat model",
    "compatibility": "Compatibility with the reference",
    "using": "Using it",
}


def readme_section(text: str, title: str) -> str | None:
    """The body of README section ``## title`` (up to the next ``## ``), or None."""
    match = re.search(rf"^## {re.escape(title)}\s*$", text, flags=re.MULTILINE)
    if not match:
        return None
    rest = text[match.end() :]
    end = re.search(r"^## ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _generate(_app: object) -> None:
    out = HERE / "_readme"
    out.mkdir(exist_ok=True)
    readme = (ROOT / "README.md").read_text()
    for page, title in README_SECTIONS.items():
        body = readme_section(readme, title)
        if body is None:  # a renamed heading must not leave a page that says nothing
            raise RuntimeError(f'README.md has no "## {title}" section (docs page `{page}`)')
        # the README's own sub-headings (###) become this page's sections (##)
        body = re.sub(r"^###", "##", body, flags=re.MULTILINE)
        _write_if_changed(out / f"{page}.md", body)
    from scitex_container.mcp.stdio_server import tool_list

    rows = ["| tool | arguments | what it does |", "| --- | --- | --- |"]
    for tool in tool_list():
        props = tool["input_schema"]["properties"]
        args = ", ".join(f"`{name}`" for name in props) or "-"
        rows.append(f"| `{tool['name']}` | {args} | {tool['description']} |")
    _write_if_changed(out / "mcp_tools.md", "\n".join(rows) + "\n")


def setup(app: object) -> None:
    app.connect("builder-inited", _generate)  # type: ignore[attr-defined]
