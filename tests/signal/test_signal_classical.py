"""GREEN, CHROM and POS on mean-RGB traces built from the skin-reflection model CHROM and POS rest on.

C(t) = I(t) * (skin_tone * (1 + a * p(t) * pbv) + specular(t)) + sensor noise: the pulse p(t) changes the colour
along the blood-volume direction `pbv` (strongest in green) with a ~0.4 % amplitude; I(t) is the light
intensity (drift, plus in-band flicker for "motion"), specular(t) a white reflection of varying strength.
"""

import numpy as np
import pytest

from edgerppg.errors import EdgeRPPGError
from edgerppg.signal.classical import METHODS
from edgerppg.signal.hr import heart_rate
from edgerppg.signal.rgb import mean_rgb

SKIN = np.array([0.72, 0.52, 0.40])
PBV = np.array([0.33, 0.77, 0.53])  # blood-volume pulse signature (Wang 2017, Table 1 order of magnitude)
RATES = (52.0, 68.5, 83.0, 101.5, 126.0, 144.0)


def _band_noise(rng, n, fps, lo=0.5, hi=4.0):
    from scipy.signal import butter, sosfiltfilt

    x = sosfiltfilt(butter(2, [lo, hi], "bandpass", fs=fps, output="sos"), rng.standard_normal(n))
    return x / x.std()


def rgb_trace(bpm, fps=30.0, seconds=20.0, motion=0.0, specular=0.0, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * fps)
    t = np.arange(n) / fps
    phase = 2 * np.pi * bpm / 60.0 * t
    p = np.sin(phase) + 0.5 * np.sin(2 * phase - 0.8)
    p /= p.std()
    intensity = 1 + 0.05 * np.sin(2 * np.pi * 0.05 * t + 1) + motion * _band_noise(rng, n, fps)
    spec = 0.05 + specular * _band_noise(rng, n, fps)
    colour = SKIN * (1 + 0.004 * p[:, None] * PBV / PBV.max()) + spec[:, None]
    return 200.0 * intensity[:, None] * colour + noise * rng.standard_normal((n, 3))


@pytest.mark.parametrize("name", METHODS.names())
@pytest.mark.parametrize("seed,bpm", list(enumerate(RATES)))
def test_method_recovers_rate_under_still_light(name, seed, bpm):
    rgb = rgb_trace(bpm, seed=seed)
    pulse = METHODS.get(name)(rgb, 30.0)
    assert pulse.shape == (rgb.shape[0],) and np.all(np.isfinite(pulse))
    assert abs(heart_rate(pulse, 30.0) - bpm) < 1.0


@pytest.mark.parametrize("name", ["chrom", "pos"])
def test_chrominance_methods_cancel_intensity_and_specular_noise(name):
    errs = [abs(heart_rate(METHODS.get(name)(rgb_trace(b, motion=0.02, specular=0.008, seed=s), 30.0), 30.0) - b)
            for s, b in enumerate(RATES)]
    assert max(errs) < 1.0, errs


def test_green_fails_where_chrominance_succeeds():
    """The reason CHROM and POS exist: in-band intensity changes swamp the green channel."""
    errs = [abs(heart_rate(METHODS.get("green")(rgb_trace(b, motion=0.02, specular=0.008, seed=s), 30.0), 30.0) - b)
            for s, b in enumerate(RATES)]
    assert np.mean(errs) > 5.0, errs


@pytest.mark.parametrize("name", METHODS.names())
def test_method_is_scale_invariant_and_rejects_bad_shapes(name):
    rgb = rgb_trace(75.0, seconds=12)
    f = METHODS.get(name)
    assert abs(heart_rate(f(rgb * 0.3, 25.0), 25.0) - heart_rate(f(rgb, 25.0), 25.0)) < 0.2
    with pytest.raises(EdgeRPPGError):
        f(rgb[:, :2], 30.0)


def test_mean_rgb_with_and_without_masks():
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    frames[:, :2] = (200, 100, 50)  # skin on the top half
    frames[:, 2:] = (0, 0, 255)  # background
    assert np.allclose(mean_rgb(frames)[0], [100, 50, 152.5])
    masks = np.zeros((3, 2, 2), np.float32)  # half-size masks are resized
    masks[0, 0] = masks[2, 0] = 1.0  # frame 1 has no skin: filled from its neighbours
    out = mean_rgb(frames, masks)
    assert out.shape == (3, 3) and np.allclose(out, [200, 100, 50])
    assert np.allclose(mean_rgb(frames, np.zeros((3, 4, 4))), mean_rgb(frames))
    with pytest.raises(EdgeRPPGError):
        mean_rgb(frames[0])
    with pytest.raises(EdgeRPPGError):
        mean_rgb(frames, masks[:2])
