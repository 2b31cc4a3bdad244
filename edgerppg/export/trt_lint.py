"""`check_trt`: what can be verified about TensorRT compatibility without TensorRT.

Checks (each problem is `{"severity": "error"|"warning", "check", "where", "message"}`):
- every operator is in the support matrix of TensorRT's ONNX parser for the target version (shipped as
  data/trt_onnx_ops.json, from onnx-tensorrt's docs/operators.md), and the opset is within its range;
- input shapes are static, or symbolic only on the batch axis (covered by an optimisation profile);
- int64 initializers, which TensorRT casts to int32 (an error when a value would not fit);
- Conv/ConvTranspose weights are constants, Q/DQ zero points are 0 (TensorRT's explicit quantisation);
- graph input/output names match the artifact manifest.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.export import graph

TRT_VERSIONS = ("8.6", "10")


def support_matrix() -> dict:
    return json.loads(resources.files("edgerppg.export").joinpath("data/trt_onnx_ops.json").read_text())


def _problem(severity: str, check: str, where: str, message: str) -> dict:
    return {"severity": severity, "check": check, "where": where, "message": message}


def check_ops(model, version: str, matrix: dict) -> list[dict]:
    entry = matrix["versions"][version]
    supported = set(entry["ops"])
    out = []
    for op, n in graph.op_types(model).items():
        if op not in supported:
            out.append(_problem("error", "op", op, f"{op} ({n} node{'s' * (n > 1)}) is not supported by TensorRT {version}'s ONNX parser"))
    opset = graph.opset_of(model)
    if opset > entry["max_opset"]:
        out.append(_problem("error", "opset", f"opset {opset}", f"TensorRT {version} parses opsets up to {entry['max_opset']}; re-export with --opset {entry['max_opset']} (--exporter torchscript converts without loss; use --batch N if it cannot trace a dynamic batch)"))
    return out


def check_shapes(model) -> list[dict]:
    out = []
    for inp in graph.io_signature(model)["inputs"]:
        for axis, d in enumerate(inp["shape"]):
            if not isinstance(d, int) and axis > 0:
                out.append(_problem("error", "shape", inp["name"], f"axis {axis} is dynamic ({d}); only the batch axis can be profiled"))
        if not inp["shape"]:
            out.append(_problem("error", "shape", inp["name"], "input has no shape; re-export with a fixed clip spec"))
    return out


def check_int64(model) -> list[dict]:
    out = []
    lim = np.iinfo(np.int32)
    for name, arr in graph.weight_arrays(model).items():
        if arr.dtype == np.int64:
            if arr.size and (arr.max() > lim.max or arr.min() < lim.min):
                out.append(_problem("error", "int64", name, "int64 initializer has values outside int32; TensorRT would clamp them"))
            else:
                out.append(_problem("warning", "int64", name, "int64 initializer will be cast to int32 by TensorRT (values fit)"))
    return out


def check_nodes(model) -> list[dict]:
    """Constant conv weights and zero Q/DQ zero points."""
    consts = {i.name for i in model.graph.initializer} | {s.values.name for s in model.graph.sparse_initializer}
    consts |= {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    weights = graph.weight_arrays(model)
    dq_of_const = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in consts}
    out = []
    for node in model.graph.node:
        where = node.name or node.op_type
        if node.op_type in ("Conv", "ConvTranspose") and len(node.input) > 1:
            if node.input[1] not in consts | dq_of_const:
                out.append(_problem("error", "weights", where, f"{node.op_type} weights are computed at run time; TensorRT needs constant weights"))
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and len(node.input) > 2:
            zp = weights.get(node.input[2])
            if zp is not None and (zp.dtype != np.int8 or np.any(zp != 0)):
                what = f"{zp.dtype.name} {'non-zero' if np.any(zp != 0) else 'zero'} point"
                out.append(_problem("error", "zero-point", where, f"{node.op_type} has an {what}; TensorRT needs int8 Q/DQ "
                                    f"with zero point 0 and float biases: export with --int8-activations s8"))
    if model.graph.sparse_initializer:
        out.append(_problem("warning", "sparse", f"{len(model.graph.sparse_initializer)} tensors",
                            "sparse_initializer weights: build-engine and build_engine.sh densify them before TensorRT parses the graph"))
    return out


def check_names(model, manifest: dict | None) -> list[dict]:
    if not manifest:
        return [_problem("warning", "names", "manifest.json", "no manifest beside the model; input names not checked")]
    sig = graph.io_signature(model)
    out = []
    for kind in ("inputs", "outputs"):
        have = [x["name"] for x in sig[kind]]
        want = [x["name"] for x in manifest.get(kind, [])]
        if have != want:
            out.append(_problem("error", "names", kind, f"graph {kind} {have} do not match the manifest's {want}; re-export the artifact"))
    return out


def check_trt(path: str | os.PathLike, version: str = "10") -> dict:
    """Lint `path` (an artifact directory or an .onnx file) for TensorRT `version`; returns problems and a verdict."""
    if version not in TRT_VERSIONS:
        raise EdgeRPPGError(f"--trt-version {version}: choose one of {', '.join(TRT_VERSIONS)}")
    path = Path(path)
    onnx_path = path / "model.onnx" if path.is_dir() else path
    manifest = None
    if (onnx_path.parent / "manifest.json").is_file():
        manifest = json.loads((onnx_path.parent / "manifest.json").read_text())
    model = graph.load_onnx(onnx_path)
    matrix = support_matrix()
    problems = (check_ops(model, version, matrix) + check_shapes(model) + check_int64(model)
                + check_nodes(model) + check_names(model, manifest))
    errors = [p for p in problems if p["severity"] == "error"]
    return {"path": str(onnx_path), "trt_version": version, "ops": graph.op_types(model), "problems": problems,
            "errors": len(errors), "warnings": len(problems) - len(errors), "ok": not errors,
            "matrix_source": matrix["source"]}
