"""The HR pipeline's hot paths: POS on mean RGB, Welch HR, sliding-window HR, model overlap-add (30 s at 30 fps)."""

import numpy as np
import pytest

FPS, SECONDS = 30.0, 30


@pytest.fixture(scope="module")
def rgb():
    t = np.arange(int(FPS * SECONDS)) / FPS
    pulse = np.sin(2 * np.pi * 1.2 * t)
    base = np.array([0.6, 0.45, 0.35])
    rng = np.random.default_rng(0)
    return base + 0.003 * pulse[:, None] * np.array([0.3, 0.8, 0.5]) + 0.001 * rng.standard_normal((t.size, 3))


@pytest.mark.parametrize("method", ["pos", "chrom", "green"])
def test_classical_method(benchmark, rgb, method):
    from edgerppg.signal.classical import METHODS

    benchmark(METHODS.get(method), rgb, FPS)


def test_heart_rate_welch(benchmark, rgb):
    from edgerppg.signal.classical import METHODS
    from edgerppg.signal.hr import heart_rate

    pulse = METHODS.get("pos")(rgb, FPS)
    hr = benchmark(heart_rate, pulse, FPS)
    assert 60 < hr < 84  # the 1.2 Hz (72 bpm) pulse is found


def test_sliding_hr(benchmark, rgb):
    from edgerppg.signal.classical import METHODS
    from edgerppg.signal.hr import sliding_hr

    pulse = METHODS.get("pos")(rgb, FPS)
    benchmark(sliding_hr, pulse, FPS)


def test_model_overlap_add(benchmark):
    """ModelPredictor's clip cutting + overlap-add around a trivial infer (the part that is not the model)."""
    from edgerppg.predict.predictors import ModelPredictor
    from edgerppg.spec import ClipSpec

    spec = ClipSpec(frames=64, height=64, width=64)
    frames = np.random.default_rng(0).integers(0, 255, (int(FPS * SECONDS), 64, 64, 3), dtype=np.uint8)
    predictor = ModelPredictor(lambda clips: clips.mean(axis=(1, 3, 4)), spec, "mean")
    benchmark(predictor.pulse, frames, FPS)
