"""Pulse predictors: what turns a recording (or a stream of face crops) into a pulse signal.

A predictor has `.name` and `.predict(recording) -> (pulse (N,), fps)`; for live use also
`.crop_frames(frames, crop, source)`, `.features(crops)` and `.pulse(features, fps) -> (pulse, fps)`. Two kinds:
- `ClassicalPredictor("pos" | "chrom" | "green")`: face crop -> skin-masked mean RGB -> a method of
  `signal.classical.METHODS` (Wang 2017, de Haan 2013, Verkruysse 2008).
- `ModelPredictor(infer, spec, name)`: the clip pipeline shared with training (`data.clips.prepare_frames`),
  T-frame clips with half overlap, `infer` on batches, each clip z-scored and overlap-added with a Hann window.
  This module never imports torch: training wraps a module in `infer`, the runtime wraps a backend.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from edgerppg.data.clips import prepare_frames
from edgerppg.data.face import crop_faces
from edgerppg.data.skin import skin_masks
from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.stream import BATCH, FeatureStream, ModelStream
from edgerppg.signal.classical import METHODS
from edgerppg.signal.rgb import mean_rgb

#: crop choices of `ClassicalPredictor`; "auto" takes the recording's own (`Recording.crop`)
CROPS: tuple[str, ...] = ("auto", "haar", "full", "center")
#: side of the face crop the classical methods average over (the models' input size)
CROP_SIZE = 128


class Predictor(Protocol):
    name: str

    def predict(self, recording) -> tuple[np.ndarray, float]: ...



def source_name(recording) -> str:
    """What error messages call a recording: its video path, else its subject."""
    return str(getattr(recording, "video_path", getattr(recording, "subject", "recording")))


class ClassicalPredictor:
    """GREEN / CHROM / POS on the skin-masked mean RGB of the face crop, at the video's own frame rate."""

    def __init__(self, method: str, crop: str = "auto"):
        if crop not in CROPS:
            raise EdgeRPPGError(f"unknown crop {crop!r}; choose one of: {', '.join(CROPS)}")
        self.method = method
        self.crop = crop
        self._fn = METHODS.get(method)
        self.name = method if crop == "auto" else f"{method}[{crop}]"

    def crop_frames(self, frames: np.ndarray, crop: str, source: str = "video") -> np.ndarray:
        """Face crops (N, 128, 128, 3) of raw frames; "full" keeps square frames that are already a face crop."""
        if crop == "full" and frames.shape[1] == frames.shape[2]:
            return frames
        return _crop(frames, crop, CROP_SIZE, source)

    def crop_side(self, crop: str, shape: tuple) -> int | None:
        """The side of the face crops taken from frames of `shape` (None: "full" keeps square frames as they are)."""
        return None if crop == "full" and shape[0] == shape[1] else CROP_SIZE

    def features(self, crops: np.ndarray) -> np.ndarray:
        """Skin-masked mean RGB (N, 3) of face crops: the per-frame sample the methods work on."""
        return mean_rgb(crops, skin_masks(crops))

    def pulse(self, features: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
        return self._fn(features, fps), float(fps)

    def stream(self, fps: float, keep: float | None = None, source: str = "video", background: bool = False,
               chunk: float = 1.0) -> FeatureStream:
        """The pulse built up as face crops arrive (`predict.stream`); `keep` seconds of history for live use,
        `chunk` seconds of crops per skin-colour estimate."""
        return FeatureStream(self, fps, chunk=chunk, keep=keep)

    def predict(self, recording) -> tuple[np.ndarray, float]:
        crop = recording.crop if self.crop == "auto" else self.crop
        crops = self.crop_frames(recording.read_frames(), crop, source_name(recording))
        return self.pulse(self.features(crops), float(recording.fps))


class ModelPredictor:
    """A pulse model behind `infer(float32 (B, 3, T, H, W) in [0, 1]) -> (B, T)`, applied to whole recordings."""

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray], spec, name: str):
        self.infer = infer
        self.spec = spec
        self.name = name

    def crop_frames(self, frames: np.ndarray, crop: str, source: str = "video") -> np.ndarray:
        """Face crops at the model's input size (whole recordings go through prepare_frames)."""
        return _crop(frames, "haar" if crop == "auto" else crop, int(self.spec.height), source)

    def crop_side(self, crop: str, shape: tuple) -> int:
        return int(self.spec.height)

    def features(self, crops: np.ndarray) -> np.ndarray:
        return crops

    def stream(self, fps: float, keep: float | None = None, source: str = "video", batch: int = BATCH,
               background: bool = False, chunk: float | None = None) -> ModelStream:
        """The pulse built up as face crops arrive (`predict.stream`); `keep` seconds of history for live use,
        `background`: the model runs on a worker thread (`chunk` is the classical streams' and unused here)."""
        return ModelStream(self.infer, self.spec, fps, batch=batch, keep=keep, source=source, background=background)

    def pulse(self, frames: np.ndarray, fps: float, source: str = "frames") -> tuple[np.ndarray, float]:
        """Pulse at spec.fps from face crops (N, H, W, 3) uint8 at `fps` (resampled to spec.fps when they differ)."""
        spec = self.spec
        frames = np.asarray(frames)
        if frames.shape[1:3] != (spec.height, spec.width):
            raise EdgeRPPGError(f"{source}: crops are {frames.shape[1:3]}, the model needs {(spec.height, spec.width)}")
        stream = self.stream(fps, source=source)
        stream.push(frames)
        return stream.finish()

    def predict(self, recording) -> tuple[np.ndarray, float]:
        frames, _ = prepare_frames(recording, self.spec)
        return self.pulse(frames, float(self.spec.fps), source_name(recording))


def _crop(frames: np.ndarray, crop: str, size: int, source: str) -> np.ndarray:
    return crop_faces(frames, size=size, method=crop, source=source)


def output_signals(y: np.ndarray) -> np.ndarray:
    """The pulse signal(s) (B, T) an output carries: the rPPG itself, or the green mean of a video."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2:
        return y
    if y.ndim == 5:  # (B, C, T, H, W): spatial mean of the green channel
        return y[:, min(1, y.shape[1] - 1)].mean(axis=(2, 3))
    raise EdgeRPPGError(f"cannot read a pulse from an output of shape {y.shape}; expected (B,T) or (B,3,T,H,W)")
