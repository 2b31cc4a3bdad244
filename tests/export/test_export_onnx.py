"""ONNX export of a toy Conv3d model: manifest, parity gate, atomicity, sparse storage, fp16, int8."""

import json

import numpy as np
import onnx
import pytest
import torch
from toy_models import CLIP, ToyRPPG, prune_

from edgerppg.errors import EdgeRPPGError
from edgerppg.export import graph
from edgerppg.export.exporter import ExportOptions, export_module
from edgerppg.export.parity import compare, synthetic_clips
from edgerppg.export.precision import PRECISIONS
from edgerppg.export.torch_export import EXPORTERS
from edgerppg.export.session import make_session


class Divergent(ToyRPPG):
    """Eager output depends on a Python branch the tracer freezes: the ONNX graph computes something else."""

    def forward(self, video):
        y = super().forward(video)
        if bool(video.amax() > 0.99):  # true for torch.rand example inputs, false for the parity clips
            return y
        return y.flip(1) * 3.0


def test_manifest_records_the_contract(toy_export):
    out, m = toy_export
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["sha256"] == m["sha256"]
    for key in ("source", "clip", "inputs", "outputs", "precision", "opset", "exporter", "versions", "parity",
                "sizes", "params", "nonzeros"):
        assert key in on_disk
    assert on_disk["clip"] == CLIP.to_dict()
    assert on_disk["inputs"][0]["shape"] == ["batch", 3, CLIP.frames, CLIP.height, CLIP.width]
    assert on_disk["opset"] == 18 and "dynamo" in on_disk["exporter"]
    assert set(on_disk["versions"]) >= {"torch", "onnx", "onnxruntime"}
    p = on_disk["parity"]
    assert p["passed"] and p["max_hr_diff_bpm"] <= 0.5 and p["max_rel_error"] < 1e-3
    assert sorted(p) and len(p["hr_torch_bpm"]) == 2


def test_dynamic_batch_runs_any_batch(toy_export):
    out, _ = toy_export
    sess = make_session(out / "model.onnx")
    for b in (1, 3):
        y = sess.run(None, {"video": np.random.rand(b, *CLIP.shape()[1:]).astype(np.float32)})[0]
        assert y.shape == (b, CLIP.frames)


def test_failing_parity_fails_the_export_and_leaves_nothing(tmp_path):
    out = tmp_path / "bad"
    with pytest.raises(EdgeRPPGError, match="does not compute what torch computes") as err:
        export_module(Divergent(width=4), out, ExportOptions(parity_clips=2, exporter="torchscript"))
    assert "\n" not in str(err.value)
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_instance_norm_running_stats_survive_export(tmp_path, exporter):
    """pytorch #72057: must either export correctly (torch 2.13 folds it into the conv) or fail parity."""
    model = ToyRPPG(width=4, norm="instance_running")
    m = export_module(model, tmp_path / "inr", ExportOptions(parity_clips=2, exporter=exporter))
    assert m["parity"]["passed"] and m["parity"]["max_rel_error"] < 1e-3
    assert exporter in m["exporter"]


def test_sparse_storage_is_smaller_and_identical(tmp_path):
    model = prune_(ToyRPPG(width=32), density=0.1)
    dense = export_module(model, tmp_path / "dense", ExportOptions(parity_clips=2))
    sparse = export_module(model, tmp_path / "sparse", ExportOptions(parity_clips=2, sparse=True))
    assert sparse["sparse_details"]["converted"] >= 2
    assert sparse["sizes"]["model_bytes"] * 2.5 < dense["sizes"]["model_bytes"]
    assert onnx.load(str(tmp_path / "sparse" / "model.onnx")).graph.sparse_initializer
    x = synthetic_clips(CLIP, 2, seed=3)
    yd = make_session(tmp_path / "dense" / "model.onnx").run(None, {"video": x[:1]})[0]
    ys = make_session(tmp_path / "sparse" / "model.onnx").run(None, {"video": x[:1]})[0]
    np.testing.assert_array_equal(yd, ys)
    assert sparse["nonzeros"] == dense["nonzeros"] and sparse["density"] < 0.2


def test_constant_pulse_is_flagged_not_hr_compared():
    ref = np.full((2, 64), 0.07)
    fig = compare(ref, ref + 1e-9, fps=30.0)
    assert fig["degenerate_output"] and not fig["hr_checked"] and fig["passed"]
    wave = np.sin(np.linspace(0, 12, 64))[None].repeat(2, 0)
    fig = compare(wave, wave[:, ::-1].copy(), fps=30.0)
    assert not fig["degenerate_output"] and not fig["passed"]


def test_sparsify_densify_roundtrip():
    w = np.zeros((8, 4, 3, 3, 3), np.float32)
    w.ravel()[::13] = np.arange(1, w.size // 13 + 2)[: len(w.ravel()[::13])]
    from onnx import helper, numpy_helper

    g = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                          [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, w.shape)],
                          [numpy_helper.from_array(w, "w")])
    model = helper.make_model(g)
    info = graph.sparsify(model)
    assert info["converted"] == ["w"] and info["bytes_saved"] > 0
    np.testing.assert_array_equal(graph.weight_arrays(model)["w"], w)
    assert graph.densify(model) == 1 and not model.graph.sparse_initializer
    np.testing.assert_array_equal(numpy_helper.to_array(model.graph.initializer[0]), w)


