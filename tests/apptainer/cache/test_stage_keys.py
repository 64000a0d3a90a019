"""Stage keys: a key changes exactly when an input of its stage or an earlier one changes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scitex_container.apptainer.cache.stage_keys import StageContext, argument_values, plan_keys
from scitex_container.apptainer.cache.stages import plan_stages
from scitex_container.apptainer.deffile import parse_def_text

#: part of the recipe -> the first stage it is an input of
#: (stages: 0 bootstrap, 1 post-1, 2 post-2, 3 post-3, 4 final)
FIRST_STAGE = {"mirror": 0, "files": 1, "chunk1": 1, "chunk2": 2, "arg": 2, "chunk3": 3, "env": 4}


def recipe(p: dict[str, str]) -> str:
    return (
        f"Bootstrap: debootstrap\nOSVersion: bookworm\nMirrorURL: http://{p['mirror']}/debian\n\n"
        "%arguments\n    GREETING=hello\n\n"
        "%files\n    payload /payload\n\n"
        f"%post\n    echo {p['chunk1']} > /one\n    # scitex: checkpoint\n"
        f"    echo {{{{ GREETING }}}} {p['chunk2']} > /two\n    # scitex: checkpoint\n"
        f"    echo {p['chunk3']} > /three\n\n"
        f"%environment\n    export E={p['env']}\n"
    )


def keys(p: dict[str, str]) -> tuple[str, ...]:
    plan = plan_stages(parse_def_text(recipe(p), "r.def"))
    context = StageContext.here("1.4.5", True, files=(("payload", p["files"]),))
    values = argument_values({"GREETING": "hello"}, {"GREETING": p["arg"]})
    return plan_keys(plan, context, values)


WORD = st.text(alphabet="abcdefxyz0123", min_size=1, max_size=6)
PARTS = st.fixed_dictionaries({name: WORD for name in FIRST_STAGE})


@settings(max_examples=60, deadline=None)
@given(PARTS, st.sets(st.sampled_from(sorted(FIRST_STAGE)), min_size=1), st.data())
def test_a_key_changes_exactly_when_its_stage_or_an_earlier_one_changes(
    parts: dict[str, str], edited: set[str], data: st.DataObject
) -> None:
    changed = dict(parts)
    for name in edited:
        changed[name] = data.draw(WORD.filter(lambda w, old=parts[name]: w != old))
    before, after = keys(parts), keys(changed)
    first = min(FIRST_STAGE[name] for name in edited)
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        assert (old != new) == (index >= first), (index, edited)


def test_the_tool_version_architecture_fakeroot_and_forwarded_env_change_every_key() -> None:
    parts = {name: "a" for name in FIRST_STAGE}
    plan = plan_stages(parse_def_text(recipe(parts), "r.def"))
    base = StageContext("1.4.5", "x86_64", True)
    for other in (
        StageContext("1.4.6", "x86_64", True),
        StageContext("1.4.5", "aarch64", True),
        StageContext("1.4.5", "x86_64", False),
        StageContext("1.4.5", "x86_64", True, env=(("APPTAINERENV_AF", "b"),)),  # %post sees it
    ):
        old, new = plan_keys(plan, base, {}), plan_keys(plan, other, {})
        assert all(a != b for a, b in zip(old, new, strict=True))


def test_two_recipes_on_one_base_share_the_bootstrap_key_whatever_their_comments() -> None:
    parts = {name: "a" for name in FIRST_STAGE}
    context = StageContext("1.4.5", "x86_64", True)
    one = plan_stages(parse_def_text("# mine\n" + recipe(parts), "a.def"))
    text = recipe({**parts, "chunk1": "b"}).replace("debian\n", "debian\n# a note\n")
    two = plan_stages(parse_def_text(text, "b.def"))
    assert plan_keys(one, context, {})[0] == plan_keys(two, context, {})[0]
    assert plan_keys(one, context, {})[1] != plan_keys(two, context, {})[1]


def test_trailing_blank_lines_of_post_are_no_input() -> None:
    p = dict.fromkeys(FIRST_STAGE, "a")
    text = recipe(p)
    padded = text.replace("> /three\n\n", "> /three\n\n   \n\n")
    assert padded != text
    context = StageContext.here("1.4.5", True, files=(("payload", "a"),))
    values = argument_values({"GREETING": "hello"}, {"GREETING": "a"})
    keyed = [
        plan_keys(plan_stages(parse_def_text(t, "r.def")), context, values) for t in (text, padded)
    ]
    assert keyed[0] == keyed[1]


def _bootstrap_key(where, base: str, agent: str = "docker-archive") -> tuple[str, bool]:
    from scitex_container.apptainer.building.inputs import compute_inputs

    where.mkdir(exist_ok=True)
    path = where / "r.def"
    path.write_text(f"Bootstrap: {agent}\nFrom: {base}\n\n%post\n    echo hi > /hi\n")
    inputs = compute_inputs(path)
    plan = plan_stages(parse_def_text(path.read_text(), str(path)))
    context = StageContext.here("1.4.5", True, images=inputs.images)
    return plan_keys(plan, context, {})[0], plan.stages[0].network


def test_a_local_archive_base_is_keyed_by_its_content_not_its_path(tmp_path) -> None:
    (tmp_path / "base.tar").write_bytes(b"layers one")
    here, network = _bootstrap_key(tmp_path, "base.tar")
    assert not network  # a local file: no age limit
    assert _bootstrap_key(tmp_path / "sub", "../base.tar")[0] == here  # another path, one entry
    assert _bootstrap_key(tmp_path, "oci-archive:base.tar", "oci-archive")[0] != here
    (tmp_path / "base.tar").write_bytes(b"layers two")  # it was not in the key before
    assert _bootstrap_key(tmp_path, "base.tar")[0] != here


def test_a_remote_base_is_a_network_stage() -> None:
    for agent, base in (("docker", "busybox"), ("library", "alpine"), ("oras", "x/y:1")):
        text = f"Bootstrap: {agent}\nFrom: {base}\n\n%post\n    echo\n"
        assert plan_stages(parse_def_text(text, "r.def")).stages[0].network


def test_the_forwarded_env_is_read_from_the_host_by_prefix(monkeypatch) -> None:
    from scitex_container import envvars

    for name in envvars.CONTAINER_PASS_KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APPTAINERENV_AF", "a")
    monkeypatch.setenv("SINGULARITYENV_B", "b")
    monkeypatch.setenv("AF", "not forwarded")
    assert envvars.container_env() == {"APPTAINERENV_AF": "a", "SINGULARITYENV_B": "b"}
    env = tuple(envvars.container_env().items())
    assert StageContext.here("1.4.5", True, env=env).env == (
        ("APPTAINERENV_AF", "a"),
        ("SINGULARITYENV_B", "b"),
    )
