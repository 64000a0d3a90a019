#!/usr/bin/env python3
"""Pin every def file under a directory and check the locked def means the same.

Not run by CI.  For a collection of def files written by others (fetched
for the purpose; read where it lies, never copied into this repository):

    .venv/bin/python scripts/check-recipes.py DIR [--build] [--work WORK]

Per file: whether pinning succeeded, whether the locked def (written into
WORK, not beside the rough def) resolves the same ``%files`` sources as
apptainer would, and with ``--build`` whether it builds where the rough def
builds and runs its pins after the rough ``%post``.  Exit 1 when any file
differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from scitex_container.apptainer.lock.recipe_check import check_recipe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--build", action="store_true", help="also build rough and locked defs")
    parser.add_argument("--sandbox", action="store_true", help="build sandboxes (faster)")
    parser.add_argument("--work", type=Path, help="where locked defs go (default: a temp dir)")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    work = opts.work or Path(tempfile.mkdtemp(prefix="scx-recipes-"))
    paths = sorted({*opts.directory.rglob("*.def"), *opts.directory.rglob("Singularity*")})
    results = []
    for n, path in enumerate(paths):
        check = check_recipe(
            path, work / f"{n:04d}", build=opts.build, sandbox=opts.sandbox, marker=""
        )
        results.append(check)
        if not opts.json:
            state = "ok" if check.ok else "DIFFERS"
            why = (
                check.error
                or ("" if check.sources_equal else "%files sources differ")
                or ("" if check.locked_built is not False else "locked def does not build")
            )
            print(f"{state:8} {path.relative_to(opts.directory)} {why}".rstrip())
    if opts.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        bad = sum(not r.ok for r in results)
        print(f"{len(results)} def file(s), {bad} differ; locked defs in {work}")
    return 1 if any(not r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
