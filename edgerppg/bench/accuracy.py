"""Heart-rate accuracy of a pulse predictor over recordings: per-window and per-subject errors, grouped.

A predictor has `.name` and `.predict(recording) -> (pulse (N,), fps)`. Two kinds exist:
- `ClassicalPredictor("pos" | "chrom" | "green")`: face crop -> skin-masked mean RGB -> a method of
  `signal.classical.METHODS` (Wang 2017, de Haan 2013, Verkruysse 2008).
- `ModelPredictor(infer, spec, name)`: the clip pipeline shared with training (`data.clips.prepare_frames`),
  T-frame clips with half overlap, `infer` on batches, each clip z-scored and overlap-added with a Hann window.
  This module never imports torch: training wraps a module in `infer`, the runtime wraps a backend.

HR is measured the same way on the prediction and on the ground-truth pulse (same windows in seconds, same
band and estimator), as in the rPPG literature; the result records the band, window, step and method.
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol, TypedDict

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.signal.filters import DEFAULT_BAND, check_band
from edgerppg.signal.hr import heart_rate, snr, window_starts
from edgerppg.signal.metrics import hr_metrics

#: crop choices of `ClassicalPredictor`; "auto" takes the recording's own (`Recording.crop`)
CROPS: tuple[str, ...] = ("auto", "haar", "full", "center")
#: side of the face crop the classical methods average over (the models' input size)
CROP_SIZE = 128
#: clips per `infer` call in `ModelPredictor`
BATCH = 4


class Predictor(Protocol):
    name: str

    def predict(self, recording) -> tuple[np.ndarray, float]: ...


class WindowRow(TypedDict):
    predictor: str
    subject: str
    group: str
    start_s: float
    end_s: float
    hr_pred: float
    hr_true: float
    error: float
    snr_db: float


class SubjectRow(TypedDict):
    predictor: str
    subject: str
    group: str
    seconds: float
    hr_pred: float
    hr_true: float
    hr_reference: float | None  # the dataset's own mean HR (manifest / HR line), when it has one
    error: float
    snr_db: float
    windows: int


class GroupMetrics(TypedDict):
    window: dict  # hr_metrics over windows
    subject: dict  # hr_metrics over recordings (whole-recording HR)


def _source(recording) -> str:
    return str(getattr(recording, "video_path", getattr(recording, "subject", "recording")))


# ----------------------------------------------------------------------------------------------- predictors
class ClassicalPredictor:
    """GREEN / CHROM / POS on the skin-masked mean RGB of the face crop, at the video's own frame rate."""

    def __init__(self, method: str, crop: str = "auto"):
        from edgerppg.signal.classical import METHODS

        if crop not in CROPS:
            raise EdgeRPPGError(f"unknown crop {crop!r}; choose one of: {', '.join(CROPS)}")
        self.method = method
        self.crop = crop
        self._fn = METHODS.get(method)
        self.name = method if crop == "auto" else f"{method}[{crop}]"

    def crop_frames(self, frames: np.ndarray, crop: str, source: str = "video") -> np.ndarray:
        """Face crops (N, 128, 128, 3) of raw frames; "full" keeps square frames that are already a face crop."""
        if crop == "full" and frames.shape[1] == frames.shape[2]:
            return frames
        return _crop(frames, crop, CROP_SIZE, source)

    def features(self, crops: np.ndarray) -> np.ndarray:
        """Skin-masked mean RGB (N, 3) of face crops: the per-frame sample the methods work on."""
        from edgerppg.data.skin import skin_masks
        from edgerppg.signal.rgb import mean_rgb

        return mean_rgb(crops, skin_masks(crops))

    def pulse(self, features: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
        return self._fn(features, fps), float(fps)

    def predict(self, recording) -> tuple[np.ndarray, float]:
        crop = recording.crop if self.crop == "auto" else self.crop
        crops = self.crop_frames(recording.read_frames(), crop, _source(recording))
        return self.pulse(self.features(crops), float(recording.fps))


class ModelPredictor:
    """A pulse model behind `infer(float32 (B, 3, T, H, W) in [0, 1]) -> (B, T)`, applied to whole recordings."""

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray], spec, name: str):
        self.infer = infer
        self.spec = spec
        self.name = name

    def crop_frames(self, frames: np.ndarray, crop: str, source: str = "video") -> np.ndarray:
        """Face crops at the model's input size (the live path; whole recordings go through prepare_frames)."""
        return _crop(frames, "haar" if crop == "auto" else crop, int(self.spec.height), source)

    def features(self, crops: np.ndarray) -> np.ndarray:
        return crops

    def pulse(self, frames: np.ndarray, fps: float, source: str = "frames") -> tuple[np.ndarray, float]:
        """Pulse at spec.fps from face crops (N, H, W, 3) uint8 at `fps` (resampled to spec.fps when they differ)."""
        spec = self.spec
        frames = _resample_frames(np.asarray(frames), float(fps), float(spec.fps))
        n, t = frames.shape[0], int(spec.frames)
        if n < t:
            raise EdgeRPPGError(
                f"{source}: {n} frames at {spec.fps} fps is shorter than one {t}-frame model clip; use a longer video")
        if frames.shape[1:3] != (spec.height, spec.width):
            raise EdgeRPPGError(f"{source}: crops are {frames.shape[1:3]}, the model needs {(spec.height, spec.width)}")
        return _overlap_add(self.infer, frames, t, source), float(spec.fps)

    def predict(self, recording) -> tuple[np.ndarray, float]:
        from edgerppg.data.clips import prepare_frames

        frames, _ = prepare_frames(recording, self.spec)
        return self.pulse(frames, float(self.spec.fps), _source(recording))


