"""A synthetic 640x480 camera-like face video with a known pulse, for the end-to-end `hr` benchmarks.

A drawn face (skin ellipse, eyes, brows, mouth: OpenCV's Haar cascade finds it) on a textured background, its
skin colour pulsing at `bpm` (strongest in green, as in real skin), swaying slowly, with sensor noise, encoded
with x264 (CRF 23, a key frame every second, yuv420p) like a webcam or IP camera stream. A long video loops a rendered period with FFmpeg
(`-stream_loop`), so a 10-minute file costs one minute of rendering at most.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

WIDTH, HEIGHT, FPS = 640, 480, 30.0


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _frame(rng, background: np.ndarray, t: float, bpm: float) -> np.ndarray:
    import cv2

    img = background.copy()
    pulse = np.sin(2 * np.pi * bpm / 60.0 * t)
    skin = np.array([120.0, 150.0, 200.0]) * (1 + 0.01 * pulse * np.array([0.7, 1.0, 0.4]))  # BGR
    cx, cy, s = int(WIDTH / 2 + 40 * np.sin(2 * np.pi * 0.07 * t)), int(HEIGHT / 2 + 10 * np.sin(2 * np.pi * 0.11 * t)), 120
    cv2.ellipse(img, (cx, cy), (int(0.8 * s), s), 0, 0, 360, tuple(skin.tolist()), -1)
    for dx in (-0.35, 0.35):
        cv2.ellipse(img, (cx + int(dx * s), cy - int(0.25 * s)), (int(0.16 * s), int(0.07 * s)), 0, 0, 360, (40, 30, 30), -1)
        cv2.line(img, (cx + int((dx - 0.15) * s), cy - int(0.42 * s)), (cx + int((dx + 0.15) * s), cy - int(0.42 * s)),
                 (40, 40, 60), 4)
    cv2.ellipse(img, (cx, cy + int(0.5 * s)), (int(0.28 * s), int(0.08 * s)), 0, 0, 360, (60, 60, 150), -1)
    noisy = img.astype(np.int16) + rng.integers(-3, 4, size=img.shape, dtype=np.int16)
    return cv2.GaussianBlur(np.clip(noisy, 0, 255).astype(np.uint8), (3, 3), 0)


def make_face_video(path: str | Path, seconds: float = 60.0, bpm: float = 72.0, seed: int = 0,
                    period: float = 60.0) -> Path:
    """Write the video (x264 .mp4) and return its path; `seconds` beyond `period` loop the first `period`
    seconds (a whole number of heart beats is not needed: the loop seam is one frame in `period` s)."""
    path = Path(path)
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    background = rng.integers(60, 110, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    render = min(seconds, period)
    part = path.with_name(path.stem + ".part.mp4")
    cmd = [_ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{WIDTH}x{HEIGHT}",
           "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "30", "-pix_fmt", "yuv420p",
           str(part)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for i in range(int(round(render * FPS))):
        proc.stdin.write(_frame(rng, background, i / FPS, bpm).tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {part}")
    if seconds <= period:
        part.rename(path)
        return path
    loops = int(np.ceil(seconds / period)) - 1
    subprocess.run([_ffmpeg(), "-y", "-loglevel", "error", "-stream_loop", str(loops), "-i", str(part), "-t",
                    str(seconds), "-c", "copy", str(path)], check=True)
    part.unlink()
    return path
