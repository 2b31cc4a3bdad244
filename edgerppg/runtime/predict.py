"""`load_predictor`: any model artifact wrapped as a `predict.predictors.ModelPredictor` for `hr`, `eval`, `bench`.

With an ONNX artifact the whole path (backend, preprocessing, overlap-add) runs without importing torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgerppg.predict.predictors import ModelPredictor, output_signals
from edgerppg.runtime import open_backend


def backend_infer(backend):
    """An `infer(clips (B,3,T,H,W) float32) -> (B,T)` closure over a loaded backend (first output)."""

    dims = backend.input_shapes.get(backend.input_names[0]) or [None]
    step = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else None  # an export with a static batch

    def run(clips: np.ndarray) -> np.ndarray:
        return backend.infer(backend.feeds(clips))[backend.output_names[0]]

    def infer(clips: np.ndarray) -> np.ndarray:
        if step is None or len(clips) == step:
            out = run(clips)
        else:  # feed the static batch size, padding the last chunk with its own last clip
            parts = []
            for i in range(0, len(clips), step):
                chunk = clips[i:i + step]
                pad = step - len(chunk)
                full = np.concatenate([chunk, np.repeat(chunk[-1:], pad, axis=0)]) if pad else chunk
                parts.append(run(full)[:len(chunk)])
            out = np.concatenate(parts)
        if out.ndim == 5:  # STVEN alone outputs video: read the pulse as the green mean of its frames

            out = output_signals(out)
        return np.asarray(out, dtype=np.float32)

    return infer


def load_predictor(path: str | os.PathLike, backend: str | None = None, device: str = "cpu",
                   threads: int | None = None):
    """Open and load the backend for `path`, and wrap it in a ModelPredictor named after the artifact."""
    be = open_backend(path, backend=backend, device=device, threads=threads).load()
    p = Path(path)
    label = (f"{p.parent.name}/{p.stem}" if p.stem == "model" else p.stem) if p.is_file() else p.name
    name = f"{label} ({be.name})"  # pipeline checkpoints are all model.safetensors: keep their stage folder
    predictor = ModelPredictor(backend_infer(be), be.spec, name)
    predictor.backend = be  # kept alive with the predictor; bench reads its description
    return predictor
