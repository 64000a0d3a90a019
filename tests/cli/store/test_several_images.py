"""Several images in one containers directory: a store command names the directory given."""

from __future__ import annotations

import os

from storekit import make_sif


def test_rollback_without_a_store_names_the_containers_directory(sx, tmp_path, monkeypatch):
    containers = tmp_path / "containers"
    containers.mkdir()
    (containers / "hello.def").write_text("Bootstrap: scratch\n")
    for name in ("hello", "other"):
        (containers / name).mkdir()
        for i, version in enumerate(("20260101T000000Z", "20260102T000000Z")):
            make_sif(containers / name / f"{name}-v{version}.sif", seed=i)
        os.symlink(f"{name}-v20260102T000000Z.sif", containers / name / f"{name}.sif")
    monkeypatch.chdir(tmp_path)
    for argv in (("rollback",), ("rollback", containers)):
        ran = sx("--json", *argv)
        assert ran.code == 2, ran.out
        error = ran.json()
        assert error["where"] == str(containers), error  # not containers/hello
        assert error["error"].startswith(f"{containers}: holds 2 images"), error