def _crop(frames: np.ndarray, crop: str, size: int, source: str) -> np.ndarray:
    from edgerppg.data.face import crop_faces

    return crop_faces(frames, size=size, method=crop, source=source)


def _resample_frames(frames: np.ndarray, fps: float, target: float) -> np.ndarray:
    """Nearest-frame resampling in time (what prepare_frames does for whole recordings)."""
    if abs(fps - target) < 1e-6:
        return frames
    count = int(np.floor(frames.shape[0] * target / fps))
    idx = np.minimum(np.round(np.arange(count) * fps / target).astype(int), frames.shape[0] - 1)
    return frames[idx]


def _overlap_add(infer, frames: np.ndarray, t: int, source: str) -> np.ndarray:
    """Half-overlapping T-frame clips -> infer in batches -> z-score each -> Hann overlap-add."""
    n = frames.shape[0]
    starts = list(range(0, n - t + 1, max(1, t // 2)))
    if starts[-1] != n - t:
        starts.append(n - t)
    hann = np.hanning(t + 2)[1:-1]
    out, weight = np.zeros(n), np.zeros(n)
    for i in range(0, len(starts), BATCH):
        batch = starts[i : i + BATCH]
        clips = np.stack([frames[a : a + t] for a in batch]).astype(np.float32) / 255.0
        pred = np.asarray(infer(np.ascontiguousarray(clips.transpose(0, 4, 1, 2, 3))), dtype=np.float64)
        if pred.shape != (len(batch), t):
            raise EdgeRPPGError(f"{source}: the model returned shape {pred.shape}, expected {(len(batch), t)}")
        pred = (pred - pred.mean(axis=1, keepdims=True)) / (pred.std(axis=1, keepdims=True) + 1e-8)
        for a, p in zip(batch, pred):
            out[a : a + t] += hann * p
            weight[a : a + t] += hann
    return out / np.maximum(weight, 1e-8)


# ----------------------------------------------------------------------------------------------- evaluation
def _slice(x: np.ndarray, fps: float, start: float, end: float) -> np.ndarray:
    return x[int(round(start * fps)) : min(x.size, int(round(end * fps)))]


def measure(pulse, fps: float, window: float = 10.0, step: float | None = None, band=DEFAULT_BAND,
            method: str = "welch") -> dict:
    """HR of one pulse signal: whole-signal HR and SNR plus per-window HR (the `hr` command's result)."""
    pulse = np.asarray(pulse, dtype=np.float64)
    step = window if step is None else step
    duration = pulse.size / float(fps)
    hr = heart_rate(pulse, fps, band, method)
    windows = []
    for start in window_starts(duration, window, step):
        end = min(duration, start + window)
        seg = _slice(pulse, fps, start, end)
        windows.append({"start_s": float(start), "end_s": float(end), "hr_bpm": heart_rate(seg, fps, band, method)})
    return {"hr_bpm": hr, "snr_db": snr(pulse, fps, hr, band), "seconds": duration, "windows": windows}


def _evaluate_one(recording, predictor: Predictor, window, step, band, method):
    src = _source(recording)
    bvp = getattr(recording, "bvp", None)
    if bvp is None or np.size(bvp) == 0:
        raise EdgeRPPGError(f"{src}: recording has no ground-truth pulse; evaluate on a dataset with ground truth")
    bvp = np.asarray(bvp, dtype=np.float64)
    pulse, fps = predictor.predict(recording)
    pulse = np.asarray(pulse, dtype=np.float64)
    gt_fps = float(recording.fps)
    duration = min(pulse.size / fps, bvp.size / gt_fps)
    key = {"predictor": predictor.name, "subject": str(recording.subject), "group": str(recording.group)}
    rows: list[WindowRow] = []
    for start in window_starts(duration, window, step):
        end = min(duration, start + window)
        seg = _slice(pulse, fps, start, end)
        pred = heart_rate(seg, fps, band, method)
        true = heart_rate(_slice(bvp, gt_fps, start, end), gt_fps, band, method)
        rows.append(WindowRow(**key, start_s=float(start), end_s=float(end), hr_pred=pred, hr_true=true,
                              error=pred - true, snr_db=snr(seg, fps, true, band)))
    whole = _slice(pulse, fps, 0.0, duration)
    pred = heart_rate(whole, fps, band, method)
    true = heart_rate(_slice(bvp, gt_fps, 0.0, duration), gt_fps, band, method)
    ref = getattr(recording, "hr_bpm", None)
    subject = SubjectRow(**key, seconds=float(duration), hr_pred=pred, hr_true=true,
                         hr_reference=None if ref is None else float(ref), error=pred - true,
                         snr_db=snr(whole, fps, true, band), windows=len(rows))
    return rows, subject


def _group_metrics(windows: list[WindowRow], subjects: list[SubjectRow]) -> GroupMetrics:
    return GroupMetrics(
        window=hr_metrics([w["hr_pred"] for w in windows], [w["hr_true"] for w in windows]),
        subject=hr_metrics([s["hr_pred"] for s in subjects], [s["hr_true"] for s in subjects]),
    )


def evaluate(recordings: Iterable, predictor: Predictor, window: float = 10.0, step: float | None = None,
             band=DEFAULT_BAND, method: str = "welch") -> dict:
    """Per-window and per-subject HR errors of `predictor` on `recordings`, with metrics per group and overall.

    Windows are `window` s long every `step` s (default: `window`, i.e. non-overlapping); a recording shorter
    than one window is one window. Returns plain JSON-ready data: {"predictor", "band", "window", "step",
    "method", "windows": [WindowRow], "subjects": [SubjectRow], "groups": {group: GroupMetrics},
    "overall": GroupMetrics}.
    """
    from edgerppg.progress import track

    recordings = list(recordings)
    if not recordings:
        raise EdgeRPPGError("no recordings to evaluate; point --data at a dataset directory")
    step = float(window if step is None else step)
    band = check_band(min(float(r.fps) for r in recordings), band)
    windows: list[WindowRow] = []
    subjects: list[SubjectRow] = []
    for rec in track(recordings, f"HR {predictor.name}"):
        rows, subject = _evaluate_one(rec, predictor, float(window), step, band, method)
        windows.extend(rows)
        subjects.append(subject)
    groups = {}
    for g in dict.fromkeys(s["group"] for s in subjects):
        groups[g] = _group_metrics([w for w in windows if w["group"] == g], [s for s in subjects if s["group"] == g])
    return {"predictor": predictor.name, "band": list(band), "window": float(window), "step": step,
            "method": method, "windows": windows, "subjects": subjects, "groups": groups,
            "overall": _group_metrics(windows, subjects)}


def accuracy_table(recordings: Iterable, predictors: Iterable[Predictor], window: float = 10.0,
                   step: float | None = None, band=DEFAULT_BAND, method: str = "welch") -> dict:
    """`evaluate` every predictor on the same recordings; "rows" is one row per predictor x group with the
    window-level metrics (the `eval` command's table), "results" the full `evaluate` outputs."""
    recordings = list(recordings)
    results = [evaluate(recordings, p, window, step, band, method) for p in predictors]
    rows = []
    for res in results:
        for group, m in res["groups"].items():
            rows.append({"predictor": res["predictor"], "group": group, **m["window"],
                         "subject_mae": m["subject"]["mae"], "subjects": m["subject"]["n"]})
    step = float(window if step is None else step)
    return {"band": list(check_band(min(float(r.fps) for r in recordings), band)), "window": float(window),
            "step": step, "method": method, "rows": rows, "results": results}


# ----------------------------------------------------------------------------------------------- one video
def video_hr(path, predictor: Predictor, crop: str = "auto", window: float = 10.0, step: float | None = None,
             band=DEFAULT_BAND, method: str = "welch") -> dict:
    """HR of one video file (no ground truth): the `hr` command's result, plus the pulse for plotting.

    `crop="auto"` runs the Haar face detector (a video file is taken to be a real camera recording).
    """
    from pathlib import Path

    from edgerppg.data import Recording
    from edgerppg.data.video import video_info

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


# ----------------------------------------------------------------------------------------------- live source
def live_hr(frames: Iterable[np.ndarray], fps: float, predictor, crop: str = "haar", window: float = 10.0,
            refresh: float = 1.0, band=DEFAULT_BAND, method: str = "welch", min_seconds: float = 4.0):
    """Sliding-window HR over a stream of RGB frames (camera or growing file), one update every `refresh` s.

    Each frame is face-cropped and reduced to the predictor's feature (mean RGB, or the crop for a model) as it
    arrives; every `refresh` s of video the last `window` s are turned into a pulse and an HR. Yields dicts
    {"t_s", "hr_bpm", "snr_db", "window_s", "frames", "fps_processing"}. A frame where no face is found
    repeats the previous feature; a whole window without a face is an error.
    """
    import time
    from collections import deque

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
    import time
    from pathlib import Path

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
