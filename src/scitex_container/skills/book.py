"""The skill pages bundled in ``skills/pages/``: list them, read one by name."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scitex_container.errors import BadInputError

#: The package name skills are installed under (the seed's).
PACKAGE = "scitex-container"
#: The index page: shipped, but not one of the pages listed.
INDEX = "SKILL.md"


def pages_dir() -> Path:
    """The directory of the bundled pages."""
    return Path(__file__).resolve().parent / "pages"


@dataclass(frozen=True)
class SkillPage:
    """One page: its name (the file's stem), path and, when read, its Markdown."""

    name: str
    path: str
    content: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.content is None:
            del out["content"]
        return out


def list_pages() -> list[SkillPage]:
    """Every bundled page (``*.md`` but the index), by name."""
    root = pages_dir()
    files = sorted(p for p in root.rglob("*.md") if p.is_file() and p.name != INDEX)
    return [SkillPage(p.stem, str(p)) for p in files]


def get_page(name: str) -> SkillPage:
    """The page called ``name`` (``.md`` optional) with its content; unknown: bad input."""
    stem = name[:-3] if name.endswith(".md") else name
    pages = list_pages()
    for page in pages:
        if page.name == stem:
            text = Path(page.path).read_text(encoding="utf-8")
            return SkillPage(page.name, page.path, text)
    known = ", ".join(p.name for p in pages)
    raise BadInputError(f"no skill page `{name}` (pages: {known})", "name")
