"""The trained weights shipped in edgerppg/weights/ (pipelines/ship.yaml): present, exact exports, and usable
by name from `hr`, `eval` and `bench` and as a starting checkpoint."""

from __future__ import annotations

import json

import pytest

from edgerppg.shipped import SHIPPED, WEIGHTS, resolve_model, shipped, shipped_path
from tests.cli_runner import run


def test_every_shipped_name_is_in_the_package():
    missing = [w["name"] for w in shipped() if not w["present"]]
    assert not missing, f"{missing} missing under {WEIGHTS}: run pipelines/ship.yaml and copy its outputs"
    assert (WEIGHTS / "MODEL_CARD.md").is_file()


def test_shipped_files_are_small_enough_to_ship():
    total = sum(f.stat().st_size for f in WEIGHTS.rglob("*") if f.is_file())
    assert total < 4 * 2**20, f"{total / 2**20:.1f} MiB under {WEIGHTS}"


def test_an_existing_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cascade-10x").mkdir()
    assert resolve_model("cascade-10x") == "cascade-10x"
    monkeypatch.chdir(WEIGHTS.parent.parent)
    assert resolve_model("cascade-10x") == str(shipped_path("cascade-10x"))
    assert resolve_model("no-such-model") == "no-such-model" and resolve_model(None) is None


@pytest.mark.parametrize("name", [n for n, (rel, _) in SHIPPED.items() if not rel.endswith(".safetensors")])
def test_shipped_exports_passed_their_parity_check(name):
    manifest = json.loads((shipped_path(name) / "manifest.json").read_text())
    parity = manifest["parity"]
    assert parity["passed"], parity


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    from edgerppg.data.synth import synthesize

    out = tmp_path_factory.mktemp("shipped") / "d"
    manifest = synthesize(out, subjects=1, seconds=12, size=64, codecs=["raw"], seed=4242)
    subject = manifest["subjects"][0]
    return next((out / "raw").glob("subject01/vid.*")), float(subject["mean_hr_bpm"])


@pytest.mark.parametrize("name", ["cascade-10x", "cascade"])
def test_hr_reads_a_held_out_synthetic_face_with_the_shipped_model(capsys, face_video, name):
    video, truth = face_video
    code, out, err = run(capsys, "hr", video, "--model", name, "--crop", "full", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["method"] == f"{name} (ort)"
    assert abs(result["hr_bpm"] - truth) < 5.0, (result["hr_bpm"], truth)
