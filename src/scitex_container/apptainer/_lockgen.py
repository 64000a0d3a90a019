"""The seed's module path for locks (see :mod:`scitex_container.reference`).

A thin re-export of the real implementations (``apptainer/lock/`` and
``apptainer/repro/``) under the names the seed exported, so
``from scitex_container.apptainer._lockgen import capture_lock`` keeps working.
"""

from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.compare import LockDiff, compare_locks
from scitex_container.apptainer.lock.lockfile import Lock, read_lock, write_lock
from scitex_container.apptainer.lock.pin import generate_locked_def

__all__ = [
    "Lock",
    "LockDiff",
    "capture_lock",
    "compare_locks",
    "generate_locked_def",
    "read_lock",
    "write_lock",
]
