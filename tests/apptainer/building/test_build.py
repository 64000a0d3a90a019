"""build() against the real apptainer: versions, change detection, failures leave nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import looks_like_sif, sha256

from scitex_container.apptainer import build as reference_build
from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.apptainer.store.sidecars import LOG_SUFFIX, META_SUFFIX, sidecar
from scitex_container.errors import DefFileError, ProcessError
from scitex_container.process import runner
from scitex_container.reference.store_versions import list_versions

pytestmark = pytest.mark.apptainer

FILES = "\n%files\n    payload /payload\n    tree /opt/tree\n"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF + FILES)
    (tmp_path / "payload").write_text("v1\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "x.txt").write_text("x\n")
    return tmp_path


def build(project: Path, **kw):
    return build_version(def_path=project / "bb.def", output_dir=project / "out", **kw)


def versions(project: Path) -> list[str]:
    return [r["version"] for r in list_versions(project / "out" / "bb")]


def test_build_lands_at_the_reference_path_as_a_version(project: Path) -> None:
    path = reference_build(def_path=project / "bb.def", output_dir=project / "out")
    assert path == project / "out" / "bb" / "bb.sif" and path.is_symlink()
    real = Path(os.path.realpath(path))
    assert real.name.startswith("bb-v") and real.parent == path.parent
    meta = load_metadata(path)
    assert meta["sha256"] == sha256(real)
    assert meta["def_text"] == (project / "bb.def").read_text()
    assert meta["apptainer_version"][0].isdigit() and meta["build_duration"] >= 0
    assert len(meta["inputs_hash"]) == 64 and meta["build_start"]
    assert sidecar(real, META_SUFFIX).exists() and sidecar(real, LOG_SUFFIX).exists()
    out = subprocess.run(
        ["apptainer", "exec", str(path), "cat", "/payload"], capture_output=True, text=True
    )
    assert out.stdout == "v1\n"


def test_unchanged_inputs_run_no_apptainer(project: Path) -> None:
    first = build(project)
    assert first.built
    with runner.dry_run() as recorder:  # any apptainer build would be recorded here
        again = build(project)
    assert recorder.commands == [] and not again.built
    plain = build(project)
    assert not plain.built and plain.version == first.version and plain.command == ()
    assert versions(project) == [first.version]
    assert os.stat(first.artifact).st_mtime_ns == os.stat(plain.artifact).st_mtime_ns


def test_changed_files_source_builds_a_new_version_keeping_the_old(project: Path) -> None:
    first = build(project)
    (project / "tree" / "x.txt").write_text("changed\n")
    second = build(project)
    assert second.built and second.version != first.version
    assert versions(project) == [second.version, first.version]
    assert os.path.realpath(second.path) == str(second.artifact)
    assert first.artifact.exists()
    forced = build(project, force=True)
    assert forced.built and len(versions(project)) == 3


def test_failing_post_leaves_no_artifact_and_the_active_untouched(project: Path) -> None:
    good = build(project)
    before = sorted(os.listdir(project / "out" / "bb"))
    text = (
        (project / "bb.def")
        .read_text()
        .replace("%environment", "%post\n    exit 3\n\n%environment")
    )
    (project / "bb.def").write_text(text)
    with pytest.raises(ProcessError) as err:
        build(project)
    assert err.value.log_path
    after = os.listdir(project / "out" / "bb")
    assert not [n for n in after if n.endswith(".building")]
    assert versions(project) == [good.version]
    assert os.path.realpath(good.path) == str(good.artifact)
    new_files = set(after) - set(before)
    assert all(n.endswith(LOG_SUFFIX) for n in new_files)  # only the failed build's log


def test_missing_files_source_fails_before_apptainer(project: Path) -> None:
    (project / "payload").unlink()
    with runner.dry_run() as recorder, pytest.raises(DefFileError) as err:
        build(project)
    assert recorder.commands == []
    assert f"{project / 'bb.def'}:" in str(err.value)
    assert not (project / "out" / "bb").exists() or versions(project) == []


def test_missing_def_is_a_clear_error(tmp_path: Path) -> None:
    from scitex_container.errors import NotFoundError

    with pytest.raises(NotFoundError, match="definition file not found"):
        reference_build(def_path=tmp_path / "nope.def")


def test_finalize_runs_on_the_temporary_artifact_before_publish(project: Path) -> None:
    seen: list[Path] = []

    def finalize(tmp: Path) -> dict:
        assert looks_like_sif(tmp) and tmp.name.startswith(".") and tmp.name.endswith(".building")
        seen.append(tmp)
        return {"provenance": "embedded"}

    result = build(project, finalize=finalize)
    assert len(seen) == 1 and not seen[0].exists()
    assert load_metadata(result.path)["provenance"] == "embedded"


def test_sandbox_build_uses_its_own_store(project: Path) -> None:
    result = build(project, sandbox=True)
    assert result.path == project / "out" / "bb" / "bb-sandbox"
    real = Path(os.path.realpath(result.path))
    assert (
        real.is_dir()
        and real.name.endswith("-sandbox")
        and (real / "payload").read_text() == "v1\n"
    )
    assert not build(project, sandbox=True).built


def test_def_name_is_looked_up_in_the_containers_dir(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCITEX_CONTAINER_DIR", str(project))
    path = reference_build("bb")
    assert path == project / "bb" / "bb.sif" and os.path.exists(path)
    named = reference_build("bb.def", output_dir=project / "o", image_name="renamed")
    assert named == project / "o" / "renamed" / "renamed.sif"
    assert os.path.realpath(named).endswith(".sif") and "renamed-v" in os.path.realpath(named)


def test_a_new_sif_carries_its_lock_and_inputs_hash(project: Path) -> None:
    from scitex_container.apptainer.lock.lockfile import read_lock
    from scitex_container.apptainer.lock.provenance import embedded_lock, embedded_provenance
    from scitex_container.apptainer.lock.verify_image import verify
    from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX

    result = build(project)
    real = result.artifact
    meta = load_metadata(real)
    assert meta["lock_embedded"] is True
    provenance = embedded_provenance(real)
    assert provenance is not None and provenance["inputs_hash"] == result.inputs_hash
    side = read_lock(sidecar(real, LOCK_SUFFIX))
    assert side.image_sha256 == meta["sha256"] == sha256(real)  # digest taken after embedding
    assert embedded_lock(real) is not None
    assert embedded_lock(real).version_set() == side.version_set()
    assert verify(real)["overall"] == "pass"


def test_provenance_can_be_turned_off(project: Path) -> None:
    from scitex_container.apptainer.lock.provenance import embedded_lock
    from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX

    real = build(project, provenance=False).artifact
    assert not sidecar(real, LOCK_SUFFIX).exists()
    assert embedded_lock(real) is None
