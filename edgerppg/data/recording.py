"""One recording: a video (or frame folder) and its ground-truth pulse aligned to the video's frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgerppg.data.video import read_image_folder, read_video


@dataclass
class Recording:
    """A subject's video in one codec group, with the ground-truth pulse sampled at each video frame."""

    subject: str
    group: str
    video_path: Path
    fps: float
    bvp: np.ndarray
    hr_bpm: float | None = None
    codec: str = "unknown"
    bitrate: str | None = None
    crop: str = "haar"
    meta: dict = field(default_factory=dict)

    def read_frames(self) -> np.ndarray:
        """uint8 RGB frames (N, H, W, 3); `meta["frame_range"]` = [start, stop) selects a part (MAHNOB)."""
        path = Path(self.video_path)
        start, stop = self.meta.get("frame_range", (0, None))
        if path.is_dir():
            return read_image_folder(path)[start:stop]
        return read_video(path, start, stop)[0]


def resample(signal: np.ndarray, times: np.ndarray, target_times: np.ndarray) -> np.ndarray:
    """Linear interpolation of a ground-truth signal onto the video frame times."""
    order = np.argsort(times)
    return np.interp(target_times, np.asarray(times)[order], np.asarray(signal, dtype=np.float64)[order]).astype(np.float32)


def beats_to_pulse(beat_times: np.ndarray, frame_times: np.ndarray) -> np.ndarray:
    """A pulse-shaped signal from beat times (ECG R-peaks): cos of the beat phase, one cycle per beat.

    Any HR estimator applied to it recovers the beat-to-beat rate of the reference, which is what the ECG
    ground truth of MAHNOB-HCI means.
    """
    k = np.clip(np.searchsorted(beat_times, frame_times, side="right") - 1, 0, len(beat_times) - 2)
    phase = (frame_times - beat_times[k]) / (beat_times[k + 1] - beat_times[k])
    return np.cos(2 * np.pi * np.clip(phase, 0, 1)).astype(np.float32)
