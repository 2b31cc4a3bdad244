"""The export-time 2D-conv rewrite (edgerppg/export/conv2d.py): same outputs, no 3D conv left, recorded."""

import numpy as np
import onnx
import pytest
import torch
from toy_models import CLIP, ToyRPPG
from torch import nn

from edgerppg.export.conv2d import FrameConv, FramePool, TimeConv, as_conv2d, conv_kind
from edgerppg.export.exporter import ExportOptions, export_module
from edgerppg.export.parity import synthetic_clips
from edgerppg.models import MODELS, create_model
from edgerppg.models.blocks import ConvNormAct
from edgerppg.spec import ClipSpec

SMALL = ClipSpec(frames=16, height=32, width=32)
LONG = ClipSpec(frames=48, height=32, width=32)  # enough frames for the parity check's heart rate


def _randomise_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm running stats and affine terms, so folding them into the conv is really tested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm3d, nn.InstanceNorm3d)) and m.affine:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
            if isinstance(m, nn.BatchNorm3d):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            if isinstance(m, nn.Conv3d) and not m.weight.abs().sum():  # STVEN's zero-initialised output conv
                m.weight.copy_(0.05 * torch.randn(m.weight.shape, generator=g))
    return model.eval()


@pytest.mark.parametrize("pool_as_conv", [False, True])
@pytest.mark.parametrize("name", MODELS.names())
def test_rewritten_deploy_form_equals_the_original(name, pool_as_conv):
    model = _randomise_norms(create_model(name, "tiny", clip=SMALL.to_dict()))
    deploy = model.deploy().eval()
    rewritten, counts = as_conv2d(deploy, pool_as_conv=pool_as_conv)
    x = torch.from_numpy(synthetic_clips(SMALL, 2, seed=3))
    with torch.no_grad():
        want, got = deploy(x), rewritten(x)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert counts["frame_convs"] > 0 and counts["time_convs"] > 0
    assert any(isinstance(m, nn.Conv3d) for m in deploy.modules())


def test_rppgnet_keeps_no_3d_conv_or_batch_norm():
    model = _randomise_norms(create_model("rppgnet", "tiny", clip=SMALL.to_dict()))
    rewritten, counts = as_conv2d(model.deploy(), pool_as_conv=True, min_channels=1)
    kinds = {type(m) for m in rewritten.modules()}
    assert nn.Conv3d not in kinds and nn.BatchNorm3d not in kinds and nn.AvgPool3d not in kinds
    assert counts["kept_3d"] == 0 and counts["pools_as_conv"] == 1 and counts["pools"] == 0
    assert counts["folded_norms"] == sum(isinstance(m, nn.BatchNorm3d) for m in model.modules())


