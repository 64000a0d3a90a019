"""The in-process CLI (`sx`), to compare a tool call with the same command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture()
def sx(capsys: pytest.CaptureFixture[str]):
    """``sx(*args)`` runs ``scitex-container ARGS`` and returns its exit code and output."""
    from scitex_container.cli.main import main

    def run(*args: object) -> Ran:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run
