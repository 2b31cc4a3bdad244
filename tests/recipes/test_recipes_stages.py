"""Recipe stages on a tiny rPPGNet with an in-memory clip set: exact 10% density after fine-tuning and after
reloading the saved checkpoint, N2NSkip rebuilt on load with identical outputs, structured >= 10x fewer MACs."""

import math

import pytest
import torch

from edgerppg.errors import EdgeRPPGError
from edgerppg.models import create_model, load_checkpoint, save_checkpoint
from edgerppg.prune.report import total_macs
from edgerppg.recipes import parse_recipe
from edgerppg.recipes.apply import PruneResult, _save_and_verify
from edgerppg.recipes.runners import RUNNERS, Context
from edgerppg.train.objectives import objective

EXCLUDE = r"head|(^|\.)out($|\.)"


class Clips(torch.utils.data.Dataset):
    """Two short synthetic clips with a sinusoidal pulse (the ClipDataset item layout)."""

    def __init__(self, spec, n=2):
        g = torch.Generator().manual_seed(0)
        t = torch.arange(spec.frames) / spec.fps
        self.items = []
        for i in range(n):
            pulse = torch.sin(2 * math.pi * (1.0 + 0.3 * i) * t)
            video = 0.5 + 0.05 * pulse.view(1, -1, 1, 1) + 0.02 * torch.rand(spec.shape(1)[1:], generator=g)
            self.items.append({"video": video.float(), "bvp": ((pulse - pulse.mean()) / pulse.std()).float(),
                               "skin": torch.ones(spec.frames, spec.height, spec.width)})

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _run(recipe_dict, tmp_path):
    model = create_model("rppgnet", "tiny")
    ckpt = tmp_path / "dense.safetensors"
    save_checkpoint(ckpt, model)
    recipe = parse_recipe(recipe_dict, source="test-recipe")
    ctx = Context(model=model, objective=objective(model), train_set=Clips(model.clip), val_recordings=[],
                  where="test-recipe")
    dense_macs = total_macs(model)
    stages = [RUNNERS.get(s.KIND)(s, ctx) for s in recipe.stages]
    result = PruneResult(recipe.name, recipe.hash, str(ckpt), str(tmp_path / "p.safetensors"), "rppgnet", "tiny")
    out = tmp_path / "p.safetensors"
    verified = _save_and_verify(recipe, ctx, {"model": "rppgnet", "variant": "tiny"}, result, ckpt, out)
    return ctx, stages, verified, out, dense_macs, recipe


PRUNE = {"method": "snip", "density": 0.1, "exclude": EXCLUDE, "min_layer_density": 0.02, "calibration_batches": 1}
FINETUNE = {"epochs": 1, "batch": 2, "lr": 1e-3}


@pytest.mark.parametrize("method", ["snip", "magnitude", "random"])
def test_unstructured_exactly_ten_percent_after_finetune_and_reload(method, tmp_path):
    recipe = {"name": "t", "stages": [{"prune": {**PRUNE, "method": method}}, {"finetune": FINETUNE}]}
    ctx, stages, verified, out, _, r = _run(recipe, tmp_path)
    prunable = stages[0]["prunable"]
    assert stages[1]["nonzeros_after"] == round(0.1 * prunable)
    assert verified["nonzeros"] == round(0.1 * prunable) and verified["arch_matches"]
    model, manifest = load_checkpoint(out)
    assert manifest["recipe_hash"] == r.hash
    weights = [p for n, p in model.named_parameters() if n in ctx.masks.masks]
    assert sum(int((w != 0).sum()) for w in weights) == round(0.1 * prunable)


def test_n2nskip_budget_and_rebuild_with_identical_outputs(tmp_path):
    recipe = {"name": "t", "stages": [{"n2nskip": {"hop": 1, "skip_share": 0.5, "exclude": EXCLUDE}},
                                      {"prune": PRUNE}, {"finetune": FINETUNE}]}
    ctx, stages, verified, out, _, _ = _run(recipe, tmp_path)
    budget = round(0.1 * stages[1]["prunable"])
    assert verified["nonzeros"] == budget and 0 < stages[1]["skip_nonzeros"] <= budget
    model, manifest = load_checkpoint(out)
    assert manifest["transforms"][0]["type"] == "n2nskip"
    x = ctx.model.example_inputs()
    ctx.model.eval()
    with torch.no_grad():
        assert torch.equal(model.deploy()(*x), ctx.model.deploy()(*x))
    assert stages[1]["connectivity"]["skips"] == len(stages[0]["pairs"])


def test_structured_ten_x_macs_after_finetune_and_reload(tmp_path):
    prune = {"method": "magnitude", "mac_ratio": 10, "exclude": EXCLUDE}
    ctx, stages, verified, out, dense, _ = _run({"name": "t", "stages": [{"prune": prune}, {"finetune": FINETUNE}]},
                                                tmp_path)
    model, _ = load_checkpoint(out)
    assert dense / total_macs(model) >= 10 and verified["arch_matches"]


def test_finetune_objective_for_another_model_is_one_line(tmp_path):
    with pytest.raises(EdgeRPPGError, match="trains a cascade, not this rppgnet"):
        _run({"name": "x", "stages": [{"finetune": {**FINETUNE, "objective": "cascade-all"}}]}, tmp_path)


class Pairs(Clips):
    """Clips plus the (target, label) pair keys a cascade's objectives read."""

    def __getitem__(self, i):
        item = self.items[i]
        return {**item, "target": (item["video"] + 0.01).clamp(0, 1), "label": torch.tensor(2)}


def test_pruned_cascade_finetunes_rppgnet_too_by_default():
    from edgerppg.spec import ClipSpec

    clip = ClipSpec(frames=16, height=32, width=32)
    model = create_model("cascade", "tiny", clip=clip.to_dict())
    before = {n: p.detach().clone() for n, p in model.rppgnet.named_parameters()}
    ctx = Context(model=model, objective=objective(model), train_set=Pairs(clip), val_recordings=[], where="t")
    recipe = parse_recipe({"name": "x", "stages": [{"finetune": FINETUNE}]}, source="t")
    RUNNERS.get("finetune")(recipe.stages[0], ctx)
    assert any(not torch.equal(before[n], p) for n, p in model.rppgnet.named_parameters())
