"""The synthetic pulse: physiological range and ground-truth HR recoverable from the sampled BVP."""

import numpy as np
import pytest
from scipy.signal import find_peaks

from edgerppg.data.pulse import HR_RANGE, make_pulse


@pytest.mark.parametrize("seed", range(6))
def test_mean_hr_recomputed_from_bvp_peaks(seed):
    fps = 30.0
    p = make_pulse(np.random.default_rng(seed), seconds=20.0, fps=fps)
    assert p.bvp.shape == p.hr.shape == (600,)
    assert HR_RANGE[0] <= p.mean_hr_bpm <= HR_RANGE[1]
    peaks, _ = find_peaks(p.bvp, distance=int(fps * 60 / 180), prominence=0.3)
    recomputed = 60.0 / (np.mean(np.diff(peaks)) / fps)
    assert abs(recomputed - p.mean_hr_bpm) < 1.0


def test_same_seed_same_pulse_and_variability():
    a = make_pulse(np.random.default_rng(3), 10.0, 30.0)
    b = make_pulse(np.random.default_rng(3), 10.0, 30.0)
    np.testing.assert_array_equal(a.bvp, b.bvp)
    ibi = np.diff(a.beats)
    assert ibi.std() > 0  # beat-to-beat variability, not a pure sinusoid
