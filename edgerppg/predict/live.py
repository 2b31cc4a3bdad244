"""Live heart rate: sliding-window HR over a camera or a video file that is still being written."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Iterable

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.signal.filters import DEFAULT_BAND, check_band
from edgerppg.signal.hr import heart_rate, snr


def live_hr(frames: Iterable[np.ndarray], fps: float, predictor, crop: str = "haar", window: float = 10.0,
            refresh: float = 1.0, band=DEFAULT_BAND, method: str = "welch", min_seconds: float = 4.0):
    """Sliding-window HR over a stream of RGB frames (camera or growing file), one update every `refresh` s.

    Each frame is face-cropped and reduced to the predictor's feature (mean RGB, or the crop for a model) as it
    arrives; every `refresh` s of video the last `window` s are turned into a pulse and an HR. Yields dicts
    {"t_s", "hr_bpm", "snr_db", "window_s", "frames", "fps_processing"}. A frame where no face is found
    repeats the previous feature; a whole window without a face is an error.
    """
    fps = float(fps)
    band = check_band(fps, band)
    buf: deque = deque(maxlen=max(2, int(round(window * fps))))
    every = max(1, int(round(refresh * fps)))
    chunk = max(1, min(every, int(round(fps / 3))))  # frames cropped together: one face detection per chunk
    need = int(round(min(window, min_seconds) * fps))
    last, misses, pending, count, t0 = None, 0, [], 0, time.perf_counter()
    for frame in frames:
        pending.append(np.asarray(frame))
        count += 1
        if len(pending) < chunk:
            continue
        try:
            feats = predictor.features(predictor.crop_frames(np.stack(pending), crop, "live video"))
            last, misses = feats[-1], 0
        except EdgeRPPGError:
            misses += len(pending)
            if last is None or misses > buf.maxlen:
                raise
            feats = [last] * len(pending)
        buf.extend(feats)
        pending = []
        if count % every >= chunk or len(buf) < need:
            continue
        pulse, pfps = predictor.pulse(np.stack(buf), fps)
        hr = heart_rate(pulse, pfps, band, method)
        yield {"t_s": count / fps, "hr_bpm": hr, "snr_db": snr(pulse, pfps, hr, band), "window_s": len(buf) / fps,
               "frames": count, "fps_processing": count / max(time.perf_counter() - t0, 1e-9)}


def open_stream(source, duration: float | None = None, poll: float = 0.2):
    """(frames iterator, fps) from a camera index or a video file that may still be growing.

    At the end of a file the reader waits for new frames (re-opening it and skipping what was read), so a
    recording being written is followed live; `duration` (wall-clock s) bounds the whole stream.
    """
    import cv2

    camera = isinstance(source, int)
    name = f"camera {source}" if camera else str(source)
    began = time.monotonic()
    cap = cv2.VideoCapture(source if camera else str(source))
    while not camera and not cap.isOpened() and Path(source).exists() and duration is not None \
            and time.monotonic() - began < duration:
        time.sleep(poll)  # a file that has just been created may not have a readable header yet
        cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise EdgeRPPGError(f"{name}: cannot be opened as a video source; check the camera index or file path")
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    fps = float(fps) if 1.0 <= fps <= 240.0 else 30.0

    def frames():
        nonlocal cap
        start, read = began, 0
        try:
            while duration is None or time.monotonic() - start < duration:
                ok, bgr = cap.read()
                if ok:
                    read += 1
                    yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    continue
                if camera:
                    raise EdgeRPPGError(f"{name}: stopped delivering frames; check the camera connection")
                time.sleep(poll)  # end of a growing file: reopen and skip what was already read
                cap.release()
                cap = cv2.VideoCapture(str(source))
                for _ in range(read):
                    if not cap.grab():
                        break
        finally:
            cap.release()

    return frames(), fps

