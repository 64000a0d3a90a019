"""A seed-era lock compares the same in memory and after a round trip; the seed's spellings.

Logic only (our comparison rules on given locks); the captures they stand
for are tested on real images in test_pyenvs.py and test_compare.py.
"""

from __future__ import annotations

import json

from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import Lock, read_lock, write_lock

OURS = dict(
    pip={"pip": "23.0.1", "setuptools": "66.1.1", "wheel": "0.38.4", "djangofake": "5.0"},
    dpkg={"nano": "7.2-1"},
    tool_version="scitex-container 0.1.0",
    pip_capture="freeze-all",
)


def test_a_seed_lock_that_lists_pip_compares_it(tmp_path):
    ours = Lock(**OURS)
    seed = tmp_path / "seed.lock"
    seed.write_text(
        "# scitex-container lock\n[pip]\ndjangofake==5.0\npip==22.0\n[dpkg]\nnano=7.2-1\n"
    )
    diff = compare_locks(read_lock(seed), ours)
    assert not diff.identical
    assert dict(diff.changed) == {"pip:pip": ("22.0", "23.0.1")}
    # not listed: what `pip freeze` omits is left out
    seed.write_text("# scitex-container lock\n[pip]\ndjangofake==5.0\n[dpkg]\nnano=7.2-1\n")
    assert compare_locks(read_lock(seed), ours).identical


def test_a_lock_made_in_python_compares_as_its_saved_copy(tmp_path):
    ours = Lock(**OURS)
    user = Lock(pip={"djangofake": "5.0", "pip": "22.0"}, dpkg={"nano": "7.2-1"})
    back = read_lock(write_lock(user, tmp_path / "user.lock"))
    in_memory, round_trip = compare_locks(user, ours), compare_locks(back, ours)
    assert in_memory.to_dict() == round_trip.to_dict()
    assert dict(in_memory.changed) == {"pip:pip": ("22.0", "23.0.1")}


def test_node_is_kept_as_written(tmp_path):
    text = '{"dependencies": {"npm": {"version": "10.0.0"}, "@scope/Pkg": {"version": "1.0.0"}}}'
    lock = Lock(node=text)
    assert lock.node == text
    back = read_lock(write_lock(lock, tmp_path / "n.lock"))
    assert back.node == text
    assert back.node_versions == {"@scope/Pkg": "1.0.0", "npm": "10.0.0"}
    assert json.loads(back.node) == json.loads(text)


def test_equality_is_normalized_like_compare_locks():
    a = Lock(pip={"PyYAML": "6.0", "Typing_Extensions": "4.9.0"})
    b = Lock(pip={"pyyaml": "6.0", "typing-extensions": "4.9.0"})
    assert compare_locks(a, b).identical
    assert a.version_set() == b.version_set()
    assert (a.version_set() != b.version_set()) is False
    assert a.pip == b.pip
    assert a == b
    c = Lock(pip={"pyyaml": "6.1", "typing-extensions": "4.9.0"})
    assert a.version_set() != c.version_set() and a != c


def test_summary_orders_changes_by_normalized_name():
    a = Lock(pip={"Zeta": "1", "alpha": "1", "Beta": "1"})
    b = Lock(pip={"zeta": "2", "Alpha": "2", "beta": "2"})
    summary = compare_locks(a, b).summary()
    assert summary == "3 changed (pip:alpha: 1 -> 2, pip:Beta: 1 -> 2, pip:Zeta: 1 -> 2)"


def test_the_seeds_key_of_a_url_line_with_double_equals_is_found(tmp_path):
    line = "bar @ https://h/bar-1.0.whl?sig==abc"
    path = tmp_path / "s.lock"
    path.write_text(f"# scitex-container lock\n[pip]\n{line}\n[dpkg]\n")
    lock = read_lock(path)
    # the seed's reader split the line at its first `==`: key `bar @ ...?sig`, version `abc`
    assert "bar @ https://h/bar-1.0.whl?sig" in lock.pip
    assert lock.pip.get(line) == ""


def test_node_text_that_is_no_json_is_kept_not_dropped():
    lock = Lock(node="garbage")
    assert lock.node == "garbage"  # the seed keeps it verbatim
    assert lock.node_versions == {}  # and it names no packages


def test_a_pin_and_a_url_line_of_one_name_are_both_read_and_written(tmp_path):
    url = "h @ file:///w/h-2.0-py3-none-any.whl"
    seed = tmp_path / "seed.lock"
    seed.write_text(f"# scitex-container lock\n[pip]\nh==1.0\n{url}\n[dpkg]\n")
    lock = read_lock(seed)  # the seed's reader keeps both keys: so do we
    assert lock.pip == {"h": "1.0", url: ""}
    back = read_lock(write_lock(lock, tmp_path / "back.lock"))
    assert back.pip == lock.pip and compare_locks(lock, back).identical
    text = (tmp_path / "back.lock").read_text().splitlines()
    assert "h==1.0" in text and url in text
    # one name pinned twice is still refused
    seed.write_text("[pip]\nh==1.0\nH==2.0\n")
    try:
        read_lock(seed)
    except Exception as exc:
        assert "duplicate pip package" in str(exc)
    else:
        raise AssertionError("a name pinned twice was read")
