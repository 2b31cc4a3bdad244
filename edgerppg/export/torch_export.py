"""torch -> ONNX for a model's deploy form, then a library tidy-up (onnxslim), no hand graph surgery.

torch 2.13's `torch.onnx.export` defaults to the dynamo (torch.export-based) exporter, which needs the
`onnxscript` package. It is the default here too: it exports rPPGNet (static shape arithmetic in the skin
attention), STVEN (InstanceNorm3d, ConvTranspose3d) and the cascade with a dynamic batch axis. The older
TorchScript exporter (`dynamo=False`) stays registered: it exports STVEN and fixed-batch graphs, but turns
rPPGNet's `H // h` pooling factor into int64 tensor ops it cannot export once the batch axis is dynamic.
The exporter used is recorded in every manifest; parity is checked whichever it is.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from edgerppg.errors import EdgeRPPGError, require
from edgerppg.registry import Registry

EXPORTERS: Registry = Registry("ONNX exporter")
DEFAULT_OPSET = 18  # the dynamo exporter's own opset: no version conversion


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
    """The TorchScript exporter (`dynamo=False`) on a module traced first with `torch.jit.trace`.

    Tracing first records Python arithmetic on static sizes (e.g. `H // h` for a pooling factor) as the
    constants they are; handing the eager module to the exporter directly turns them into int64 tensor ops
    it cannot export. The batch axis stays dynamic where asked (checked by the dynamic-batch parity run).
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notice and tracer warnings about python bools
        traced = torch.jit.trace(module, inputs, check_trace=False)
        torch.onnx.export(
            traced, inputs, str(path), dynamo=False, opset_version=opset,
            input_names=list(spec.input_names), output_names=list(spec.output_names),
            dynamic_axes=_axes(spec, dynamic), do_constant_folding=True,
        )


@EXPORTERS.register("dynamo")
def export_dynamo(module, inputs: tuple, path: Path, spec, opset: int, dynamic: bool) -> None:
    """The torch.export-based exporter (needs `onnxscript`)."""
    import torch

    require("onnxscript")
    shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", min=1, max=64)
        shapes = tuple({0: batch} for _ in inputs)
    import logging

    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)  # opset up-conversion and registry notices, not problems
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, inputs, dynamo=True, opset_version=opset, input_names=list(spec.input_names),
            output_names=list(spec.output_names), dynamic_shapes=shapes, external_data=False, verbose=False,
        )
    log.setLevel(level)
    program.save(str(path))


def export_onnx(module, inputs: tuple, path: str | os.PathLike, spec, *, opset: int = DEFAULT_OPSET,
                dynamic: bool = False, exporter: str = "dynamo") -> None:
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
    onnxslim = require("onnxslim")
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
