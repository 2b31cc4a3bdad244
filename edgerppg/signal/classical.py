"""Classical (training-free) rPPG methods on a mean-RGB trace (N, 3), registered in `METHODS`.

- GREEN: Verkruysse, Svaasand & Nelson, "Remote plethysmographic imaging using ambient light", Opt. Express 2008:
  the temporally normalised green channel (blood absorbs green most).
- CHROM: de Haan & Jeanne, "Robust pulse rate from chrominance-based rPPG", IEEE TBME 2013. Colour normalised
  by its local mean, chrominance X = 3R - 2G and Y = 1.5R + G - 1.5B band-passed, then per window
  S = Xf - (sd(Xf)/sd(Yf)) Yf; Hann-windowed windows (half overlap) are overlap-added.
- POS: Wang, den Brinker, Stuijk & de Haan, "Algorithmic principles of remote PPG", IEEE TBME 2017. In every
  window of 1.6 s (sliding by one frame) the mean-normalised colour is projected on the plane orthogonal to skin
  tone, P = [[0, 1, -1], [-2, 1, 1]], the two projections are alpha-tuned h = S1 + (sd(S1)/sd(S2)) S2, and the
  zero-mean h is overlap-added.

Each method is `f(rgb (N, 3), fps, band=(0.7, 3.0)) -> pulse (N,)`; the sign is arbitrary, as for any rPPG signal.
"""

from __future__ import annotations

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry
from edgerppg.signal.filters import DEFAULT_BAND, bandpass

METHODS: Registry = Registry("rPPG method")

#: window length of CHROM and POS in seconds (32 frames at 20 fps in both papers)
WINDOW_S = 1.6
_EPS = 1e-9


def _as_rgb(rgb) -> np.ndarray:
    arr = np.asarray(rgb, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise EdgeRPPGError(f"mean-RGB trace must be (N, 3), got shape {arr.shape}; average the face pixels first")
    if not np.all(np.isfinite(arr)):
        raise EdgeRPPGError("mean-RGB trace contains NaN or infinite values; check the face crop")
    return arr


def _window_len(fps: float, n: int) -> int:
    return int(min(n, max(4, round(WINDOW_S * fps))))


def _moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average per column with edge-shrinking support (no zero padding bias)."""
    kernel = np.ones(width)
    num = np.stack([np.convolve(x[:, c], kernel, mode="same") for c in range(x.shape[1])], axis=1)
    den = np.convolve(np.ones(x.shape[0]), kernel, mode="same")[:, None]
    return num / den


@METHODS.register("green")
def green(rgb, fps: float, band=DEFAULT_BAND) -> np.ndarray:
    """GREEN (Verkruysse 2008): green channel over its mean, minus one."""
    g = _as_rgb(rgb)[:, 1]
    return g / (g.mean() + _EPS) - 1.0


@METHODS.register("chrom")
def chrom(rgb, fps: float, band=DEFAULT_BAND) -> np.ndarray:
    """CHROM (de Haan & Jeanne 2013) with Hann-windowed overlap-add of 1.6 s windows."""
    c = _as_rgb(rgb)
    n = c.shape[0]
    win = _window_len(fps, n)
    cn = c / (_moving_mean(c, win) + _EPS)
    xs = 3.0 * cn[:, 0] - 2.0 * cn[:, 1]
    ys = 1.5 * cn[:, 0] + cn[:, 1] - 1.5 * cn[:, 2]
    xf, yf = bandpass(xs, fps, band), bandpass(ys, fps, band)
    hann = np.hanning(win + 2)[1:-1]
    out = np.zeros(n)
    weight = np.zeros(n)
    step = max(1, win // 2)
    starts = list(range(0, n - win + 1, step))
    if starts[-1] != n - win:
        starts.append(n - win)
    for a in starts:
        x, y = xf[a : a + win], yf[a : a + win]
        alpha = np.std(x) / (np.std(y) + _EPS)
        s = x - alpha * y
        out[a : a + win] += hann * (s - s.mean())
        weight[a : a + win] += hann
    return out / np.maximum(weight, _EPS)


@METHODS.register("pos")
def pos(rgb, fps: float, band=DEFAULT_BAND) -> np.ndarray:
    """POS (Wang et al. 2017): plane-orthogonal-to-skin projection, 1.6 s windows slid frame by frame."""
    from numpy.lib.stride_tricks import sliding_window_view

    c = _as_rgb(rgb)
    n = c.shape[0]
    win = _window_len(fps, n)
    windows = sliding_window_view(c, win, axis=0)  # (n - win + 1, 3, win)
    cn = windows / (windows.mean(axis=2, keepdims=True) + _EPS)
    s1 = cn[:, 1] - cn[:, 2]
    s2 = -2.0 * cn[:, 0] + cn[:, 1] + cn[:, 2]
    alpha = s1.std(axis=1, keepdims=True) / (s2.std(axis=1, keepdims=True) + _EPS)
    h = s1 + alpha * s2
    h -= h.mean(axis=1, keepdims=True)
    out = np.zeros(n)
    for k in range(win):  # overlap-add: window m contributes h[m, k] to sample m + k
        out[k : k + h.shape[0]] += h[:, k]
    return out
