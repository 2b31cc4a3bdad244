"""Heart-rate accuracy of a pulse predictor over recordings: per-window and per-subject errors, grouped.

HR is measured the same way on the prediction and on the ground-truth pulse (same windows in seconds, same
band and estimator), as in the rPPG literature; the result records the band, window, step and method.

Every table carries n and a 95% interval for its MAE (`signal.metrics.mae_interval`: subjects resampled, seeded),
and a constant-guess row (`constant_guess`): the error of answering one heart rate everywhere, the median true
HR of the training set (`truth_median`), the floor any model must beat.
"""

from __future__ import annotations

from typing import Iterable, TypedDict

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.predictors import Predictor, source_name
from edgerppg.progress import track
from edgerppg.signal.filters import DEFAULT_BAND, check_band
from edgerppg.signal.hr import heart_rate, no_pulse_reason, snr, window_starts
from edgerppg.signal.metrics import hr_metrics, mae_interval


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
    kbps: float | None  # the rate its encoder reached (synth manifests record it; None where unknown)


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
                         snr_db=snr(whole, fps, true, band), windows=len(rows),
                         kbps=(getattr(recording, "meta", None) or {}).get("kbps"))
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
    return _result(predictor.name, windows, subjects, band, float(window), step, method)


def _result(name: str, windows: list[WindowRow], subjects: list[SubjectRow], band, window: float, step: float,
            method: str) -> dict:
    groups = {}
    for g in dict.fromkeys(s["group"] for s in subjects):
        groups[g] = _group_metrics([w for w in windows if w["group"] == g], [s for s in subjects if s["group"] == g])
    return {"predictor": name, "band": list(band), "window": window, "step": step, "method": method,
            "windows": windows, "subjects": subjects, "groups": groups, "overall": _group_metrics(windows, subjects)}


def truth_median(recordings: Iterable, window: float = 10.0, step: float | None = None, band=DEFAULT_BAND,
                 method: str = "welch") -> float:
    """Median true HR (bpm) over the windows of the recordings' ground-truth pulses, measured as `evaluate`
    measures it: the constant that minimises the MAE on them, i.e. the best guess one can learn from a
    training set without looking at its videos."""
    hrs = []
    for rec in recordings:
        bvp = getattr(rec, "bvp", None)
        bvp = np.zeros(0) if bvp is None else np.asarray(bvp, dtype=np.float64)
        if bvp.size == 0:
            raise EdgeRPPGError(f"{source_name(rec)}: recording has no ground-truth pulse for the constant guess")
        fps = float(rec.fps)
        band_ok = check_band(fps, band)
        duration = bvp.size / fps
        for start in window_starts(duration, window, window if step is None else step):
            seg = _slice(bvp, fps, start, min(duration, start + window))
            hrs.append(heart_rate(seg, fps, band_ok, method))
    if not hrs:
        raise EdgeRPPGError("no recordings to take the constant guess from; point --train-data at a dataset")
    return float(np.median(hrs))


def constant_guess(reference: dict, guess_bpm: float, source: str) -> dict:
    """An `evaluate` result for answering `guess_bpm` everywhere, on the windows and recordings of `reference`
    (another `evaluate` result on the same data: only its true HRs are read). Named "constant (source)";
    also records "guess_bpm" and "guess_source" ("train median": a training set's `truth_median`;
    "eval-set median": the evaluated data's own, which a model could not know, so a slightly harder floor)."""
    name = f"constant ({source})"
    windows = [WindowRow(**{**w, "predictor": name, "hr_pred": guess_bpm, "error": guess_bpm - w["hr_true"],
                            "snr_db": None}) for w in reference["windows"]]
    subjects = [SubjectRow(**{**s, "predictor": name, "hr_pred": guess_bpm, "error": guess_bpm - s["hr_true"],
                              "snr_db": None}) for s in reference["subjects"]]
    out = _result(name, windows, subjects, reference["band"], reference["window"], reference["step"],
                  reference["method"])
    return {**out, "guess_bpm": float(guess_bpm), "guess_source": source}


def floor_of(reference: dict, train_recordings: Iterable | None = None) -> dict:
    """The constant-guess result beside `reference`: the training recordings' median true HR when given, else
    the median true HR of `reference`'s own windows (labelled "eval-set median")."""
    if train_recordings is not None:
        guess = truth_median(train_recordings, reference["window"], reference["step"], tuple(reference["band"]),
                             reference["method"])
        return constant_guess(reference, guess, "train median")
    guess = float(np.median([w["hr_true"] for w in reference["windows"]]))
    return constant_guess(reference, guess, "eval-set median")


def reached_kbps(result: dict, group: str) -> float | None:
    """The mean rate the encoder reached over `group`'s recordings in an `evaluate` result; None where no
    recording of the group says (real datasets, results written before the rate was kept)."""
    rates = [s["kbps"] for s in result.get("subjects") or () if s.get("group") == group and s.get("kbps")]
    return float(np.mean(rates)) if rates else None


def interval_of(result: dict, group: str | None = None, level: str = "window") -> dict:
    """`signal.metrics.mae_interval` of a result's windows (`level="window"`) or recordings (`"subject"`), in
    `group` or over all ("all" or None)."""
    rows = result.get("windows" if level == "window" else "subjects") or []
    return mae_interval(r for r in rows if group in (None, "all") or r["group"] == group)


def accuracy_table(recordings: Iterable, predictors: Iterable[Predictor], window: float = 10.0,
                   step: float | None = None, band=DEFAULT_BAND, method: str = "welch",
                   train_recordings: Iterable | None = None) -> dict:
    """`evaluate` every predictor on the same recordings; "rows" is one row per predictor x group with the
    window-level metrics, their 95% interval ("mae_low", "mae_high"), the most one window moves the MAE
    ("one_window", `signal.metrics.one_window_influence`) and the per-recording MAE with its own
    ("subject_mae_low", "subject_mae_high") (the `eval` command's table) and "no_pulse", how many of its windows
    had no credible pulse (counted in the metrics all the same); "results" the full `evaluate` outputs. The last
    predictor per group is the constant guess (`floor_of`: `train_recordings`' median HR, or the evaluated
    set's); "floor" says which constant."""
    recordings = list(recordings)
    results = [evaluate(recordings, p, window, step, band, method) for p in predictors]
    if results:
        results.append(floor_of(results[0], None if train_recordings is None else list(train_recordings)))
    rows = []
    for res in results:
        for group, m in res["groups"].items():
            w, s = interval_of(res, group), interval_of(res, group, "subject")
            rows.append({"predictor": res["predictor"], "group": group, **m["window"],
                         "subject_mae": m["subject"]["mae"], "subjects": m["subject"]["n"],
                         "mae_low": w["mae_low"], "mae_high": w["mae_high"], "one_window": w["one_window"],
                         "subject_mae_low": s["mae_low"], "subject_mae_high": s["mae_high"],
                         "no_pulse": sum(bool(x.get("no_pulse")) for x in res["windows"] if x["group"] == group),
                         "kbps": reached_kbps(res, group)})
    step = float(window if step is None else step)
    floor = {k: results[-1][k] for k in ("predictor", "guess_bpm", "guess_source")} if results else None
    return {"band": list(check_band(min(float(r.fps) for r in recordings), band)), "window": float(window),
            "step": step, "method": method, "rows": rows, "results": results, "floor": floor}
