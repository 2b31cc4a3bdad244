"""Structured (channel) pruning for real speed, through Torch-Pruning's dependency graph.

Unstructured zeros do not speed up dense CPU/GPU kernels; removing whole channels does. Torch-Pruning
(Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023) groups the coupled channels of
Conv3d / ConvTranspose3d / BatchNorm3d / InstanceNorm3d layers and residual additions, and removes a group's
channels together. Channel importance is a per-weight score (SNIP |w * dL/dw| or |w|, from scorers.py)
summed over each channel's weights in every layer of its group. Pruning is global and iterative (Torch-Pruning's
DependencyGraph groups, our own ranking): small steps until the deploy form's MACs
(models.stats.model_stats, or any `macs_fn`) drop by `mac_ratio`.

Two details matter for STVEN/rPPGNet: in-place ReLUs rewrite the autograd node that Torch-Pruning traces, so
a norm layer followed by `ReLU(inplace=True)` can drop out of the graph — ReLUs are made out-of-place while
the graph is built; and InstanceNorm3d with running statistics needs its buffers narrowed as well, which
Torch-Pruning's own InstanceNorm pruner does not do (a customised pruner below does).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from edgerppg.errors import EdgeRPPGError, require


def channel_importance(group, scores: dict) -> torch.Tensor | None:
    """Per root channel of a Torch-Pruning group: per-weight scores summed over each channel's weights in
    every conv of the group (output and input side), averaged over those convs."""
    tp = require("torch_pruning")
    fn = tp.pruner.function
    total, n = None, 0
    for i, (dep, idxs) in enumerate(group):
        layer, prune_fn = dep.layer, dep.pruning_fn
        s = scores.get(id(getattr(layer, "weight", None)))
        if s is None or not isinstance(layer, nn.modules.conv._ConvNd):
            continue
        transposed = getattr(layer, "transposed", False)
        if prune_fn == fn.prune_conv_out_channels:
            local = (s.transpose(0, 1) if transposed else s)[idxs].flatten(1).sum(1)
        elif prune_fn == fn.prune_conv_in_channels:
            local = (s if transposed else s.transpose(0, 1)).flatten(1).sum(1)[idxs]
        else:
            continue
        root = group[i].root_idxs
        if any(r is None for r in root):
            continue
        if total is None:
            total = torch.zeros(len(group[0].idxs), dtype=torch.float64)
        total.scatter_add_(0, torch.tensor(root), local.double().cpu())
        n += 1
    return None if total is None else total / n


def _instance_norm_pruner():
    tp = require("torch_pruning")

    class InstanceNormPruner(tp.pruner.function.InstanceNormPruner):
        """Torch-Pruning's InstanceNorm pruner, also narrowing running statistics when they are tracked."""

        def prune_out_channels(self, layer, idxs):
            keep = sorted(set(range(layer.num_features)) - set(int(i) for i in idxs))
            super().prune_out_channels(layer, idxs)
            for buf in ("running_mean", "running_var"):
                if getattr(layer, buf, None) is not None:
                    setattr(layer, buf, getattr(layer, buf)[keep].clone())
            return layer

        prune_in_channels = prune_out_channels

    return InstanceNormPruner()


@contextlib.contextmanager
def _out_of_place_relu(model: nn.Module):
    """Temporarily make every nn.ReLU out-of-place (in-place ones hide the norm layers from the traced graph)."""
    flipped = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6, nn.LeakyReLU)) and m.inplace]
    for m in flipped:
        m.inplace = False
    try:
        yield
    finally:
        for m in flipped:
            m.inplace = True


def ignored_layers(model: nn.Module, exclude: str | None, min_out: int = 1) -> list[nn.Module]:
    """Layers whose output channels stay: names matching `exclude` and heads with <= min_out output channels."""
    exclude_re = re.compile(exclude) if exclude else None
    out = []
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            if (exclude_re and exclude_re.search(name)) or m.out_channels <= min_out:
                out.append(m)
    return out


