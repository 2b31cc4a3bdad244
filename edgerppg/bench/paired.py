"""Paired HR-error differences against a reference model, with a subject bootstrap confidence interval.

"Is the 10x model within 0.5 bpm of its dense parent?" is a question about a difference of two MAEs measured
on the same windows. On a small held-out set one window read at a harmonic moves an MAE by several bpm, so the
report gives the difference with its uncertainty: both models' errors are paired window by window (same subject,
group and start), and the 95% interval comes from resampling *subjects* with replacement (a cluster bootstrap:
windows of one subject are not independent — the same face, skin tone and heart-rate range). An interval that
contains 0 says the data cannot tell the two models apart; one entirely below +0.5 says the model is within
0.5 bpm of the reference on this data.

Reads only the `windows` lists that `predict.evaluate.evaluate` stores, so saved bench JSON renders too.
"""

from __future__ import annotations

import numpy as np

from edgerppg.signal.metrics import RESAMPLES, SEED, cluster_mean_interval


def _errors(windows: list[dict]) -> dict[tuple, float]:
    return {(w["subject"], w["group"], round(float(w["start_s"]), 3)): abs(float(w["error"])) for w in windows}


def paired_difference(windows: list[dict], reference: list[dict], group: str | None = None,
                      level: float = 0.95, resamples: int = RESAMPLES, seed: int = SEED) -> dict | None:
    """MAE(windows) - MAE(reference) over the windows both have (in `group`, or all), with a subject-bootstrap
    interval at `level`. None when they share no window."""
    a, r = _errors(windows), _errors(reference)
    keys = sorted(k for k in a.keys() & r.keys() if group is None or k[1] == group)
    if not keys:
        return None
    delta, lo, hi = cluster_mean_interval([a[k] - r[k] for k in keys], [k[0] for k in keys], level, resamples, seed)
    return {"delta_mae": delta, "ci_low": lo, "ci_high": hi, "level": level, "windows": len(keys),
            "subjects": len({k[0] for k in keys}), "mae": float(np.mean([a[k] for k in keys])),
            "mae_reference": float(np.mean([r[k] for k in keys]))}


def reference_result(report, scored: bool = False):
    """The artifact others are compared with: the slowest p50 (the dense model, in a dense-vs-pruned run).

    `scored`: the slowest of those with per-window errors, for paired differences; a run that times a torch
    twin without scoring it (`accuracy: false`) compares accuracy with the slowest scored row, its export."""
    results = [r for r in report.results if not scored or (r.accuracy or {}).get("windows")]
    return max(results, key=lambda r: r.latency.median_p50_ms or 0.0, default=None)


def paired_rows(report) -> list[dict]:
    """Per group (then "all"): each other artifact's and classical method's MAE minus the reference artifact's,
    on the windows both measured, with a subject-bootstrap interval (`paired_difference`)."""
    ref = reference_result(report, scored=True)
    ref_windows = (ref.accuracy or {}).get("windows") if ref is not None else None
    if not ref_windows:
        return []
    named = [(r.name, r.accuracy) for r in report.results if r is not ref] + list(report.classical.items())
    groups = sorted({w["group"] for w in ref_windows})
    rows = []
    for group in groups + (["all"] if len(groups) > 1 else []):
        for method, acc in named:
            d = paired_difference((acc or {}).get("windows") or [], ref_windows, None if group == "all" else group)
            if d is not None:
                rows.append({"group": group, "method": method, **d})
    return rows
