"""ONNX Runtime backend: CPU, plus the CUDA and TensorRT execution providers when the installed build has them.

This module never imports torch: an exported artifact runs with numpy and onnxruntime only.
"""

from __future__ import annotations

import numpy as np

from edgerppg.export.artifact import model_file, read_manifest
from edgerppg.export.session import make_session
from edgerppg.runtime.base import Backend
from edgerppg.spec import ClipSpec


class OrtBackend(Backend):
    """Runs `model.onnx` of an artifact directory in ONNX Runtime."""

    name = "ort"

    def __init__(self, path, device: str = "cpu", threads: int | None = None):
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
