"""HR estimation, filters and metrics against analytic signals with a known rate."""

import numpy as np
import pytest

from edgerppg.errors import EdgeRPPGError
from edgerppg.signal import filters, hr, metrics


def pulse(bpm, fps=30.0, seconds=10.0, harmonic=0.5, noise=0.3, drift=0.5, seed=0):
    """Sine at `bpm` plus its first harmonic, white noise and a linear + slow drift."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * fps))) / fps
    phase = 2 * np.pi * bpm / 60.0 * t
    x = np.sin(phase) + harmonic * np.sin(2 * phase + 1.0)
    return x + noise * rng.standard_normal(t.size) + drift * t + np.sin(2 * np.pi * 0.07 * t)


@pytest.mark.parametrize("method", hr.ESTIMATORS.names())
@pytest.mark.parametrize("bpm", [48.0, 61.3, 72.7, 97.2, 133.4])
def test_heart_rate_recovers_known_rate(method, bpm):
    tol = 1.5 if method == "peaks" else 0.7  # 10 s window: the plain FFT bin would be 6 bpm wide
    assert abs(hr.heart_rate(pulse(bpm, seed=int(bpm)), 30.0, method=method) - bpm) < tol


@pytest.mark.parametrize("fps", [15.0, 25.0, 30.0, 60.0])
def test_heart_rate_uses_the_given_fps(fps):
    x = pulse(80.0, fps=fps, noise=0.1)
    assert abs(hr.heart_rate(x, fps) - 80.0) < 0.5
    # the same samples read at another rate give a proportionally different HR
    assert abs(hr.heart_rate(x, fps * 1.25, band=(0.7, min(4.0, fps * 0.6))) - 100.0) < 1.0


def test_heart_rate_respects_band():
    t = np.arange(300) / 30.0
    x = 3.0 * np.sin(2 * np.pi * 2.5 * t) + np.sin(2 * np.pi * 1.1 * t)  # strong 150 bpm, weaker 66 bpm
    assert abs(hr.heart_rate(x, 30.0) - 150.0) < 1.0
    assert abs(hr.heart_rate(x, 30.0, band=(0.7, 2.0)) - 66.0) < 1.0


def test_sliding_hr_tracks_a_rate_step():
    fps = 30.0
    x = np.concatenate([pulse(60.0, seconds=20, drift=0), pulse(120.0, seconds=20, drift=0, seed=1)])
    centres, rates = hr.sliding_hr(x, fps, window=10.0, step=2.0)
    assert len(centres) == len(rates) == 16  # (40 - 10) / 2 + 1
    assert np.allclose(np.diff(centres), 2.0)
    assert np.all(np.abs(rates[centres < 14] - 60.0) < 1.0)
    assert np.all(np.abs(rates[centres > 26] - 120.0) < 1.0)


def test_sliding_hr_short_signal_gives_one_window():
    centres, rates = hr.sliding_hr(pulse(90.0, seconds=6), 30.0, window=10.0)
    assert centres.shape == (1,) and abs(centres[0] - 3.0) < 0.05
    assert abs(rates[0] - 90.0) < 1.5


def test_snr_falls_with_noise():
    clean = hr.snr(pulse(75.0, noise=0.1), 30.0, 75.0)
    noisy = hr.snr(pulse(75.0, noise=2.0), 30.0, 75.0)
    assert clean > 5.0 > noisy
    assert hr.snr(pulse(75.0, noise=0.1), 30.0, 110.0) < clean - 10  # wrong HR: the power is elsewhere


def test_power_spectrum_peak_and_band():
    freqs, power = hr.power_spectrum(pulse(84.0), 30.0, band=(0.7, 3.0))
    assert freqs.min() >= 0.7 and freqs.max() <= 3.0
    assert np.median(np.diff(freqs)) * 60 <= 0.1  # zero-padded grid finer than 0.1 bpm
    assert abs(freqs[np.argmax(power)] * 60 - 84.0) < 1.0


def test_detrend_removes_slow_trend_keeps_pulse():
    t = np.arange(900) / 30.0
    beat = np.sin(2 * np.pi * 1.2 * t)
    out = filters.detrend(beat + 0.5 * t + 2 * np.sin(2 * np.pi * 0.02 * t))
    core = slice(150, -150)
    assert np.corrcoef(out[core], beat[core])[0, 1] > 0.99
    assert abs(np.std(out[core]) / np.std(beat[core]) - 1) < 0.1


@pytest.mark.parametrize("n", [3, 4, 5, 6, 11, 300])
def test_detrend_solves_the_smoothness_priors_system(n):
    """The banded solve against the system written out densely: (I + lam^2 D2' D2) trend = x."""
    x = np.random.default_rng(n).standard_normal(n) + np.linspace(0, 3, n)
    d2 = np.diff(np.eye(n), 2, axis=0)  # (n-2, n) rows of [1, -2, 1]
    trend = np.linalg.solve(np.eye(n) + 50.0**2 * d2.T @ d2, x)
    np.testing.assert_allclose(filters.detrend(x, lam=50.0), x - trend, rtol=0, atol=1e-9)


def test_bandpass_passes_band_rejects_outside():
    t = np.arange(1800) / 30.0
    core = slice(300, -300)
    for f, lo, hi in [(1.5, 0.9, 1.1), (0.1, 0.0, 0.05), (8.0, 0.0, 0.05)]:
        gain = np.std(filters.bandpass(np.sin(2 * np.pi * f * t), 30.0)[core]) / np.std(np.sin(2 * np.pi * f * t))
        assert lo <= gain <= hi, (f, gain)


@pytest.mark.parametrize(
    "call",
    [
        lambda: hr.heart_rate(np.ones((10, 2)), 30.0),
        lambda: hr.heart_rate(np.r_[np.zeros(300), np.nan], 30.0),
        lambda: hr.heart_rate(np.zeros(20), 30.0),
        lambda: hr.heart_rate(pulse(60), 0.0),
        lambda: hr.heart_rate(pulse(60), 5.0),  # band edge 3 Hz above Nyquist 2.5 Hz
        lambda: hr.heart_rate(pulse(60), 30.0, band=(2.0, 1.0)),
        lambda: hr.heart_rate(pulse(60), 30.0, method="median"),
        lambda: hr.sliding_hr(pulse(60), 30.0, window=0.0),
    ],
)
def test_bad_inputs_raise_one_line_errors(call):
    with pytest.raises(EdgeRPPGError) as info:
        call()
    assert "\n" not in str(info.value)


def test_hr_metrics_known_values():
    m = metrics.hr_metrics([60, 72, 90, 100], [62, 70, 90, 106])
    assert set(m) == set(metrics.METRIC_KEYS)
    err = np.array([-2.0, 2.0, 0.0, -6.0])
    assert m["mae"] == pytest.approx(2.5)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert m["mape"] == pytest.approx(100 * np.mean(np.abs(err) / [62, 70, 90, 106]))
    assert m["within5"] == pytest.approx(75.0)
    assert m["sd"] == pytest.approx(np.std(err, ddof=1))
    assert m["r"] == pytest.approx(np.corrcoef([60, 72, 90, 100], [62, 70, 90, 106])[0, 1])
    assert m["n"] == 4 and isinstance(m["n"], int)


def test_hr_metrics_degenerate_cases_are_none_not_nan():
    one = metrics.hr_metrics([70.0], [75.0])
    assert one["r"] is None and one["mae"] == 5.0 and one["within5"] == 0.0 and one["n"] == 1
    empty = metrics.hr_metrics([], [])
    assert empty["n"] == 0 and empty["mae"] is None
    with pytest.raises(EdgeRPPGError):
        metrics.hr_metrics([1, 2], [1])


def test_welch_in_blocks_equals_one_scipy_call():
    """Long signals go through Welch in blocks of segments (bounded memory); the estimate is scipy's."""
    from scipy.signal import welch

    from edgerppg.signal import hr as hr_mod

    for n in (241, 1800, hr_mod.WELCH_BLOCK * 120 + 240, hr_mod.WELCH_BLOCK * 120 + 360, 20_000):
        x = np.random.default_rng(n).standard_normal(n)
        nfft = hr_mod._nfft(n, 30.0)
        want = welch(x, fs=30.0, window="hann", nperseg=240, noverlap=120, nfft=nfft, detrend=False)
        got = hr_mod._welch_blocks(x, 30.0, 240, nfft)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-12 * want[1].max())
