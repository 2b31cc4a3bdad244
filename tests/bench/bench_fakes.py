"""A real (not mocked) backend for bench tests: a numpy MLP whose cost is set by its width and depth.

An artifact is a directory with `fake.json` ({"width", "layers", "frames", "size"}) and a `manifest.json`
like an export's. `infer()` does genuine matrix products, so a wider/deeper "model" is genuinely slower.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from edgerppg.spec import ClipSpec


def write_fake(path: Path, width: int = 64, layers: int = 1, frames: int = 8, size: int = 16) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "fake.json").write_text(json.dumps({"width": width, "layers": layers, "frames": frames, "size": size}))
    d = 3 * frames * size * size
    params = d * width + layers * width * width + width * frames
    (path / "manifest.json").write_text(json.dumps({"model": "fake-mlp", "variant": f"w{width}", "precision": "fp32",
                                                     "stats": {"params": params, "nonzeros": params, "macs": params}}))
    (path / "model.plan").write_bytes(b"\0" * params)  # stands in for the weights on disk
    return path


class FakeBackend:
    name = "numpy"

    def __init__(self, path, threads=None):
        cfg = json.loads((Path(path) / "fake.json").read_text())
        self.spec = ClipSpec(frames=cfg["frames"], height=cfg["size"], width=cfg["size"])
        self.input_names, self.output_names = ["video"], ["rppg"]
        self._cfg, self.weights, self.loaded, self.calls = cfg, None, False, 0

    def load(self):
        rng = np.random.default_rng(0)
        d, w, t = 3 * self.spec.frames * self.spec.height * self.spec.width, self._cfg["width"], self.spec.frames
        dims = [d] + [w] * (self._cfg["layers"] + 1) + [t]
        self.weights = [rng.standard_normal((a, b)).astype(np.float32) / np.sqrt(a) for a, b in zip(dims, dims[1:])]
        self.loaded = True

    def infer(self, inputs):
        assert self.loaded, "infer() before load()"
        x = inputs["video"].reshape(inputs["video"].shape[0], -1)
        for w in self.weights[:-1]:
            x = np.maximum(x @ w, 0)
        self.calls += 1
        log = os.environ.get("EDGERPPG_FAKE_LOG")  # which artifact ran when, across processes
        if log:
            with open(log, "a") as f:
                f.write(f"{self._cfg['width']}\n")
        return {"rppg": x @ self.weights[-1]}

    def close(self):
        self.weights, self.loaded = None, False

    def __enter__(self):
        self.load()
        return self

    def __exit__(self, *exc):
        self.close()


def open_fake(path, backend=None, device="cpu", threads=None):
    return FakeBackend(path, threads)


OPENED_WITH: list = []


class TruthPredictor:
    """Reads each recording's own pulse; `load_truth` records the threads it was opened with."""

    name = "truth"

    def predict(self, rec):
        return rec.bvp, rec.fps


def load_truth(path, backend=None, device="cpu", threads=None):
    OPENED_WITH.append({"device": device, "threads": threads})
    return TruthPredictor()


def load_truth_logged(path, backend=None, device="cpu", threads=None):
    """`load_truth` in a child process: appends "threads start end" of its whole pass to $EDGERPPG_FAKE_LOG."""
    import atexit
    import time

    start = time.monotonic()
    log = os.environ["EDGERPPG_FAKE_LOG"]

    def done():
        with open(log, "a") as f:
            f.write(f"{threads} {start} {time.monotonic()}\n")

    atexit.register(done)
    time.sleep(0.5)  # long enough that passes run one after another cannot look simultaneous
    return TruthPredictor()


#: frame rate of the synthetic recordings below
FPS = 30.0


def recording(i: int, group: str, hr: float) -> SimpleNamespace:
    """A 20 s recording of subject `s{i}` whose pulse is a clean sine at `hr` bpm (what `evaluate` reads)."""
    t = np.arange(int(FPS * 20)) / FPS
    return SimpleNamespace(subject=f"s{i}", group=group, fps=FPS, hr_bpm=hr, video_path=f"s{i}.avi",
                           bvp=np.sin(2 * np.pi * hr / 60 * t))


class NoisyPredictor:
    """Returns the true pulse plus noise: more noise -> larger HR error."""

    def __init__(self, name, noise):
        self.name, self.noise = name, noise

    def predict(self, rec):
        rng = np.random.default_rng(int(rec.subject[1:]))
        return rec.bvp + self.noise * rng.standard_normal(rec.bvp.size), rec.fps
