"""Scorers (parametrised over the registry), mask creators and MaskSet on a toy Conv3d network."""

import pytest
import torch
from prune_toys import ToyNet, toy_batches, toy_objective

from edgerppg.errors import EdgeRPPGError
from edgerppg.prune import MASKERS, SCORERS, MaskSet, masks_from_weights, prunable_params
from edgerppg.prune.masks import budget


@pytest.mark.parametrize("name", SCORERS.names())
def test_scorer_contract(name, toy):
    params = prunable_params(toy, exclude="head")
    a = SCORERS.get(name)(toy, params, toy_batches(), toy_objective)
    b = SCORERS.get(name)(toy, params, toy_batches(), toy_objective)
    assert set(a) == set(params)
    for n, p in params.items():
        assert a[n].shape == p.shape and (a[n] >= 0).all()
        assert torch.equal(a[n], b[n]), "scores must be deterministic"
    assert all(p.grad is None for p in toy.parameters()), "scorers leave no gradients behind"


def test_snip_is_weight_times_gradient(toy):
    params = prunable_params(toy, exclude="head")
    batches = toy_batches(1)
    scores = SCORERS.get("snip")(toy, params, batches, toy_objective)
    toy.train()
    toy_objective(toy, batches[0]).backward()
    for n, p in params.items():
        assert torch.allclose(scores[n], (p * p.grad).abs())


@pytest.mark.parametrize("density", [0.1, 0.37, 1.0])
def test_global_mask_keeps_exact_budget_with_floor(toy, density):
    params = prunable_params(toy, exclude="head")
    scores = SCORERS.get("magnitude")(toy, params)
    masks = MASKERS.get("global")(scores, density, min_layer_density=0.02)
    n = sum(p.numel() for p in params.values())
    assert sum(int(m.sum()) for m in masks.values()) == round(n * density)
    assert all(m.sum() >= max(1, 0.02 * m.numel()) for m in masks.values())


def test_global_mask_ties_are_deterministic():
    scores = {"a": torch.ones(10), "b": torch.ones(10)}
    m = MASKERS.get("global")(scores, 0.25)
    # every layer keeps at least its best weight; the rest go to the lowest positions
    assert m["a"].tolist() == [True] * 4 + [False] * 6
    assert m["b"].tolist() == [True] + [False] * 9


def test_global_mask_floor_over_budget_is_an_error():
    with pytest.raises(EdgeRPPGError, match="min_layer_density"):
        MASKERS.get("global")({"a": torch.rand(100), "b": torch.rand(100)}, 0.01, min_layer_density=0.5)


def test_density_outside_range_is_an_error():
    with pytest.raises(EdgeRPPGError, match="outside"):
        budget(100, 1.5)


def test_channel_and_nm_masks(toy):
    params = prunable_params(toy, exclude="head")
    scores = SCORERS.get("random")(toy, params)
    ch = MASKERS.get("channel")(scores, 0.25)
    for n, m in ch.items():
        rows = m.flatten(1)
        assert (rows.all(1) | ~rows.any(1)).all(), "whole output channels are kept or cut"
        assert int(rows.all(1).sum()) == max(1, round(m.shape[0] * 0.25))
    nm = MASKERS.get("2:4")(scores, 0.5)
    for n, m in nm.items():
        flat = m.reshape(m.shape[0], -1)
        full = flat[:, : flat.shape[1] // 4 * 4].reshape(m.shape[0], -1, 4)
        assert (full.sum(-1) == 2).all()
    with pytest.raises(EdgeRPPGError, match="2:4"):
        MASKERS.get("2:4")(scores, 0.1)


def test_maskset_survives_training_and_verifies(toy):
    params = prunable_params(toy, exclude="head")
    masks = MaskSet(MASKERS.get("global")(SCORERS.get("magnitude")(toy, params), 0.1, 0.02))
    masks.apply(toy)
    opt = torch.optim.Adam(toy.parameters(), lr=1e-2)
    for batch in toy_batches(3):
        opt.zero_grad()
        toy_objective(toy, batch).backward()
        opt.step()
        masks(toy)  # after_step
    report = masks.verify(toy)
    assert report.nonzeros == masks.kept == round(report.params * 0.1)
    assert masks_from_weights(params).kept == masks.kept
    with torch.no_grad():
        next(iter(params.values())).add_(1.0)  # un-prune by accident
    with pytest.raises(EdgeRPPGError, match="non-zero"):
        masks.verify(toy)


def test_scope_matching_nothing_is_an_error(toy):
    with pytest.raises(EdgeRPPGError, match="matches no conv"):
        prunable_params(toy, scope="^nonexistent", where="recipes/x.yaml")
