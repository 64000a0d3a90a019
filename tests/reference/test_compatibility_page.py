"""Every parameter we added to a reference function is on the README's compatibility page.

The reference's signatures come from ``/work/shared/reference-api.txt`` (the
seed's published API page, one ``module.name(params)`` line per function);
ours from :func:`inspect.signature`.  A parameter of ours the reference does
not have must appear, in backticks, in a row of the compatibility section's
"Parameters we added" table whose first cell names the function.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(os.environ.get("SCITEX_REFERENCE_API", "/work/shared/reference-api.txt"))
_SIG_RE = re.compile(r"^(scitex_container(?:\.\w+)*)\.(\w+)\((.*)\)(?:\[source\])?$")


def reference_signatures(text: str) -> dict[tuple[str, str], list[str]]:
    """``{(module, name): [parameter names]}`` of every signature line on the page."""
    out: dict[tuple[str, str], list[str]] = {}
    for line in text.splitlines():
        m = _SIG_RE.match(line.strip())
        if not m:
            continue
        args = ast.parse(f"def f({m.group(3)}): pass").body[0].args  # type: ignore[attr-defined]
        names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        out[(m.group(1), m.group(2))] = names
    return out


def compatibility_section(readme: str) -> str:
    start = readme.index("\n## Compatibility with the reference\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def added_parameter_rows(section: str) -> list[tuple[set[str], set[str]]]:
    """``(functions named in the first cell, backticked names in the row)`` per table row."""
    lines = section[section.index("Parameters we added") :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    rows = []
    for line in lines[start + 2 : end]:  # the first table only, header and rule left out
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((set(re.findall(r"`([\w.]+)`", cells[0])), set(re.findall(r"`(\w+)`", line))))
    return rows


def spellings(module: str, name: str) -> set[str]:
    """How the page may name a function: ``build`` or ``apptainer.build``; ``docker.status``."""
    short = module.removeprefix("scitex_container").lstrip(".")
    if short in ("docker", "host"):
        return {f"{short}.{name}"}
    return {name, f"{short}.{name}"} if short else {name}


def added_parameters() -> dict[tuple[str, str], list[str]]:
    out = {}
    for (module, name), ref in reference_signatures(REFERENCE.read_text()).items():
        func = getattr(importlib.import_module(module), name)
        ours = list(inspect.signature(func).parameters)
        missing = [p for p in ref if p not in ours]
        assert not missing, f"{module}.{name} lost reference parameters {missing}"
        extra = [p for p in ours if p not in ref]
        if extra:
            out[(module, name)] = extra
    return out


pytestmark = pytest.mark.skipif(not REFERENCE.is_file(), reason="no reference API page here")


def test_the_reference_page_parses_to_its_functions():
    sigs = reference_signatures(REFERENCE.read_text())
    assert len(sigs) >= 53, len(sigs)
    assert sigs[("scitex_container.apptainer", "build_sbatch_command")][:2] == [
        "instance_name",
        "script_path",
    ]
    assert sigs[("scitex_container.apptainer", "sandbox_update")][-1] == "install_deps"


def test_every_added_parameter_is_on_the_compatibility_page():
    rows = added_parameter_rows(compatibility_section((ROOT / "README.md").read_text()))
    unlisted = []
    for (module, name), params in sorted(added_parameters().items()):
        names = spellings(module, name)
        listed = set().union(*(words for funcs, words in rows if funcs & names))
        unlisted += [f"{module}.{name}: {p}" for p in params if p not in listed]
    assert not unlisted, "added parameters missing from the README compatibility page:\n" + (
        "\n".join(unlisted)
    )


def test_the_check_would_see_an_unlisted_parameter():
    """Only the added-parameters table counts, and only rows naming the function."""
    section = (
        "\n## Compatibility with the reference\nParameters we added\n\n"
        "| function | added | what |\n| --- | --- | --- |\n"
        "| `build_sbatch_command` | `nodelist` | x |\n| `docker.status` | `compose_cmd` | y |\n"
        "\nAnother table\n\n| where | refused |\n| --- | --- |\n"
        "| `build_sbatch_command` | `constraint` |\n"
    )
    rows = added_parameter_rows(section)
    assert [funcs for funcs, _ in rows] == [{"build_sbatch_command"}, {"docker.status"}]
    sbatch = spellings("scitex_container.apptainer", "build_sbatch_command")
    listed = set().union(*(words for funcs, words in rows if funcs & sbatch))
    assert "nodelist" in listed
    assert "compose_cmd" not in listed and "constraint" not in listed
    assert not any(funcs & spellings("scitex_container.apptainer", "status") for funcs, _ in rows)
