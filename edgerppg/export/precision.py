"""Precision transforms of an exported fp32 ONNX graph: fp32 (as is), fp16, int8 (static QDQ).

- fp16: onnxruntime's float16 converter (`onnxruntime.transformers.float16`), inputs and outputs kept fp32
  so every backend feeds the same float32 clips.
- int8: `onnxruntime.quantization.quantize_static` in QDQ format (QuantizeLinear/DequantizeLinear pairs that
  ONNX Runtime fuses into integer kernels and TensorRT reads as explicit quantisation), calibrated on real
  clips. Weights are per-channel symmetric int8. Activations: `"u8"` (asymmetric uint8, the fast path of
  ONNX Runtime's x86 kernels) or `"s8"` (symmetric int8 with zero points 0 and float biases, what TensorRT
  requires). The input region (the ops between the video and the first convs) and the output heads stay
  float (see `float_nodes`). Exports quantise the 2D-conv form of the graph (export/conv2d.py), whose
  integer kernels ONNX Runtime runs much faster than its 3D ones.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from edgerppg.errors import EdgeRPPGError, require
from edgerppg.registry import Registry

PRECISIONS: Registry = Registry("precision")
MIN_INT8_IN_CHANNELS = 8
_SHAPE_OPS = ("Gather", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Transpose", "Slice")


@PRECISIONS.register("fp32")
def to_fp32(src: Path, dst: Path, **_) -> dict:
    """Keep the exported graph as it is."""
    dst.write_bytes(src.read_bytes())
    return {}


@PRECISIONS.register("fp16")
def to_fp16(src: Path, dst: Path, **_) -> dict:
    """Convert weights and activations to fp16, keeping fp32 inputs/outputs."""
    onnx = require("onnx")
    require("onnxruntime")
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True, disable_shape_infer=False)
    onnx.save(model, str(dst))
    return {"converter": "onnxruntime.transformers.float16 (keep_io_types)"}


class ClipCalibrationReader:
    """An ONNX Runtime CalibrationDataReader feeding one clip at a time (batch 1) to the graph's inputs."""

    def __init__(self, clips: Iterable[np.ndarray], input_name: str, extra: dict[str, np.ndarray] | None = None):
        self._clips = list(clips)
        self._name = input_name
        self._extra = dict(extra or {})
        self._it: Iterator | None = None

    def get_next(self) -> dict | None:
        if self._it is None:
            self._it = iter(self._clips)
        clip = next(self._it, None)
        if clip is None:
            return None
        return {self._name: np.ascontiguousarray(clip[None], dtype=np.float32), **self._extra}

    def rewind(self) -> None:
        self._it = None

    def __len__(self) -> int:
        return len(self._clips)


def _reader_class():
    """Make ClipCalibrationReader a real CalibrationDataReader subclass (imported lazily)."""
    from onnxruntime.quantization import CalibrationDataReader

    return type("ClipCalibrationDataReader", (ClipCalibrationReader, CalibrationDataReader), {})


@PRECISIONS.register("int8")
def to_int8(src: Path, dst: Path, *, calib: np.ndarray | None = None, input_name: str = "video",
            extra_inputs: dict | None = None, activations: str = "u8", **_) -> dict:
    """Static QDQ quantisation calibrated (MinMax) on `calib` clips (N, 3, T, H, W)."""
    require("onnxruntime")
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if calib is None or len(calib) == 0:
        raise EdgeRPPGError("int8 export needs calibration clips; pass --calib DIR with recorded or synthesised videos")
    if activations not in ("u8", "s8"):
        raise EdgeRPPGError(f"int8 activations {activations!r}: choose 'u8' (ONNX Runtime CPU) or 's8' (TensorRT)")
    reader = _reader_class()(calib, input_name, extra_inputs)
    keep_float = float_nodes(src)
    act = QuantType.QUInt8 if activations == "u8" else QuantType.QInt8
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static logs a "consider pre-processing" notice on every call
    try:
        quantize_static(
            str(src), str(dst), reader, quant_format=QuantFormat.QDQ, activation_type=act,
            weight_type=QuantType.QInt8, per_channel=True, calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=keep_float,
            # TensorRT reads int8 Q/DQ with zero point 0 and float biases: s8 is symmetric, keeps biases float
            extra_options={"ActivationSymmetric": activations == "s8", "WeightSymmetric": True,
                           "QuantizeBias": activations == "u8"},
        )
    finally:
        root.setLevel(level)
    return {"format": "QDQ", "activations": "uint8 asymmetric" if activations == "u8" else "int8 symmetric",
            "weights": "int8 symmetric per-channel", "calibration_method": "MinMax", "calibration_clips": len(reader),
            "kept_float": keep_float}


_WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _keep_upstream(producer: dict, node, keep: list[str]) -> None:
    """Add every non-weighted node between `node` and the nearest weighted layer or graph input to `keep`."""
    stack = [node]
    while stack:
        for name in stack.pop().input:
            p = producer.get(name)
            if p is None or p.name in keep or p.op_type in _WEIGHTED_OPS:
                continue
            keep.append(p.name)
            stack.append(p)


def _input_region(model) -> list:
    """Non-weighted nodes reachable from a graph input without passing a weighted layer, in graph order.

    The pulse is a 0.1-1 % change of the input: quantising the tensors that carry it before the first conv
    (x / mean_t(x) - 1 in rPPGNet, tanh(r) + x in STVEN and the cascade's hand-over) to 8 bits erases it.
    """
    consumers: dict[str, list] = {}
    for n in model.graph.node:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    region: dict[str, object] = {}
    stack = [i.name for i in model.graph.input]
    while stack:
        for n in consumers.get(stack.pop(), []):
            if n.op_type not in _WEIGHTED_OPS and n.name not in region:
                region[n.name] = n
                stack.extend(n.output)
    return [n for n in model.graph.node if n.name in region]


def _group(node) -> int:
    return next((a.i for a in node.attribute if a.name == "group"), 1)


def float_nodes(path: Path, min_in_channels: int = MIN_INT8_IN_CHANNELS) -> list[str]:
    """Nodes kept in float by int8 export: the input region, thin convolutions and the output heads.

    - The input region (`_input_region`) and the non-weighted ops feeding it (STVEN's tanh residual).
    - 3D convs with fewer than `min_in_channels` input channels (an RGB stem left 3D): ONNX Runtime's int8
      3D conv has a tiny reduction dimension there (rPPGNet's 3->32 1x5x5 stem took 2.8x longer in int8 than
      in fp32 on the AVX2 CI CPU). The same stem rewritten to a 2D conv (export/conv2d.py) is faster in int8
      than in fp32, so 2D convs are quantised whatever their width.
    - 2D convs with fewer than `min_in_channels` channels on both sides (a pruned cascade's 1-5 channel
      layers): ONNX Runtime's integer kernels are built for wide reductions and outputs, and at 1-3 channels
      they ran 2-4x slower than the float ones (the 10x cascade's int8 graph took 60 ms against 24 ms in fp32,
      its 3->3, 1->3 and 3->1 convs at 64x64 8-14 ms each).
    - The conv/matmul that produces each graph output (through shape-only ops): an rPPG output is a small
      pulse on a large offset, and 8 output levels over that range flatten it (a trained rPPGNet lost its
      pulse entirely on some clips when its head was quantised).
    """
    onnx = require("onnx")
    model = onnx.load(str(path))
    dims = {i.name: list(i.dims) for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    keep: list[str] = []
    for node in _input_region(model):
        if node.name not in keep:
            keep.append(node.name)
        _keep_upstream(producer, node, keep)
    for n in model.graph.node:
        w = dims.get(n.input[1], []) if n.op_type == "Conv" and len(n.input) > 1 else []
        thin_3d = len(w) == 5 and w[1] * _group(n) < min_in_channels
        thin_2d = len(w) == 4 and w[0] < min_in_channels and w[1] * _group(n) < min_in_channels
        if (thin_3d or thin_2d) and n.name not in keep:
            keep.append(n.name)
            _keep_upstream(producer, n, keep)
    for out in model.graph.output:
        node = producer.get(out.name)
        while node is not None and node.op_type in _SHAPE_OPS:
            node = producer.get(node.input[0])
        if node is not None and node.op_type in _WEIGHTED_OPS and node.name not in keep:
            keep.append(node.name)
    return keep
