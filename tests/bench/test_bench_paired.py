"""Paired MAE differences with a subject bootstrap interval (bench.paired)."""

import numpy as np
import pytest

from edgerppg.bench.paired import paired_difference


def windows(errors: dict, group="raw"):
    """{subject: [error per window]} -> WindowRow-like dicts (10 s windows)."""
    return [{"subject": s, "group": group, "start_s": 10.0 * i, "error": e}
            for s, errs in errors.items() for i, e in enumerate(errs)]


def test_a_constant_gap_has_a_zero_width_interval():
    ref = windows({f"s{i}": [1.0, -2.0, 0.5] for i in range(5)})
    worse = windows({f"s{i}": [2.0, -3.0, 1.5] for i in range(5)})  # every |error| 1 bpm larger
    d = paired_difference(worse, ref)
    assert d["delta_mae"] == pytest.approx(1.0) and d["ci_low"] == pytest.approx(1.0) == d["ci_high"]
    assert (d["windows"], d["subjects"]) == (15, 5) and d["mae"] - d["mae_reference"] == pytest.approx(1.0)


def test_one_subjects_harmonic_miss_gives_a_wide_interval_containing_zero():
    ref = windows({f"s{i}": [0.5, 0.5] for i in range(6)})
    errs = {f"s{i}": [0.5, 0.5] for i in range(6)}
    errs["s3"] = [55.0, 0.5]  # one window read at twice the heart rate
    d = paired_difference(windows(errs), ref)
    assert d["delta_mae"] == pytest.approx(54.5 / 12)
    assert d["ci_low"] == pytest.approx(0.0) and d["ci_high"] > 2 * d["delta_mae"]  # resamples without s3 give 0


def test_windows_are_resampled_by_subject_not_one_by_one():
    rng = np.random.default_rng(1)
    ref = windows({f"s{i}": [0.0] * 8 for i in range(8)})
    per_subject = {f"s{i}": [float(rng.normal(0, 5))] * 8 for i in range(8)}  # windows of a subject move together
    d = paired_difference(windows({k: [abs(x) for x in v] for k, v in per_subject.items()}), ref)
    # as if 8 independent values: a window-level bootstrap would pretend to have 64 and give sqrt(8) narrower
    means = [abs(v[0]) for v in per_subject.values()]
    se = np.std(means) / np.sqrt(len(means))
    assert d["ci_high"] - d["ci_low"] > 2.5 * se


def test_only_shared_windows_in_the_group_count_and_none_when_nothing_is_shared():
    ref = windows({"s1": [1.0, 1.0]}) + windows({"s1": [4.0]}, group="x264-250k")
    other = windows({"s1": [2.0]}) + windows({"s1": [1.0]}, group="x264-250k") + windows({"s9": [50.0]})
    raw = paired_difference(other, ref, group="raw")
    assert (raw["windows"], raw["delta_mae"]) == (1, pytest.approx(1.0))
    assert raw["ci_low"] == raw["ci_high"] == raw["delta_mae"]  # one subject: no interval to resample
    assert paired_difference(other, ref)["delta_mae"] == pytest.approx(-1.0)  # (1 - 3) / 2 over both groups
    assert paired_difference(windows({"s2": [1.0]}), ref) is None
