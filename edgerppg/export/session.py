"""ONNX Runtime sessions for exported graphs: the export's parity check and the runtime's `ort` backend open
them the same way (full graph optimisation, the device's execution providers best first).

Never imports torch: an exported artifact runs with numpy and onnxruntime only.
"""

from __future__ import annotations

import os

from edgerppg.errors import EdgeRPPGError, require

# Preference order of execution providers per device.
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def providers_for(device: str) -> list[str]:
    """The available providers for `device`, best first; a GPU device without a GPU provider is an error."""
    ort = require("onnxruntime")
    if device not in PROVIDERS:
        raise EdgeRPPGError(f"device {device!r}: choose one of {', '.join(PROVIDERS)}")
    available = set(ort.get_available_providers())
    chosen = [p for p in PROVIDERS[device] if p in available]
    if device != "cpu" and chosen[:1] == ["CPUExecutionProvider"]:
        raise EdgeRPPGError(f"onnxruntime {ort.__version__} has no GPU execution provider; "
                            f"install onnxruntime-gpu or use --device cpu")
    return chosen


def make_session(path: str | os.PathLike, device: str = "cpu", threads: int | None = None):
    """An InferenceSession with full graph optimisation and `threads` intra-op threads (None = ORT default)."""
    ort = require("onnxruntime")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers_for(device))
    except EdgeRPPGError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise EdgeRPPGError(f"{path}: ONNX Runtime cannot load the model ({first}); re-export it") from None
