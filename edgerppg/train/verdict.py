"""Did training work? The validation MAE against POS and the constant guess on the same validation windows.

A model that reads validation subjects no better than POS (no training at all) has not learned the pulse, and
one no better than the constant guess (the training set's median HR for every window) has learned nothing;
`edgerppg train` says so in one line, with what to change, instead of leaving a checkpoint that looks trained.
The baselines are measured once, before training (they do not depend on the model), on the recordings and
windows the validation metric uses (`train.metrics.hr_mae_metric`: 10 s windows every VAL_STEP_S s).
"""

from __future__ import annotations

from edgerppg.models.checkpoint import save_checkpoint
from edgerppg.predict.evaluate import constant_guess, evaluate, truth_median
from edgerppg.predict.predictors import ClassicalPredictor
from edgerppg.train.metrics import VAL_STEP_S

#: the validation metric the verdict judges (`train.metrics.hr_mae_metric`)
METRIC = "val_mae_bpm"
#: what the default pipeline (pipelines/default.yaml) trains rPPGNet with: options known to train
WORKING = {"lr": 1e-3, "epochs": 15}


def baselines(train_recordings: list, val_recordings: list, method: str = "pos") -> dict | None:
    """{"pos_mae", "constant_mae", "guess_bpm", "windows"} on the validation recordings (None without any):
    POS read from the videos, and the training recordings' median true HR answered for every window."""
    if not val_recordings or not train_recordings:
        return None
    classical = evaluate(val_recordings, ClassicalPredictor(method), step=VAL_STEP_S)
    guess = truth_median(train_recordings, step=VAL_STEP_S)
    floor = constant_guess(classical, guess, "train median")
    return {"method": method, f"{method}_mae": classical["overall"]["window"]["mae"],
            "constant_mae": floor["overall"]["window"]["mae"], "guess_bpm": guess,
            "windows": classical["overall"]["window"]["n"]}


def verdict(val_mae: float | None, base: dict | None, spec) -> dict | None:
    """{"converged", "val_mae", "<method>_mae", "constant_mae", "guess_bpm", "message"}: converged when the
    validation MAE beats the classical method's; the message says what to change when it does not (from the
    pipeline's working options, `WORKING`, compared with `spec`'s). None without baselines or a validation MAE."""
    if base is None or val_mae is None:
        return None
    method = base["method"]
    ref, const = base[f"{method}_mae"], base["constant_mae"]
    figures = f"val MAE {val_mae:.2f} vs {method.upper()} {ref:.2f}, constant guess {const:.2f} bpm"
    out = {**base, "val_mae": float(val_mae), "converged": bool(val_mae < ref)}
    if out["converged"]:
        out["message"] = f"converged: {figures} ({base['windows']} validation windows)"
        return out
    worse = " (no better than the constant guess)" if val_mae >= const else ""
    out["message"] = f"did not converge: {figures}{worse}; try " + ", ".join(_advice(spec))
    return out


def final_verdict(result: dict, base: dict | None, spec) -> dict | None:
    """The verdict on `fit`'s best epoch (None when its metric is not the validation HR MAE)."""
    best = result.get("best") or {}
    return verdict(best.get("value") if best.get("metric") == METRIC else None, base, spec)


def saver_with_verdict(base: dict | None, spec):
    """A `fit` save function writing the checkpoint with the verdict on its own validation MAE in its manifest
    ("training" -> "verdict"): the last one written is the best epoch's, so it carries the final verdict."""
    def save(path, model, meta: dict) -> None:
        judged = verdict(meta.get("metrics", {}).get(METRIC), base, spec)
        save_checkpoint(path, model, meta={**meta, "training": {**meta.get("training", {}), "verdict": judged}})

    return save


def _advice(spec) -> list[str]:
    tips = []
    if spec.kind == "joint":
        tips.append("an --init rPPGNet that beats POS first (edgerppg train rppgnet)")
    elif spec.lr is not None and spec.lr < WORKING["lr"]:
        tips.append(f"--lr {WORKING['lr']:g}")
    tips.append(f"more --epochs (e.g. {max(WORKING['epochs'], 2 * spec.epochs)})")
    if (spec.variant or "tiny") == "tiny":
        tips.append("--variant small")
    tips.append("more training subjects (edgerppg synth --subjects 24)")
    return tips
