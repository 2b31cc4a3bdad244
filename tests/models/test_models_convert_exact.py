"""Converted reference checkpoints compute what the authors' code computes in eval mode (fixtures made by running
that code on the same seeded weights and clips: fixtures/README.md). Tolerance: 1e-4 of each output's range."""

import numpy as np
import pytest
import torch
from reflayout import FIXTURES, SEED, clips, randomise, rppgnet_layout, stven_layout

from edgerppg.models import load_checkpoint
from edgerppg.models.convert import ConvertSpec, convert_reference
from edgerppg.models.reference import cascade_from_reference, model_from_reference

SMALL = {"frames": 4, "height": 16, "width": 16, "fps": 30.0}
FULL = {"frames": 4, "height": 128, "width": 128, "fps": 30.0}


def _fixture(name: str, sds: list[dict]) -> dict:
    data = dict(np.load(FIXTURES / f"{name}.npz"))
    total = sum(float(v.double().abs().sum()) for sd in sds for v in sd.values())
    assert total == pytest.approx(float(data.pop("checksum")), rel=1e-9), "seeded weights differ from the fixture's"
    return data


def _close(ours: torch.Tensor, ref: np.ndarray, what: str) -> None:
    ours = ours.detach().numpy()
    assert ours.shape == ref.shape, what
    span = float(ref.max() - ref.min())
    err = float(np.abs(ours - ref).max())
    assert span > 0 and err <= 1e-4 * span, f"{what}: max abs diff {err:.3g} > 1e-4 of range {span:.3g}"


@pytest.mark.parametrize("repeat", [4, 6])  # the release's default depth and the paper's
def test_stven_matches_the_reference_for_every_label(repeat):
    sd = randomise(stven_layout(4, 5, repeat), SEED)
    ref = _fixture(f"stven_r{repeat}", [sd])["video"]
    model, report = model_from_reference("stven", sd, clip=SMALL)
    assert report["kept"] == [] and report["dropped"] == [] and len(report["loaded"]) == len(sd)
    x = clips(2, 4, 16)
    with torch.no_grad():
        for label in range(5):
            _close(model.eval()(x, torch.full((2,), label)), ref[label], f"label {label}")


def test_stven_best_label_becomes_label_0_through_a_file(tmp_path):
    sd = randomise(stven_layout(4, 5, 4), SEED)
    ref = _fixture("stven_r4", [sd])["video"]
    torch.save({"G": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3}, tmp_path / "g.pth")
    spec = ConvertSpec(model="stven", src=tmp_path / "g.pth", out=tmp_path / "s.safetensors",
                       clip={"frames": 4, "height": 16, "width": 16}, input_format="rgb-11", best_label=2)
    result = convert_reference(spec)
    assert result["report"]["labels"] == [2, 0, 1, 3, 4]
    model, manifest = load_checkpoint(tmp_path / "s.safetensors", expect="stven")
    assert manifest["converted"]["exact"] and manifest["arch"]["norm"] == "running"
    x = clips(2, 4, 16)
    with torch.no_grad():
        for ours, theirs in enumerate([2, 0, 1, 3, 4]):
            _close(model(x, torch.full((2,), ours)), ref[theirs], f"our label {ours}")
        _close(model.enhance(x), ref[2], "enhance()")


def _rppg_outputs(out: dict) -> dict:
    return {"skin": out["skin"], "rppg_mid": out["rppg_mid"], "rppg": out["rppg"], "parts": out["parts"]}


def test_rppgnet_matches_the_reference_every_output():
    sd = randomise(rppgnet_layout(), SEED)
    ref = _fixture("rppgnet", [sd])
    model, report = model_from_reference("rppgnet", sd, clip=FULL)
    assert report["kept"] == [] and sorted(report["dropped"]) == sorted(report["unused"])
    with torch.no_grad():
        out = _rppg_outputs(model.eval()(clips(2, 4, 128, low=0.0)))
    for key, value in out.items():
        _close(value, ref[key], key)


def test_cascade_matches_the_reference_joint_model():
    s_sd, r_sd = randomise(stven_layout(4, 5, 4), SEED), randomise(rppgnet_layout(), SEED + 1)
    ref = _fixture("cascade", [s_sd, r_sd])
    model, report = cascade_from_reference(s_sd, r_sd, clip=FULL)
    assert report["kept"] == []
    with torch.no_grad():
        out = _rppg_outputs(model.eval()(clips(1, 4, 128)))
    for key, value in out.items():
        _close(value, ref[key], key)
