"""Streaming pulses (`predict.stream`): frame-by-frame pushes give the pulse the whole-array path gives."""

import numpy as np
import pytest

from edgerppg.predict.predictors import ClassicalPredictor, ModelPredictor
from edgerppg.predict.stream import ModelStream
from edgerppg.spec import ClipSpec

SPEC = ClipSpec(frames=32, height=16, width=16, fps=30.0)


def _frames(n, fps, bpm=84.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    frames = rng.integers(100, 156, size=(n, 16, 16, 3)).astype(np.uint8)
    frames[..., 1] = np.clip(128 + 40 * np.sin(2 * np.pi * bpm / 60 * t), 0, 255).astype(np.uint8)[:, None, None]
    return frames


def _green(x):
    return x[:, 1].mean(axis=(2, 3)) + 0.01 * x[:, 0].mean(axis=(2, 3))


def _reference(frames, fps_in, spec=SPEC):
    """Independent re-statement of the whole-video path: nearest-frame resampling, half-overlapping clips, each
    z-scored, Hann overlap-add (`data.clips._time_index` and the paper-style overlap-add)."""
    n_in = len(frames)
    count = int(np.floor(n_in * spec.fps / fps_in))
    idx = np.minimum(np.round(np.arange(count) * fps_in / spec.fps).astype(int), n_in - 1)
    f = frames[idx].astype(np.float32) / 255.0
    t, n = spec.frames, count
    starts = list(range(0, n - t + 1, t // 2))
    if starts[-1] != n - t:
        starts.append(n - t)
    hann = np.hanning(t + 2)[1:-1]
    out, weight = np.zeros(n), np.zeros(n)
    for a in starts:
        p = _green(f[a:a + t].transpose(3, 0, 1, 2)[None])[0].astype(np.float64)
        p = (p - p.mean()) / (p.std() + 1e-8)
        out[a:a + t] += hann * p
        weight[a:a + t] += hann
    return out / np.maximum(weight, 1e-8)


@pytest.mark.parametrize("n,fps_in", [(64, 30.0), (301, 30.0), (250, 25.0), (400, 60.0), (100, 45.0), (97, 12.5)])
@pytest.mark.parametrize("background", [False, True])
def test_frame_by_frame_equals_the_whole_video(n, fps_in, background):
    frames = _frames(n, fps_in)
    expected = _reference(frames, fps_in)
    rng = np.random.default_rng(n)
    stream = ModelStream(_green, SPEC, fps_in, background=background)
    i = 0
    while i < n:  # pushes of random sizes, as a face tracker hands crops over
        k = int(rng.integers(0, 5))
        stream.push(list(frames[i:i + k]))
        i += k
    pulse, fps = stream.finish()
    assert fps == SPEC.fps and pulse.shape == expected.shape
    np.testing.assert_allclose(pulse, expected, atol=1e-9)
    whole, _ = ModelPredictor(_green, SPEC, "m").pulse(frames, fps_in)  # the predictor's own path: same stream
    np.testing.assert_allclose(whole, expected, atol=1e-9)


def test_live_window_keeps_bounded_history_and_matches_the_whole_pulse():
    frames = _frames(900, 30.0)
    stream = ModelStream(_green, SPEC, 30.0, keep=5.0)
    for f in frames:
        stream.push([f])
    live, _ = stream.pulse(last=5.0)
    assert len(stream.out) <= 2 * (5 * 30 + SPEC.frames) and live.size == 150
    whole = _reference(frames, 30.0)
    covered = stream.offset + np.count_nonzero(stream.weight > 0)
    # the samples every clip covering them has reached are final: equal to the whole-video pulse
    np.testing.assert_allclose(live[:-SPEC.frames], whole[covered - 150:covered - SPEC.frames], atol=1e-9)


def test_classical_stream_chunks_features():
    crops = _frames(90, 30.0)
    pred = ClassicalPredictor("pos")
    stream = pred.stream(30.0, chunk=90 / 30.0)  # one chunk: the whole-array features
    for c in crops:
        stream.push([c])
    pulse, fps = stream.finish()
    expected, _ = pred.pulse(pred.features(crops), 30.0)
    np.testing.assert_allclose(pulse, expected)
    assert fps == 30.0
