"""Benchmark plots: latency histogram, HR Bland-Altman, predicted vs true HR, pulse + spectrum of one clip.

matplotlib is imported lazily with the Agg backend (no display on CI machines or Jetsons); a missing
matplotlib is a one-line error naming the `plot` extra. Every function writes one PNG atomically and
returns its path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgerppg.atomic import atomic_path
from edgerppg.bench.results import BenchReport
from edgerppg.checks import PNG_SOFTWARE
from edgerppg.errors import require
from edgerppg.signal.hr import heart_rate, power_spectrum

#: the files `write_plots` writes into its folder (checked before a bench run starts)
PLOT_FILES = ("latency_hist.png", "bland_altman.png", "pred_vs_true.png", "pulse_spectrum.png")


def _plt():
    mpl = require("matplotlib", "plot")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": PNG_SOFTWARE})
    _plt().close(fig)
    return str(path)


def window_pairs(accuracy: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-window (predicted, true) HR in bpm from an `evaluate()` result (empty arrays when absent)."""
    if not accuracy:
        return np.zeros(0), np.zeros(0)
    for key in ("windows", "per_window_values", "pairs"):
        rows = accuracy.get(key)
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            pred = [w.get("hr_pred", w.get("pred")) for w in rows]
            true = [w.get("hr_true", w.get("true")) for w in rows]
            return np.asarray(pred, float), np.asarray(true, float)
        if isinstance(rows, dict) and "pred" in rows:
            return np.asarray(rows["pred"], float), np.asarray(rows["true"], float)
    return np.zeros(0), np.zeros(0)


def latency_histogram(report: BenchReport, path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in report.results:
        ax.hist(r.latency.samples_ms, bins=30, alpha=0.6, label=f"{r.name} [{r.backend}] p50 {r.latency.p50_ms:.1f} ms")
    ax.set_xscale("log")
    ax.set_xlabel("latency per call (ms, log scale)")
    ax.set_ylabel("calls")
    ax.legend(fontsize=7)
    ax.set_title(f"latency, batch {report.settings.get('batch')}")
    return _save(fig, path)


def _hr_series(report: BenchReport):
    series = [(r.name, window_pairs(r.accuracy)) for r in report.results]
    series += [(m, window_pairs(acc)) for m, acc in report.classical.items()]
    return [(n, p, t) for n, (p, t) in series if p.size]


def bland_altman(report: BenchReport, path: Path) -> str | None:
    series = _hr_series(report)
    if not series:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, pred, true in series:
        mean, diff = (pred + true) / 2, pred - true
        bias, loa = float(np.mean(diff)), 1.96 * float(np.std(diff))
        ax.scatter(mean, diff, s=10, alpha=0.6, label=f"{name}: bias {bias:+.2f}, LoA ±{loa:.2f}")
        ax.axhline(bias, lw=0.8, ls="--")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("mean of predicted and true HR (bpm)")
    ax.set_ylabel("predicted - true (bpm)")
    ax.legend(fontsize=7)
    ax.set_title("Bland-Altman, per window")
    return _save(fig, path)


def predicted_vs_true(report: BenchReport, path: Path) -> str | None:
    series = _hr_series(report)
    if not series:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    lo = min(min(p.min(), t.min()) for _, p, t in series) - 5
    hi = max(max(p.max(), t.max()) for _, p, t in series) + 5
    for name, pred, true in series:
        ax.scatter(true, pred, s=10, alpha=0.6, label=name)
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("true HR (bpm)")
    ax.set_ylabel("predicted HR (bpm)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def pulse_and_spectrum(report: BenchReport, path: Path, band=(0.7, 3.0)) -> str | None:
    example = next((r.example for r in report.results if r.example), None)
    if not example:
        return None

    pulse, fps = np.asarray(example["pulse"], float), float(example["fps"])
    freqs, power = power_spectrum(pulse, fps, band=band)
    hr = heart_rate(pulse, fps, band=band)
    plt = _plt()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 5))
    a1.plot(np.arange(pulse.size) / fps, pulse, lw=0.8)
    a1.set_xlabel("time (s)")
    a1.set_title(f"predicted pulse, {example['subject']} ({example.get('group')})")
    a2.plot(np.asarray(freqs) * 60, power)
    a2.axvline(hr, color="r", ls="--", label=f"HR {hr:.1f} bpm")
    if example.get("true_hr_bpm"):
        a2.axvline(float(example["true_hr_bpm"]), color="g", ls=":", label=f"true {example['true_hr_bpm']:.1f} bpm")
    a2.set_xlabel("frequency (bpm)")
    a2.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def write_plots(report: BenchReport, out_dir: str | Path) -> list[str]:
    """All plots that the report has data for; returns the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = [latency_histogram(report, out / PLOT_FILES[0]),
            bland_altman(report, out / PLOT_FILES[1]),
            predicted_vs_true(report, out / PLOT_FILES[2]),
            pulse_and_spectrum(report, out / PLOT_FILES[3])]
    return [m for m in made if m]