def build_graph(model: nn.Module, example_inputs: tuple):
    """Torch-Pruning DependencyGraph of `model`, with channel-changing element-wise edges cut.

    Torch-Pruning treats unknown ops (mean/amax over channels, broadcasting products) as element-wise, so
    rPPGNet's parameter-free skin attention (a 1-channel map from AvgPool_c/MaxPool_c multiplied back onto
    the features) would couple every channel to the 1-channel skin map and blow up the index mappings.
    An element-wise or reshape node between a 1-channel and a C-channel tensor (a channel reduction or a
    broadcast) does not carry channel indices, so its dependencies on that input are removed. Slices along
    time or space (rPPGNet's 2x2 partition) keep channel indices; Torch-Pruning only knows that for 3D/4D
    tensors, so for 5D ones they are turned into identity (element-wise) nodes.
    """
    tp = require("torch_pruning")
    one = tuple(x[:1] for x in example_inputs)  # batch 1: norm layers' internal (1, B*C, ...) views keep C
    with _out_of_place_relu(model):
        graph = tp.DependencyGraph().build_dependency(
            model,
            example_inputs=one,
            forward_fn=lambda m, x: m(*x),
            output_transform=_flatten_outputs,
            customized_pruners={nn.InstanceNorm3d: _instance_norm_pruner()},
        )
    cut_types = (tp.ops.OPTYPE.ELEMENTWISE, tp.ops.OPTYPE.RESHAPE)
    for node in list(graph.module2node.values()):
        if node.type == tp.ops.OPTYPE.SLICE and getattr(node.grad_fn, "_saved_dim", 1) != 1:
            node.type = tp.ops.OPTYPE.ELEMENTWISE  # a crop along time/space keeps the channel indices
            for dep in node.dependencies + [d for n in node.inputs for d in n.dependencies if d.target is node]:
                dep.index_mapping[0] = None
        if node.type not in cut_types:
            continue
        for src in node.inputs:
            c_in, c_out = _channels(src), _channels(node)
            if c_in is not None and c_out is not None and c_in != c_out and 1 in (c_in, c_out):
                node.dependencies = [d for d in node.dependencies if d.target is not src]
                src.dependencies = [d for d in src.dependencies if d.target is not node]
    return graph


def _channels(node) -> int | None:
    """Channel count (dim 1) of a traced node's output, from its autograd node's metadata."""
    meta = getattr(getattr(node, "grad_fn", None), "_input_metadata", None)
    if not meta or len(meta[0].shape) < 2:
        return None
    return int(meta[0].shape[1])


@dataclass(frozen=True)
class ChannelBudget:
    """How far and how `prune_channels` narrows a model (the structured prune stage's settings)."""

    mac_ratio: float  # stop once the model runs this many times fewer MACs
    exclude: str | None = None  # regex of layers whose output channels stay (heads, outputs)
    step_fraction: float = 0.05  # share of the remaining prunable channels removed per step
    max_steps: int = 200
    group_step_cap: float = 0.1  # the most one group loses in one step, as a share of its width
    min_channels: int = 1  # the fewest channels a group keeps ...
    min_channels_scope: str | None = None  # ... in every group, or in those whose root layer matches this regex


