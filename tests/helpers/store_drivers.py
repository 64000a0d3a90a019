"""Child processes for the store's crash and concurrency tests.

``python store_drivers.py MODE ARGS...``; each mode prints ``ready`` once
imports are done (so a test can aim its SIGKILL at the work, not at
start-up), then loops until killed or done.  Worker modes print one JSON
line with their counts and any unexpected error at the end.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import time
from pathlib import Path


def _ready() -> None:
    print("ready", flush=True)


def build_loop(def_path: str, out: str, payload: str) -> None:
    from scitex_container.apptainer.building.versioned import build_version

    _ready()
    n = 0
    while True:
        n += 1
        Path(payload).write_text(f"{time.time_ns()} {n}\n")
        build_version(def_path=def_path, output_dir=out)


def switch_loop(store_dir: str) -> None:
    from scitex_container.apptainer.store.opening import open_store

    store = open_store(store_dir)
    names = store.version_names()
    _ready()
    while True:
        store.switch(random.choice(names))
        with contextlib.suppress(Exception):  # the oldest has nothing older
            store.rollback()


def deploy_loop(source: str, target: str) -> None:
    from scitex_container.apptainer.store.deploy import deploy_store
    from scitex_container.apptainer.store.opening import open_store

    src = open_store(source)
    names = src.version_names()
    _ready()
    while True:
        src.switch(random.choice(names))
        tgt = open_store(target)
        if tgt.dir.exists():
            tgt.cleanup(0)
        deploy_store(source, target)


def worker(role: str, store_dir: str, def_path: str, payload: str, seconds: str) -> None:
    """One of the concurrent commands; expected refusals are counted, not raised."""
    from scitex_container.apptainer.building.versioned import build_version
    from scitex_container.apptainer.store.opening import open_store
    from scitex_container.errors import NotFoundError, StoreError

    store = open_store(store_dir)
    counts = {"ok": 0, "refused": 0}
    unexpected = None
    _ready()
    deadline = time.time() + float(seconds)
    while time.time() < deadline and unexpected is None:
        try:
            if role == "switch":
                names = store.version_names()
                store.switch(random.choice(names))
            elif role == "rollback":
                store.rollback()
            elif role == "cleanup":
                store.cleanup(1)
            elif role == "build":
                Path(payload).write_text(f"{time.time_ns()}\n")
                build_version(def_path=def_path, output_dir=str(Path(store_dir).parent))
            counts["ok"] += 1
        except (NotFoundError, StoreError) as exc:
            if role in ("switch", "rollback") and (
                "not found" in str(exc) or "no version older" in str(exc)
            ):
                counts["refused"] += 1
            else:
                unexpected = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            unexpected = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"role": role, **counts, "unexpected": unexpected}), flush=True)


MODES = {"build": build_loop, "switch": switch_loop, "deploy": deploy_loop, "worker": worker}

if __name__ == "__main__":
    MODES[sys.argv[1]](*sys.argv[2:])
