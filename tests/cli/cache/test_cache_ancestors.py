"""The stage cache refuses a directory another user could swap: every directory above it
must be owned by root or the caller and writable by no one else (sticky, like /tmp, is
fine).  Run as root with a cache under a `scitex-test`-owned directory."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.errors import UntrustedStateError

RECIPE = "Bootstrap: localimage\nFrom: {base}\n\n%post\n    echo one > /one\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="makes a directory another user owns")


@pytest.fixture()
def theirs(tmp_path: Path) -> Path:
    """A directory scitex-test owns (mode 0755), in which root would keep its cache."""
    user = pwd.getpwnam("scitex-test")
    path = tmp_path / "theirs"
    path.mkdir(mode=0o755)
    os.chown(path, user.pw_uid, user.pw_gid)
    return path


@pytest.mark.stage_cache
def test_a_cache_under_another_users_directory_is_refused_naming_it(
    sx, tmp_path: Path, theirs: Path, busybox_sif: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = tmp_path / "r.def"
    recipe.write_text(RECIPE.format(base=busybox_sif))
    said = f"{theirs}: is owned by another user (owner scitex-test, mode 0755)"
    done = sx("build", "--cache-dir", theirs / "stages", recipe)
    assert done.code == 2 and said in done.err, done.err
    assert not (theirs / "stages").exists() and not list(tmp_path.glob("r/*.sif"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(theirs / "xdg"))
    # root's own cache (made before the directory changed hands) is refused too
    (theirs / "xdg" / "scitex-container" / "stages" / "entries").mkdir(mode=0o700, parents=True)
    listed = sx("--json", "cache", "list")
    assert listed.code == 2 and said in listed.json()["error"]
    done = sx("build", recipe)
    assert done.code == 2 and said in done.err, done.err
    pruned = sx("cache", "prune", "--all")
    assert pruned.code == 2 and said in pruned.err


def test_group_writable_and_links_of_another_user_are_refused_sticky_is_not(
    tmp_path: Path, theirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o775)
    with pytest.raises(UntrustedStateError, match=r"shared: is writable by other users"):
        StageCache(shared / "c").open()
    os.chmod(shared, 0o1777)  # sticky, like /tmp: others cannot rename ours away
    assert StageCache(shared / "c").open().entries() == []
    link = theirs / "link"
    os.symlink(tmp_path / "mine", link)
    os.lchown(link, pwd.getpwnam("scitex-test").pw_uid, -1)
    (tmp_path / "mine").mkdir(mode=0o700)
    with pytest.raises(UntrustedStateError, match=r"theirs: is owned by another user"):
        StageCache(link / "c").open()
    # the default under ~/.cache (a home owned by the caller) is fine
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("SCITEX_CONTAINER_STAGE_CACHE_DIR", raising=False)
    cache = StageCache().open()
    assert cache.root == home / ".cache" / "scitex-container" / "stages" and cache.root.is_dir()


def test_a_cache_that_is_our_own_link_is_followed_another_users_is_not(tmp_path: Path) -> None:
    # the usual cluster layout: the cache a link of ours to a directory on /scratch
    real = tmp_path / "scratch" / "stages"
    real.mkdir(mode=0o700, parents=True)
    ours = tmp_path / "cache"
    ours.symlink_to(real)
    cache = StageCache(ours).open()
    assert cache.root == real and (real / "entries").is_dir() and cache.entries() == []
    theirs = tmp_path / "their-link"
    theirs.symlink_to(real)
    os.lchown(theirs, pwd.getpwnam("scitex-test").pw_uid, -1)
    with pytest.raises(UntrustedStateError, match="another user's link"):
        StageCache(theirs).open()
