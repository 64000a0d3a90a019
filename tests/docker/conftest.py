"""Fixtures for the compose tests: a fresh engine choice per test, a real project."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from compose_stack import remove_project, write_project

from scitex_container.docker import engine


@pytest.fixture(autouse=True)
def _fresh_engine_cache():
    engine.clear_cache()
    yield
    engine.clear_cache()


@pytest.fixture
def compose_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh project directory named ``sctxt<random>`` (also its project name)."""
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    name = f"sctxt{uuid.uuid4().hex[:10]}"
    project = write_project(tmp_path / name, name)
    yield project
    remove_project(name, [project.image, f"localhost/{name}-bad:dev"])
