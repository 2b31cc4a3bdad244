"""Benchmark plots: latency histogram, HR Bland-Altman, predicted vs true HR, pulse + spectrum of one clip, and
MAE against bitrate (the bitrate sweep, `bench.sweep`).

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
from edgerppg.bench.sweep import sweep_series
from edgerppg.errors import require
from edgerppg.signal.hr import heart_rate, power_spectrum

#: the files `write_plots` writes into its folder (checked before a bench run starts)
PLOT_FILES = ("latency_hist.png", "bland_altman.png", "pred_vs_true.png", "pulse_spectrum.png", "mae_vs_bitrate.png")


def _plt():
    mpl = require("matplotlib")
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


_CODEC_STYLES = ("-o", "--s", ":^", "-.D")


def mae_vs_bitrate(rows: list[dict], path: Path, name_key: str = "method", level: str = "per window") -> str | None:
    """MAE against bitrate from accuracy rows: one colour per method (the constant guess in grey), one line
    style per codec, lossless groups as dotted horizontal reference lines in the method's colour. None when no
    group has a bitrate."""
    series = sweep_series(rows, name_key)
    codecs = sorted({c for by in series.values() for c, pts in by.items() if any(k > 0 for k, _ in pts)})
    if not codecs:
        return None
    plt = _plt()
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, (method, by) in enumerate(series.items()):
        colour = "0.5" if method.startswith("constant") else colours[i % len(colours)]
        handles.append(Line2D([], [], color=colour, lw=2, label=method))
        for codec, points in by.items():
            if codec in codecs:
                x, y = zip(*points)
                ax.plot(x, y, _CODEC_STYLES[codecs.index(codec) % len(_CODEC_STYLES)], color=colour, ms=5)
            else:  # lossless: no bitrate, a reference level across the plot
                ax.axhline(points[0][1], color=colour, lw=1.0, ls=":")
    handles += [Line2D([], [], color="k", ls=_CODEC_STYLES[i % len(_CODEC_STYLES)][:-1],
                       marker=_CODEC_STYLES[i % len(_CODEC_STYLES)][-1], label=c) for i, c in enumerate(codecs)]
    handles.append(Line2D([], [], color="k", ls=":", label="lossless"))
    rates = sorted({k for by in series.values() for pts in by.values() for k, _ in pts if k > 0})
    ax.set_xscale("log")
    ax.set_xticks(rates, [f"{r:.0f}" for r in rates])
    ax.minorticks_off()
    ax.set_xlabel("bitrate (kb/s; the rate reached where the encoder fell short of the asked one)")
    ax.set_ylabel(f"HR MAE (bpm, {level})")
    ax.set_ylim(bottom=0)
    ax.set_title("MAE against bitrate")
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def write_plots(report: BenchReport, out_dir: str | Path, accuracy: list[dict] | None = None) -> list[str]:
    """All plots that the report has data for; `accuracy`: the per-window accuracy rows (`bench.report.
    accuracy_rows`) for the MAE-against-bitrate plot. Returns the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = [latency_histogram(report, out / PLOT_FILES[0]),
            bland_altman(report, out / PLOT_FILES[1]),
            predicted_vs_true(report, out / PLOT_FILES[2]),
            pulse_and_spectrum(report, out / PLOT_FILES[3]),
            mae_vs_bitrate(accuracy or [], out / PLOT_FILES[4])]
    return [m for m in made if m]
