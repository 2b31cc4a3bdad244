"""The input format travels: a model whose checkpoint says BGR 0-255 reads the same HR from a video as the
equivalent RGB [0, 1] model, through `edgerppg hr` on the checkpoint and on its ONNX export."""

import json

import numpy as np
import pytest
import torch
from cli_runner import cli

from edgerppg.models import create_model, load_checkpoint, save_checkpoint
from edgerppg.spec import ClipSpec, input_preset

CLIP = {"frames": 64, "height": 32, "width": 32, "fps": 30.0}


def test_to_model_presets():
    video = np.random.default_rng(0).random((1, 3, 2, 2, 2), dtype=np.float32)
    bgr = ClipSpec(**input_preset("bgr255")).to_model(video)
    assert np.allclose(bgr[:, 0], video[:, 2] * 255) and np.allclose(bgr[:, 2], video[:, 0] * 255)
    centred = ClipSpec(**input_preset("centered128")).to_model(torch.from_numpy(video))
    assert torch.allclose(centred, (torch.from_numpy(video) * 255 - 127.5) / 128)
    assert ClipSpec().to_model(video) is video and "order" not in ClipSpec().to_dict()
    assert ClipSpec.from_dict(ClipSpec(order="bgr", scale=1.0).to_dict()).input_format()["preset"] == "bgr255"


def _pair(tmp_path):
    """The same function written for [0, 1] RGB and for BGR 0-255 (stem weights reversed and divided by 255)."""
    rgb = create_model("rppgnet", "tiny", clip=CLIP, input_norm="none").eval()
    bgr = create_model("rppgnet", "tiny", clip={**CLIP, **input_preset("bgr255")}, input_norm="none").eval()
    state = rgb.state_dict()
    state["stem.conv.weight"] = state["stem.conv.weight"].flip(1) / 255.0
    bgr.load_state_dict(state)
    save_checkpoint(tmp_path / "rgb.safetensors", rgb)
    save_checkpoint(tmp_path / "bgr.safetensors", bgr)
    return tmp_path / "rgb.safetensors", tmp_path / "bgr.safetensors"


def _hr(capsys, video, model) -> dict:
    capsys.readouterr()
    assert cli(["hr", video, "--model", model, "--crop", "full", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _pulse(video, model) -> np.ndarray:
    from edgerppg.predict.video import video_hr
    from edgerppg.runtime.predict import load_predictor

    return np.asarray(video_hr(str(video), load_predictor(str(model)), crop="full")["pulse"])


@pytest.mark.slow
def test_bgr255_model_reads_the_same_hr_as_its_rgb01_twin(tmp_path, capsys):
    rgb, bgr = _pair(tmp_path)
    model, manifest = load_checkpoint(bgr)
    assert manifest["clip"]["order"] == "bgr" and model.clip.scale == 1.0
    assert cli(["synth", tmp_path / "data", "--subjects", "1", "--seconds", "12", "--size", "32"]) == 0
    video = next((tmp_path / "data").rglob("*.avi"), None) or next((tmp_path / "data").rglob("*.mp4"))
    a, b = _hr(capsys, video, rgb), _hr(capsys, video, bgr)
    assert a["hr_bpm"] == pytest.approx(b["hr_bpm"], abs=1e-3)
    pulse = _pulse(video, rgb)  # the untrained twins' HR sits at the band edge: the pulses show the difference
    assert np.allclose(_pulse(video, bgr), pulse, rtol=1e-4, atol=1e-4 * np.ptp(pulse))
    assert cli(["export", bgr, "--out", tmp_path / "bgr-onnx"]) == 0
    exported = json.loads((tmp_path / "bgr-onnx" / "manifest.json").read_text())
    assert exported["clip"]["order"] == "bgr" and exported["clip"]["scale"] == 1.0
    assert _hr(capsys, video, tmp_path / "bgr-onnx")["hr_bpm"] == pytest.approx(a["hr_bpm"], abs=0.5)