def test_fp16_export_passes_hr_parity(tmp_path):
    m = export_module(ToyRPPG(width=8), tmp_path / "h", ExportOptions(precision="fp16", parity_clips=2))
    assert m["parity"]["passed"] and m["parity"]["rel_tolerance"] == 0.05
    assert m["inputs"][0]["dtype"] == "float32"
    types = {i.data_type for i in onnx.load(str(tmp_path / "h" / "model.onnx")).graph.initializer}
    assert onnx.TensorProto.FLOAT16 in types


def test_int8_qdq_from_calibration_clips(toy_export, tmp_path):
    out, _ = toy_export
    calib = synthetic_clips(CLIP, 4, seed=1)
    info = PRECISIONS.get("int8")(out / "model.onnx", tmp_path / "q.onnx", calib=calib, input_name="video")
    assert info["format"] == "QDQ" and info["calibration_clips"] == 4
    nodes = onnx.load(str(out / "model.onnx")).graph.node
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    # the frame-layout transpose/reshape before the (2D) stem, and the rPPG head; the stem itself is int8
    assert info["kept_float"][-1] == convs[-1] and convs[0] not in info["kept_float"]
    assert {n.op_type for n in nodes if n.name in info["kept_float"][:-1]} == {"Transpose", "Reshape"}
    q = onnx.load(str(tmp_path / "q.onnx"))
    assert any(n.op_type == "QuantizeLinear" for n in q.graph.node)
    clips = synthetic_clips(CLIP, 2, seed=5)
    ref = make_session(out / "model.onnx").run(None, {"video": clips})[0]
    got = make_session(tmp_path / "q.onnx").run(None, {"video": clips})[0]
    fig = compare(ref, got, CLIP.fps, precision="int8")
    assert fig["rel_tolerance"] is None and fig["min_pulse_correlation"] > 0.9 and fig["hr_checked"]


def test_int8_needs_calibration_dir():
    with pytest.raises(EdgeRPPGError, match="--calib"):
        ExportOptions(precision="int8").validate()


@pytest.mark.parametrize("bad", [dict(batch=0), dict(opset=3), dict(precision="int4"), dict(exporter="magic"),
                                 dict(target="mars")])
def test_bad_options_are_one_line_errors(bad):
    with pytest.raises(EdgeRPPGError):
        ExportOptions(**bad).validate()


def test_registries_list_the_choices():
    assert PRECISIONS.names() == ["fp16", "fp32", "int8"]
    assert {"torchscript", "dynamo"} <= set(EXPORTERS.names())


def test_truncated_onnx_is_a_clear_error(toy_export, tmp_path):
    out, _ = toy_export
    bad = tmp_path / "cut.onnx"
    bad.write_bytes((out / "model.onnx").read_bytes()[:200])
    with pytest.raises(EdgeRPPGError, match="not a readable ONNX model"):
        graph.load_onnx(bad)


def test_torch_reference_matches_model(toy_export):
    """The parity reference is the model itself (guards against comparing ONNX with ONNX)."""
    from edgerppg.export.exporter import torch_reference

    model = ToyRPPG(width=8)
    x = synthetic_clips(CLIP, 1)
    with torch.no_grad():
        np.testing.assert_allclose(torch_reference(model, (None,), [x]), model(torch.from_numpy(x)).numpy())


def test_parity_hint_names_dead_channels_before_instance_norm():
    from edgerppg.export.exporter import norm_hint

    model = ToyRPPG(width=4, norm="instance")
    with torch.no_grad():
        model.conv1.weight[:2] = 0  # two dead channels: constant (bias) into InstanceNorm
    hint = norm_hint(model, synthetic_clips(CLIP, 1))
    assert "2 channels reach InstanceNorm" in hint and "variance below eps" in hint
    assert "running stats" in norm_hint(ToyRPPG(width=4, norm="instance_running"), synthetic_clips(CLIP, 1))
    assert "nothing was written" in norm_hint(ToyRPPG(width=4), synthetic_clips(CLIP, 1))
    with torch.no_grad():
        model.conv1.bias[:2] = 0  # exact zeros normalise to exact zeros: not a culprit
    assert "2 channels" not in norm_hint(model, synthetic_clips(CLIP, 1))


def test_int8_export_calibrates_on_recorded_clips(tmp_path):
    """`--precision int8 --calib DIR`: clips from `edgerppg synth` videos through data.clips.prepare_frames."""
    import subprocess
    import sys

    from edgerppg.export.calib import calibration_clips
    from edgerppg.export.exporter import export_checkpoint
    from edgerppg.models import create_model, save_checkpoint

    data = tmp_path / "calib"
    subprocess.run([sys.executable, "-m", "edgerppg", "-q", "synth", str(data), "--subjects", "2", "--seconds", "4",
                    "--size", "48", "--seed", "1"], check=True, capture_output=True)
    clips = calibration_clips(data, CLIP, max_clips=3)
    assert clips.shape == (3, 3, CLIP.frames, CLIP.height, CLIP.width) and clips.dtype == np.float32
    assert 0.0 <= clips.min() and clips.max() <= 1.0 and clips.std() > 0
    ckpt = tmp_path / "r.safetensors"
    save_checkpoint(ckpt, create_model("rppgnet", "tiny", clip=CLIP.to_dict()))
    m = export_checkpoint(ckpt, tmp_path / "q", ExportOptions(precision="int8", calib=str(data), calib_clips=4,
                                                              parity_clips=2))
    assert m["precision"] == "int8" and m["precision_details"]["calibration_clips"] == 4
    assert m["parity"]["passed"] and any(op == "QuantizeLinear" for op in m["ops"])
    with pytest.raises(EdgeRPPGError, match="calibration directory not found"):
        calibration_clips(tmp_path / "missing", CLIP)
