"""Heart rate of one video file (no ground truth): the `edgerppg hr FILE` result."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgerppg.data.recording import Recording
from edgerppg.data.video import video_info
from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.evaluate import measure
from edgerppg.predict.predictors import Predictor
from edgerppg.signal.filters import DEFAULT_BAND, check_band


def video_hr(path, predictor: Predictor, crop: str = "auto", window: float = 10.0, step: float | None = None,
             band=DEFAULT_BAND, method: str = "welch") -> dict:
    """HR of one video file (no ground truth): the `hr` command's result, plus the pulse for plotting.

    `crop="auto"` runs the Haar face detector (a video file is taken to be a real camera recording).
    """
    path = Path(path)
    if not path.is_file():
        raise EdgeRPPGError(f"{path}: no such video file; check the path")
    info = video_info(path)
    fps = float(info["fps"])
    rec = Recording(subject=path.stem, group="video", video_path=path, fps=fps, bvp=np.zeros(0), hr_bpm=None,
                    codec="unknown", bitrate=None, crop="haar" if crop == "auto" else crop, meta={})
    pulse, pulse_fps = predictor.predict(rec)
    result = measure(pulse, pulse_fps, window, step, band, method)
    return {"video": str(path), "method": predictor.name, "hr_method": method, "fps": fps,
            "frames": int(info["frames"]), "band": list(check_band(pulse_fps, band)), "window": float(window),
            **result, "pulse": np.asarray(pulse, dtype=np.float64), "pulse_fps": float(pulse_fps)}

