"""Differential test: the seed's ``_lockgen`` (restated in ``seedlockgen``) against ours.

Seed-format locks are generated with hypothesis (mixed-case names, URL,
editable and path lines, bare names, empty dpkg versions, versions in
non-normal PEP 440 spelling, npm JSON and npm chatter) and captured the
seed's way from real images (``debian_sif``, ``lock_sif``).  Ours must read
every one as the seed does, keep what was written, write it back so the
seed reads the same, compare normalized underneath with the seed's words on
top, and see no drift between the seed's capture of an image and ours.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
import seedlockgen as seed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name, canonicalize_version

from scitex_container.apptainer._lockgen import Lock, compare_locks, read_lock, write_lock

FEW = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_letters = st.text(string.ascii_letters + string.digits, min_size=1, max_size=6)
pip_names = st.builds(
    lambda a, sep, b: a + (sep + b if b else ""),
    _letters,
    st.sampled_from(["-", "_", "."]),
    st.one_of(st.just(""), _letters),
)
pip_versions = st.one_of(
    st.sampled_from(["1.0", "1.0RC1", "2.0.post1", "1!2.0", "0.5.0.dev0", "2.0.0-1", "1.0a"]),
    st.just("=1.0-custom"),  # `name===1.0-custom`: the seed splits at the first `==`
    st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 30), st.integers(0, 30)),
)
raw_pip_lines = st.one_of(
    st.builds(lambda n: f"{n} @ file:///w/{n}-1.0-py3-none-any.whl", pip_names),
    st.builds(lambda n: f"-e git+https://example.org/{n}.git@abc123#egg={n}", pip_names),
    st.builds(lambda n: f"-e /opt/src/{n}", pip_names),
    st.builds(lambda n: f"./{n}", pip_names),
)
deb_names = st.from_regex(r"[a-z0-9][a-z0-9+.-]{0,8}", fullmatch=True)
deb_versions = st.one_of(
    st.just(""),  # dpkg lists a package without a version: the seed writes `name=`
    st.sampled_from(["2.36-9+deb12u13", "1:1.2.13.dfsg-1", "12.4+deb12u14", "2.0~rc1-1"]),
)
npm_names = st.from_regex(r"(@[a-z]{1,4}/)?[a-z][a-z0-9-]{0,8}", fullmatch=True)
npm_texts = st.one_of(
    st.sampled_from(["", "[]", "null", "npm WARN config global `--global` is deprecated"]),
    st.builds(
        lambda deps: json.dumps(
            {
                "name": "lib",
                "dependencies": {n: {"version": v, "overridden": False} for n, v in deps.items()},
            },
            indent=2,
        ),
        st.dictionaries(npm_names, st.sampled_from(["1.0.0", "1.2.3", "0.1.0"]), max_size=4),
    ),
)


def _pip_identity(key: str) -> str:
    """The normalization the test expects (names canonical, URL lines as written)."""
    return canonicalize_name(key) if " " not in key and not key.startswith(".") else key


def _unique(entries: dict[str, str]) -> dict[str, str]:
    out, seen = {}, set()
    for key, version in entries.items():
        ident = _pip_identity(key.split(" @ ")[0]) if " @ " in key else _pip_identity(key)
        if ident not in seen:
            seen.add(ident)
            out[key] = version
    return out


@st.composite
def seed_locks(draw, lower: bool = False) -> seed.SeedLock:
    names = draw(st.lists(pip_names, max_size=8))
    pip = {(n.lower() if lower else n): draw(st.one_of(pip_versions, st.just(""))) for n in names}
    pip.update((line, "") for line in draw(st.lists(raw_pip_lines, max_size=3)))
    dpkg = draw(st.dictionaries(deb_names, deb_versions, max_size=8))
    return seed.SeedLock(_unique(pip), dpkg, draw(npm_texts))


def _norm_set(lock: seed.SeedLock) -> dict[str, str]:
    out = {f"pip:{_pip_identity(k)}": canonicalize_version(v) for k, v in lock.pip.items()}
    out.update((f"dpkg:{k}", v) for k, v in lock.dpkg.items())
    out.update((f"node:{k}", v) for k, v in seed.node_versions(lock.node).items())
    return out


@FEW
@given(written=seed_locks())
def test_every_seed_lock_reads_as_the_seed_reads_it_and_round_trips(tmp_path, written):
    path = seed.write(written, tmp_path / "seed.lock")
    theirs, ours = seed.read(path), read_lock(path)
    # the seed's own lookups: its keys, its values
    for key, version in theirs.pip.items():
        assert ours.pip[key] == version and ours.pip.get(key) == version
    assert len(ours.pip) == len(theirs.pip)
    assert dict(ours.dpkg) == theirs.dpkg
    assert ours.node_versions == seed.node_versions(theirs.node)
    ours_set, theirs_set = ours.version_set(), seed.version_set(theirs)
    assert len(ours_set) == len(theirs_set)
    for key, version in theirs_set.items():
        assert ours_set[key] == version
    # what was written is kept exactly: keys, version text, URL lines
    assert dict(ours.pip) == written.pip
    # written back by us: the seed reads the same, we read the same bytes again
    again_path = write_lock(ours, tmp_path / "ours.lock")
    again = seed.read(again_path)
    assert (again.pip, again.dpkg) == (theirs.pip, theirs.dpkg)
    assert seed.node_versions(again.node) == seed.node_versions(theirs.node)
    back = read_lock(again_path)
    assert dict(back.pip) == dict(ours.pip) and dict(back.dpkg) == dict(ours.dpkg)
    # no drift against itself, however it was made
    memory = Lock(pip=written.pip, dpkg=written.dpkg, node=written.node)
    for other in (ours, back, memory):
        diff = compare_locks(other, ours)
        assert diff.identical, diff.detail()


@st.composite
def lock_pairs(draw):
    a = draw(seed_locks(lower=True))
    b = seed.SeedLock(dict(a.pip), dict(a.dpkg), a.node)
    for key in draw(st.lists(st.sampled_from(sorted(a.pip) or ["x"]), max_size=3)):
        if b.pip.get(key):
            b.pip[key] = draw(pip_versions)  # may or may not be a real change
    for key in draw(st.lists(st.sampled_from(sorted(a.dpkg) or ["x"]), max_size=3)):
        b.dpkg.pop(key, None)
    b.dpkg.update(draw(st.dictionaries(deb_names, deb_versions, max_size=2)))
    extra = draw(st.dictionaries(pip_names.map(str.lower), pip_versions, max_size=2))
    b.pip = _unique({**b.pip, **extra})
    if draw(st.booleans()):
        b.node = draw(npm_texts)
    return a, b


@FEW
@given(pair=lock_pairs())
def test_comparisons_agree_with_the_seed_normalized_underneath(tmp_path, pair):
    a, b = pair
    ours = compare_locks(
        read_lock(seed.write(a, tmp_path / "a.lock")), read_lock(seed.write(b, tmp_path / "b.lock"))
    )
    changed, only_a, only_b = seed.compare(
        seed.read(tmp_path / "a.lock"), seed.read(tmp_path / "b.lock")
    )
    assert ours.identical == (_norm_set(a) == _norm_set(b))
    if not (changed or only_a or only_b):
        assert ours.identical
    assert ours.only_in_a == only_a and ours.only_in_b == only_b
    # changed: the seed's changes less those that are one version spelt two ways
    real = {
        k: v for k, v in changed.items() if canonicalize_version(v[0]) != canonicalize_version(v[1])
    }
    assert ours.changed == real
    if real == changed:  # nothing only spelt differently: the seed's words exactly
        assert ours.summary() == seed.summary(changed, only_a, only_b)


# --- captures of real images, the seed's way and ours -----------------------------------


@pytest.fixture(scope="module")
def seed_captures(debian_sif: Path, lock_sif: Path) -> dict[str, tuple[Path, seed.SeedLock]]:
    return {
        "debian": (debian_sif, seed.capture(debian_sif)),
        "mixed": (lock_sif, seed.capture(lock_sif)),
    }


@pytest.mark.apptainer
@pytest.mark.parametrize("which", ["debian", "mixed"])
def test_a_seed_capture_of_an_image_shows_no_drift_against_ours(tmp_path, seed_captures, which):
    from scitex_container.apptainer.lock.capture import capture_lock

    image, captured = seed_captures[which]
    assert "pip" not in captured.pip and "setuptools" not in captured.pip  # pip freeze omits them
    seed_lock = read_lock(seed.write(captured, tmp_path / "seed.lock"))
    assert seed_lock.pip_capture == "freeze"
    ours = capture_lock(image, tmp_path / "ours.lock", captured_at="")
    assert {"pip", "setuptools", "wheel"} <= set(ours.pip)
    for a, b in (
        (seed_lock, ours),
        (ours, seed_lock),
        (seed_lock, read_lock(tmp_path / "ours.lock")),
    ):
        diff = compare_locks(a, b)
        assert diff.identical, diff.detail()
        assert {"pip:pip", "pip:setuptools", "pip:wheel"} <= set(diff.ignored)
    # a real difference is still seen
    seed_lock.dpkg["base-files"] = "0.0-bogus"
    diff = compare_locks(seed_lock, ours)
    assert list(diff.changed) == ["dpkg:base-files"]
    assert diff.summary().startswith("1 changed (dpkg:base-files: 0.0-bogus -> ")


@pytest.mark.apptainer
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_drift_in_a_realistic_seed_lock_is_reported_exactly(tmp_path_factory, seed_captures, data):
    """Perturb the seed's capture of the mixed image: ours names exactly the perturbations."""
    from scitex_container.apptainer.lock.capture import capture_lock

    image, captured = seed_captures["mixed"]
    ours = _our_capture(image, capture_lock)
    lock = seed.SeedLock(dict(captured.pip), dict(captured.dpkg), captured.node)
    # a plain name the seed recorded for a multi-arch package stays (see freeze_omitted)
    multiarch = {name.split(":")[0] for name in ours.dpkg if ":" in name}
    droppable = sorted(set(lock.dpkg) - multiarch)
    dropped = data.draw(st.lists(st.sampled_from(droppable), max_size=3, unique=True))
    bumped = data.draw(
        st.lists(st.sampled_from(sorted(set(lock.dpkg) - set(dropped))), max_size=3, unique=True)
    )
    respelt = data.draw(st.booleans())
    for key in dropped:
        del lock.dpkg[key]
    for key in bumped:
        lock.dpkg[key] += "+x1"
    if respelt:  # a user's own spelling of the same pin: no drift
        lock.pip = {
            ("PyYAML" if k == "pyyaml" else k): ("6.0.0" if k == "pyyaml" else v)
            for k, v in lock.pip.items()
        }
    path = seed.write(lock, tmp_path_factory.mktemp("real") / "seed.lock")
    diff = compare_locks(read_lock(path), ours)
    assert set(diff.changed) == {f"dpkg:{k}" for k in bumped}
    assert set(diff.only_in_b) == {f"dpkg:{k}" for k in dropped}
    assert not diff.only_in_a
    if respelt:
        assert read_lock(path).pip["pyyaml"] == "6.0.0"  # shown as written


