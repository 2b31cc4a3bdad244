"""Turn scores into binary masks, keep them through fine-tuning, bake and verify them.

Mask creators (`MASKERS`), all `create(scores, density, min_layer_density=0.0) -> {name: bool Tensor}`:
- "global": one threshold over the whole prunable set keeping exactly round(N * density) weights
  (SNIP's global rule, Lee et al. 2019). Each layer first keeps its own top ceil(min_layer_density * n)
  weights (at least one), so no layer is cut off; ties are broken by position (stable sort), so the same
  scores always give the same masks.
- "channel": keeps the best round(C_out * density) output channels of each layer (scores summed per channel).
- "2:4": N:M semi-structured sparsity, the best 2 of every 4 consecutive input weights (density must be 0.5).

`MaskSet` applies masks in place (weights multiplied by the mask under no_grad); as the fine-tuning loop's
`after_step` it re-applies them after every optimiser step, so masked weights stay exactly zero. Baking is
then a no-op on the values; `verify` counts the non-zeros actually present instead of assuming them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry

MASKERS: Registry = Registry("mask creator")


def budget(total: int, density: float) -> int:
    """The number of weights a density keeps: round(total * density), at least one."""
    if not 0.0 < density <= 1.0:
        raise EdgeRPPGError(f"density {density} is outside (0, 1]; use e.g. 0.1 to keep 1 weight in 10")
    return max(1, int(round(total * density)))


@MASKERS.register("global")
def global_masks(scores: dict, density: float, min_layer_density: float = 0.0) -> dict[str, torch.Tensor]:
    """Exactly budget(N, density) weights kept over all layers, with a per-layer floor."""
    names = list(scores)
    flat = [scores[n].detach().flatten().double().cpu() for n in names]
    sizes = [f.numel() for f in flat]
    keep_total = budget(sum(sizes), density)
    keep = [torch.zeros(s, dtype=torch.bool) for s in sizes]
    floor = 0
    for k, f in zip(keep, flat):  # per-layer floor: each layer's own best weights
        n_min = max(1, math.ceil(min_layer_density * f.numel()))
        k[_top(f, n_min)] = True
        floor += n_min
    if floor > keep_total:
        raise EdgeRPPGError(
            f"min_layer_density {min_layer_density} alone keeps {floor} weights, more than the budget "
            f"{keep_total} of density {density}; lower min_layer_density or raise density"
        )
    allf = torch.cat(flat)
    taken = torch.cat(keep)
    allf = torch.where(taken, torch.full_like(allf, -math.inf), allf)
    rest = _top(allf, keep_total - floor)
    taken[rest] = True
    out, start = {}, 0
    for n, s in zip(names, sizes):
        out[n] = taken[start : start + s].view(scores[n].shape).to(scores[n].device)
        start += s
    return out


@MASKERS.register("channel")
def channel_masks(scores: dict, density: float, min_layer_density: float = 0.0) -> dict[str, torch.Tensor]:
    """Per layer, keep the best round(C_out * density) output channels (at least one)."""
    out = {}
    for name, s in scores.items():
        per_channel = s.detach().flatten(1).sum(1).double().cpu() if s.dim() > 1 else s.detach().double().cpu()
        n_keep = max(budget(per_channel.numel(), density), math.ceil(min_layer_density * per_channel.numel()))
        rows = torch.zeros(per_channel.numel(), dtype=torch.bool)
        rows[_top(per_channel, n_keep)] = True
        out[name] = rows.view(-1, *([1] * (s.dim() - 1))).expand(s.shape).clone().to(s.device)
    return out


@MASKERS.register("2:4")
def nm_masks(scores: dict, density: float = 0.5, min_layer_density: float = 0.0, n: int = 2, m: int = 4) -> dict:
    """N:M sparsity along the flattened input dimension of each output row (rows padded to a multiple of M)."""
    if abs(density - n / m) > 1e-9:
        raise EdgeRPPGError(f"the 2:4 mask keeps exactly half the weights; set density: 0.5 (got {density})")
    out = {}
    for name, s in scores.items():
        rows = s.detach().reshape(s.shape[0], -1).double().cpu()
        pad = (-rows.shape[1]) % m
        padded = torch.cat([rows, torch.full((rows.shape[0], pad), -math.inf, dtype=rows.dtype)], 1)
        groups = padded.view(rows.shape[0], -1, m)
        order = torch.sort(groups, dim=-1, descending=True, stable=True).indices[..., :n]
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, order, True)
        out[name] = mask.view(rows.shape[0], -1)[:, : rows.shape[1]].reshape(s.shape).to(s.device)
    return out


def _top(values: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k largest values; ties go to the lower index (deterministic)."""
    if k <= 0:
        return torch.zeros(0, dtype=torch.long)
    return torch.sort(values, descending=True, stable=True).indices[:k]


@dataclass
class SparsityReport:
    """What `MaskSet.verify` counted in the live weights."""

    params: int
    nonzeros: int
    expected: int
    outside_mask: int

    @property
    def density(self) -> float:
        return self.nonzeros / max(self.params, 1)


class MaskSet:
    """Binary masks keyed by parameter name; callable as the training loop's `after_step(model)`."""

    def __init__(self, masks: dict[str, torch.Tensor]):
        self.masks = {n: m.bool() for n, m in masks.items()}

    def __call__(self, model: nn.Module) -> None:
        self.apply(model)

    @property
    def kept(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks.values()))

    @property
    def size(self) -> int:
        return int(sum(m.numel() for m in self.masks.values()))

    def apply(self, model: nn.Module) -> None:
        """Zero the masked weights in place (and their gradients' effect, by re-applying after each step)."""
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, mask in self.masks.items():
                p = params[name]
                p.mul_(mask.to(p.device, p.dtype))

    def verify(self, model: nn.Module, where: str = "model", expected: int | None = None) -> SparsityReport:
        """Count non-zeros in the live weights; raise if any masked weight is non-zero or the count is off."""
        params = dict(model.named_parameters())
        missing = [n for n in self.masks if n not in params]
        if missing:
            raise EdgeRPPGError(f"{where}: masked parameters {missing[:3]} are missing; the architecture changed")
        nz = outside = total = 0
        for name, mask in self.masks.items():
            w = params[name].detach()
            nonzero = w != 0
            nz += int(nonzero.sum())
            outside += int((nonzero & ~mask.to(w.device)).sum())
            total += w.numel()
        report = SparsityReport(total, nz, self.kept if expected is None else expected, outside)
        if outside:
            raise EdgeRPPGError(f"{where}: {outside} pruned weights are non-zero; the masks were not kept")
        if nz != report.expected:
            raise EdgeRPPGError(
                f"{where}: {nz} non-zero prunable weights, expected {report.expected}; "
                "a kept weight became exactly zero or the masks were not applied"
            )
        return report


def masks_from_weights(params: dict[str, nn.Parameter]) -> MaskSet:
    """Recover the masks of a pruned model from its zeros (after reloading a checkpoint)."""
    return MaskSet({n: p.detach() != 0 for n, p in params.items()})
