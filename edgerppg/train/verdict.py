"""Did training work? The validation MAE against POS and the constant guess on the same validation windows.

A model that reads validation subjects no better than POS (no training at all) has not learned the pulse, and
one no better than the constant guess (the training set's median HR for every window) has learned nothing;
`edgerppg train` says so in one line, with what to change, instead of leaving a checkpoint that looks trained.
The baselines are measured once, before training (they do not depend on the model), on the recordings and
windows the validation metric uses (`train.metrics.hr_mae_metric`: 10 s windows every VAL_STEP_S s).

STVEN has no pulse output; its question is whether it enhances at all (`enhancement`): how much of the compressed
validation clips' squared error against their originals its label-0 output removes. On edgerppg's synthetic
faces the pulse is about 1/500 of that error (docs/results.md 2026-12-06), and the tiny STVEN trained with the
paper's losses removed 0.0%: the identity. Saying so points the user at the joint step, where the rPPG loss
decides what STVEN changes.
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


#: below this share of the squared error removed, STVEN is reported as having learned the identity
ENHANCE_MIN = 0.01


def enhancement(stven, val_set, batch: int = 8) -> dict | None:
    """{"converged", "removed", "mse_compressed", "mse_enhanced", "clips", "groups", "message"}: the share of the
    validation clips' squared error against their originals that `stven`'s label-0 output removes, overall and per
    group ({group: share}). `stven`: f(video, label), in eval mode. None without paired validation clips."""
    import torch
    from torch.utils.data import DataLoader

    if val_set is None or len(val_set) == 0:
        return None
    sums: dict[str, list[float]] = {}  # group -> [squared error of the input, of the output]
    with torch.no_grad():
        for b in DataLoader(val_set, batch_size=batch, shuffle=False):
            if "target" not in b:
                return None
            enhanced = stven(b["video"], torch.zeros_like(b["label"]))
            before = ((b["video"] - b["target"]) ** 2).flatten(1).mean(1)
            after = ((enhanced - b["target"]) ** 2).flatten(1).mean(1)
            for g, x, y in zip(b["group"], before.tolist(), after.tolist()):
                acc = sums.setdefault(g, [0.0, 0.0])
                acc[0], acc[1] = acc[0] + x, acc[1] + y
    total_in, total_out = sum(v[0] for v in sums.values()), sum(v[1] for v in sums.values())
    removed = 1.0 - total_out / total_in if total_in > 0 else 0.0
    out = {"converged": bool(removed >= ENHANCE_MIN), "removed": removed, "mse_compressed": total_in / len(val_set),
           "mse_enhanced": total_out / len(val_set), "clips": len(val_set),
           "groups": {g: (1.0 - v[1] / v[0] if v[0] > 0 else 0.0) for g, v in sorted(sums.items())}}
    figures = (f"removes {100 * removed:.1f}% of the compressed validation clips' squared error against the originals "
               f"(MSE {out['mse_compressed']:.3g} -> {out['mse_enhanced']:.3g}, {len(val_set)} clips)")
    out["message"] = (f"enhances: {figures}" if out["converged"] else
                      f"learned about the identity: {figures}; the reconstruction losses carry little of the pulse "
                      "here, so train the cascade with `edgerppg train joint --stven` (its rPPG loss decides what "
                      "STVEN changes), or try --variant small or more --epochs")
    return out
