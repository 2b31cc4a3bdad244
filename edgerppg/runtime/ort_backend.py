"""ONNX Runtime backend: CPU, plus the CUDA and TensorRT execution providers when the installed build has them.

This module never imports torch: an exported artifact runs with numpy and onnxruntime only.
"""

from __future__ import annotations

import os
import numpy as np

from edgerppg.errors import EdgeRPPGError, require
from edgerppg.runtime.base import Backend
from edgerppg.spec import ClipSpec

# Preference order of execution providers per device.
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def providers_for(device: str) -> list[str]:
    """The available providers for `device`, best first; a GPU device without a GPU provider is an error."""
    ort = require("onnxruntime", "onnx")
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
    ort = require("onnxruntime", "onnx")
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


class OrtBackend(Backend):
    """Runs `model.onnx` of an artifact directory in ONNX Runtime."""

    name = "ort"

    def __init__(self, path, device: str = "cpu", threads: int | None = None):
        from edgerppg.runtime.artifact import model_file, read_manifest

        super().__init__(path, device, threads)
        self.manifest = read_manifest(path)
        self.model_path = model_file(path, self.manifest.get("file", "model.onnx"))
        self.spec = ClipSpec.from_dict(self.manifest["clip"])
        self.input_names = [i["name"] for i in self.manifest["inputs"]]
        self.output_names = [o["name"] for o in self.manifest["outputs"]]
        self.input_shapes = {i["name"]: i["shape"] for i in self.manifest["inputs"]}
        self._session = None

    def _load(self) -> None:
        self._session = make_session(self.model_path, self.device, self.threads)
        self.meta = {"providers": self._session.get_providers(), "precision": self.manifest.get("precision"),
                     "sparse": self.manifest.get("sparse", False)}

    def _close(self) -> None:
        self._session = None

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._check_loaded()
        outs = self._session.run(self.output_names, inputs)
        return dict(zip(self.output_names, outs))
