"""Structured pruning steps on a toy net whose channel importances are all alike (a fresh init, magnitude scores):
each step cuts a group by at most `group_step_cap` of its width, so no layer collapses to one channel, and the
cost-aware selection stops near the MAC target instead of far past it (before this, one step removed a whole
residual group and a 10x target ended at 26x)."""

import pytest
import torch
from prune_toys import ToyNet, toy_batches
from torch.utils.flop_counter import FlopCounterMode

from edgerppg.errors import EdgeRPPGError
from edgerppg.prune.report import layer_macs
from edgerppg.prune.structured import ChannelBudget, channel_widths, prune_channels


def _setup(width: int = 32):
    torch.manual_seed(0)
    model = ToyNet(width=width)
    x = (toy_batches(1)[0]["video"],)

    def macs(m):
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            m(*x)
        return fc.get_total_flops() / 2

    return model, x, macs


def _magnitude(model):
    return {n: p.detach().abs() for n, p in model.named_parameters()}


def test_cost_aware_prune_lands_near_target_without_collapsing_a_group():
    model, x, macs = _setup()
    snaps = [channel_widths(model)]
    summary = prune_channels(model, x, _magnitude, macs, ChannelBudget(10, exclude="head"), cost_fn=lambda m: layer_macs(m, m, x),
                             on_step=lambda i, r: snaps.append(channel_widths(model)))
    assert 10 <= summary["mac_ratio"] < 11
    assert summary["mac_ratio"] == summary["dense_macs"] / macs(model)
    for before, after in zip(snaps, snaps[1:]):
        for name, (_, out) in after.items():
            prev = before[name][1]
            assert prev - out <= max(1, int(0.1 * prev)), f"{name} lost {prev - out} of {prev} channels in one step"
    final = snaps[-1]
    assert all(out > 1 for name, (_, out) in final.items() if "head" not in name), final


def test_group_step_cap_bounds_each_step():
    model, x, macs = _setup(width=16)
    snaps = [channel_widths(model)]
    prune_channels(model, x, _magnitude, macs, ChannelBudget(4, exclude="head", group_step_cap=0.25),
                   on_step=lambda i, r: snaps.append(channel_widths(model)))
    drops = [before[n][1] - after[n][1] for before, after in zip(snaps, snaps[1:]) for n in after]
    caps = [max(1, int(0.25 * before[n][1])) for before, after in zip(snaps, snaps[1:]) for n in after]
    assert all(d <= c for d, c in zip(drops, caps)) and max(drops) > 1


def test_min_channels_is_kept_by_every_pruned_layer():
    """At 6x fewer MACs the width-8 toy's `up` layer drops to 2 channels; with min_channels=3 no layer goes
    below 3 and the target is still met (other layers give the channels instead)."""
    free, x, macs = _setup(width=8)
    prune_channels(free, x, _magnitude, macs, ChannelBudget(6, exclude="head"))
    assert channel_widths(free)["up"][1] < 3

    model, x, macs = _setup(width=8)
    summary = prune_channels(model, x, _magnitude, macs, ChannelBudget(6, exclude="head", min_channels=3))
    widths = {name: out for name, (_, out) in channel_widths(model).items() if "head" not in name}
    assert min(widths.values()) == 3 and summary["mac_ratio"] >= 6, widths


def test_min_channels_scope_limits_the_floor_to_matching_layers():
    model, x, macs = _setup(width=8)
    prune_channels(model, x, _magnitude, macs, ChannelBudget(10, exclude="head", min_channels=3, min_channels_scope="^up$"))
    widths = channel_widths(model)
    assert widths["up"][1] == 3 and widths["stem.0"][1] < 3 and widths["res_a"][1] < 3, widths


def test_min_channels_scope_matching_nothing_is_an_error():
    model, x, macs = _setup(width=8)
    with pytest.raises(EdgeRPPGError, match="min_channels_scope 'nope' matches no conv layer"):
        prune_channels(model, x, _magnitude, macs,
                       ChannelBudget(6, exclude="head", min_channels=3, min_channels_scope="nope"))
