"""Heart rate of one video file (no ground truth): the `edgerppg hr FILE` result.

The file is streamed (`data.sources.FrameSource`: decoding in a background thread), each frame face-tracked and
cropped as it arrives (`data.face.FaceTracker`) and handed to the predictor's pulse stream (`predict.stream`),
so memory does not grow with the video's length. The crops and the pulse are those `predict(recording)` computes
on the whole video (the classical methods estimate the skin colour per second instead of over the whole file).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edgerppg import progress
from edgerppg.data.face import FaceTracker
from edgerppg.data.sources import FrameSource, SourceSpec
from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.evaluate import measure
from edgerppg.predict.predictors import Predictor
from edgerppg.signal.filters import DEFAULT_BAND, check_band

#: how long (seconds) and how much memory (bytes of frames) a frame may wait for its face box before the last
#: box is held: far more than a detection every 10 frames needs, so a file's crops equal the whole-video ones
LOOKAHEAD_S = 2.0
LOOKAHEAD_BYTES = 256 << 20


def bgr_to_rgb(crops: list) -> list:
    return [np.ascontiguousarray(c[..., ::-1]) for c in crops]


def video_hr(path, predictor: Predictor, crop: str = "auto", window: float = 10.0, step: float | None = None,
             band=DEFAULT_BAND, method: str = "welch") -> dict:
    """HR of one video file: whole-video HR and SNR, per-window HR, per-stage timings, plus the pulse for plots.

    `crop="auto"` runs the Haar face detector (a video file is taken to be a real camera recording).
    """
    path = Path(path)
    if not path.is_file():
        raise EdgeRPPGError(f"{path}: no such video file; check the path")
    crop = "haar" if crop == "auto" else crop
    start, cpu = time.perf_counter(), time.thread_time()
    with FrameSource(SourceSpec(path=str(path))) as source:
        fps = source.fps
        side = predictor.crop_side(crop, (source.height, source.width))
        frame_bytes = max(1, source.width * source.height * 3)
        lookahead = max(1, min(int(LOOKAHEAD_S * fps) + 1, LOOKAHEAD_BYTES // frame_bytes))
        tracker = FaceTracker(side, crop, bgr=True, max_lookahead=lookahead, source=str(path), background=True)
        stream = predictor.stream(fps, source=str(path), background=True)
        with progress.task(f"hr {path.name}", source.frames_declared or None) as bar:
            for frame in source:
                crops = tracker.push(frame.image)
                if crops:
                    stream.push(bgr_to_rgb(crops))
                if tracker.count % 30 == 0:
                    bar.advance(30)
            bar.advance(tracker.count % 30)
            stream.push(bgr_to_rgb(tracker.finish()))
        pulse, pulse_fps = stream.finish()
    frames = max(source.stats["read"], 1)
    t0 = time.perf_counter()
    result = measure(pulse, pulse_fps, window, step, band, method)
    wall = time.perf_counter() - start
    predict_s = getattr(stream, "infer_s", 0.0) + getattr(stream, "features_s", 0.0)
    main_s = time.thread_time() - cpu
    # CPU per frame of each stage, on whichever thread ran it (reader, detector, model and main threads overlap)
    cpu_ms = {"decode": source.stats["cpu_s"], "detect": tracker.detect_cpu_s, "predict": predict_s,
              "crop_and_rest": main_s - (0.0 if stream.background else predict_s),
              "hr": time.perf_counter() - t0}
    timings = {"seconds": wall, "fps_end_to_end": frames / max(wall, 1e-9),
               "cpu_ms_per_frame": {k: 1e3 * v / frames for k, v in cpu_ms.items()},
               "face_detections": tracker.detections, "frames_without_face": tracker.unseen}
    return {"video": str(path), "method": predictor.name, "hr_method": method, "fps": fps, "frames": frames,
            "band": list(check_band(pulse_fps, band)), "window": float(window), **result, "timings": timings,
            "pulse": np.asarray(pulse, dtype=np.float64), "pulse_fps": float(pulse_fps)}
