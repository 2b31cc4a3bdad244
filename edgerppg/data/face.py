"""Face crop: Viola-Jones (OpenCV's bundled Haar cascade, as Yu et al. did), box smoothed over time.

Methods: "haar" detects every few frames, interpolates and smooths the box, enlarges it to take in the
forehead; "full" uses the whole (square-cropped) frame, for clips that are already a face crop (our
synthetic data); "center" is the documented fallback for videos where no face is found: a fixed central
square. A video with no face at all is an error, never a silent result.
"""

from __future__ import annotations

import numpy as np

from edgerppg.errors import EdgeRPPGError, require

CROP_METHODS = ("haar", "full", "center")


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    cv2 = require("cv2", "all")
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def _square(frames: np.ndarray, frac: float = 1.0) -> tuple[int, int, int]:
    h, w = frames.shape[1:3]
    side = int(min(h, w) * frac)
    return (w - side) // 2, (h - side) // 2, side


def detect_boxes(frames: np.ndarray, every: int = 10) -> np.ndarray:
    """(N, 4) boxes (x, y, w, h) from detections every `every` frames, NaN where none was ever found nearby."""
    cv2 = require("cv2", "all")
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    n = len(frames)
    keys, boxes = [], []
    scale = max(1.0, frames.shape[1] / 240.0)  # detect on a frame about 240 px high
    for i in range(0, n, every):
        gray = cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY)
        if scale > 1:
            gray = cv2.resize(gray, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
        found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(24, 24))
        if len(found):
            x, y, w, h = max(found, key=lambda b: b[2] * b[3])
            keys.append(i)
            boxes.append(np.array([x, y, w, h], dtype=np.float64) * scale)
    out = np.full((n, 4), np.nan)
    if not keys:
        return out
    k, b = np.array(keys), np.stack(boxes)
    for j in range(4):
        out[:, j] = np.interp(np.arange(n), k, b[:, j])
    return out


def smooth_boxes(boxes: np.ndarray, fps_frames: int = 15) -> np.ndarray:
    """Moving average of the box over about half a second, so the crop does not jitter."""
    kernel = np.ones(fps_frames) / fps_frames
    padded = np.pad(boxes, ((fps_frames // 2, fps_frames - 1 - fps_frames // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(4)], axis=1)


def crop_faces(frames: np.ndarray, size: int = 128, method: str = "haar", enlarge: float = 1.2,
               every: int = 10, source: str = "video") -> np.ndarray:
    """Face crops (N, size, size, 3) uint8 from RGB frames (N, H, W, 3)."""
    if method not in CROP_METHODS:
        raise EdgeRPPGError(f"unknown crop {method!r}; choose one of: {', '.join(CROP_METHODS)}")
    frames = np.asarray(frames)
    if method in ("full", "center"):
        x, y, side = _square(frames, 1.0 if method == "full" else 0.6)
        return np.stack([_resize(f[y:y + side, x:x + side], size) for f in frames])
    boxes = detect_boxes(frames, every)
    if np.isnan(boxes).all():
        raise EdgeRPPGError(f"{source}: no face found by the Haar detector in {len(frames)} frames; "
                            "use --crop center (fixed central crop) or --crop full if the video is already a face crop")
    boxes = smooth_boxes(boxes)
    h, w = frames.shape[1:3]
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for i, (bx, by, bw, bh) in enumerate(boxes):
        side = max(bw, bh) * enlarge
        cx, cy = bx + bw / 2, by + bh / 2 - 0.05 * bh  # shift up a little to keep the forehead
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = int(round(side))
        pad = max(0, -x0, -y0, x0 + s - w, y0 + s - h)
        f = np.pad(frames[i], ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else frames[i]
        out[i] = _resize(f[y0 + pad:y0 + pad + s, x0 + pad:x0 + pad + s], size)
    return out