_CAPTURED: dict[Path, Lock] = {}


def _our_capture(image: Path, capture_lock) -> Lock:
    if image not in _CAPTURED:
        _CAPTURED[image] = capture_lock(image, captured_at="")
    return _CAPTURED[image]


def test_an_empty_dpkg_version_is_never_pinned(tmp_path):
    from scitex_container.apptainer.lock.pin import render_locked_def

    rough = tmp_path / "rough.def"
    rough.write_text("Bootstrap: localimage\nFrom: /x/base.sif\n\n%post\n    true\n")
    path = seed.write(
        seed.SeedLock({"bare": "", "six": "1.16.0"}, {"tzdata": "", "hello": "2.10-3"}, ""),
        tmp_path / "seed.lock",
    )
    text = render_locked_def(rough, path, apt_scope="all")
    assert "hello=2.10-3" in text
    assert "tzdata=" not in text and "bare==" not in text
    assert "left unpinned: tzdata" in text
    assert "six==1.16.0" in text


@pytest.mark.apptainer
def test_verify_against_the_seeds_freeze_files_keeps_its_words(tmp_path, seed_captures):
    """The seed's ``freeze`` files of an image verify clean; drift reads as the seed wrote it."""
    from scitex_container.apptainer import verify

    image, captured = seed_captures["mixed"]
    pip = "".join(f"{k}=={v}\n" if v else f"{k}\n" for k, v in captured.pip.items())
    dpkg = "".join(f"{k}={v}\n" for k, v in captured.dpkg.items())
    (tmp_path / "requirements-lock.txt").write_text(pip)
    (tmp_path / "dpkg-lock.txt").write_text(dpkg)
    (tmp_path / "node-lock.txt").write_text(captured.node)
    result = verify(image, lock_dir=tmp_path)
    assert result["pip_lock"]["status"] == result["dpkg_lock"]["status"] == "pass", result
    assert result["overall"] != "fail"  # "unverified": a plain SIF with no recorded digest
    (tmp_path / "requirements-lock.txt").write_text(pip.replace("pyyaml==6.0", "pyyaml==5.4"))
    (tmp_path / "dpkg-lock.txt").write_text(dpkg.replace("\nhello=", "\nhello=9:"))
    result = verify(image, lock_dir=tmp_path)
    assert result["pip_lock"]["detail"] == "Package mismatch: +1 new, -1 missing"
    assert result["pip_lock"]["summary"] == "1 changed (pyyaml 5.4 -> 6.0)"
    assert result["dpkg_lock"]["detail"] == "Package mismatch: +1 changed/new, -1 missing/changed"
    assert result["pip_lock"]["diff_count"] == result["dpkg_lock"]["diff_count"] == 1
