"""Heart-rate error metrics: the columns of Table I in Yu et al. (ICCV 2019) and the field's usual ones.

`hr_metrics(pred, true)` returns plain floats (JSON-ready): MAE, RMSE and SD of the error in bpm, MAPE in %,
Pearson r, `within5` = % of estimates with |error| < 5 bpm, and n. A figure that is undefined for the data
(r of fewer than two points or of a constant series) is None, never NaN.
"""

from __future__ import annotations

import numpy as np

from edgerppg.errors import EdgeRPPGError

METRIC_KEYS: tuple[str, ...] = ("mae", "rmse", "mape", "r", "within5", "sd", "n")


def hr_metrics(pred_bpm, true_bpm) -> dict:
    """MAE, RMSE, MAPE (%), Pearson r, within5 (%), SD of error and n for paired HR estimates."""
    pred = np.asarray(pred_bpm, dtype=np.float64).ravel()
    true = np.asarray(true_bpm, dtype=np.float64).ravel()
    if pred.shape != true.shape:
        raise EdgeRPPGError(f"predicted ({pred.size}) and true ({true.size}) heart rates differ in count; pair them up")
    if pred.size == 0:
        return {"mae": None, "rmse": None, "mape": None, "r": None, "within5": None, "sd": None, "n": 0}
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(true))):
        raise EdgeRPPGError("heart rates contain NaN or infinite values; check the pulse signals they came from")
    err = pred - true
    r = None
    if pred.size >= 2 and np.std(pred) > 0 and np.std(true) > 0:
        r = float(np.corrcoef(pred, true)[0, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.abs(err) / np.abs(true)
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(100.0 * np.mean(ape)) if np.all(true != 0) else None,
        "r": r,
        "within5": float(100.0 * np.mean(np.abs(err) < 5.0)),
        "sd": float(np.std(err, ddof=1)) if err.size > 1 else 0.0,
        "n": int(err.size),
    }
