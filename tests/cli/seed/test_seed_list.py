"""The seed's `list` alias: its JSON shape, errors included."""

from __future__ import annotations


def test_the_seed_list_alias_keeps_versions_in_its_json_error(sx, tmp_path, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.scitex/containers either
    ran = sx("--json", "list")  # no containers directory here
    data = json.loads(ran.out)
    assert ran.code == 2 and data["versions"] == [] and data["error"] and "where" in data