def prune_channels(
    model: nn.Module,
    example_inputs: tuple,
    score_fn: Callable[[nn.Module], dict],
    macs_fn: Callable[[nn.Module], float],
    budget: ChannelBudget,
    *,
    on_step: Callable[[int, float], None] | None = None,
    ties: list | None = None,
    cost_fn: Callable[[nn.Module], dict] | None = None,
) -> dict:
    """Remove channels in place until macs_fn(model) <= macs_fn(dense) / budget.mac_ratio; returns a summary.

    Each step re-scores the narrowed model (`score_fn(model) -> {param_name: per-weight score}`), normalises
    each group's channel importance by its mean, and removes the globally least important `step_fraction`
    of the remaining prunable channels (every group keeps at least one channel). `ties`: pairs of layer
    names that must keep equal widths (default: `tied_widths(model)`). `cost_fn(model) -> {layer: MACs}`
    makes the ranking cost-aware: a group's importance is divided by (its MACs per channel / the mean
    group's) ** COST_EXPONENT, so cheap low-resolution channels outlive expensive full-resolution ones of equal importance.
    `group_step_cap`: the most one group may lose in one step, as a fraction of its current width (at least one
    channel). Without it a group whose channels all rank low (an expensive full-resolution layer whose
    mean-normalised importances are all near 1) loses every channel but one in a single step. With `cost_fn`,
    a step also stops once its channels' estimated MACs cover what is left to the target, so the result lands
    near `mac_ratio` instead of far past it. `min_channels`: the fewest channels a group keeps (a group
    narrower than that to begin with keeps its width), in every group or, with `min_channels_scope` (a regex),
    in the groups whose root layer's name matches it. A 1-channel full-resolution layer followed by a ReLU
    passes only one half-wave of a zero-mean input.
    """
    b = budget
    mac_ratio, exclude, min_channels, min_channels_scope = b.mac_ratio, b.exclude, b.min_channels, b.min_channels_scope
    if min_channels < 1:
        raise EdgeRPPGError(f"min_channels {min_channels} must be >= 1 (every group keeps at least one channel)")
    if mac_ratio < 1:
        raise EdgeRPPGError(f"mac_ratio {mac_ratio} must be >= 1 (e.g. 10 for 10x fewer MACs)")
    dense_macs = float(macs_fn(model))
    target = dense_macs / mac_ratio
    was_training = model.training
    model.eval()
    graph = build_graph(model, example_inputs)
    ignored = ignored_layers(model, exclude)
    ties = tied_widths(model) if ties is None else ties
    scope_re = re.compile(min_channels_scope) if min_channels_scope else None
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.modules.conv._ConvNd)]
    if scope_re and not any(scope_re.search(n) for n in convs):
        raise EdgeRPPGError(f"min_channels_scope {min_channels_scope!r} matches no conv layer of the model "
                            f"(names like {convs[0]!r}); fix the regex")
    floor = lambda name: min_channels if scope_re is None or scope_re.search(name) else 1  # noqa: E731
    macs, step = dense_macs, 0
    while macs > target and step < b.max_steps:
        step += 1
        left = 1.0 - target / macs  # fraction of the current MACs still to remove
        if not _prune_step(model, graph, ignored, score_fn, b.step_fraction, ties, cost_fn, b.group_step_cap, left,
                           floor):
            break
        macs = float(macs_fn(model))
        if on_step:
            on_step(step, dense_macs / max(macs, 1.0))
    model.train(was_training)
    if macs > target:
        floor_note = f"min_channels {min_channels} keeps too much or " if min_channels > 1 else ""
        raise EdgeRPPGError(
            f"structured pruning reached only {dense_macs / macs:.1f}x fewer MACs (target {mac_ratio}x) after "
            f"{step} steps; {floor_note}the ignored layers dominate — lower mac_ratio or narrow the exclude regex"
        )
    return {"dense_macs": dense_macs, "macs": macs, "mac_ratio": dense_macs / macs, "steps": step}


def _prune_step(model, graph, ignored, score_fn, fraction: float, ties: list, cost_fn=None,
                group_cap: float = 1.0, left: float = 1.0, floor: Callable[[str], int] = lambda _: 1) -> bool:
    """One global step; False when no group can lose a channel any more. Each group keeps at least
    floor(its root layer's name) channels and loses at most
    max(1, group_cap * its width) channels; with a cost_fn, selection stops once the selected channels' MACs
    (first order: each channel's cost in every conv of its group) reach `left` of the model's current MACs."""
    params = dict(model.named_parameters())
    scores = {id(params[n]): s.detach() for n, s in score_fn(model).items()}
    names = {id(m): n for n, m in model.named_modules()}
    macs = cost_fn(model) if cost_fn else None
    groups, order, imps, costs = [], {}, [], []
    for group in graph.get_all_groups(ignored_layers=ignored, root_module_types=[nn.modules.conv._ConvNd]):
        imp = channel_importance(group, scores)
        keep = floor(names.get(id(group[0].dep.target.module), ""))
        if imp is None or len(imp) <= keep:
            continue
        gi = len(groups)
        groups.append(group)
        imps.append(imp / imp.mean().clamp_min(1e-30))
        costs.append(_channel_cost(group, names, macs) if macs is not None else 1.0)
        order[gi] = [int(c) for c in torch.argsort(imp, stable=True)[: len(imp) - keep]]
    if not groups:
        return False
    mean_cost = max(sum(costs) / len(costs), 1e-30)
    rel = [(max(c, 1e-30 * mean_cost) / mean_cost) ** COST_EXPONENT for c in costs]
    candidates = [(float(imps[gi][c]) / rel[gi], gi, c) for gi in order for c in order[gi]]
    n_remove = max(1, int(round(fraction * sum(len(g[0].idxs) for g in groups))))
    cap = [max(1, int(group_cap * len(g[0].idxs))) for g in groups]
    budget = left * sum(macs.values()) if macs is not None else float("inf")
    count: dict[int, int] = {}
    saved, taken = 0.0, 0
    for _, gi, _c in sorted(candidates):
        if taken >= n_remove or saved >= budget:
            break
        if count.get(gi, 0) < cap[gi]:
            count[gi] = count.get(gi, 0) + 1
            saved += costs[gi] if macs is not None else 0.0
            taken += 1
    _tie_counts(count, groups, names, ties, order)
    for gi, k in count.items():
        dep = groups[gi][0].dep
        graph.get_pruning_group(dep.target.module, dep.handler, sorted(order[gi][:k])).prune()
    return True


