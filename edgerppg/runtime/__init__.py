"""runtime stage: one small backend class per engine (torch, onnxruntime, TensorRT), chosen from the artifact.

`open_backend(path)` returns an unloaded backend (use it as a context manager). Importing this package never
imports torch, onnxruntime or tensorrt; each backend imports its library in `load()` or its constructor.
"""

from __future__ import annotations

import os

from edgerppg.registry import Registry
from edgerppg.runtime.artifact import default_backend
from edgerppg.runtime.base import Backend
from edgerppg.runtime.ort_backend import OrtBackend
from edgerppg.runtime.torch_backend import TorchBackend
from edgerppg.runtime.trt_backend import TrtBackend

BACKENDS: Registry = Registry("backend")
BACKENDS.register("torch")(TorchBackend)
BACKENDS.register("ort")(OrtBackend)
BACKENDS.register("trt")(TrtBackend)


def open_backend(path: str | os.PathLike, backend: str | None = None, device: str = "cpu",
                 threads: int | None = None) -> Backend:
    """The backend for `path` (a checkpoint, an ONNX artifact dir or an engine dir); `backend` overrides the choice."""
    name = backend or default_backend(path)
    return BACKENDS.get(name)(path, device=device, threads=threads)


__all__ = ["BACKENDS", "Backend", "open_backend"]
