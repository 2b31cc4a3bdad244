"""torch -> ONNX for a model's deploy form, then a library tidy-up (onnxslim), no hand graph surgery.

torch 2.13's `torch.onnx.export` defaults to the dynamo (torch.export) exporter, which needs the separate
`onnxscript` package; the TorchScript-based exporter (`dynamo=False`) is built in and handles Conv3d,
ConvTranspose3d, BatchNorm3d, InstanceNorm3d and pooling reliably at opset 17, so it is the default here.
Both are registered in `EXPORTERS`; the one used is recorded in every manifest.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from edgerppg.errors import EdgeRPPGError, require
from edgerppg.registry import Registry

EXPORTERS: Registry = Registry("ONNX exporter")
DEFAULT_OPSET = 17


def _axes(spec, dynamic: bool) -> dict | None:
    """Dynamic axes for the batch dimension of every input and output (None for a fixed batch)."""
    if not dynamic:
        return None
    axes = dict(getattr(spec, "dynamic_axes", None) or {})
    for name in list(spec.input_names) + list(spec.output_names):
        axes.setdefault(name, {0: "batch"})
    return axes


@EXPORTERS.register("torchscript")
def export_torchscript(module, inputs: tuple, path: Path, spec, opset: int, dynamic: bool) -> None:
    """The TorchScript tracer exporter (`dynamo=False`)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notice and tracer warnings about python bools
        torch.onnx.export(
            module, inputs, str(path), dynamo=False, opset_version=opset,
            input_names=list(spec.input_names), output_names=list(spec.output_names),
            dynamic_axes=_axes(spec, dynamic), do_constant_folding=True,
        )


@EXPORTERS.register("dynamo")
def export_dynamo(module, inputs: tuple, path: Path, spec, opset: int, dynamic: bool) -> None:
    """The torch.export-based exporter (needs `onnxscript`)."""
    import torch

    require("onnxscript", "onnx")
    shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", min=1, max=64)
        shapes = tuple({0: batch} for _ in inputs)
    program = torch.onnx.export(
        module, inputs, dynamo=True, opset_version=opset, input_names=list(spec.input_names),
        output_names=list(spec.output_names), dynamic_shapes=shapes, external_data=False,
    )
    program.save(str(path))


def export_onnx(module, inputs: tuple, path: str | os.PathLike, spec, *, opset: int = DEFAULT_OPSET,
                dynamic: bool = False, exporter: str = "torchscript") -> None:
    """Export `module` (already in eval mode) traced at `inputs` to `path`."""
    fn = EXPORTERS.get(exporter)
    try:
        fn(module, inputs, Path(path), spec, opset, dynamic)
    except EdgeRPPGError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise EdgeRPPGError(
            f"{spec.name}: torch.onnx.export ({exporter}, opset {opset}) failed: {msg}; "
            f"try another --opset or exporter"
        ) from None


def tidy(model):
    """Simplify the graph with onnxslim (constant folding, dead nodes, shape ops) -> (model, applied).

    onnxslim is an optimisation: if it cannot handle a graph the unslimmed one is kept (still correct, and
    still parity-checked) and the manifest records "tidy": "none".
    """
    onnxslim = require("onnxslim", "onnx")
    try:
        return onnxslim.slim(model), True
    except Exception:
        return model, False


def tidy_name() -> str:
    from importlib import metadata

    try:
        return f"onnxslim {metadata.version('onnxslim')}"
    except metadata.PackageNotFoundError:
        return "none"
