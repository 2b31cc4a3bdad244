"""torch backend: a checkpoint's deploy form in eager mode on CPU or CUDA (the reference every export matches)."""

from __future__ import annotations

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.runtime.base import Backend


class TorchBackend(Backend):
    """Loads a checkpoint (weights + architecture manifest) and runs `model.deploy()` under no_grad."""

    name = "torch"

    def __init__(self, path, device: str = "cpu", threads: int | None = None):
        super().__init__(path, device, threads)
        self._model = None
        self._torch = None
        self._extras: list = []

    def _load(self) -> None:
        import torch

        from edgerppg.models.checkpoint import load_checkpoint

        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise EdgeRPPGError(f"{self.path}: --device {self.device} asked for but torch sees no CUDA GPU; use --device cpu")
        if self.threads:
            torch.set_num_threads(int(self.threads))
        model, manifest = load_checkpoint(self.path)
        spec = model.spec
        self._model = model.deploy().eval().to(self.device)
        self._extras = [t.to(self.device) for t in model.example_inputs(batch=1)[1:]]
        self._torch = torch
        self.spec = spec.clip
        self.input_names = list(spec.input_names)
        self.output_names = list(spec.output_names)
        self.meta = {"precision": "fp32", "model": manifest.get("model"), "variant": manifest.get("variant")}

    def _close(self) -> None:
        self._model = None
        if self._torch is not None and self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._check_loaded()
        torch = self._torch
        video = torch.from_numpy(np.ascontiguousarray(inputs[self.input_names[0]], dtype=np.float32)).to(self.device)
        extras = [torch.as_tensor(inputs[n]).to(self.device) if n in inputs else e.expand(len(video), *e.shape[1:])
                  for n, e in zip(self.input_names[1:], self._extras)]
        with torch.no_grad():
            y = self._model(video, *extras)
        y = y[0] if isinstance(y, (tuple, list)) else y
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        return {self.output_names[0]: y.float().cpu().numpy()}
