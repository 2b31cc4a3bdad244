"""Loading state_dicts named as in the authors' public rPPGNet / STVEN code (names and shapes written here
from the documented layout in docs/checkpoints.md, at small widths)."""

import pytest
import torch

from edgerppg.errors import EdgeRPPGError
from edgerppg.models.convert import ConvertSpec, convert_reference
from edgerppg.models.reference import (
    load_reference_state_dict,
    model_from_reference,
    reference_arch,
)
from edgerppg.models import create_model, load_checkpoint

CLIP = {"channels": 3, "frames": 16, "height": 32, "width": 32, "fps": 30.0}


def _conv(sd, name, cout, cin, k, bias=True):
    sd[f"{name}.weight"] = torch.randn(cout, cin, *k)
    if bias:
        sd[f"{name}.bias"] = torch.randn(cout)


def _bn(sd, name, c, stats=True):
    sd[f"{name}.weight"] = torch.rand(c) + 0.5
    sd[f"{name}.bias"] = torch.randn(c)
    if stats:
        sd[f"{name}.running_mean"] = torch.randn(c) * 0.1
        sd[f"{name}.running_var"] = torch.rand(c) + 0.5
        sd[f"{name}.num_batches_tracked"] = torch.tensor(7)


def reference_rppgnet(stem=4, w1=6, w2=8, mid=5):
    """The reference rPPGNet layout: ConvSpa1 stem, ConvSpa3..9 (2+2+3) (2+1)D blocks, skin branch, heads."""
    sd = {}
    _conv(sd, "ConvSpa1.0", stem, 3, (1, 5, 5))
    _bn(sd, "ConvSpa1.1", stem)
    cin = stem
    for n in range(3, 10):
        cout = w1 if n <= 4 else w2
        _conv(sd, f"ConvSpa{n}.0.spatial_conv", mid, cin, (1, 3, 3))
        _bn(sd, f"ConvSpa{n}.0.bn", mid)
        _conv(sd, f"ConvSpa{n}.0.temporal_conv", cout, mid, (3, 1, 1))
        _bn(sd, f"ConvSpa{n}.1", cout)
        cin = cout
    for name in ("ConvSpa10", "ConvSpa11", "ConvPart1", "ConvPart2", "ConvPart3", "ConvPart4"):
        _conv(sd, name, 1, w2, (1, 1, 1))
    _conv(sd, "ConvSpa", stem, 3, (1, 3, 3))  # defined but unused by the reference
    _conv(sd, "skin_main.0", 4, w1, (1, 3, 3))
    _bn(sd, "skin_main.1", 4)
    _conv(sd, "skin_main.3", 2, 4, (1, 3, 3))
    _bn(sd, "skin_main.4", 2)
    _conv(sd, "skin_residual.0", 2, w1, (1, 1, 1))
    _bn(sd, "skin_residual.1", 2)
    _conv(sd, "skin_output.0", 1, 2, (1, 3, 3))
    return sd


def reference_stven(c_dim=5, dim=4, repeat=3, mid=7):
    """The reference STVEN_Generator layout: down3Dmain (3 convs + IN, ST blocks), layers2-4."""
    sd = {}
    _conv(sd, "down3Dmain.0", dim, 3 + c_dim, (3, 7, 7), bias=False)
    _bn(sd, "down3Dmain.1", dim)
    _conv(sd, "down3Dmain.3", dim * 2, dim, (3, 4, 4), bias=False)
    _bn(sd, "down3Dmain.4", dim * 2)
    _conv(sd, "down3Dmain.6", dim * 8, dim * 2, (4, 4, 4), bias=False)
    _bn(sd, "down3Dmain.7", dim * 8)
    for i in range(repeat):
        _conv(sd, f"down3Dmain.{9 + i}.spatial_conv", mid, dim * 8, (1, 3, 3))
        _bn(sd, f"down3Dmain.{9 + i}.bn", mid)
        _conv(sd, f"down3Dmain.{9 + i}.temporal_conv", dim * 8, mid, (3, 1, 1))
    sd["layers2.0.weight"] = torch.randn(dim * 8, dim * 2, 4, 4, 4)  # ConvTranspose3d: (in, out, k)
    _bn(sd, "layers2.1", dim * 2)
    sd["layers3.0.weight"] = torch.randn(dim * 2, dim, 1, 4, 4)
    _bn(sd, "layers3.1", dim)
    _conv(sd, "layers4.0", 3, dim, (1, 7, 7), bias=False)
    return sd


