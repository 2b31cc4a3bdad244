"""Channel pruning with Torch-Pruning's dependency graph: the models stay traceable, every prunable group
narrows, and a pruned model saves and rebuilds exactly through the checkpoint."""

import pytest
import torch

from edgerppg.models import create_model, load_checkpoint, save_checkpoint

tp = pytest.importorskip("torch_pruning")

SMALL_CLIP = {"channels": 3, "frames": 16, "height": 32, "width": 32, "fps": 30.0}


def _fixed_out_layers(model):
    """Output heads / final convs whose out channels are fixed by the task."""
    if model.NAME == "rppgnet":
        return [model.head, model.head_mid, model.skin.out, *model.part_heads]
    if model.NAME == "stven":
        return [model.out]
    return _fixed_out_layers(model.stven) + _fixed_out_layers(model.rppgnet)


def _prune(model, ratio=0.5):
    example = model.example_inputs(1)
    pruner = tp.pruner.MagnitudePruner(
        model,
        example,
        importance=tp.importance.MagnitudeImportance(p=1),
        pruning_ratio=ratio,
        ignored_layers=_fixed_out_layers(model),
    )
    pruner.step()
    return model


@pytest.mark.parametrize("name", ["rppgnet", "stven", "cascade"])
def test_pruned_model_saves_and_rebuilds_exactly(tmp_path, name):
    model = create_model(name, "tiny", clip=SMALL_CLIP).eval()
    before = model.arch_config()
    _prune(model)
    after = model.arch_config()
    assert after != before
    (video,) = model.example_inputs(2)
    with torch.no_grad():
        ref = model.deploy()(video)
        full = model(video)
    save_checkpoint(tmp_path / "p.safetensors", model)
    loaded, manifest = load_checkpoint(tmp_path / "p.safetensors", expect=name)
    assert manifest["arch"] == after == loaded.arch_config()
    with torch.no_grad():
        assert torch.equal(loaded.deploy()(video), ref)
        again = loaded(video)
    if isinstance(full, dict):
        for key in full:
            assert torch.equal(again[key], full[key]), key


def test_rppgnet_every_width_halves():
    model = _prune(create_model("rppgnet", "tiny", clip=SMALL_CLIP))
    cfg = model.arch_config()
    assert cfg["stem"] == 4 and cfg["skin"] == [2, 2]
    assert cfg["stages"] == [[[4, 4]], [[8, 8]], [[8, 8]]]
    assert model.head.in_channels == model.part_heads[0].in_channels == 8
    assert model.head_mid.in_channels == 8


def test_stven_widths_and_instance_norms_halve():
    model = _prune(create_model("stven", "tiny", clip=SMALL_CLIP))
    cfg = model.arch_config()
    assert cfg["widths"] == [2, 4, 8] and cfg["blocks"] == [[8, 8], [8, 8]]
    assert cfg["labels"] == 4 and model.enc1.conv.in_channels == 3 + 4
    for module in model.modules():
        if isinstance(module, torch.nn.InstanceNorm3d):
            assert module.weight.numel() == module.num_features
    assert model.out.out_channels == 3
