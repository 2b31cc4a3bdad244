"""Per-weight saliency scores for pruning: SNIP, magnitude, random.

SNIP (Lee, Ajanthan & Torr, "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019)
scores each connection by |w * dL/dw|, the first-order change of the loss when the connection is removed; the
gradient is accumulated over a few calibration batches through the model's own training loss. Magnitude (|w|)
and random scores are the usual baselines. A scorer only scores: turning scores into masks is masks.py's job.

Every scorer has the same signature: `score(model, params, batches, objective) -> {name: Tensor}` where
`params` is {name: Parameter} (see params.prunable_params), `batches` an iterable of training batches and
`objective(model, batch) -> loss`.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry

Scorer = Callable[..., dict]
SCORERS: Registry[Scorer] = Registry("pruning scorer")


@SCORERS.register("snip")
def snip_scores(model: nn.Module, params: dict, batches: Iterable, objective: Callable) -> dict[str, torch.Tensor]:
    """|w * dL/dw| with dL/dw summed over the calibration batches (model kept in its current train/eval mode)."""
    grads = {name: torch.zeros_like(p) for name, p in params.items()}
    was_training = model.training
    model.train()
    seen = 0
    try:
        for batch in batches:
            model.zero_grad(set_to_none=True)
            loss = objective(model, batch)
            if not torch.isfinite(loss):
                raise EdgeRPPGError("SNIP calibration: the training loss is not finite; check the checkpoint and data")
            loss.backward()
            for name, p in params.items():
                if p.grad is not None:
                    grads[name] += p.grad.detach()
            seen += 1
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    if seen == 0:
        raise EdgeRPPGError("SNIP calibration got no batches; give the recipe's data at least one clip")
    return {name: (p.detach() * grads[name]).abs() for name, p in params.items()}


@SCORERS.register("magnitude")
def magnitude_scores(model: nn.Module, params: dict, batches: Iterable = (), objective=None) -> dict[str, torch.Tensor]:
    """|w|: needs no data."""
    return {name: p.detach().abs().clone() for name, p in params.items()}


@SCORERS.register("random")
def random_scores(
    model: nn.Module, params: dict, batches: Iterable = (), objective=None, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Uniform random scores from a seeded generator (same seed, same masks)."""
    gen = torch.Generator().manual_seed(seed)
    return {name: torch.rand(p.shape, generator=gen).to(p.device) for name, p in params.items()}
