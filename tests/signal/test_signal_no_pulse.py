"""No pulse is an answer: a flat or peakless spectrum gives no HR (`hr` exits 3), and eval counts such windows."""

import json

import numpy as np
import pytest
from cli_runner import run

from edgerppg.signal.hr import heart_rate, no_pulse_reason

FPS = 30.0


def test_flat_signal_has_no_pulse():
    assert "flat" in no_pulse_reason(np.zeros(300), FPS, 42.0)
    assert "flat" in no_pulse_reason(np.full(300, 3.5), FPS, 42.0)


def test_a_pulse_is_credible_and_noise_often_is_not():
    """The limits are conservative (set below every correct window of the calibration, benchmarks/no_pulse.py):
    a noisy pulse always passes, white noise is caught in a good share of windows, not all."""
    t = np.arange(600) / FPS
    caught = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        pulse = np.sin(2 * np.pi * rng.uniform(50, 140) / 60 * t) + 0.5 * rng.normal(size=t.size)
        assert no_pulse_reason(pulse, FPS, heart_rate(pulse, FPS)) is None
        noise = rng.normal(size=t.size)
        reason = no_pulse_reason(noise, FPS, heart_rate(noise, FPS))
        caught += reason is not None
        assert reason is None or "no credible spectral peak" in reason
    assert caught >= 5


@pytest.fixture(scope="module")
def grey_video(tmp_path_factory):
    import cv2

    path = tmp_path_factory.mktemp("grey") / "grey.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 64))
    for _ in range(360):
        writer.write(np.full((64, 64, 3), 128, np.uint8))
    writer.release()
    return path


def test_hr_on_a_grey_video_says_no_pulse_and_exits_3(capsys, grey_video):
    code, out, _ = run(capsys, "hr", grey_video, "--crop", "full", "--json")
    res = json.loads(out)
    assert code == 3 and res["hr_bpm"] is None and "flat" in res["no_pulse"]
    assert all(w["hr_bpm"] is None for w in res["windows"])
    code, out, err = run(capsys, "hr", grey_video, "--crop", "full")
    assert code == 3 and "no credible pulse" in err and str(grey_video) in " ".join(err.split())
    assert "Traceback" not in err


def test_eval_counts_windows_without_a_pulse(tmp_path):
    from edgerppg.data import load_dataset
    from edgerppg.data.synth import synthesize
    from edgerppg.predict.evaluate import accuracy_table
    from edgerppg.predict.predictors import ClassicalPredictor

    synthesize(tmp_path / "d", subjects=2, seconds=10, size=64, codecs=["raw"], seed=4)
    table = accuracy_table(load_dataset(tmp_path / "d"), [ClassicalPredictor("pos")], window=5.0)
    windows = table["results"][0]["windows"]
    assert table["rows"][0]["no_pulse"] == sum(w["no_pulse"] for w in windows)
    credible = [w for w in windows if not w["no_pulse"]]
    assert credible and all(abs(w["error"]) < 10 for w in credible)