#: how strongly a channel's MAC cost lowers its rank (0 = ignore cost, 1 = importance per MAC); 0.5 keeps
#: the full-resolution stem from being cut to a single channel while still favouring cheap channels
COST_EXPONENT = 0.5


def _channel_cost(group, names: dict, macs: dict) -> float:
    """MACs one root channel of the group costs: each conv's MACs divided by its pruned dimension."""
    tp = require("torch_pruning")
    fn, cost = tp.pruner.function, 0.0
    for dep, _ in group:
        layer = dep.layer
        if not isinstance(layer, nn.modules.conv._ConvNd):
            continue
        total = macs.get(names.get(id(layer)), 0.0)
        if dep.pruning_fn == fn.prune_conv_out_channels:
            cost += total / layer.out_channels
        elif dep.pruning_fn == fn.prune_conv_in_channels:
            cost += total / layer.in_channels
    return cost


def _tie_counts(count: dict, groups: list, names: dict, ties: list, order: dict) -> None:
    """Layers whose widths the architecture ties (e.g. STVEN's encoder/decoder) lose the same number of channels."""
    root = {names.get(id(g[0].dep.target.module)): gi for gi, g in enumerate(groups)}
    for a, b in ties:
        if (a in root) != (b in root):  # one side is at its channel floor: the other must not narrow alone
            count.pop(root.get(a, root.get(b)), None)
        elif a in root and b in root:
            ga, gb = root[a], root[b]
            if len(groups[ga][0].idxs) != len(groups[gb][0].idxs):
                raise EdgeRPPGError(f"tied layers {a} and {b} have different widths; the model was pruned without ties")
            k = min(max(count.get(ga, 0), count.get(gb, 0)), len(order[ga]), len(order[gb]))
            if k:
                count[ga] = count[gb] = k


#: Layers whose output widths one architecture entry sets (`arch_config` records one width for both), so
#: structured pruning must narrow them together. Keyed by model name; the cascade prefixes its sub-models.
TIED_WIDTHS: dict[str, list[tuple[str, str]]] = {
    "stven": [("enc2.conv", "dec1.conv"), ("enc1.conv", "dec2.conv")],
}
TIED_WIDTHS["cascade"] = [(f"stven.{a}", f"stven.{b}") for a, b in TIED_WIDTHS["stven"]]


def tied_widths(model: nn.Module) -> list[tuple[str, str]]:
    name = getattr(getattr(model, "spec", None), "name", None)
    return list(getattr(model, "TIED_WIDTHS", None) or TIED_WIDTHS.get(name, []))


def _flatten_outputs(out):
    if isinstance(out, dict):
        return sum(v.float().sum() for v in out.values() if torch.is_tensor(v))
    if isinstance(out, (list, tuple)):
        return sum(v.float().sum() for v in out if torch.is_tensor(v))
    return out


def channel_widths(model: nn.Module) -> dict[str, list[int]]:
    """{conv name: [in, out]} of the live model (for reports and tests)."""
    return {
        n: [m.in_channels, m.out_channels] for n, m in model.named_modules() if isinstance(m, nn.modules.conv._ConvNd)
    }
