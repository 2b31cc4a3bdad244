"""How each recipe stage runs on a `Context` (the model being pruned, its objective and its data).

Registered in `RUNNERS` by stage kind, so apply_recipe never dispatches with if/elif.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.evaluate import evaluate
from edgerppg.predict.predictors import ModelPredictor
from edgerppg.progress import task
from edgerppg.registry import Registry

RUNNERS: Registry = Registry("recipe stage runner")


@dataclass
class Context:
    """What the stages share while a recipe runs."""

    model: object
    objective: object
    train_set: object  # a torch Dataset of training batches (ClipDataset)
    val_recordings: list  # whole recordings of the held-out subjects (HR evaluation)
    where: str = "<recipe>"
    device: str = "cpu"
    masks: object = None  # prune.MaskSet once an unstructured prune stage ran
    expected_nonzeros: int | None = None
    sparsity: dict = field(default_factory=dict)
    teacher: object = None  # the recipe's input model, untouched (finetune's distill key)


def calibration_batches(ctx: Context, n: int, batch: int, seed: int) -> list:
    """The first n shuffled training batches (seeded): SNIP's calibration data."""
    import torch
    from torch.utils.data import DataLoader

    if ctx.train_set is None or len(ctx.train_set) == 0:
        raise EdgeRPPGError(f"{ctx.where}: no training clips for calibration; point --data at a dataset")
    loader = DataLoader(ctx.train_set, batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(seed))
    out = []
    for b in loader:
        out.append({k: (v.to(ctx.device) if hasattr(v, "to") else v) for k, v in b.items()})
        if len(out) >= n:
            break
    return out


def _score_fn(stage, ctx: Context, batches: list):
    """model -> {param name: score} with the stage's scorer over its scope."""
    from edgerppg.models.skips import ATTR
    from edgerppg.prune import SCORERS, prunable_params

    scorer = SCORERS.get(stage.method)
    extra = {"seed": stage.seed} if stage.method == "random" else {}

    def score(model) -> dict:
        params = prunable_params(model, stage.scope, _join(stage.exclude, f"^{ATTR}\\."), f"{ctx.where} (prune scope)")
        skips = {n: p for n, p in model.named_parameters() if n.startswith(ATTR + ".")}
        return scorer(model, {**params, **skips}, batches, ctx.objective, **extra)

    return score


def _join(a: str | None, b: str) -> str:
    return b if not a else f"(?:{a})|(?:{b})"


@RUNNERS.register("prune")
def run_prune(stage, ctx: Context) -> dict:
    from edgerppg.models.skips import ATTR
    from edgerppg.prune import MASKERS, MaskSet
    from edgerppg.prune.masks import budget

    model = ctx.model
    if stage.at_init:
        _reinitialise(model, stage.seed)
    batches = calibration_batches(ctx, stage.calibration_batches, stage.batch, stage.seed) if stage.method == "snip" else []
    score_fn = _score_fn(stage, ctx, batches)
    if stage.mac_ratio is not None:
        return _run_structured(stage, ctx, score_fn)
    scores = score_fn(model)
    seq = {n: s for n, s in scores.items() if not n.startswith(ATTR + ".")}
    skip = {n: s for n, s in scores.items() if n.startswith(ATTR + ".")}
    n_seq = sum(s.numel() for s in seq.values())
    keep = budget(n_seq, stage.density)
    share = getattr(model, "_n2nskip_config", {}).get("skip_share", 0.0) if skip else 0.0
    keep_skip = min(int(round(keep * share)), sum(s.numel() for s in skip.values()))
    keep_seq = keep - keep_skip
    maker = MASKERS.get(stage.mask)
    masks = maker(seq, keep_seq / n_seq, stage.min_layer_density)
    if skip:
        masks.update(MASKERS.get("global")(skip, keep_skip / sum(s.numel() for s in skip.values()), 0.0))
    if ctx.masks is not None:  # a second prune stage narrows the earlier masks further
        masks = {n: m & ctx.masks.masks.get(n, m) for n, m in masks.items()}
    mask_set = MaskSet(masks)
    mask_set.apply(model)
    ctx.masks, ctx.expected_nonzeros = mask_set, mask_set.kept
    report = mask_set.verify(model, ctx.where)
    ctx.sparsity = {"prunable": n_seq, "nonzeros": report.nonzeros, "density": report.nonzeros / n_seq,
                    "skip_nonzeros": keep_skip, "mask": stage.mask, "method": stage.method}
    return {"stage": "prune", "method": stage.method, "mask": stage.mask, "target_density": stage.density,
            "prunable": n_seq, "nonzeros": report.nonzeros, "density": report.nonzeros / n_seq,
            "skip_nonzeros": keep_skip, "connectivity": _connectivity(model, stage)}


def _run_structured(stage, ctx: Context, score_fn) -> dict:
    from edgerppg.prune.report import layer_macs, total_macs
    from edgerppg.prune.structured import ChannelBudget, prune_channels

    if ctx.masks is not None:
        raise EdgeRPPGError(f"{ctx.where}: a structured prune (mac_ratio) must come before unstructured ones")
    model = ctx.model
    with task(f"structured prune to {stage.mac_ratio}x fewer MACs", None) as bar:
        budget = ChannelBudget(stage.mac_ratio, exclude=stage.exclude, min_channels=stage.min_channels,
                               min_channels_scope=stage.min_channels_scope)
        summary = prune_channels(model, model.example_inputs(), score_fn, total_macs, budget, cost_fn=layer_macs,
                                 on_step=lambda i, r: bar.advance(1, status=f"{r:.2f}x"))
    return {"stage": "prune", "method": stage.method, "structured": True, "target_mac_ratio": stage.mac_ratio,
            **summary, "arch": model.arch_config()}


