"""Comparison logic on hand-written locks: seed views of dpkg, ``===`` pins, lookups."""

from __future__ import annotations

import pytest

from scitex_container.apptainer.lock.compare import compare_locks, compare_version_sets
from scitex_container.apptainer.lock.lockfile import Lock, parse_lock, read_lock, write_lock


def _seed(dpkg: dict[str, str]) -> Lock:
    return parse_lock(
        "# scitex-container lock\n[pip]\n[dpkg]\n"
        + "".join(f"{k}={v}\n" for k, v in dpkg.items())
        + "[node]\n"
    )


def _ours(dpkg: dict[str, str], config: dict[str, str] | None = None) -> Lock:
    return Lock(dpkg=dpkg, dpkg_config_files=config or {}, pip_capture="freeze-all")


@pytest.mark.parametrize(
    ("seed", "ours", "config", "changed", "only_seed", "only_ours"),
    [
        # rc: same version no drift, other version changed, unknown to us only in seed
        ({"a": "1", "c": "2"}, {"a": "1"}, {"c": "2"}, {}, {}, {}),
        ({"a": "1", "c": "2"}, {"a": "1"}, {"c": "3"}, {"dpkg:c": ("2", "3")}, {}, {}),
        ({"a": "1", "c": "2"}, {"a": "1"}, {}, {}, {"dpkg:c": "2"}, {}),
        # the seed without our rc package: not installed, so no drift
        ({"a": "1"}, {"a": "1"}, {"c": "2"}, {}, {}, {}),
        # foreign-only: compared under the bare name; native + foreign: the native one
        ({"f": "2"}, {"f:i386": "2"}, {}, {}, {}, {}),
        ({"f": "1"}, {"f:i386": "2"}, {}, {"dpkg:f": ("1", "2")}, {}, {}),
        ({"f": "2"}, {"f": "2", "f:i386": "2"}, {}, {}, {}, {}),
        ({}, {"f:i386": "2"}, {}, {}, {}, {"dpkg:f:i386": "2"}),
        ({"f": "2"}, {"f:armhf": "2", "f:i386": "2"}, {}, {}, {}, {}),
    ],
)
def test_a_seed_lock_sees_rc_and_foreign_packages_as_its_capture_did(
    seed, ours, config, changed, only_seed, only_ours
):
    a, b = _seed(seed), _ours(ours, config)
    diff = compare_locks(a, b)
    assert (dict(diff.changed), dict(diff.only_in_a), dict(diff.only_in_b)) == (
        changed,
        only_seed,
        only_ours,
    )
    back = compare_locks(b, a)  # the other direction agrees
    assert set(back.only_in_a) == set(only_ours) and set(back.only_in_b) == set(only_seed)
    assert set(back.changed) == set(changed)


def test_two_of_our_locks_ignore_config_files_and_keep_architectures():
    a = _ours({"f:i386": "2"}, {"c": "1"})
    b = _ours({"f": "2"}, {"c": "9"})
    diff = compare_locks(a, b)
    assert dict(diff.only_in_a) == {"dpkg:f:i386": "2"}
    assert dict(diff.only_in_b) == {"dpkg:f": "2"}
    assert not diff.changed


def test_config_files_round_trip_and_stay_out_of_the_version_set(tmp_path):
    lock = _ours({"a": "1"}, {"c": "2", "d:i386": "3"})
    back = read_lock(write_lock(lock, tmp_path / "x.lock"))
    assert back.dpkg_config_files == {"c": "2", "d:i386": "3"}
    assert dict(back.version_set()) == {"dpkg:a": "1"}
    assert "[dpkg]\na=1\n" in (tmp_path / "x.lock").read_text()


@pytest.mark.parametrize("line", ["foo===1.0-custom", "Foo.Bar===2!1.0+local", "x===1"])
def test_arbitrary_equality_pins_round_trip_exactly(tmp_path, line):
    path = tmp_path / "a.lock"
    path.write_text(f"# scitex-container lock\n[pip]\n{line}\n[dpkg]\n[node]\n")
    lock = read_lock(path)
    name = line.split("===")[0]
    assert lock.pip[name] == "=" + line.split("===")[1]  # the seed's split at the first ``==``
    text = (tmp_path / "b.lock").read_text() if write_lock(lock, tmp_path / "b.lock") else ""
    assert f"\n{line}\n" in text
    assert read_lock(tmp_path / "b.lock").pip == lock.pip
    assert compare_locks(lock, read_lock(tmp_path / "b.lock")).identical


def test_arbitrary_and_plain_equality_of_one_version_are_no_drift_but_others_are():
    assert compare_version_sets({"pip:foo": "=1.0-custom"}, {"pip:foo": "1.0-custom"}).identical
    diff = compare_version_sets({"pip:foo": "=1.0-custom"}, {"pip:foo": "1.0-other"})
    assert dict(diff.changed) == {"pip:foo": ("=1.0-custom", "1.0-other")}


SPELLINGS = ("pip:typing_extensions", "pip:typing-extensions", "pip:Typing.Extensions")


@pytest.mark.parametrize("written", ["Typing_Extensions", "typing-extensions", "typing.extensions"])
def test_diff_and_version_set_keys_answer_to_every_spelling(written):
    a = Lock(pip={written: "4.0", "gone": "1"})
    b = Lock(pip={"typing_extensions": "4.1", "new": "2"})
    diff = compare_locks(a, b)
    removed = compare_locks(Lock(pip={written: "4.0"}), Lock())
    added = compare_locks(Lock(), Lock(pip={written: "4.0"}))
    views = (diff.changed.keys(), removed.only_in_a.keys(), a.version_set().keys())
    for key in SPELLINGS:
        assert all(key in view for view in views)  # a keys view answers like the map
        assert key.removeprefix("pip:") in a.pip.keys()  # noqa: SIM118 (the view is the point)
        assert diff.changed[key] == ("4.0", "4.1")
        assert key in diff.changed
        assert diff.changed.get(key) == ("4.0", "4.1")
        assert removed.only_in_a[key] == "4.0" and key in removed.only_in_a
        assert added.only_in_b[key] == "4.0" and key in added.only_in_b
        assert a.version_set()[key] == "4.0" and key in a.version_set()
    # shown as written
    assert list(diff.changed) == [f"pip:{written}"]
    assert diff.to_dict()["changed"] == {f"pip:{written}": {"a": "4.0", "b": "4.1"}}
    assert "pip:other" not in diff.changed and diff.changed.get("pip:other") is None
    with pytest.raises(KeyError):
        diff.changed["pip:other"]
