"""Where the static capture finds an image's Python distributions (site directories)."""

from __future__ import annotations

from scitex_container.apptainer.sif.tree import Entry, TreeUnreadable, path_matches

#: Site directories read, highest priority first (first wins for a name).
PY_SITE_DIRS = (
    "usr/local/lib/python3*/dist-packages",
    "usr/local/lib/python3*/site-packages",
    "usr/local/lib64/python3*/site-packages",
    "usr/lib/python3*/dist-packages",
    "usr/lib/python3*/site-packages",
    "usr/lib64/python3*/site-packages",
    "opt/*/lib/python3*/site-packages",
    "opt/*/envs/*/lib/python3*/site-packages",
    # a top-level virtualenv (``/venv``): only with its ``pyvenv.cfg``
    "*/lib/python3*/site-packages",
)
#: Marks a top-level directory as a virtualenv.
VENV_CFG = "*/pyvenv.cfg"


def python_patterns() -> list[str]:
    pats = []
    for site in PY_SITE_DIRS:
        pats += [
            f"{site}/*.dist-info/METADATA",
            f"{site}/*.dist-info/direct_url.json",
            f"{site}/*.egg-info",
            f"{site}/*.egg-link",
        ]
    return pats


def python_dists(view: dict[str, Entry]) -> list[tuple[str, str, str | None]]:
    """(site dir, metadata path, direct_url path) per distribution, in priority order."""
    dists = []
    seen: set[str] = set()
    for site in PY_SITE_DIRS:
        depth = site.count("/") + 1
        sites = sorted(
            {
                "/".join(p.split("/")[:depth])
                for p in view
                if path_matches(site, "/".join(p.split("/")[:depth]))
            }
        )
        for site_dir in sites:
            if site_dir in seen:
                continue  # ``usr/lib/...`` matches the top-level pattern too
            seen.add(site_dir)
            top = site_dir.split("/", 1)[0]
            if site.startswith("*/") and top not in ("usr", "opt"):
                if f"{top}/pyvenv.cfg" not in view:
                    continue
            elif site.startswith("*/"):
                continue
            children = sorted(
                {
                    p.split("/")[depth]
                    for p in view
                    if p.startswith(site_dir + "/") and p.count("/") >= depth
                }
            )
            for child in children:
                base = f"{site_dir}/{child}"
                if child.endswith(".egg-link"):
                    raise TreeUnreadable(f"legacy develop install `/{base}`")
                if child.endswith(".dist-info") and f"{base}/METADATA" in view:
                    direct = f"{base}/direct_url.json"
                    dists.append((site_dir, f"{base}/METADATA", direct if direct in view else None))
                elif child.endswith(".egg-info"):
                    if view.get(base, Entry(base, "d")).kind == "f":
                        dists.append((site_dir, base, None))
                    elif f"{base}/PKG-INFO" in view:
                        dists.append((site_dir, f"{base}/PKG-INFO", None))
    return dists
