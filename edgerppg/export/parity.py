"""Parity between the torch deploy form and an exported artifact on seeded synthetic clips.

Two figures decide: the largest absolute output difference (relative to the reference's range, so the
threshold means the same for an rPPG signal and a video) and the heart rate read from each output, which
must agree within `hr_tol_bpm` (0.5 bpm by default) on every clip. HR comes from
`edgerppg.signal.hr.heart_rate` at the clip spec's fps; for a video output (STVEN) it is read from the
spatial mean of the green channel (the GREEN method, Verkruysse et al. 2008). A pulse that is constant over
the clip (untrained weights can give one) has no heart rate: the figures then say `degenerate_output` and
`hr_checked: false`, and only the tensor gate applies.
"""

from __future__ import annotations

import numpy as np

from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.predictors import output_signals
from edgerppg.signal.hr import heart_rate

# Relative max-abs-error limits per precision; None = only the HR figure gates (INT8 is lossy by design).
REL_TOLERANCE = {"fp32": 1e-3, "fp16": 5e-2, "int8": None}
HR_TOLERANCE_BPM = 0.5


def synthetic_clips(clip, n: int = 4, seed: int = 0) -> np.ndarray:
    """`n` seeded clips (n, 3, T, H, W) float32 in [0, 1]: skin-toned frames whose colour pulses at a known HR.

    The face-like blob, the pulse amplitude (strongest in green), slow illumination drift and sensor noise
    make the clips look enough like video that a trained model gives a meaningful rPPG signal.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(clip.frames) / clip.fps
    yy, xx = np.mgrid[0:clip.height, 0:clip.width]
    blob = np.exp(-(((yy - clip.height / 2) / (0.35 * clip.height)) ** 2 + ((xx - clip.width / 2) / (0.3 * clip.width)) ** 2))
    out = np.empty((n, clip.channels, clip.frames, clip.height, clip.width), np.float32)
    for i in range(n):
        hr_hz = rng.uniform(55, 140) / 60.0
        pulse = np.sin(2 * np.pi * hr_hz * t + rng.uniform(0, 2 * np.pi))
        drift = 1.0 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t)
        skin = np.array([0.75, 0.55, 0.45])[: clip.channels] * rng.uniform(0.8, 1.1)
        amp = np.array([0.004, 0.012, 0.006])[: clip.channels]
        bg = rng.uniform(0.1, 0.4, size=clip.channels)
        for c in range(clip.channels):
            colour = (skin[c] + amp[c] * pulse) * drift
            out[i, c] = bg[c] * (1 - blob)[None] + blob[None] * colour[:, None, None]
        out[i] += rng.normal(0, 0.004, size=out[i].shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


def compare(reference: np.ndarray, candidate: np.ndarray, fps: float, precision: str = "fp32",
            hr_tol_bpm: float = HR_TOLERANCE_BPM) -> dict:
    """Parity figures of `candidate` against `reference` (same shape); `passed` says whether both gates hold."""
    reference = np.asarray(reference, np.float64)
    candidate = np.asarray(candidate, np.float64)
    if reference.shape != candidate.shape:
        raise EdgeRPPGError(f"parity: exported output shape {candidate.shape} differs from torch's {reference.shape}")
    err = np.abs(reference - candidate)
    scale = float(np.max(np.abs(reference))) or 1.0
    sig_ref, sig_out = output_signals(reference), output_signals(candidate)
    # a (near-)constant pulse, e.g. from untrained weights, has no heart rate to compare: say so, skip that gate
    wave_std = float(np.min(sig_ref.std(axis=1)))
    degenerate = wave_std <= 1e-6 * scale
    hr_ref = [heart_rate(s, fps) for s in sig_ref]
    hr_out = [heart_rate(s, fps) for s in sig_out]
    hr_diff = float(np.max(np.abs(np.subtract(hr_ref, hr_out))))
    corr = [float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else float(np.allclose(x, y))
            for x, y in zip(sig_ref, sig_out)]
    rel_tol = REL_TOLERANCE.get(precision)
    rel_err = float(err.max()) / scale
    return {
        "clips": int(len(reference)),
        "max_abs_error": float(err.max()),
        "mean_abs_error": float(err.mean()),
        "max_rel_error": rel_err,
        "rel_tolerance": rel_tol,
        "min_pulse_correlation": float(min(corr)),
        "min_pulse_std": wave_std,
        "degenerate_output": bool(degenerate),
        "hr_checked": not degenerate,
        "hr_torch_bpm": [round(h, 3) for h in hr_ref],
        "hr_export_bpm": [round(h, 3) for h in hr_out],
        "max_hr_diff_bpm": hr_diff,
        "hr_tolerance_bpm": hr_tol_bpm,
        "fps": fps,
        "passed": bool((degenerate or hr_diff <= hr_tol_bpm) and (rel_tol is None or rel_err <= rel_tol)),
    }


def failure_message(name: str, figures: dict, hint: str = "") -> str:
    """One line saying which gate failed and by how much."""
    parts = []
    if figures["rel_tolerance"] is not None and figures["max_rel_error"] > figures["rel_tolerance"]:
        parts.append(f"max abs error {figures['max_abs_error']:.3g} ({figures['max_rel_error']:.2%} of the output range, "
                     f"limit {figures['rel_tolerance']:.2%})")
    if figures["hr_checked"] and figures["max_hr_diff_bpm"] > figures["hr_tolerance_bpm"]:
        parts.append(f"HR differs by {figures['max_hr_diff_bpm']:.2f} bpm (limit {figures['hr_tolerance_bpm']} bpm)")
    return f"{name}: exported ONNX does not compute what torch computes ({'; '.join(parts)}); {hint or 'nothing was written'}"
