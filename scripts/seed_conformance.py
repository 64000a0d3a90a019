#!/usr/bin/env python3
"""Run the seed's own test suite against this package and classify every failure.

Usage: ``scripts/seed_conformance.py SEED_CHECKOUT [--json] [--keep DIR] [-- PYTEST_ARGS]``

SEED_CHECKOUT is a checkout of the seed's repository (scitex-ai/scitex-container;
CI has no network and does not run this).  Its ``tests/`` are copied to a
scratch directory (the checkout is never touched); the seed's ``conftest.py``
is replaced by one that maps the seed's private modules
(``scitex_container.apptainer._utils``, ``._command_builder``, ``_snapshot``...)
to our public ones (a name is looked up in our public modules, in order), so
the seed's tests import *this* package, never the seed's sources.  pytest
runs them with this interpreter; each test's result is printed with, for a
failure, our classification (:data:`RULES`):

* ``deliberate`` -- we differ on purpose (the reason is on the compatibility page);
* ``seed-internal`` -- the test drives the seed's private code (its click
  modules, MCP handlers, private helpers, mocks of its internals);
* ``environment`` -- needs something not here (the seed's dev tooling
  ``scitex_dev``, ``fastmcp``, the network).

A failure no rule explains is ``UNCLASSIFIED`` and makes the exit code 1:
it is a behaviour difference a seed user could hit.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

#: The seed's private module -> our public modules its names are looked up in.
MODULE_MAP = {
    "scitex_container._snapshot": ["scitex_container", "scitex_container.host.snapshot"],
    "scitex_container.apptainer._utils": ["scitex_container.apptainer"],
    "scitex_container.apptainer._command_builder": ["scitex_container.apptainer"],
    "scitex_container.apptainer._store": ["scitex_container.apptainer"],
    "scitex_container.apptainer._reproducible": ["scitex_container.apptainer"],
    "scitex_container.apptainer._config": ["scitex_container.apptainer"],
    "scitex_container.apptainer._verify": ["scitex_container.apptainer"],
    "scitex_container.apptainer._versioning": ["scitex_container.apptainer"],
    "scitex_container.apptainer._sandbox": ["scitex_container.apptainer"],
    "scitex_container.apptainer._build": ["scitex_container.apptainer"],
    "scitex_container.apptainer._status": ["scitex_container.apptainer"],
    "scitex_container.docker._compose": ["scitex_container.docker"],
    "scitex_container.docker._mounts": ["scitex_container.docker"],
    "scitex_container.host._mounts": ["scitex_container.host"],
    "scitex_container.host._packages": ["scitex_container.host"],
}

#: Names that differ inside a mapped module: the seed's click group ``main`` is our ``cli``.
RENAMES = {"scitex_container._cli": {"main": "scitex_container.cli.main:cli"}}
MODULE_MAP["scitex_container._cli"] = ["scitex_container.cli.main"]

CONFTEST = '''"""Written by scripts/seed_conformance.py: the seed's modules -> our API."""
import importlib
import sys
import types

MODULE_MAP = {map!r}
RENAMES = {renames!r}


class SeedAlias(types.ModuleType):
    """A seed module name whose attributes are our public ones."""

    def __init__(self, name, targets):
        super().__init__(name)
        self.__seed_targets__ = targets

    def __getattr__(self, attr):
        renamed = RENAMES.get(self.__name__, {{}}).get(attr)
        if renamed:
            module, _, name = renamed.partition(":")
            return getattr(importlib.import_module(module), name)
        for target in self.__seed_targets__:
            module = importlib.import_module(target)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"{{self.__name__}} (mapped to our public API) has no {{attr!r}}")


for _name, _targets in MODULE_MAP.items():
    _parent, _, _leaf = _name.rpartition(".")
    _alias = SeedAlias(_name, _targets)
    sys.modules[_name] = _alias
    setattr(importlib.import_module(_parent), _leaf, _alias)
