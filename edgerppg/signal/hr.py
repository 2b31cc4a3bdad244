"""Heart rate from a pulse signal: spectral peak (Welch or periodogram), peak detection, sliding windows, SNR.

Every function takes the sampling rate explicitly and cleans the signal the same way first
(`filters.prepare`: mean removal, smoothness-priors detrend, zero-phase Butterworth band-pass).
Spectra are zero-padded to a fine frequency grid and the peak is refined by parabolic interpolation of the
log power, so a 10 s window is resolved far below the 6 bpm bin of its plain FFT.
SNR follows de Haan & Jeanne, "Robust pulse rate from chrominance-based rPPG", IEEE TBME 2013: power within
+-0.1 Hz of the fundamental and of the first harmonic over the rest of the band.
"""

from __future__ import annotations

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry
from edgerppg.signal.filters import DEFAULT_BAND, as_signal, check_band, prepare

#: HR estimators by name: f(clean_signal, fps, band) -> bpm. `heart_rate(method=...)` picks from it.
ESTIMATORS: Registry = Registry("HR method")

#: spacing of the zero-padded frequency grid, in bpm
GRID_BPM = 0.1
#: Welch segment length in seconds (shorter signals use one segment = a Hann periodogram)
WELCH_SEGMENT_S = 8.0
#: half-width of the SNR signal windows around the fundamental and first harmonic, in Hz (de Haan 2013)
SNR_HALF_WIDTH_HZ = 0.1
#: below either figure a spectral peak is not a credible pulse (`no_pulse_reason`). Calibrated with POS on 10 s
#: windows and whole 20 s clips of synthetic faces with and without a pulse (benchmarks/no_pulse.py; figures in
#: docs/results.md): every window whose HR was within 5 bpm of the truth lies above both, with a margin
SNR_MIN_DB = -6.0
PROMINENCE_MIN_DB = 4.0


def _nfft(n: int, fps: float) -> int:
    need = max(n, int(np.ceil(fps * 60.0 / GRID_BPM)))
    return 1 << int(np.ceil(np.log2(need)))


