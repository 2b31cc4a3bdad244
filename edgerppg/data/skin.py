"""Skin masks for rPPGNet's skin-segmentation labels: adaptive thresholds in YCrCb.

Fixed Cr/Cb boxes (Chai & Ngan 1999: Cr 133-173, Cb 77-127) are re-centred on the chroma of the face
crop's centre, so darker and lighter skin tones and coloured light are both segmented.
"""

from __future__ import annotations

import numpy as np

from edgerppg.errors import require


def skin_masks(frames: np.ndarray, size: int = 64, width: float = 2.5) -> np.ndarray:
    """float32 masks (N, size, size) in {0, 1} for face crops (N, H, W, 3) uint8 RGB.

    The chroma centre is the median over the crops' central region (mostly cheeks and nose); the accepted
    half-widths come from its median absolute deviation, which eyes, brows and mouth do not inflate, kept
    within [6, 15] levels so neither a flat nor a busy crop gives a mask of everything or nothing.
    """
    cv2 = require("cv2")
    frames = np.asarray(frames)
    ycc = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2YCrCb) for f in frames]).astype(np.float32)
    h, w = frames.shape[1:3]
    centre = ycc[:, h // 4: 3 * h // 4, w // 4: 3 * w // 4].reshape(-1, 3)
    cr0, cb0 = np.median(centre[:, 1]), np.median(centre[:, 2])
    mad = lambda x, c: 1.4826 * np.median(np.abs(x - c))  # noqa: E731
    half_cr = float(np.clip(width * mad(centre[:, 1], cr0), 6.0, 15.0))
    half_cb = float(np.clip(width * mad(centre[:, 2], cb0), 6.0, 15.0))
    cr, cb, y = ycc[..., 1], ycc[..., 2], ycc[..., 0]
    mask = (np.abs(cr - cr0) < half_cr) & (np.abs(cb - cb0) < half_cb) & (y > 30) & (y < 250)
    mask = mask.astype(np.float32)
    if (h, w) != (size, size):
        mask = np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_AREA) for m in mask])
    return (mask > 0.5).astype(np.float32)
