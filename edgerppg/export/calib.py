"""Calibration clips for INT8 (ONNX Runtime QDQ and TensorRT's entropy calibrator) from real recordings.

Clips go through `edgerppg.data.clips.prepare_frames`, the same face crop, resize and fps resampling the
model sees in training and at inference, so the activation ranges match deployment.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgerppg.data import load_dataset
from edgerppg.data.clips import prepare_frames
from edgerppg.errors import EdgeRPPGError


def calibration_clips(root: str | os.PathLike, clip, max_clips: int = 32, seed: int = 0) -> np.ndarray:
    """Up to `max_clips` T-frame clips (N, 3, T, H, W) float32 in [0, 1] cut from the recordings under `root`.

    Clips are taken without overlap from every recording in turn (so all subjects and groups are
    represented), then a seeded subset is kept.
    """
    root = Path(root)
    if not root.exists():
        raise EdgeRPPGError(f"{root}: calibration directory not found; create one with `edgerppg synth --out {root}`")
    recordings = load_dataset(root)
    if not recordings:
        raise EdgeRPPGError(f"{root}: no recordings found for calibration; point --calib at a dataset directory")
    clips = []
    for rec in recordings:
        frames, _ = prepare_frames(rec, clip)
        for start in range(0, len(frames) - clip.frames + 1, clip.frames):
            clips.append(frames[start:start + clip.frames])
    if not clips:
        raise EdgeRPPGError(f"{root}: recordings are shorter than one {clip.frames}-frame clip; use longer videos")
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(clips), size=min(max_clips, len(clips)), replace=False))
    # (T, H, W, 3) uint8 -> (3, T, H, W) float32 in [0, 1]
    unit = np.stack([clips[i].transpose(3, 0, 1, 2).astype(np.float32) / 255.0 for i in pick])
    return np.ascontiguousarray(clip.to_model(unit), dtype=np.float32)  # the model's input format (spec.ClipSpec)