def _spectrum(clean: np.ndarray, fps: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Full one-sided power spectrum on the zero-padded grid ("welch" or "fft" = Hann periodogram)."""
    from scipy.signal import periodogram

    n = clean.size
    nfft = _nfft(n, fps)
    seg = int(round(WELCH_SEGMENT_S * fps))
    if kind == "welch" and n > seg:
        return _welch_blocks(clean, fps, seg, nfft)
    return periodogram(clean, fs=fps, window="hann", nfft=nfft, detrend=False)


#: Welch segments transformed at once: scipy's welch holds every zero-padded segment's spectrum together
#: (about 900 segments x 65,537 complex bins, near 1 GB, for an hour at 30 fps), so a long signal goes in blocks
#: of this many. 8 rather than 32: a 10-minute pulse's estimate then raises resident memory by 12 MiB instead of
#: 24 and takes 0.97 s instead of 1.18, and `edgerppg hr`'s end-of-run peak on a 10-minute video falls from
#: 355-379 MiB to 342-345 (docs/results.md 2026-12-06)
WELCH_BLOCK = 8


def _welch_blocks(clean: np.ndarray, fps: float, seg: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """scipy's Welch estimate (Hann, half overlap) in bounded memory: the mean of the segment periodograms,
    taken over blocks of WELCH_BLOCK segments and weighted by each block's segment count; the same segments and
    the same result as one call."""
    from scipy.signal import welch

    hop = seg - seg // 2
    count = (clean.size - seg) // hop + 1
    total, freqs = None, None
    for first in range(0, count, WELCH_BLOCK):
        k = min(WELCH_BLOCK, count - first)
        part = clean[first * hop: (first + k - 1) * hop + seg]
        freqs, power = welch(part, fs=fps, window="hann", nperseg=seg, noverlap=seg // 2, nfft=nfft, detrend=False)
        total = power * k if total is None else total + power * k
    return freqs, total / count


def _min_samples(fps: float, band) -> int:
    """One period of the slowest rate in the band: below that no HR can be told."""
    return max(8, int(np.ceil(fps / band[0])))


def power_spectrum(x, fps: float, band=DEFAULT_BAND, method: str = "welch") -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of the cleaned signal inside `band`: (freqs in Hz, power)."""
    band = check_band(fps, band)
    z = as_signal(x, min_len=_min_samples(fps, band))
    freqs, power = _spectrum(prepare(z, fps, band), fps, "fft" if method == "fft" else "welch")
    keep = (freqs >= band[0]) & (freqs <= band[1])
    return freqs[keep], power[keep]


def _refine_peak(freqs: np.ndarray, power: np.ndarray, band) -> float:
    """Frequency of the largest in-band bin, refined by a parabola through the log power of its neighbours."""
    keep = np.flatnonzero((freqs >= band[0]) & (freqs <= band[1]))
    if keep.size == 0:
        raise EdgeRPPGError(f"no spectrum bins inside band {band} Hz; widen the band")
    i = keep[np.argmax(power[keep])]
    if 0 < i < power.size - 1:
        a, b, c = np.log(power[i - 1 : i + 2] + 1e-300)
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
        return float(freqs[i] + np.clip(shift, -0.5, 0.5) * (freqs[1] - freqs[0]))
    return float(freqs[i])


@ESTIMATORS.register("welch")
def _hr_welch(clean: np.ndarray, fps: float, band) -> float:
    return 60.0 * _refine_peak(*_spectrum(clean, fps, "welch"), band)


@ESTIMATORS.register("fft")
def _hr_fft(clean: np.ndarray, fps: float, band) -> float:
    return 60.0 * _refine_peak(*_spectrum(clean, fps, "fft"), band)


@ESTIMATORS.register("peaks")
def _hr_peaks(clean: np.ndarray, fps: float, band) -> float:
    """Median inter-beat interval of systolic peaks.

    Peaks must be prominent (0.3 SD) and at least 0.6 of the spectral beat period apart, so a dicrotic notch or
    a strong harmonic does not count as a beat; the rate itself comes from the peak times only.
    """
    from scipy.signal import find_peaks

    period = fps * 60.0 / _hr_welch(clean, fps, band)
    distance = max(1, int(fps / band[1]), int(0.6 * period))
    peaks, _ = find_peaks(clean, distance=distance, prominence=0.3 * np.std(clean))
    if peaks.size < 2:
        return _hr_welch(clean, fps, band)
    # sub-sample peak positions from a parabola through each peak and its neighbours
    inner = peaks[(peaks > 0) & (peaks < clean.size - 1)]
    a, b, c = clean[inner - 1], clean[inner], clean[inner + 1]
    denom = a - 2 * b + c
    shift = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
    ibi = np.diff(inner + np.clip(shift, -0.5, 0.5)) / fps
    if ibi.size == 0:
        return _hr_welch(clean, fps, band)
    return float(np.clip(60.0 / np.median(ibi), 60.0 * band[0], 60.0 * band[1]))


def heart_rate(x, fps: float, band=DEFAULT_BAND, method: str = "welch") -> float:
    """Heart rate in bpm of a pulse signal sampled at `fps`, searched inside `band` (Hz)."""
    estimator = ESTIMATORS.get(method)
    band = check_band(fps, band)
    z = as_signal(x, min_len=_min_samples(fps, band))
    return estimator(prepare(z, fps, band), float(fps), band)


def window_starts(duration: float, window: float, step: float) -> np.ndarray:
    """Start times (s) of the windows of `window` s every `step` s that fit in `duration` s.

    A signal shorter than one window gives a single window covering all of it.
    """
    if window <= 0 or step <= 0:
        raise EdgeRPPGError(f"window ({window} s) and step ({step} s) must be positive; e.g. --window 10")
    if duration <= window:
        return np.zeros(1)
    count = int(np.floor((duration - window) / step + 1e-9)) + 1
    return np.arange(count) * float(step)


def sliding_hr(x, fps: float, window: float = 10.0, step: float = 1.0, band=DEFAULT_BAND,
               method: str = "welch") -> tuple[np.ndarray, np.ndarray]:
    """HR in windows of `window` s every `step` s: (window centres in s, HR in bpm)."""
    z = as_signal(x)
    duration = z.size / float(fps)
    starts = window_starts(duration, window, step)
    span = min(window, duration)
    centres, rates = [], []
    for start in starts:
        a = int(round(start * fps))
        b = min(z.size, a + int(round(span * fps)))
        rates.append(heart_rate(z[a:b], fps, band, method))
        centres.append((a + b) / 2.0 / fps)
    return np.asarray(centres), np.asarray(rates)


def snr(x, fps: float, hr_bpm: float, band=DEFAULT_BAND) -> float:
    """de Haan 2013 SNR in dB: power near HR and 2*HR over the remaining power between band low and 2*HR."""
    lo, hi = check_band(fps, band)
    f0 = float(hr_bpm) / 60.0
    hi = min(max(hi, 2 * f0 + 2 * SNR_HALF_WIDTH_HZ), 0.95 * fps / 2)
    z = as_signal(x, min_len=_min_samples(fps, (lo, hi)))
    freqs, power = _spectrum(prepare(z, fps, (lo, hi)), fps, "welch")
    inside = (freqs >= lo) & (freqs <= hi)
    near = (np.abs(freqs - f0) <= SNR_HALF_WIDTH_HZ) | (np.abs(freqs - 2 * f0) <= SNR_HALF_WIDTH_HZ)
    signal_power = power[inside & near].sum()
    noise_power = power[inside & ~near].sum()
    if signal_power <= 0:
        return float("-inf") if noise_power > 0 else 0.0
    if noise_power <= 0:
        return float("inf")
    return float(10 * np.log10(signal_power / noise_power))


def peak_prominence(x, fps: float, band=DEFAULT_BAND, method: str = "welch") -> float:
    """In-band spectral peak over the median in-band power, in dB (a flat, featureless signal gives -inf)."""
    _, power = power_spectrum(x, fps, band, method)
    peak, floor = float(power.max()), float(np.median(power))
    if peak <= 0:
        return float("-inf")
    return float("inf") if floor <= 0 else float(10 * np.log10(peak / floor))


def no_pulse_reason(x, fps: float, hr_bpm: float, band=DEFAULT_BAND, method: str = "welch") -> str | None:
    """Why the spectral peak at `hr_bpm` is not a credible pulse, or None when it is: a flat signal (no colour
    change at all, e.g. a featureless grey video), or a peak too weak against the rest of the band (SNR below
    `SNR_MIN_DB`, or prominence below `PROMINENCE_MIN_DB`)."""
    z = as_signal(x)
    if float(np.ptp(z)) <= 1e-9 * max(1.0, float(np.abs(z).max())):
        return "the pulse signal is flat (no colour change in the face crop)"
    prominence = peak_prominence(z, fps, band, method)
    ratio = snr(z, fps, hr_bpm, band)
    if ratio < SNR_MIN_DB or prominence < PROMINENCE_MIN_DB:
        return (f"no credible spectral peak (SNR {ratio:.1f} dB, limit {SNR_MIN_DB:g}; peak {prominence:.1f} dB "
                f"over the band's median, limit {PROMINENCE_MIN_DB:g})")
    return None
