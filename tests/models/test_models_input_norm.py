"""rPPGNet's input normalisation: dc-clip bounds compression flicker; older 'dc' checkpoints keep their form."""

import torch

from edgerppg.models import create_model, load_checkpoint, save_checkpoint
from edgerppg.models.rppgnet import DC_CLIP, dc_normalise


def test_dc_clip_bounds_dark_flicker_and_keeps_the_pulse():
    t = torch.arange(16, dtype=torch.float32)
    pulse = 0.5 * (1 + 0.01 * torch.sin(t))  # 1 % pulse on a mid-grey pixel
    dark = torch.where(t % 2 == 0, 0.002, 0.03)  # a dark pixel flickering under compression
    video = torch.stack([pulse, dark]).view(1, 2, 16, 1, 1)
    out = dc_normalise(video, DC_CLIP)
    assert out.abs().max() <= DC_CLIP
    assert torch.allclose(out[0, 0], dc_normalise(video)[0, 0])  # the pulse is far inside the clip
    assert dc_normalise(video).abs().max() > DC_CLIP


def test_new_models_clip_and_dc_checkpoints_reload_unclipped(tmp_path):
    assert create_model("rppgnet", "tiny").input_norm == "dc-clip"
    old = create_model("rppgnet", "tiny", input_norm="dc")
    save_checkpoint(tmp_path / "old.safetensors", old)
    model, _ = load_checkpoint(tmp_path / "old.safetensors")
    assert model.input_norm == "dc"
