"""Spatial averaging of face pixels into one RGB sample per frame, the input of GREEN, CHROM and POS."""

from __future__ import annotations

import numpy as np

from edgerppg.errors import EdgeRPPGError


def _resize_nearest(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = (np.arange(height) * masks.shape[1] / height).astype(int)
    cols = (np.arange(width) * masks.shape[2] / width).astype(int)
    return masks[:, rows][:, :, cols]


def mean_rgb(frames, masks=None) -> np.ndarray:
    """Mean R, G, B of each frame (N, H, W, 3) -> (N, 3) float64, over the pixels where `masks` (N, h, w) > 0.5.

    Masks of another size (e.g. 64x64 skin masks for 128x128 crops) are resized by nearest neighbour. A frame
    whose mask is empty is interpolated from the neighbouring frames with skin; if no frame has any, whole frames
    are used.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise EdgeRPPGError(f"frames must be (N, H, W, 3) RGB, got shape {frames.shape}; decode the video first")
    if frames.shape[0] == 0:
        raise EdgeRPPGError("no frames to average; the video is empty")
    if masks is None:
        return frames.reshape(frames.shape[0], -1, 3).mean(axis=1, dtype=np.float64)
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[0] != frames.shape[0]:
        raise EdgeRPPGError(f"masks of shape {masks.shape} do not match {frames.shape[0]} frames; pass (N, h, w)")
    if masks.shape[1:] != frames.shape[1:3]:
        masks = _resize_nearest(masks, frames.shape[1], frames.shape[2])
    n = frames.shape[0]
    weight = (masks > 0.5).reshape(n, 1, -1)
    count = weight.sum(axis=(1, 2)).astype(np.float64)
    # 0/1 weights times 8-bit values: every partial sum is an integer below 2**24 for crops up to 256x256, so
    # float32 sums are exact (and a batched matrix product is ~10x faster than a float64 einsum)
    pixels = frames.reshape(n, -1, 3)
    exact = pixels.shape[1] * 255 < 2**24 and frames.dtype == np.uint8
    dtype = np.float32 if exact else np.float64
    sums = np.matmul(weight.astype(dtype), pixels.astype(dtype))[:, 0].astype(np.float64)
    valid = count > 0
    if not valid.any():
        return pixels.mean(axis=1, dtype=np.float64)
    out = np.empty((n, 3))
    out[valid] = sums[valid] / count[valid, None]
    idx = np.arange(n)
    for c in range(3):
        out[~valid, c] = np.interp(idx[~valid], idx[valid], out[valid, c])
    return out
