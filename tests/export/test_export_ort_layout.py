"""The ONNX Runtime CPU layout of u8 int8 artifacts (edgerppg/export/ort_layout.py): fewer transposes, same outputs."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgerppg.export.exporter import ExportOptions, export_module
from edgerppg.export.ort_layout import fold_transpose_chains, is_reshape
from edgerppg.models import create_model
from edgerppg.spec import ClipSpec

LONG = ClipSpec(frames=48, height=32, width=32)  # enough frames for the parity check's heart rate


def test_is_reshape_accepts_the_nhwc_hand_over_and_rejects_a_real_transpose():
    # (1, T, H, W, C) -> (1, C, T, H, W) -> (1, C, T, H*W) -> (1, T, H*W, C): the same bytes
    assert is_reshape([1, 4, 3, 5, 2], [0, 4, 1, 2, 3], [1, 2, 4, 15], [0, 2, 3, 1]) == [1, 4, 15, 2]
    # swapping T and C for real moves data
    assert is_reshape([1, 4, 3, 5, 2], [0, 4, 1, 2, 3], [1, 2, 4, 15], [0, 1, 2, 3]) is None
    assert is_reshape([2, 3], [1, 0], [7], [0]) is None  # a reshape that cannot hold the elements


def _graph_with_chains():
    """x (1,T,H,W,C) -> [T, R, T] (a pure reshape) -> Relu -> [T, R, T] (a real transpose) -> y."""
    t, h, w, c = 4, 3, 5, 2
    nodes = [
        helper.make_node("Transpose", ["x"], ["a"], perm=[0, 4, 1, 2, 3]),
        helper.make_node("Reshape", ["a", "s1"], ["b"]),
        helper.make_node("Transpose", ["b"], ["c"], perm=[0, 2, 3, 1]),
        helper.make_node("Relu", ["c"], ["d"]),
        helper.make_node("Transpose", ["d"], ["e"], perm=[0, 3, 1, 2]),
        helper.make_node("Reshape", ["e", "s2"], ["f"]),
        helper.make_node("Transpose", ["f"], ["y"], perm=[0, 2, 1]),
    ]
    inits = [numpy_helper.from_array(np.array([1, c, t, h * w], np.int64), "s1"),
             numpy_helper.from_array(np.array([1, c * t, h * w], np.int64), "s2")]
    g = helper.make_graph(nodes, "chains", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, t, h, w, c])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def _run(model, feed):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feed)[0]


def test_fold_replaces_only_the_chain_that_is_a_pure_reshape():
    model = _graph_with_chains()
    feed = {"x": np.random.default_rng(0).standard_normal((1, 4, 3, 5, 2)).astype(np.float32)}
    before = _run(model, feed)
    assert fold_transpose_chains(model, feed) == 1
    ops = [n.op_type for n in model.graph.node]
    assert ops == ["Reshape", "Relu", "Transpose", "Reshape", "Transpose"]
    assert {i.name for i in model.graph.initializer} == {"s2", "ort_layout_shape_0"}  # s1 no longer used
    np.testing.assert_array_equal(_run(model, feed), before)
    assert fold_transpose_chains(model, feed) == 0


@pytest.fixture(scope="module")
def calib_dir(tmp_path_factory):
    from edgerppg.data.synth import synthesize

    root = tmp_path_factory.mktemp("calib")
    synthesize(root, subjects=1, seconds=2 * LONG.frames / LONG.fps + 0.5, fps=LONG.fps, size=LONG.height, seed=1)
    return str(root)


def _transposes(path) -> int:
    return sum(n.op_type == "Transpose" for n in onnx.load(str(path)).graph.node)


def test_u8_int8_export_is_saved_in_ort_layout_with_the_same_outputs(tmp_path, calib_dir):
    model = create_model("rppgnet", "tiny", clip=LONG.to_dict())
    # an untrained model's "pulse" is noise, whose HR int8 rounding moves by 0.54 bpm on a VNNI CPU (Intel Xeon,
    # u8s8 kernels) and by less on AVX2-only ones: the layout, not the HR gate, is under test here
    common = dict(precision="int8", calib=calib_dir, calib_clips=2, parity_clips=2, hr_tol_bpm=5.0)
    m = export_module(model, tmp_path / "ort", ExportOptions(**common))
    q = export_module(model, tmp_path / "qdq", ExportOptions(**common, ort_layout=False))
    lay = m["ort_layout"]
    assert q["ort_layout"] is None and m["parity"]["passed"]
    assert lay["transpose_chains_folded"] >= 1 and lay["transposes_after"] == lay["transposes_before"] - 2 * lay["transpose_chains_folded"]
    assert "com.microsoft::QLinearConv" in m["ops"] and "QLinearConv" not in str(q["ops"])
    # the plain QDQ file gets the same layout inside an ORT session, transposes included
    assert _transposes(tmp_path / "ort" / "model.onnx") == lay["transposes_after"]
    x = np.random.default_rng(1).random((1, 3, LONG.frames, LONG.height, LONG.width), dtype=np.float32)
    outs = [ort.InferenceSession(str(tmp_path / d / "model.onnx"), providers=["CPUExecutionProvider"])
            .run(None, {"video": x})[0] for d in ("ort", "qdq")]
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-6)
    # the benchmark's model figures read the integer layers of either file alike
    from edgerppg.bench.figures import model_figures

    a, b = model_figures(tmp_path / "ort"), model_figures(tmp_path / "qdq")
    assert (a.params, a.nonzeros, a.macs) == (b.params, b.nonzeros, b.macs) and a.macs == m["macs"] > 0
    assert a.params >= 0.95 * m["params"]  # every conv's weights, int8 or float, with their biases


def test_tensorrt_and_dynamic_int8_keep_the_portable_qdq_graph(tmp_path, calib_dir):
    from edgerppg.export.steps import uses_ort_layout

    base = ExportOptions(precision="int8", calib=calib_dir)
    assert uses_ort_layout(base)
    for changed in (dict(int8_activations="s8"), dict(batch="dynamic"), dict(target="jetson"), dict(ort_layout=False),
                    dict(calib=None, precision="fp32")):
        assert not uses_ort_layout(ExportOptions(**{**base.__dict__, **changed})), changed
    model = create_model("rppgnet", "tiny", clip=LONG.to_dict())
    m = export_module(model, tmp_path / "s8", ExportOptions(precision="int8", calib=calib_dir, calib_clips=2,
                                                             parity_clips=2, int8_activations="s8"))
    assert m["ort_layout"] is None and not any(op.startswith("com.microsoft") for op in m["ops"])