def test_thin_convs_stay_3d():
    """Fewer than MIN_2D_CHANNELS channels on both sides: kept 3D (ONNX Runtime's 2D kernels pad channels to 8)."""
    model = nn.Sequential(nn.Conv3d(3, 8, (1, 5, 5), padding=(0, 2, 2)), nn.Conv3d(8, 1, (3, 1, 1), padding=(1, 0, 0)),
                          nn.Conv3d(1, 3, (1, 3, 3), padding=(0, 1, 1)), nn.Conv3d(3, 2, 1)).eval()
    rewritten, counts = as_conv2d(model)
    assert [type(m) for m in rewritten] == [FrameConv, TimeConv, nn.Conv3d, nn.Conv3d]
    assert counts == {**counts, "frame_convs": 1, "time_convs": 1, "kept_thin": 2, "kept_3d": 0}
    assert as_conv2d(model, min_channels=1)[1]["kept_thin"] == 0
    x = torch.randn(1, 3, 6, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(rewritten(x), model(x), atol=1e-5, rtol=1e-5)
    block = ConvNormAct(2, 4, (1, 3, 3))  # a thin conv -> BatchNorm3d block keeps its norm, unfolded
    rewritten, counts = as_conv2d(nn.Sequential(block).eval())
    assert counts["kept_thin"] == 1 and counts["folded_norms"] == 0


@pytest.mark.parametrize("conv, kind", [
    (nn.Conv3d(4, 6, (1, 3, 3), padding=(0, 1, 1)), "frame"),
    (nn.Conv3d(4, 6, (1, 5, 3), stride=(1, 2, 1), padding=(0, 2, 0), groups=2), "frame"),
    (nn.Conv3d(4, 6, (3, 1, 1), padding=(1, 0, 0)), "time"),
    (nn.Conv3d(4, 6, (3, 1, 1), stride=(2, 1, 1), dilation=(2, 1, 1), padding=(2, 0, 0), bias=False), "time"),
    (nn.Conv3d(4, 6, 1), "time"),
    (nn.Conv3d(4, 6, 3, padding=1), None),
    (nn.Conv3d(4, 6, (1, 3, 3), stride=(2, 1, 1)), None),  # strided in time: frames would be skipped
    (nn.Conv3d(4, 6, (1, 3, 3), padding=(0, 1, 1), padding_mode="reflect"), None),
])
def test_each_conv_kind_is_exact(conv, kind):
    assert conv_kind(conv) == kind
    model = nn.Sequential(conv).eval()
    rewritten, _ = as_conv2d(model, min_channels=1)
    assert isinstance(rewritten[0], {"frame": FrameConv, "time": TimeConv, None: nn.Conv3d}[kind])
    x = torch.randn(2, 4, 9, 10, 12)
    with torch.no_grad():
        torch.testing.assert_close(rewritten(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pool, as_conv", [
    (nn.AvgPool3d((1, 2, 2)), True),
    (nn.AvgPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)), True),  # padding counted: a conv equals it
    (nn.AvgPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), count_include_pad=False), False),
    (nn.MaxPool3d((1, 2, 2)), False),
])
def test_pools_run_frame_by_frame(pool, as_conv):
    model = nn.Sequential(pool).eval()
    rewritten, counts = as_conv2d(model, pool_as_conv=True)
    assert isinstance(rewritten[0], FramePool) and rewritten[0].as_conv is as_conv
    assert counts["pools_as_conv" if as_conv else "pools"] == 1
    x = torch.randn(2, 3, 5, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(rewritten(x), model(x), atol=1e-6, rtol=1e-5)
    assert as_conv2d(nn.Sequential(nn.AvgPool3d(2)))[1]["pools"] == 0  # pooling over time stays 3D


def test_export_records_the_rewrite_and_writes_2d_convs(toy_export, tmp_path):
    out, manifest = toy_export
    assert manifest["rewrite"]["type"] == "conv2d" and manifest["rewrite"]["frame_convs"] == 1
    assert manifest["rewrite"]["time_convs"] == 2 and manifest["options"]["conv2d"] is True
    ranks = {len(i.dims) for i in onnx.load(str(out / "model.onnx")).graph.initializer if len(i.dims) >= 4}
    assert ranks == {4}
    plain = export_module(ToyRPPG(width=8), tmp_path / "3d", ExportOptions(parity_clips=2, conv2d=False))
    assert plain["rewrite"] == {"type": "none"} and plain["parity"]["passed"]
    ranks = {len(i.dims) for i in onnx.load(str(tmp_path / "3d" / "model.onnx")).graph.initializer if len(i.dims) >= 4}
    assert ranks == {5}


def test_rewritten_export_has_the_parity_of_the_original(tmp_path):
    """Parity compares ONNX with the *original* torch module, so the rewrite itself is under the gate."""
    model = _randomise_norms(ToyRPPG(width=8, clip=CLIP))
    m = export_module(model, tmp_path / "a", ExportOptions(parity_clips=2, batch="dynamic"))
    assert m["parity"]["passed"] and m["parity"]["max_rel_error"] < 1e-5
    assert np.isfinite(m["parity"]["max_abs_error"])


def test_int8_keeps_the_input_region_float_and_quantises_a_2d_stem(tmp_path):
    """rPPGNet's AC/DC input norm carries the 0.1-1 % pulse: float. The 2D stem: int8. A 3D thin stem: float."""
    from edgerppg.export.precision import float_nodes

    model = create_model("rppgnet", "tiny", clip=LONG.to_dict())
    for conv2d in (True, False):
        m = export_module(model, tmp_path / str(conv2d), ExportOptions(parity_clips=1, conv2d=conv2d))
        path = tmp_path / str(conv2d) / "model.onnx"
        nodes = {n.name: n for n in onnx.load(str(path)).graph.node}
        keep = float_nodes(path)
        kept_ops = {nodes[k].op_type for k in keep}
        assert {"ReduceMean", "Div", "Sub", "Mul"} <= kept_ops
        stem = next(n for n in nodes.values() if n.op_type == "Conv")
        assert (stem.name in keep) is (not conv2d), m["rewrite"]
        assert [n for n in nodes.values() if n.op_type == "Conv"][-1].name in keep  # the rPPG head


def test_int8_keeps_2d_convs_float_only_when_thin_on_both_sides(tmp_path):
    """A 3->3 conv stays float (ORT's integer kernels lose to float at 1-5 channels); 3->16 and 16->3 are int8."""
    from onnx import TensorProto, helper, numpy_helper

    from edgerppg.export.precision import float_nodes

    shapes = {"a": (16, 3), "b": (3, 16), "c": (3, 3), "d": (16, 3), "head": (4, 16)}
    nodes, inits, x = [], [], "video"
    for name, (o, i) in shapes.items():
        k = 1 if name == "head" else 3
        inits.append(numpy_helper.from_array(np.ones((o, i, k, k), np.float32), f"w_{name}"))
        nodes.append(helper.make_node("Conv", [x, f"w_{name}"], [f"y_{name}"], name=name, pads=[k // 2] * 4))
        x = f"y_{name}"
        if name != "head":
            nodes.append(helper.make_node("Relu", [x], [f"r_{name}"], name=f"relu_{name}"))
            x = f"r_{name}"
    g = helper.make_graph(nodes, "thin", [helper.make_tensor_value_info("video", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    path = tmp_path / "thin.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(path))
    keep = set(float_nodes(path))
    assert {"c", "head"} <= keep and not {"a", "b", "d"} & keep, keep


def test_stven_residual_stays_float_in_the_cascade(tmp_path):
    """The cascade hands STVEN's tanh(r) + x to rPPGNet: that chain (and the tanh feeding it) stays float."""
    from edgerppg.export.precision import float_nodes

    model = create_model("cascade", "tiny", clip=LONG.to_dict())
    export_module(model, tmp_path / "c", ExportOptions(parity_clips=1))
    path = tmp_path / "c" / "model.onnx"
    ops = {n.name: n.op_type for n in onnx.load(str(path)).graph.node}
    kept = [ops[k] for k in float_nodes(path)]
    assert "Tanh" in kept and "Div" in kept