def test_rppgnet_reference_loads_every_used_weight():
    ref = {f"module.{k}": v for k, v in reference_rppgnet().items()}  # DataParallel prefix
    assert reference_arch("rppgnet", ref) == {
        "stem": 4, "stages": [[[5, 6], [5, 6]], [[5, 8], [5, 8]], [[5, 8], [5, 8], [5, 8]]], "skin": [4, 2],
        "input_norm": "none",
    }
    model, report = model_from_reference("rppgnet", ref, clip=CLIP)
    assert report["kept"] == [] and sorted(report["dropped"]) == sorted(
        f"module.{n}.{p}" for n in ("ConvSpa", "ConvPart1") for p in ("weight", "bias"))
    assert report["unused"] == report["dropped"]  # the reference's forward never reads them
    own = model.state_dict()
    pairs = {
        "stem.conv.weight": "ConvSpa1.0.weight",
        "stem.norm.running_var": "ConvSpa1.1.running_var",
        "stages.0.1.spatial.norm.weight": "ConvSpa4.0.bn.weight",
        "stages.1.0.temporal.conv.bias": "ConvSpa5.0.temporal_conv.bias",
        "stages.2.2.temporal.norm.running_mean": "ConvSpa9.1.running_mean",
        "skin.main2.norm.bias": "skin_main.4.bias",
        "skin.residual.conv.weight": "skin_residual.0.weight",
        "skin.out.weight": "skin_output.0.weight",
        "head_mid.weight": "ConvSpa10.weight",
        "head.bias": "ConvSpa11.bias",
        "part_heads.3.weight": "ConvPart4.weight",
        "part_heads.0.weight": "ConvSpa11.weight",  # the reference's part 1 uses its global head
    }
    for ours, theirs in pairs.items():
        assert torch.equal(own[ours], ref[f"module.{theirs}"]), ours
    with torch.no_grad():
        out = model.eval()(model.example_inputs(1)[0])
    assert out["rppg"].shape == (1, 16)


def test_stven_reference_loads_every_tensor_running_stats_included():
    ref = reference_stven()
    arch = reference_arch("stven", ref)
    assert arch == {"labels": 5, "widths": [4, 8, 32], "blocks": [[7, 32]] * 3, "k_in": [3, 7, 7], "k_out": [1, 7, 7],
                    "norm": "running", "block": "reference", "io": "raw"}
    model, report = model_from_reference("stven", ref, clip=CLIP)
    assert report["kept"] == [] and report["dropped"] == [] and len(report["loaded"]) == len(ref)
    own = model.state_dict()
    assert torch.equal(own["enc2.norm.running_var"], ref["down3Dmain.4.running_var"])
    assert torch.equal(own["blocks.1.spatial.norm.running_mean"], ref["down3Dmain.10.bn.running_mean"])
    assert torch.equal(own["enc1.conv.weight"], ref["down3Dmain.0.weight"])
    assert torch.equal(own["blocks.2.spatial.norm.bias"], ref["down3Dmain.11.bn.bias"])
    assert torch.equal(own["dec1.conv.weight"], ref["layers2.0.weight"])
    assert torch.equal(own["out.weight"], ref["layers4.0.weight"])
    label = torch.full((1,), 4, dtype=torch.int64)
    with torch.no_grad():
        assert model(model.example_inputs(1)[0], label).shape == (1, 3, 16, 32, 32)


def test_shape_mismatch_and_foreign_dicts_are_one_line_errors(tmp_path):
    ref = reference_rppgnet()
    with pytest.raises(EdgeRPPGError, match="which rppgnet/paper lacks"):
        load_reference_state_dict(create_model("rppgnet", "paper"), ref)  # paper has 1 block in stage 1
    arch = {**reference_arch("rppgnet", ref), "stem": 9, "clip": CLIP}
    with pytest.raises(EdgeRPPGError, match=r"'stem.conv.weight' has shape \(4, 3, 1, 5, 5\)"):
        load_reference_state_dict(create_model("rppgnet", "paper", **arch), ref)
    with pytest.raises(EdgeRPPGError, match="no key 'ConvSpa1.0.weight'"):
        reference_arch("rppgnet", {"fc.weight": torch.zeros(2)})
    with pytest.raises(EdgeRPPGError, match="no reference key mapping"):
        reference_arch("cascade", {})
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EdgeRPPGError, match="not a torch.save state_dict file"):
        convert_reference(ConvertSpec(model="rppgnet", src=bad, out=tmp_path / "x.safetensors"))


def test_convert_reference_checkpoint(tmp_path):
    ref = reference_stven()
    torch.save(ref, tmp_path / "stven.pth")
    spec = ConvertSpec(model="stven", src=tmp_path / "stven.pth", out=tmp_path / "s.safetensors", clip=CLIP)
    manifest = convert_reference(spec)["manifest"]
    model, loaded = load_checkpoint(tmp_path / "s.safetensors", expect="stven")
    assert loaded["arch"] == manifest["arch"] and loaded["training"]["file"] == "stven.pth"
    assert torch.equal(model.state_dict()["enc3.conv.weight"], ref["down3Dmain.6.weight"])
