"""Another user to hand a path to (tests of the ownership rules)."""

from __future__ import annotations

import os
import pwd

import pytest

#: Created by scripts/setup-host.sh.
OTHER = "scitex-test"


def another_user() -> pwd.struct_passwd:
    """The other user's entry; skips unless we are root and the user exists."""
    if os.geteuid() != 0:
        pytest.skip("handing a path to another user needs root")
    try:
        return pwd.getpwnam(OTHER)
    except KeyError:
        pytest.skip(f"user {OTHER} is required (scripts/setup-host.sh)")