def _connectivity(model, stage) -> dict | None:
    """N2NSkip's heat-diffusion connectivity score (channel graph vs the dense one)."""
    from edgerppg.prune.connectivity import connectivity_score

    try:
        return connectivity_score(model, model.example_inputs(), stage.scope, stage.exclude)
    except (MemoryError, EdgeRPPGError):
        return None


def _reinitialise(model, seed: int) -> None:
    """SNIP at init: fresh weights (reset_parameters of every layer), same architecture."""
    import torch

    torch.manual_seed(seed)
    for m in model.modules():
        if hasattr(m, "reset_parameters") and m is not model:
            m.reset_parameters()


@RUNNERS.register("n2nskip")
def run_n2nskip(stage, ctx: Context) -> dict:
    from edgerppg.prune import add_n2nskip

    model = ctx.model
    if ctx.masks is not None:
        raise EdgeRPPGError(f"{ctx.where}: the n2nskip stage must come before the prune stage that shares its budget")
    add_n2nskip(model, model.example_inputs(), hop=stage.hop, scope=stage.scope, exclude=stage.exclude,
                skip_share=stage.skip_share)
    pairs = model._n2nskip_config["pairs"]
    return {"stage": "n2nskip", "hop": stage.hop, "skip_share": stage.skip_share, "skips": len(pairs),
            "pairs": [p[:2] for p in pairs]}


@RUNNERS.register("finetune")
def run_finetune(stage, ctx: Context) -> dict:
    """train.loop.fit with the masks as after_step; the best validation epoch's weights are kept."""
    from edgerppg.train.loop import FitOptions, fit

    best = {}

    def keep_best(path, model, meta):
        best["state"] = copy.deepcopy(model.state_dict())

    objective = ctx.objective
    name = stage.objective or getattr(ctx.objective, "finetune", None)  # a pruned cascade trains both halves
    if name is not None:
        from edgerppg.train.objectives import OBJECTIVES, for_input_format

        objective = for_input_format(OBJECTIVES.get(name)(), ctx.model)
        trains = objective.model or objective.name
        if trains != ctx.model.spec.name:
            raise EdgeRPPGError(f"{ctx.where}: finetune objective {name!r} trains a {trains}, not this "
                                f"{ctx.model.spec.name}; drop the key or pick an objective for {ctx.model.spec.name}")
    if stage.spectral:
        objective = objective.with_spectral(stage.spectral)
    if stage.distill:
        from edgerppg.train.objectives import DistilledObjective

        if ctx.teacher is None:
            raise EdgeRPPGError(f"{ctx.where}: finetune key 'distill' needs the recipe's input model as teacher; "
                                f"run the recipe through apply_recipe")
        objective = DistilledObjective(objective, ctx.teacher, stage.distill)
    with tempfile.TemporaryDirectory(prefix="edgerppg-finetune-") as tmp:
        val = ctx.val_recordings if getattr(objective, "has_signal", True) else None
        train_set = ctx.train_set  # any torch Dataset; only a ClipDataset knows the data options
        if stage.hr_aug or stage.target != "pulse":
            train_set = train_set.with_options(hr_aug=stage.hr_aug, target=stage.target)
        options = FitOptions(epochs=stage.epochs, lr=stage.lr, batch=stage.batch, seed=stage.seed,
                             device=ctx.device, schedule=stage.schedule, resume=False)
        result = fit(ctx.model, train_set, val or None, options, objective=objective, after_step=ctx.masks,
                     out=Path(tmp) / "ft.safetensors", save=keep_best)
    if "state" in best:
        ctx.model.load_state_dict(best["state"])
    ctx.model.eval()
    out = {"stage": "finetune", "epochs": stage.epochs, "best": result.get("best"), "history": result.get("history")}
    if ctx.masks is not None:
        report = ctx.masks.verify(ctx.model, f"{ctx.where} (after fine-tuning)", ctx.expected_nonzeros)
        out["nonzeros_after"] = report.nonzeros
    return out


@RUNNERS.register("evaluate")
def run_evaluate(stage, ctx: Context) -> dict:
    if not getattr(ctx.objective, "has_signal", True):
        return {"stage": "evaluate", "skipped": f"{ctx.model.spec.name} outputs no pulse to measure HR from"}
    recs = [r for r in ctx.val_recordings if stage.groups is None or r.group in stage.groups]
    if not recs:
        raise EdgeRPPGError(f"{ctx.where}: evaluate found no validation recordings in groups {stage.groups}")
    return {"stage": "evaluate", **hr_summary(ctx.model, ctx.objective, recs, stage.window, ctx.device)}


def hr_summary(model, objective, recordings: list, window: float = 10.0, device: str = "cpu") -> dict:
    """HR metrics per group and overall, through predict.evaluate.evaluate (ModelPredictor)."""
    import torch

    from edgerppg.train.metrics import model_infer

    model.eval()
    infer = model_infer(model, objective.signal, torch.device(device))
    res = evaluate(recordings, ModelPredictor(infer, model.clip, model.spec.name), window=window)
    return {"groups": res["groups"], "overall": res["overall"], "window": res["window"], "band": res["band"]}
