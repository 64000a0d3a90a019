"""`skills list|get|install` (the seed's command): the pages, installed without clobbering."""

from __future__ import annotations

import os

from scitex_container.skills.book import INDEX, pages_dir
from scitex_container.skills.skill_install import MARKER


def test_list_and_get_the_bundled_pages(sx):
    listed = sx("skills", "list", "--json")
    assert listed.code == 0, listed.err
    names = [p["name"] for p in listed.json()]
    on_disk = sorted(p.stem for p in pages_dir().glob("*.md") if p.name != INDEX)
    assert names == on_disk and "02_quick-start" in names
    page = sx("skills", "get", "02_quick-start.md")
    assert page.code == 0 and page.out == (pages_dir() / "02_quick-start.md").read_text()
    assert sx("skills", "get", "01_installation", "--json").json()["content"].startswith("#")
    missing = sx("--json", "skills", "get", "nope")
    assert missing.code == 2 and "02_quick-start" in missing.json()["error"]


def test_install_links_copies_and_never_replaces_what_it_did_not_make(sx, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    dest = tmp_path / "skills"
    target = dest / "scitex-container"
    dry = sx("skills", "install", "--dest", dest, "--dry-run", "--claude-symlink", "--json")
    assert dry.code == 1 and dry.json()["result"]["action"] == "would link"
    assert not dest.exists() and not (tmp_path / "home").exists()

    first = sx("skills", "install", "--dest", dest, "--claude-symlink", "--json")
    assert first.code == 0 and first.json()["action"] == "linked", first.out
    assert os.readlink(target) == str(pages_dir())
    claude = tmp_path / "home" / ".claude" / "skills" / "scitex"
    assert os.path.realpath(claude) == str(dest)
    assert sx("skills", "install", "--dest", dest, "--json").json()["action"] == "present"

    copied = sx("skills", "install", "--dest", dest, "--no-link", "--json")
    assert copied.code == 0 and copied.json()["action"] == "copied"
    assert not target.is_symlink() and (target / MARKER).is_file()
    assert (target / "02_quick-start.md").read_text() == (
        pages_dir() / "02_quick-start.md"
    ).read_text()
    assert sx("skills", "install", "--dest", dest).code == 0  # our copy becomes a link again
    assert target.is_symlink()
    assert sorted(os.listdir(dest)) == ["scitex-container"]  # no temporaries left

    other = tmp_path / "other"
    (other / "scitex-container").mkdir(parents=True)
    (other / "scitex-container" / "mine.md").write_text("not yours\n")
    refused = sx("--json", "skills", "install", "--dest", other, "--no-link")
    assert refused.code == 2 and "not made by" in refused.json()["error"]
    assert os.listdir(other / "scitex-container") == ["mine.md"]


def test_skills_help_recursive(sx):
    ran = sx("skills", "--help-recursive")
    assert ran.code == 0 and "=== scitex-container skills install ===" in ran.out
