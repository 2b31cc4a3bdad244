"""Live heart rate: sliding-window HR over a camera, a network stream or a video file still being written.

Frames come from a `data.sources.FrameSource` (a reader thread; a live source drops its oldest frame when the
consumer falls behind, and counts it), are face-tracked with a short look-ahead (`FaceTracker`) and fed to the
predictor's pulse stream (`predict.stream`, which keeps only the last window); every `refresh` seconds of video
the last `window` seconds give an HR. Each update says how old its newest frame was when the HR came out
(`latency_ms`: frame captured to HR computed) and how many frames the source dropped so far.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from edgerppg.data.face import FaceTracker
from edgerppg.data.sources import FrameSource, SourceSpec
from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.video import bgr_to_rgb
from edgerppg.signal.filters import DEFAULT_BAND, check_band
from edgerppg.signal.hr import heart_rate, no_pulse_reason, snr

#: seconds of frames the classical methods take their skin colour from at once (shorter: fresher updates)
LIVE_CHUNK_S = 1 / 3


def live_hr(source: SourceSpec, predictor, crop: str = "auto", window: float = 10.0, refresh: float = 1.0,
            band=DEFAULT_BAND, method: str = "welch", min_seconds: float = 4.0, lookahead: float = 1.0):
    """Yield one dict per update: {"t_s", "hr_bpm", "reliable" (False: no credible pulse in the window, "no_pulse"
    says why; "hr_bpm" is then the spectrum's peak), "snr_db", "window_s", "frames", "frames_dropped",
    "frames_without_face", "latency_ms", "fps_processing"}. The first update comes once `min(window,
    min_seconds)` seconds of pulse exist. `lookahead`: seconds a frame may wait for its face box (a live source
    holds the last box beyond that)."""
    crop = "haar" if crop == "auto" else crop
    heart_rate(np.sin(np.arange(300) / 3.0), 30.0, method=method)  # import the estimator now, not mid-stream
    with FrameSource(source) as frames:
        fps = frames.fps
        band = check_band(fps, band)
        side = predictor.crop_side(crop, (frames.height, frames.width))
        tracker = FaceTracker(side, crop, bgr=True, max_lookahead=max(1, int(round(lookahead * fps))),
                              source=source.name, background=True)
        stream = predictor.stream(fps, keep=window, source=source.name, background=True, chunk=LIVE_CHUNK_S)
        every = max(1, int(round(refresh * fps)))
        need = min(window, min_seconds)
        captured: deque = deque(maxlen=int(round((window + lookahead + 5) * fps)))  # capture times, newest last
        t0, count = time.perf_counter(), 0
        for frame in frames:
            count += 1
            captured.append(frame.captured)
            crops = tracker.push(frame.image)
            if crops:
                stream.push(bgr_to_rgb(crops))
            if count % every:
                continue
            pulse, pfps = stream.pulse(last=window)
            if pulse.size / pfps < need:
                continue
            hr = heart_rate(pulse, pfps, band, method)
            reason = no_pulse_reason(pulse, pfps, hr, band, method)  # an unreliable window: said, and go on
            newest = _newest_capture(captured, count, tracker.emitted, stream, fps)
            yield {"t_s": tracker.emitted / fps, "hr_bpm": hr, "reliable": reason is None, "no_pulse": reason,
                   "snr_db": snr(pulse, pfps, hr, band),
                   "window_s": pulse.size / pfps, "frames": count, "frames_dropped": frames.stats["dropped"],
                   "frames_without_face": tracker.unseen,
                   "latency_ms": 1e3 * (time.monotonic() - newest) if newest is not None else None,
                   "fps_processing": count / max(time.perf_counter() - t0, 1e-9)}
        if count == 0:
            raise EdgeRPPGError(f"{source.name}: no frame arrived"
                                f"{'' if source.duration is None else f' in {source.duration:g} s'}; check that the "
                                "source is sending video")


def _newest_capture(captured: deque, count: int, emitted: int, stream, fps: float) -> float | None:
    """The capture time of the newest source frame whose information is in the pulse just computed: the newest
    cropped frame, or for a model the last frame of its last clip. `captured` holds the capture times of the
    last len(captured) of the `count` frames read."""
    newest = emitted - 1
    if hasattr(stream, "weight"):  # a model's pulse ends where its last clip ended, at the model's frame rate
        covered = (stream.offset + np.count_nonzero(stream.weight > 0)) / stream.fps
        newest = min(newest, int(covered * fps) - 1)
    pos = newest - (count - len(captured))
    return captured[pos] if 0 <= pos < len(captured) else None
