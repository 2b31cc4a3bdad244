"""Heart-rate accuracy of a pulse predictor over recordings: per-window and per-subject errors, grouped.

HR is measured the same way on the prediction and on the ground-truth pulse (same windows in seconds, same
band and estimator), as in the rPPG literature; the result records the band, window, step and method.
"""

from __future__ import annotations

from typing import Iterable, TypedDict

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.predictors import Predictor, source_name
from edgerppg.progress import track
from edgerppg.signal.filters import DEFAULT_BAND, check_band
from edgerppg.signal.hr import heart_rate, no_pulse_reason, snr, window_starts
from edgerppg.signal.metrics import hr_metrics


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
    no_pulse: bool  # no credible peak in the predicted pulse (signal.hr.no_pulse_reason); still in the metrics


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


def _slice(x: np.ndarray, fps: float, start: float, end: float) -> np.ndarray:
    return x[int(round(start * fps)) : min(x.size, int(round(end * fps)))]


def measure(pulse, fps: float, window: float = 10.0, step: float | None = None, band=DEFAULT_BAND,
            method: str = "welch") -> dict:
    """HR of one pulse signal: whole-signal HR and SNR plus per-window HR (the `hr` command's result).

    Where the spectrum has no credible peak (`signal.hr.no_pulse_reason`) "hr_bpm" is None and "no_pulse" says
    why; "peak_bpm" keeps the frequency of the largest in-band peak either way."""
    pulse = np.asarray(pulse, dtype=np.float64)
    step = window if step is None else step
    duration = pulse.size / float(fps)
    hr = heart_rate(pulse, fps, band, method)
    windows = []
    for start in window_starts(duration, window, step):
        end = min(duration, start + window)
        seg = _slice(pulse, fps, start, end)
        rate = heart_rate(seg, fps, band, method)
        reason = no_pulse_reason(seg, fps, rate, band, method)
        windows.append({"start_s": float(start), "end_s": float(end), "hr_bpm": None if reason else rate,
                        "peak_bpm": rate, "no_pulse": reason})
    reason = no_pulse_reason(pulse, fps, hr, band, method)
    return {"hr_bpm": None if reason else hr, "peak_bpm": hr, "no_pulse": reason, "snr_db": snr(pulse, fps, hr, band),
            "seconds": duration, "windows": windows}


def _evaluate_one(recording, predictor: Predictor, window, step, band, method):
    src = source_name(recording)
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
                              error=pred - true, snr_db=snr(seg, fps, true, band),
                              no_pulse=no_pulse_reason(seg, fps, pred, band, method) is not None))
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
    window-level metrics (the `eval` command's table) and "no_pulse", how many of its windows had no credible
    pulse (counted in the metrics all the same), "results" the full `evaluate` outputs."""
    recordings = list(recordings)
    results = [evaluate(recordings, p, window, step, band, method) for p in predictors]
    rows = []
    for res in results:
        for group, m in res["groups"].items():
            rows.append({"predictor": res["predictor"], "group": group, **m["window"],
                         "subject_mae": m["subject"]["mae"], "subjects": m["subject"]["n"],
                         "no_pulse": sum(w["no_pulse"] for w in res["windows"] if w["group"] == group)})
    step = float(window if step is None else step)
    return {"band": list(check_band(min(float(r.fps) for r in recordings), band)), "window": float(window),
            "step": step, "method": method, "rows": rows, "results": results}

