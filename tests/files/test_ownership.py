"""The shared ownership rule (``scitex_container.files.ownership``): caller, or root where allowed.

Real files for kind, link and mode; the owner cases hand a file to another
account with chown (root only), as a hostile co-user's file would be.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from otheruser import another_user

from scitex_container.errors import UntrustedStateError
from scitex_container.files.ownership import check_trusted, problem, read_trusted

RULE = "it must be yours"


def test_own_private_paths_pass_and_writable_or_linked_ones_do_not(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    f.chmod(0o644)
    assert problem(os.lstat(f), directory=False) is None
    assert read_trusted(f, allow_root=False, rule=lambda: RULE) == b"x"
    assert problem(os.lstat(f), directory=True) == "is not a directory"
    f.chmod(0o664)
    with pytest.raises(UntrustedStateError) as info:
        read_trusted(f, allow_root=True, rule=lambda: RULE)
    assert info.value.where == str(f)
    assert "is writable by other users" in str(info.value) and "mode 0664" in str(info.value)
    assert str(info.value).endswith(RULE)
    link = tmp_path / "link"
    link.symlink_to(f)
    with pytest.raises(UntrustedStateError, match="is a symbolic link"):
        read_trusted(link, allow_root=True, rule=lambda: RULE)
    with pytest.raises(UntrustedStateError, match="is a symbolic link"):
        check_trusted(link, directory=False, allow_root=True, rule=lambda: RULE)


def test_root_is_trusted_only_where_allowed(tmp_path: Path, monkeypatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs a root-owned directory")
    d = tmp_path / "d"
    d.mkdir(mode=0o755)
    monkeypatch.setattr(os, "getuid", lambda: 4242)  # the caller is some user, not root
    st = os.lstat(d)
    assert problem(st, directory=True, allow_root=True) is None
    assert problem(st, directory=True) == "is owned by another user"


def test_another_users_directory_is_refused_naming_the_owner(tmp_path: Path) -> None:
    other = another_user()
    d = tmp_path / "d"
    d.mkdir(mode=0o755)
    os.chown(d, other.pw_uid, other.pw_gid)
    with pytest.raises(UntrustedStateError) as info:
        check_trusted(d, directory=True, allow_root=True, rule=lambda: RULE)
    assert "is owned by another user (owner scitex-test, mode 0755)" in str(info.value)
