"""The ONNX Runtime CPU form of a uint8 QDQ artifact: ORT's own graph optimisation, saved, minus the
transposes ORT leaves between the 2D-conv rewrite's spatial and temporal convs.

Why. At load time ONNX Runtime fuses each QDQ conv into a `QLinearConv` and, for x86's integer kernels,
turns it channels-last (NHWC), wrapping it in NCHW<->NHWC transposes that its transpose optimiser then
cancels between neighbours. It cannot cancel them across a `Reshape` that merges dimensions, and the 2D-conv
rewrite (export/conv2d.py) has one on every hand-over between a spatial conv over (B*T, C, H, W) and a
temporal conv over (B, C, T, H*W). In NHWC the two tensors are the same bytes, (B, T, H, W, C) read two
ways, so every `Transpose -> Reshape -> Transpose` chain there is a reshape that moves data twice: on the
paper rPPGNet, 22 of 27 transposes in the session's graph, ~20 ms of 286 on one AVX2 core.

What. Optimise once, offline, the way ORT documents ("offline mode": `optimized_model_filepath`), at
ORT_ENABLE_ALL with the NCHWc transformer disabled (its blocked layout depends on the CPU's vector width; the
channels-last `com.microsoft.QLinearConv` does not). Then replace each such chain whose composition is a pure
reshape — checked on the actual shapes by permuting an index array, not by pattern — with one `Reshape`.
The exporter's parity check runs on the result like on any other artifact.

Limits. The file is for ONNX Runtime's CPU execution provider (contrib ops), as a `u8` int8 artifact already
was: TensorRT wants `--int8-activations s8`, which keeps the portable QDQ graph. Static batch only: the
shapes are those of one probe run.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from edgerppg.errors import require

DISABLED = ("NchwcTransformer",)


def optimize_offline(src: Path, dst: Path) -> None:
    """ORT_ENABLE_ALL, NCHWc disabled, serialised to `dst` (ONNX Runtime's offline optimisation)."""
    ort = require("onnxruntime")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.optimized_model_filepath = str(dst)
    opts.log_severity_level = 3  # it warns about unused initializers the QDQ fusion leaves behind
    ort.InferenceSession(str(src), sess_options=opts, providers=["CPUExecutionProvider"],
                         disabled_optimizers=list(DISABLED))


def probe_shapes(model, feed: dict[str, np.ndarray], names: list[str]) -> dict[str, list[int]]:
    """The run-time shapes of `names` in `model` on `feed` (contrib ops defeat ONNX shape inference)."""
    ort = require("onnxruntime")
    from onnx import helper

    probe = copy.deepcopy(model)
    have = {o.name for o in probe.graph.output}
    for name in dict.fromkeys(names):
        if name not in have:
            probe.graph.output.append(helper.make_empty_tensor_value_info(name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    outs = session.run(None, feed)
    return {o.name: list(v.shape) for o, v in zip(session.get_outputs(), outs)}


def is_reshape(in_shape: list[int], perm1: list[int], mid_shape: list[int], perm2: list[int]) -> list[int] | None:
    """The output shape when transpose(perm1) -> reshape(mid_shape) -> transpose(perm2) keeps every element in
    place (a pure reshape of the input), else None."""
    x = np.arange(int(np.prod(in_shape)), dtype=np.int64).reshape(in_shape)
    try:
        y = np.transpose(np.transpose(x, perm1).reshape(mid_shape), perm2)
    except ValueError:
        return None
    return list(y.shape) if np.array_equal(y.ravel(), x.ravel()) else None


def fold_transpose_chains(model, feed: dict[str, np.ndarray]) -> int:
    """Replace, in place, each single-consumer Transpose -> Reshape -> Transpose chain that is a pure reshape
    by one Reshape; returns how many were replaced."""
    from onnx import helper, numpy_helper

    g = model.graph
    outputs = {o.name for o in g.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def only_consumer(name: str, op: str):
        c = consumers.get(name, [])
        return c[0] if len(c) == 1 and c[0].op_type == op and name not in outputs else None

    chains = []
    for t1 in g.node:
        if t1.op_type != "Transpose":
            continue
        r = only_consumer(t1.output[0], "Reshape")
        t2 = r and only_consumer(r.output[0], "Transpose")
        if t2:
            chains.append((t1, r, t2))
    if not chains:
        return 0
    shapes = probe_shapes(model, feed, [n for t1, r, _ in chains for n in (t1.input[0], r.output[0])])
    perm = {id(n): list(next(a.ints for a in n.attribute if a.name == "perm")) for c in chains for n in (c[0], c[2])}
    replace, drop, involved = {}, set(), set()
    for k, (t1, r, t2) in enumerate(chains):
        # a chain sharing a Transpose with one already folded has lost that node: nothing left to fold there
        if {id(t1), id(r), id(t2)} & involved:
            continue
        out = is_reshape(shapes[t1.input[0]], perm[id(t1)], shapes[r.output[0]], perm[id(t2)])
        if out is None:
            continue
        shape = numpy_helper.from_array(np.array(out, dtype=np.int64), name=f"ort_layout_shape_{k}")
        g.initializer.append(shape)
        replace[id(t1)] = helper.make_node("Reshape", [t1.input[0], shape.name], [t2.output[0]],
                                           name=f"ort_layout_reshape_{k}")
        drop |= {id(r), id(t2)}
        involved |= {id(t1), id(r), id(t2)}
    nodes = [replace.get(id(n), n) for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    return len(replace)


def to_ort_layout(src: Path, dst: Path, feed: dict[str, np.ndarray]) -> dict:
    """`src` (a uint8 QDQ graph) -> `dst` in ONNX Runtime's CPU layout; returns the manifest's figures."""
    onnx = require("onnx")
    ort = require("onnxruntime")

    tmp = dst.with_name(".ort-optimized.onnx")
    optimize_offline(src, tmp)
    model = onnx.load(str(tmp))
    before = sum(n.op_type == "Transpose" for n in model.graph.node)
    folded = fold_transpose_chains(model, feed)
    onnx.save(model, str(dst))
    tmp.unlink()
    return {"optimizer": f"onnxruntime {ort.__version__} ORT_ENABLE_ALL offline, without {', '.join(DISABLED)}",
            "transpose_chains_folded": folded, "transposes_before": before,
            "transposes_after": sum(n.op_type == "Transpose" for n in model.graph.node),
            "runs_on": "ONNX Runtime CPUExecutionProvider (com.microsoft contrib ops)"}
