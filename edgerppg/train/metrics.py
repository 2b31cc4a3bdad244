"""Validation metrics for `fit`: HR error measured exactly as `edgerppg eval` measures it, or a loss.

A metric is `metric(model) -> (name, value)`, lower is better, called in eval mode under no_grad on rank 0.
- `hr_mae_metric`: the model's pulse (from its objective's `signal`) wrapped in a
  `predict.predictors.ModelPredictor` and scored by `predict.evaluate.evaluate` on whole validation recordings,
  so validation numbers are comparable with the classical methods (POS, CHROM, GREEN) in the eval table.
- `loss_metric`: the mean objective loss over a validation dataset (STVEN alone, toy datasets).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.evaluate import evaluate
from edgerppg.predict.predictors import ModelPredictor
from edgerppg.train.batch import to_device

Metric = Callable[[nn.Module], tuple[str, float]]


def recordings_of(val_set) -> list | None:
    """The whole recordings behind a validation set (a ClipDataset or a list of Recordings), else None."""
    recs = getattr(val_set, "recordings", None)
    if recs is None and isinstance(val_set, (list, tuple)) and val_set and hasattr(val_set[0], "read_frames"):
        recs = val_set
    return list(recs) if recs else None


def model_infer(model: nn.Module, signal, device: torch.device) -> Callable[[np.ndarray], np.ndarray]:
    """An `infer(clips float32 (B,3,T,H,W)) -> pulse (B,T)` closure over a torch model for ModelPredictor."""

    def infer(clips: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = signal(model, torch.from_numpy(np.ascontiguousarray(clips, dtype=np.float32)).to(device))
        return out.float().cpu().numpy()

    return infer


def overall_mae(result: dict) -> float:
    """The all-recordings window MAE (bpm) from a `predict.evaluate.evaluate` result."""
    for key in ("overall", "all"):
        if isinstance(result.get(key), dict):
            block = result[key]
            block = block.get("window", block)
            if "mae" in block:
                return float(block["mae"])
    if "mae" in result:
        return float(result["mae"])
    raise EdgeRPPGError(f"predict.evaluate.evaluate returned no overall MAE (keys {sorted(result)})")


#: validation windows start every VAL_STEP_S seconds (10 s windows): a few validation subjects give 5x more
#: windows than back-to-back ones at the same inference cost (the pulse is predicted once per recording), so
#: one harmonic miss moves the best-epoch choice less
VAL_STEP_S = 2.0


def hr_mae_metric(recordings: list, spec, objective, device: torch.device, name: str = "val_mae_bpm") -> Metric:
    """HR MAE in bpm over `recordings`, through the eval pipeline (prepare_frames, overlap-add, windowed HR),
    10 s windows every VAL_STEP_S seconds."""
    def metric(model: nn.Module) -> tuple[str, float]:
        predictor = ModelPredictor(model_infer(model, objective.signal, device), spec, name="training")
        return name, overall_mae(evaluate(recordings, predictor, step=VAL_STEP_S))

    return metric


def loss_metric(val_set, objective, batch: int, device: torch.device) -> Metric:
    """Mean objective loss over `val_set` (a dataset of dict batches)."""
    def metric(model: nn.Module) -> tuple[str, float]:
        total, count = 0.0, 0
        for b in DataLoader(val_set, batch_size=batch, shuffle=False):
            n = next(len(v) for v in b.values() if torch.is_tensor(v))
            total += objective(model, to_device(b, device)).item() * n
            count += n
        return "val_loss", total / max(count, 1)

    return metric


def train_loss_metric() -> Metric:
    """No validation data: every epoch counts as an improvement (the last epoch is kept)."""
    return lambda model: ("epoch", 0.0)


def default_metric(val_set, objective, batch: int, device: torch.device, model: nn.Module | None = None) -> Metric:
    """HR MAE when the validation set has recordings and the model gives a pulse, else the validation loss.

    The clip spec for HR comes from the validation ClipDataset, else from the model (`model.spec.clip`).
    """
    if val_set is None or (hasattr(val_set, "__len__") and len(val_set) == 0):
        return train_loss_metric()
    recs = recordings_of(val_set)
    if recs and objective.has_signal:
        spec = getattr(val_set, "spec", None) or getattr(getattr(model, "spec", None), "clip", None)
        if spec is None:
            raise EdgeRPPGError("validation recordings need the model's clip spec: pass a ClipDataset as val_set")
        return hr_mae_metric(recs, spec, objective, device)
    if recs is not None and isinstance(val_set, (list, tuple)):
        raise EdgeRPPGError("validation recordings cannot score a model without a pulse output; pass a ClipDataset")
    return loss_metric(val_set, objective, batch, device)
