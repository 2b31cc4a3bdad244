"""MACs of an ONNX graph from its shapes: Conv, ConvTranspose, MatMul and Gemm (the layers that cost).

Used for exported artifacts whose manifest carries no MAC count, so dense, structured-pruned and INT8 (QDQ)
exports are compared on the same footing. Shapes come from ONNX shape inference; a QDQ graph's weights are
found through their DequantizeLinear node. Returns None when a needed shape is unknown (dynamic axes).
"""

from __future__ import annotations

import math
from pathlib import Path


def onnx_macs(path: str | Path) -> int | None:
    import onnx
    from onnx import shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(path)))
    g = model.graph
    shapes = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    for init in g.initializer:
        shapes[init.name] = list(init.dims)
    total = 0
    for node in g.node:
        cost = _node_macs(node, shapes)
        if cost is None:
            return None
        total += cost
    return int(total)


def _node_macs(node, shapes: dict) -> int | None:
    if node.op_type not in WEIGHT_INPUTS:
        return 0
    w = shapes.get(node.input[WEIGHT_INPUTS[node.op_type][0]])
    x = shapes.get(node.input[0])
    y = shapes.get(node.output[0])
    if not w or not x or not y or None in w or None in y or None in x:
        return None
    if node.op_type in CONV_OPS:  # each output element: C_in/group * kernel products
        # (channels-last QLinearConv: the output's element count and the OIHW weight are the same)
        return math.prod(y) * w[1] * math.prod(w[2:])
    if node.op_type == "ConvTranspose":  # each input element scatters into C_out/group * kernel outputs
        return math.prod(x) * w[1] * math.prod(w[2:])
    if node.op_type == "Gemm":
        return math.prod(y) * (w[0] if _attr(node, "transB", 0) else w[0]) if len(w) == 2 else None
    return math.prod(y) * x[-1]  # MatMul


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return a.i
    return default


# op -> the inputs that hold its weight and bias: ONNX layers, and the integer / fused forms ONNX Runtime's
# offline optimisation writes (export/ort_layout.py): QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale,
# y_zp, bias), com.microsoft FusedConv(x, w, bias)
WEIGHT_INPUTS = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "FusedConv": (1, 2),
                 "QLinearConv": (3, 8)}
WEIGHT_OPS = tuple(WEIGHT_INPUTS)
CONV_OPS = ("Conv", "FusedConv", "QLinearConv")


def onnx_weight_counts(path: str | Path) -> tuple[int, int] | None:
    """(params, nonzeros) of the weights and biases of the weighted layers (`WEIGHT_INPUTS`).

    Only layer weights are counted (directly, through a QDQ DequantizeLinear, or as sparse initializers), not
    every initializer: an exporter may fold a large activation-shaped constant into the graph, which is not a
    parameter of the model."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(path)).graph
    inits = {i.name: i for i in g.initializer}
    sparse = {s.values.name or s.indices.name: s for s in g.sparse_initializer}
    sparse.update({getattr(s, "name", "") or s.values.name: s for s in g.sparse_initializer})
    producer = {o: n for n in g.node for o in n.output}
    seen, params, nonzeros = set(), 0, 0
    for node in g.node:
        if node.op_type not in WEIGHT_OPS:
            continue
        for name in [node.input[i] for i in WEIGHT_INPUTS[node.op_type] if i < len(node.input) and node.input[i]]:
            src = producer.get(name)
            if src is not None and src.op_type == "DequantizeLinear":
                name = src.input[0]
            if name in seen:
                continue
            if name in inits:
                arr = numpy_helper.to_array(inits[name])
                params, nonzeros = params + arr.size, nonzeros + int(np.count_nonzero(arr))
            elif name in sparse:
                sp = sparse[name]
                params += int(np.prod(list(sp.dims)))
                nonzeros += int(np.count_nonzero(numpy_helper.to_array(sp.values)))
            else:
                continue
            seen.add(name)
    return (params, nonzeros) if seen else None
