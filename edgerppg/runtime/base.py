"""The backend contract (after Polygraphy's runners): load() / infer() / close(), used as a context manager.

Device memory and sessions are created only in `load()`; `infer()` takes and returns numpy arrays by name and
returns only when the results are ready (synchronised), so a benchmark can time it directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.spec import ClipSpec


class Backend:
    """Base class: subclasses implement `_load()`, `infer()` and `_close()`, and fill the fields below."""

    name = "base"

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None):
        self.path = Path(path)
        self.device = device
        self.threads = threads
        self.spec: ClipSpec | None = None
        self.input_names: list[str] = []
        self.output_names: list[str] = []
        self.input_shapes: dict[str, list] = {}
        self.meta: dict = {}
        self.loaded = False

    def load(self) -> "Backend":
        if not self.loaded:
            self._load()
            self.loaded = True
        return self

    def close(self) -> None:
        if self.loaded:
            self._close()
            self.loaded = False

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close(self) -> None:
        pass

    def _check_loaded(self) -> None:
        if not self.loaded:
            raise EdgeRPPGError(f"{self.path}: backend {self.name!r} used before load(); use it as a context manager")

    def feeds(self, video: np.ndarray) -> dict[str, np.ndarray]:
        """Inputs for a batch of clips ([0, 1] RGB, converted to the model's input format, spec.ClipSpec) plus
        zero-valued extra inputs (e.g. STVEN label 0)."""
        if self.spec is not None:
            video = self.spec.to_model(video)
        video = np.ascontiguousarray(video, dtype=np.float32)
        out = {self.input_names[0]: video}
        for name in self.input_names[1:]:
            shape = [len(video) if not isinstance(d, int) or i == 0 else d
                     for i, d in enumerate(self.input_shapes.get(name, [len(video)]))]
            out[name] = np.zeros(shape, dtype=np.int64)
        return out

    def __enter__(self) -> "Backend":
        return self.load()

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict:
        """What a benchmark records about the backend."""
        return {"backend": self.name, "device": self.device, "threads": self.threads, "path": str(self.path), **self.meta}
