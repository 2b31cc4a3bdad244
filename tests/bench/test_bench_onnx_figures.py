"""MACs and layer-weight counts read from an ONNX graph (a folded constant is not a parameter)."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgerppg.bench.figures import model_figures  # noqa: E402
from edgerppg.export.macs import onnx_macs, onnx_weight_counts  # noqa: E402


def conv_graph(path, zeros=0):
    w = np.ones((8, 3, 3, 3, 3), np.float32)
    w.reshape(-1)[:zeros] = 0
    const = np.ones((1, 8, 4, 6, 6), np.float32)  # activation-shaped constant folded by an exporter
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 6),
         helper.make_node("Mul", ["c", "k"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 4, 6, 6])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(8, np.float32), "b"),
                     numpy_helper.from_array(const, "k")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_conv_macs_and_weights(tmp_path):
    path = conv_graph(tmp_path / "model.onnx", zeros=81)
    assert onnx_macs(path) == (8 * 4 * 6 * 6) * 3 * 27  # outputs x (C_in x kernel)
    assert onnx_weight_counts(path) == (8 * 81 + 8, 8 * 81 - 81)  # weights + biases (zero), constant excluded
    fig = model_figures(tmp_path)
    assert fig.params == 656 and fig.density == pytest.approx(567 / 656) and fig.size_bytes == path.stat().st_size
