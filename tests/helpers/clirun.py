"""The CLI as a user runs it: ``python -m scitex_container ARGS`` in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def cli(
    *args: object,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run the CLI with ``args`` (each made a string); output captured as text.

    ``env`` replaces the environment (None: this process's), ``extra`` is set on top of
    it; ``cwd`` is where it runs.
    """
    if extra:
        env = {**(os.environ if env is None else env), **extra}
    return subprocess.run(
        [sys.executable, "-m", "scitex_container", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=None if env is None else dict(env),
        check=False,
    )


def checkout_cli(
    *args: object,
    cwd: Path | str | None = None,
    extra: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """``cli`` whose child imports this checkout (``storekit.python_env``), plus ``extra``."""
    from storekit import python_env

    return cli(*args, cwd=cwd, env=python_env(), extra=extra, timeout=timeout)


def one_line(out: subprocess.CompletedProcess) -> str:
    """The CLI's error: exactly one line on stderr, no errno or traceback in it; returned."""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Errno" not in lines[0] and "Traceback" not in lines[0], lines[0]
    return lines[0]


def in_process(capsys, *args: str) -> tuple[object, str, str]:
    """``main(ARGS)`` in this process: (its exit code as raised, stdout, stderr)."""
    import pytest

    from scitex_container.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def in_process_json(capsys, *args: str) -> tuple[int, dict]:
    """``main(["--json", *ARGS])`` in this process: (exit code, the JSON it printed or {})."""
    import json

    code, out, _ = in_process(capsys, "--json", *args)
    return int(code or 0), json.loads(out) if out.strip() else {}
