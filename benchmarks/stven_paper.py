"""The structured 10x `paper` STVEN shared by the benchmarks (test_perf_stven_paper.py, gpu.py).

A copy of a `paper` STVEN is channel-pruned with `prune.structured.prune_channels` like
recipes/structured-10x.yaml (its mac_ratio and exclude, cost-aware ranking) but with magnitude channel scores
(SNIP needs data and a backward pass of a TMAC network). Torch-Pruning's graph is traced on a short small clip,
which only fixes the channel coupling of this fully convolutional net. Latency depends on the widths, not on
the weights' values, so seeded random weights stand in for trained ones (none exist at paper size).
"""

from __future__ import annotations

from pathlib import Path

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "structured-10x.yaml"
VARIANT = "paper"
TRACE_CLIP = (8, 32, 32)  # T, H, W of the clip Torch-Pruning traces and the reload check runs


def seeded_stven():
    """The seeded dense `paper` STVEN in eval mode. Its output conv, zero at init so that a fresh STVEN is the
    identity, gets a seeded random init, so that parity, reload and precision checks compare a real output."""
    import torch

    from edgerppg.models import create_model

    torch.manual_seed(0)
    model = create_model("stven", VARIANT).eval()
    torch.nn.init.normal_(model.out.weight, std=0.01)
    return model


def prune_stage() -> dict:
    """mac_ratio and exclude of the shipped structured recipe's prune stage."""
    from edgerppg.recipes import load_recipe

    for stage in load_recipe(RECIPE).stages:
        if stage.KIND == "prune" and stage.mac_ratio is not None:
            return {"mac_ratio": float(stage.mac_ratio), "exclude": stage.exclude}
    raise ValueError(f"{RECIPE}: no structured prune stage")


def short_clip(inputs: tuple) -> tuple:
    t, h, w = TRACE_CLIP
    return (inputs[0][:, :, :t, :h, :w].contiguous(), *inputs[1:])


def magnitude_scores(model) -> dict:
    return {n: p.detach().abs() for n, p in model.named_parameters()}


def prune_10x(model) -> dict:
    from edgerppg.prune.report import layer_macs, total_macs
    from edgerppg.prune.structured import ChannelBudget, prune_channels

    stage = prune_stage()
    return prune_channels(model, short_clip(model.example_inputs(1)), magnitude_scores, total_macs,
                          ChannelBudget(stage["mac_ratio"], exclude=stage["exclude"]), cost_fn=layer_macs)


