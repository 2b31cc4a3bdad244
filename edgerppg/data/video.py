"""Video reading through OpenCV, with the true frame rate from the container and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgerppg.errors import EdgeRPPGError, require

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def _open(path: Path):
    cv2 = require("cv2")
    if not path.exists():
        raise EdgeRPPGError(f"{path}: no such video file; check the path")
    if path.stat().st_size == 0:
        raise EdgeRPPGError(f"{path}: the file is empty; re-copy or re-record it")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise EdgeRPPGError(f"{path}: not a readable video (unknown format or truncated); re-encode it, e.g. with ffmpeg")
    return cv2, cap


def video_info(path: str | Path) -> dict:
    """fps, frame count, width and height from the container (frame folders: from file names, fps unknown)."""
    path = Path(path)
    if path.is_dir():
        files = image_files(path)
        return {"fps": 0.0, "frames": len(files), "width": None, "height": None}
    cv2, cap = _open(path)
    try:
        info = {"fps": float(cap.get(cv2.CAP_PROP_FPS)), "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
                "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))}
    finally:
        cap.release()
    if not info["fps"] > 0:
        raise EdgeRPPGError(f"{path}: the container gives no frame rate; re-mux it with ffmpeg -r <fps>")
    return info


def read_video(path: str | Path, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, float]:
    """Frames [start, stop) as uint8 RGB (N, H, W, 3) and the container's fps."""
    path = Path(path)
    cv2, cap = _open(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        frames = []
        i = 0
        while stop is None or i < stop:
            ok, bgr = cap.read()
            if not ok:
                break
            if i >= start:
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            i += 1
    finally:
        cap.release()
    if not frames:
        raise EdgeRPPGError(f"{path}: no frame could be decoded (empty or truncated video); re-encode or re-copy it")
    if not fps > 0:
        raise EdgeRPPGError(f"{path}: the container gives no frame rate; re-mux it with ffmpeg -r <fps>")
    want = declared if stop is None else min(stop, declared)
    if declared > 0 and i < 0.9 * want:
        raise EdgeRPPGError(f"{path}: truncated video: decoded {i} of {want} frames; re-copy the file")
    return np.stack(frames), fps


def image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise EdgeRPPGError(f"{folder}: no image frames (.png/.jpg) in this folder")
    return files


def read_image_folder(folder: str | Path) -> np.ndarray:
    """Frames stored as images (PURE), sorted by name, as uint8 RGB (N, H, W, 3)."""
    cv2 = require("cv2")
    frames = []
    for f in image_files(Path(folder)):
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if bgr is None:
            raise EdgeRPPGError(f"{f}: unreadable image frame; re-copy the dataset")
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return np.stack(frames)
