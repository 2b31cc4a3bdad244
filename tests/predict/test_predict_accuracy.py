"""predict: evaluate() on recordings with known pulses, ModelPredictor's clip overlap-add, predictors."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from edgerppg.predict import evaluate as ev
from edgerppg.predict import predictors
from edgerppg.errors import EdgeRPPGError
from edgerppg.signal.metrics import METRIC_KEYS
from edgerppg.spec import ClipSpec


def beat(bpm, seconds, fps, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * fps))) / fps
    phase = 2 * np.pi * bpm / 60.0 * t
    return np.sin(phase) + 0.4 * np.sin(2 * phase + 0.5) + noise * rng.standard_normal(t.size)


@dataclass
class FakeRecording:
    """The fields of data.Recording that evaluate() reads."""

    subject: str
    group: str
    fps: float
    bvp: np.ndarray
    hr_bpm: float | None = None
    video_path: Path = Path("fake.avi")
    crop: str = "full"
    meta: dict = field(default_factory=dict)


class ShiftPredictor:
    """Predicts the ground-truth pulse with its rate scaled by `factor`, resampled to `fps`."""

    def __init__(self, factor=1.0, fps=None, name="shift"):
        self.factor, self.fps, self.name = factor, fps, name

    def predict(self, rec):
        fps = self.fps or rec.fps
        return beat(rec.hr_bpm * self.factor, len(rec.bvp) / rec.fps, fps), fps


def recordings(groups=("raw", "x264-250k"), rates=(60.0, 75.0, 90.0), seconds=30.0, fps=30.0):
    return [FakeRecording(f"subject{i:02d}", g, fps, beat(bpm, seconds, fps, seed=i), hr_bpm=bpm)
            for g in groups for i, bpm in enumerate(rates)]


def test_perfect_predictor_scores_near_zero_with_all_fields():
    res = ev.evaluate(recordings(), ShiftPredictor(), window=10.0)
    assert res["band"] == [0.7, 3.0] and res["window"] == 10.0 and res["step"] == 10.0 and res["method"] == "welch"
    assert len(res["windows"]) == 6 * 3 and len(res["subjects"]) == 6
    assert set(res["groups"]) == {"raw", "x264-250k"}
    for part in ("window", "subject"):
        m = res["overall"][part]
        assert set(m) == set(METRIC_KEYS)
        assert m["mae"] < 0.3 and m["within5"] == 100.0 and m["r"] > 0.99
    assert res["overall"]["window"]["n"] == 18 and res["groups"]["raw"]["subject"]["n"] == 3
    row = res["subjects"][0]
    assert row["hr_reference"] == 60.0 and abs(row["hr_true"] - 60.0) < 0.3 and row["windows"] == 3
    json.dumps(res)  # numbers stay numbers: plain JSON without a custom encoder


def test_rate_error_is_measured_per_window_and_other_fps():
    res = ev.evaluate(recordings(groups=("raw",)), ShiftPredictor(factor=1.07, fps=25.0), window=10.0, step=5.0)
    m = res["overall"]["window"]
    assert len(res["windows"]) == 3 * 5  # (30 - 10) / 5 + 1 windows per recording
    assert m["mae"] == pytest.approx(5.25, abs=0.4)  # 7 % of 60, 75, 90 bpm: 4.2, 5.25, 6.3
    assert m["mape"] == pytest.approx(7.0, abs=0.5) and m["within5"] == pytest.approx(100 / 3, abs=0.1)
    assert all(w["error"] > 0 for w in res["windows"])


def test_method_and_band_are_used_and_recorded():
    res = ev.evaluate(recordings(groups=("raw",), rates=(150.0,)), ShiftPredictor(), band=(0.7, 2.0),
                            method="fft")
    assert res["band"] == [0.7, 2.0] and res["method"] == "fft"
    assert res["subjects"][0]["hr_true"] <= 120.0  # 150 bpm lies outside the band


def test_evaluate_errors_are_one_line():
    with pytest.raises(EdgeRPPGError):
        ev.evaluate([], ShiftPredictor())
    rec = recordings(groups=("raw",))[0]
    rec.bvp = np.array([])
    with pytest.raises(EdgeRPPGError, match="fake.avi"):
        ev.evaluate([rec], ShiftPredictor())


def test_accuracy_table_rows_per_predictor_and_group():
    table = ev.accuracy_table(recordings(), [ShiftPredictor(name="a"), ShiftPredictor(1.2, name="b")])
    floor = table["floor"]["predictor"]
    assert floor.startswith("constant ") and floor.endswith("(eval-set median)")
    assert [(r["predictor"], r["group"]) for r in table["rows"]] == [
        ("a", "raw"), ("a", "x264-250k"), ("b", "raw"), ("b", "x264-250k"), (floor, "raw"), (floor, "x264-250k")]
    assert table["rows"][0]["mae"] < 0.5 < 10 < table["rows"][2]["mae"]


def test_measure_windows_and_snr():
    out = ev.measure(beat(72.0, 25.0, 30.0, noise=0.2), 30.0, window=10.0, step=5.0)
    assert abs(out["hr_bpm"] - 72.0) < 0.5 and out["snr_db"] > 0
    assert [w["start_s"] for w in out["windows"]] == [0.0, 5.0, 10.0, 15.0]
    assert all(abs(w["hr_bpm"] - 72.0) < 1.0 for w in out["windows"])


# ---------------------------------------------------------------------------------------- ModelPredictor
def _video_with_pulse(bpm, n, size, fps):
    """Frames whose mean green follows a pulse: a model that averages green recovers it exactly."""
    p = beat(bpm, n / fps, fps)
    frames = np.full((n, size, size, 3), 128, np.uint8)
    frames[..., 1] = np.clip(128 + 40 * p, 0, 255).astype(np.uint8)[:, None, None]
    return frames


def green_model(calls):
    def infer(x):
        assert x.dtype == np.float32 and x.ndim == 5 and x.shape[1] == 3 and 0 <= x.min() <= x.max() <= 1
        calls.append(x.shape)
        return x[:, 1].mean(axis=(2, 3))

    return infer


@pytest.mark.parametrize("n", [64, 150, 301])
def test_model_predictor_overlap_adds_clips(n):
    calls = []
    spec = ClipSpec(frames=32, height=16, width=16, fps=30.0)
    pred = predictors.ModelPredictor(green_model(calls), spec, "green-model")
    frames = _video_with_pulse(84.0, n, 16, 30.0)
    pulse, fps = pred.pulse(frames, 30.0)
    assert fps == 30.0 and pulse.shape == (n,)
    clips = sum(c[0] for c in calls)
    assert clips == len(set(list(range(0, n - 32 + 1, 16)) + [n - 32]))  # half overlap, last clip at the end
    assert max(c[0] for c in calls) <= predictors.BATCH
    truth = beat(84.0, n / 30.0, 30.0)
    assert np.corrcoef(pulse, truth)[0, 1] > 0.95  # clips are z-scored on their own, so not exact


def test_model_predictor_resamples_and_checks_sizes():
    spec = ClipSpec(frames=32, height=16, width=16, fps=30.0)
    pred = predictors.ModelPredictor(green_model([]), spec, "m")
    pulse, fps = pred.pulse(_video_with_pulse(90.0, 300, 16, 25.0), 25.0)
    assert fps == 30.0 and pulse.shape == (360,)
    assert abs(ev.measure(pulse, fps)["hr_bpm"] - 90.0) < 1.0
    with pytest.raises(EdgeRPPGError, match="shorter than one 32-frame"):
        pred.pulse(_video_with_pulse(90.0, 20, 16, 30.0), 30.0)
    with pytest.raises(EdgeRPPGError, match="crops"):
        pred.pulse(_video_with_pulse(90.0, 64, 24, 30.0), 30.0)
    bad = predictors.ModelPredictor(lambda x: np.zeros((1, 5)), spec, "bad")
    with pytest.raises(EdgeRPPGError, match="returned shape"):
        bad.pulse(_video_with_pulse(90.0, 64, 16, 30.0), 30.0)


def test_classical_predictor_rejects_unknown_names():
    with pytest.raises(EdgeRPPGError, match="choose one of"):
        predictors.ClassicalPredictor("ica")
    with pytest.raises(EdgeRPPGError, match="crop"):
        predictors.ClassicalPredictor("pos", crop="eyes")
