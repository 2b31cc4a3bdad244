"""Physiological blood-volume pulse with exact ground truth, for synthetic rPPG videos.

The waveform follows the photoplethysmogram's shape: a fast systolic upstroke and peak, the dicrotic notch
and a smaller diastolic (reflected-wave) peak (Allen 2007, "Photoplethysmography and its application in
clinical physiological measurement"). Beat times come from an inter-beat-interval sequence with a slow HR
drift, respiratory sinus arrhythmia and random beat-to-beat variability, so every beat is known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HR_RANGE = (45.0, 150.0)


@dataclass(frozen=True)
class Pulse:
    """Ground truth of one subject: beat times (s), pulse sampled at the frame times, instantaneous HR."""

    beats: np.ndarray  # (K,) systolic-foot times in seconds
    bvp: np.ndarray  # (N,) pulse, zero mean, peak-to-peak about 1, one sample per frame
    hr: np.ndarray  # (N,) instantaneous HR (bpm) at each frame: 60 / current inter-beat interval

    @property
    def mean_hr_bpm(self) -> float:
        """60 / mean inter-beat interval of the beats inside the clip (what counting peaks recovers)."""
        return float(60.0 / np.mean(np.diff(self.beats)))


def beat_times(rng: np.random.Generator, seconds: float, hr_bpm: float) -> np.ndarray:
    """Beat onsets from before 0 to after `seconds`, HR drifting slowly with RSA and jitter."""
    drift = rng.uniform(-6.0, 6.0)  # bpm change across the clip
    rsa_amp = rng.uniform(0.01, 0.04)  # relative IBI modulation by breathing
    resp_hz = rng.uniform(0.15, 0.35)
    resp_phase = rng.uniform(0, 2 * np.pi)
    t, beats = -2.0, []
    while t < seconds + 2.0:
        beats.append(t)
        frac = np.clip(t / max(seconds, 1e-6), 0.0, 1.0)
        hr = np.clip(hr_bpm + drift * (frac - 0.5), *HR_RANGE)
        ibi = 60.0 / hr
        ibi *= 1.0 + rsa_amp * np.sin(2 * np.pi * resp_hz * t + resp_phase) + rng.normal(0.0, 0.015)
        t += ibi
    return np.asarray(beats)


def waveform(phase: np.ndarray, notch: float, diastolic: float) -> np.ndarray:
    """One PPG beat as a function of phase in [0, 1): systolic peak, dicrotic notch, diastolic peak."""
    def bump(centre, width):
        d = (phase - centre + 0.5) % 1.0 - 0.5  # wrapped, so consecutive beats join smoothly
        return np.exp(-0.5 * (d / width) ** 2)

    return bump(0.2, 0.075) + diastolic * bump(notch + 0.1, 0.09)


def make_pulse(rng: np.random.Generator, seconds: float, fps: float, hr_bpm: float | None = None) -> Pulse:
    """Sample a subject's pulse at the frame times t = i / fps."""
    if hr_bpm is None:
        hr_bpm = rng.uniform(HR_RANGE[0] + 5, HR_RANGE[1] - 5)
    beats = beat_times(rng, seconds, hr_bpm)
    n = int(round(seconds * fps))
    t = np.arange(n) / fps
    k = np.searchsorted(beats, t, side="right") - 1
    ibi = beats[k + 1] - beats[k]
    phase = (t - beats[k]) / ibi
    notch = rng.uniform(0.32, 0.4)
    diastolic = rng.uniform(0.3, 0.55)
    x = waveform(phase, notch, diastolic)
    x = x - x.mean()
    x = x / max(float(np.ptp(x)), 1e-9)
    inside = beats[(beats >= 0) & (beats < n / fps)]
    if len(inside) < 2:  # clip shorter than two beats: count the neighbours too
        inside = beats[max(0, k[0]) : k[-1] + 2]
    return Pulse(beats=inside, bvp=x.astype(np.float32), hr=(60.0 / ibi).astype(np.float32))
