"""Converted reference models go down the same paths as edgerppg's own: channel pruning (running-stat norms
narrow with their weights), save/rebuild, and ONNX export with parity and no InstanceNormalization node.
edgerppg's own STVENs keep their per-clip instance norms."""

import pytest
import torch
from reflayout import SEED, randomise, rppgnet_layout, stven_layout

from edgerppg.models import create_model, load_checkpoint, save_checkpoint
from edgerppg.models.blocks import RunningInstanceNorm3d
from edgerppg.models.reference import cascade_from_reference, model_from_reference

tp = pytest.importorskip("torch_pruning")

CLIP = {"frames": 16, "height": 32, "width": 32, "fps": 30.0}


def test_edgerppg_stven_keeps_per_clip_norms_and_old_manifests_load_so():
    model = create_model("stven", "tiny")
    arch = model.arch_config()
    assert (arch["norm"], arch["block"], arch["io"]) == ("instance", "residual", "unit")
    assert type(model.enc1.norm) is torch.nn.InstanceNorm3d and not model.enc1.norm.track_running_stats
    old = {k: v for k, v in arch.items() if k not in ("norm", "block", "io")}  # a manifest from before the keys
    assert create_model(**old).arch_config() == arch


def test_running_norm_is_instance_norm_in_training_and_affine_in_eval():
    torch.manual_seed(0)
    ours, ref = RunningInstanceNorm3d(4), torch.nn.InstanceNorm3d(4, affine=True, track_running_stats=True)
    with torch.no_grad():
        for m in (ours, ref):
            m.weight.copy_(torch.arange(1.0, 5.0))
            m.bias.fill_(0.3)
    x = torch.randn(2, 4, 3, 5, 5) * 2 + 1
    assert torch.allclose(ours.train()(x), ref.train()(x), atol=1e-6)
    assert torch.allclose(ours.running_mean, ref.running_mean) and torch.allclose(ours.running_var, ref.running_var)
    assert torch.allclose(ours.eval()(x), ref.eval()(x), atol=1e-6)


def _prune(model, fixed):
    tp.pruner.MagnitudePruner(model, model.example_inputs(1), importance=tp.importance.MagnitudeImportance(p=1),
                              pruning_ratio=0.5, ignored_layers=fixed).step()


@pytest.mark.parametrize("name", ["stven", "cascade"])
def test_converted_model_prunes_saves_and_rebuilds(tmp_path, name):
    s_sd = randomise(stven_layout(2, 5, 2), SEED)
    if name == "stven":
        model, _ = model_from_reference("stven", s_sd, clip=CLIP)
        fixed = [model.out]
    else:
        model, _ = cascade_from_reference(s_sd, randomise(rppgnet_layout(), SEED), clip=CLIP)
        r = model.rppgnet
        fixed = [model.stven.out, r.head, r.head_mid, r.skin.out, *r.part_heads]
    model.eval()
    before = model.arch_config()
    _prune(model, fixed)
    after = model.arch_config()
    assert after != before
    (video,) = model.example_inputs(2)
    with torch.no_grad():
        ref = model.deploy()(video)
    save_checkpoint(tmp_path / "p.safetensors", model)
    loaded, manifest = load_checkpoint(tmp_path / "p.safetensors", expect=name)
    assert manifest["arch"] == after
    with torch.no_grad():
        assert torch.equal(loaded.deploy()(video), ref)


@pytest.mark.slow
def test_converted_cascade_exports_with_parity_and_no_instance_norm(tmp_path):
    import onnx

    from edgerppg.export.exporter import ExportOptions, export_checkpoint

    model, _ = cascade_from_reference(randomise(stven_layout(2, 5, 2), SEED), randomise(rppgnet_layout(), SEED),
                                      clip={**CLIP, "frames": 48})
    save_checkpoint(tmp_path / "c.safetensors", model)
    m = export_checkpoint(tmp_path / "c.safetensors", tmp_path / "out", ExportOptions(batch=1, parity_clips=1))
    assert m["parity"]["passed"], m["parity"]
    ops = {n.op_type for n in onnx.load(tmp_path / "out" / "model.onnx").graph.node}
    assert "InstanceNormalization" not in ops