'''

#: (nodeid glob, text in the failure message or "", category, reason): the first match wins.
RULES: list[tuple[str, str, str, str]] = [
    ("tests/scitex_container/_cli/*", "", "seed-internal", "the seed's click modules (_cli)"),
    ("tests/scitex_container/_mcp/*", "", "seed-internal", "the seed's MCP handlers (_mcp)"),
    ("tests/develop/*", "", "environment", "the seed's audit tool (scitex-dev CLI)"),
    ("tests/integration/test_skills_quality.py*", "", "seed-internal", "the seed's skill pages"),
    ("tests/integration/test_cross_package_imports.py*", "", "environment", "scitex_dev"),
    ("tests/examples/*", "", "seed-internal", "the seed's example scripts and their outputs"),
    ("tests/integration/test_examples.py*", "", "seed-internal", "the seed's example scripts"),
    ("*", "No module named 'scitex_dev'", "environment", "the seed's dev tooling scitex_dev"),
    ("*", "No module named 'scitex_config'", "environment", "the seed's config package"),
    ("*", "No module named 'fastmcp'", "environment", "fastmcp (the seed's MCP framework)"),
    ("*", "(mapped to our public API) has no '_", "seed-internal", "a private helper"),
    (
        "tests/scitex_container/apptainer/test__config.py*",
        "(mapped to our public API) has no",
        "seed-internal",
        "the seed's image-store config (_config), not in the reference",
    ),
    (
        "tests/scitex_container/apptainer/test__store.py*",
        "(mapped to our public API) has no",
        "seed-internal",
        "the seed's 0.2 layer store (_store), not in the reference; ours is apptainer/store/",
    ),
    (
        "*",
        "has no 'VerifyError'",
        "seed-internal",
        "the seed's exception class (not in the reference); ours raises CheckFailedError",
    ),
    (
        "tests/scitex_container/apptainer/test__reproducible_roundtrip.py*",
        "unexpected keyword argument 'layer'",
        "deliberate",
        "the seed's 0.2 build_reproducible(layer=...) store API is not the reference's; "
        "ours is repro / build_reproducible(def, output_dir)",
    ),
    (
        "*",
        "does not exist",
        "deliberate",
        "host paths are checked when the argv or bind is made: a missing path is refused "
        "naming the field instead of failing later inside apptainer",
    ),
    (
        "*::test_output_is_dev_null",
        "",
        "deliberate",
        "a session's sbatch output goes to its record's log (the failure reason is kept), "
        "not /dev/null",
    ),
    (
        "tests/scitex_container/docker/test__mounts.py::*skipped",
        "must be a path, got nothing",
        "deliberate",
        "a dev mount without host or container is refused naming it, not silently dropped",
    ),
    (
        "tests/scitex_container/apptainer/test__command_builder.py::TestBuildInstanceStartScript"
        "::test_instance_start_command_in_script",
        "apptainer instance start",
        "deliberate",
        "the start script runs the configured container command, quoted once "
        '(`"$APPTAINER" instance start`: apptainer or singularity), not a literal apptainer',
    ),
    (
        "tests/scitex_container/apptainer/test__lockgen.py*",
        "",
        "deliberate",
        "the locked def carries one generated pin block (apt, pip, npm) between markers, "
        "not the seed's pip-only stanza (a seed stanza is replaced on re-pin)",
    ),
]


def classify(nodeid: str, message: str) -> tuple[str, str]:
    """Our category and reason for a failed test (``UNCLASSIFIED`` when no rule fits)."""
    for pattern, needle, category, reason in RULES:
        if fnmatch.fnmatchcase(nodeid, pattern) and needle in message:
            return category, reason
    return "UNCLASSIFIED", "a behaviour difference a seed user could hit"


def _results(junit: Path) -> list[dict]:
    out: list[dict] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        path = (case.get("classname") or "").replace(".", "/")
        if not path:  # a module that failed to import: its name is the test's
            nodeid = str(case.get("name")).replace(".", "/") + ".py"
        else:
            file_part, _, cls = path.partition("/Test")
            nodeid = f"{file_part}.py::" + (f"Test{cls}::" if cls else "") + str(case.get("name"))
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or node.text or "").strip().splitlines()[:1]
                message = message[0] if message else ""
                break
        out.append({"nodeid": nodeid, "outcome": outcome, "message": message})
    return out


def run(seed: Path, work: Path, pytest_args: list[str]) -> list[dict]:
    tests = work / "tests"
    shutil.copytree(seed / "tests", tests)
    (tests / "conftest.py").write_text(CONFTEST.format(map=MODULE_MAP, renames=RENAMES))
    (work / "pytest.ini").write_text("[pytest]\n")
    junit = work / "results.xml"
    argv = [sys.executable, "-m", "pytest", "-q", "-c", str(work / "pytest.ini")]
    argv += ["--rootdir", str(work), "-p", "no:cacheprovider", f"--junitxml={junit}"]
    argv += [
        "--import-mode=importlib",
        "--continue-on-collection-errors",
        "-o",
        "junit_family=xunit1",
    ]
    argv += ["tests", *pytest_args]
    subprocess.run(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = _results(junit)
    for r in results:
        if r["outcome"] in ("failed", "error"):
            r["category"], r["reason"] = classify(r["nodeid"], r["message"])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seed", type=Path, help="a checkout of the seed's repository")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    args, pytest_args = parser.parse_known_args()
    if not (args.seed / "tests").is_dir():
        parser.error(f"{args.seed} has no tests/ directory")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        results = run(args.seed.resolve(), args.keep, pytest_args)
    else:
        with tempfile.TemporaryDirectory(prefix="seed-conformance-") as tmp:
            results = run(args.seed.resolve(), Path(tmp), pytest_args)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            line = f"{r['outcome'].upper():8} {r['nodeid']}"
            if "category" in r:
                line += f"\n         [{r['category']}] {r['reason']}: {r['message'][:160]}"
            print(line)
    counts: dict[str, int] = {}
    for r in results:
        key = r.get("category", r["outcome"])
        counts[key] = counts.get(key, 0) + 1
    print(f"\n{len(results)} tests: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 1 if counts.get("UNCLASSIFIED") else 0


if __name__ == "__main__":
    sys.exit(main())
