"""The constant-guess floor and the subject-bootstrap MAE interval every accuracy table carries."""

import numpy as np
import pytest

from edgerppg.errors import EdgeRPPGError
from edgerppg.predict import evaluate as ev
from edgerppg.signal.metrics import cluster_mean_interval, mae_interval
from test_predict_accuracy import ShiftPredictor, recordings


def test_truth_median_is_the_median_window_hr_of_the_ground_truth():
    assert ev.truth_median(recordings(rates=(60.0, 66.0, 90.0))) == pytest.approx(66.0, abs=0.3)
    with pytest.raises(EdgeRPPGError, match="no recordings"):
        ev.truth_median([])


def test_constant_guess_scores_the_guess_against_the_same_windows():
    ref = ev.evaluate(recordings(rates=(60.0, 75.0, 90.0)), ShiftPredictor(), window=10.0)
    floor = ev.constant_guess(ref, 80.0, "train median")
    assert floor["predictor"] == "constant (train median)" and floor["guess_bpm"] == 80.0
    assert len(floor["windows"]) == len(ref["windows"]) and all(w["hr_pred"] == 80.0 for w in floor["windows"])
    expected = np.mean([abs(80.0 - w["hr_true"]) for w in ref["windows"]])
    assert floor["overall"]["window"]["mae"] == pytest.approx(expected)  # about (20 + 5 + 10) / 3
    assert floor["overall"]["window"]["mae"] == pytest.approx(35 / 3, abs=0.3)
    assert floor["overall"]["window"]["r"] is None  # a constant has no correlation, not NaN
    # without a training set the evaluated set's own median is used, and the label says so
    own = ev.floor_of(ref)
    assert own["guess_source"] == "eval-set median" and own["guess_bpm"] == pytest.approx(75.0, abs=0.3)
    trained = ev.floor_of(ref, recordings(groups=("raw",), rates=(100.0,)))
    assert trained["guess_source"] == "train median" and trained["guess_bpm"] == pytest.approx(100.0, abs=0.3)


def test_accuracy_table_rows_carry_an_interval_and_end_with_the_floor():
    table = ev.accuracy_table(recordings(), [ShiftPredictor(1.1, name="a")], window=10.0,
                              train_recordings=recordings(groups=("raw",), rates=(70.0,)))
    assert table["floor"]["predictor"] == "constant (train median)"
    names = [(r["predictor"], r["group"]) for r in table["rows"]]
    assert names == [("a", "raw"), ("a", "x264-250k"), ("constant (train median)", "raw"),
                     ("constant (train median)", "x264-250k")]
    for r in table["rows"]:
        assert r["mae_low"] <= r["mae"] <= r["mae_high"] and r["subject_mae_low"] <= r["subject_mae"]
        assert r["subject_mae"] <= r["subject_mae_high"]
    # a rate error proportional to HR differs by subject (6, 7.5, 9 bpm): the interval has width
    assert table["rows"][0]["mae_high"] - table["rows"][0]["mae_low"] > 1.0
    again = ev.accuracy_table(recordings(), [ShiftPredictor(1.1, name="a")], window=10.0,
                              train_recordings=recordings(groups=("raw",), rates=(70.0,)))
    assert again["rows"] == table["rows"]  # seeded: the same interval every time


def test_mae_interval_resamples_subjects():
    rows = [{"subject": s, "error": e} for s, e in [("s1", 1.0), ("s1", -1.0), ("s2", 3.0), ("s2", 3.0)]]
    m = mae_interval(rows)
    assert m["mae"] == pytest.approx(2.0) and m["subjects"] == 2
    assert m["mae_low"] == pytest.approx(1.0) and m["mae_high"] == pytest.approx(3.0)  # all-s1 or all-s2 draws
    one = mae_interval(rows[:2])
    assert one["mae_low"] == one["mae_high"] == one["mae"] == 1.0  # one subject: nothing to resample
    assert mae_interval([])["mae"] is None
    with pytest.raises(EdgeRPPGError, match="cluster labels"):
        cluster_mean_interval([1.0, 2.0], ["a"])


def test_one_window_influence_is_the_largest_leave_one_out_change():
    errors = [1.0, -2.0, 3.0, 40.0]
    mae = np.mean(np.abs(errors))
    want = max(abs(mae - np.mean(np.abs(np.delete(errors, i)))) for i in range(len(errors)))
    rows = [{"subject": f"s{i}", "error": e} for i, e in enumerate(errors)]
    assert mae_interval(rows)["one_window"] == pytest.approx(want)
    assert mae_interval(rows[:1])["one_window"] is None
    table = ev.accuracy_table(recordings(), [ShiftPredictor(1.1, name="a")], window=10.0)
    assert all(r["one_window"] is not None and r["one_window"] >= 0 for r in table["rows"])
