"""apply_recipe: load a checkpoint, run a recipe's stages on it, verify, save atomically, reload, verify.

The output checkpoint's manifest records the recipe (name, hash, stages), the sparsity that was counted in
the saved weights, the HR metrics before and after, and — through the model itself — the narrowed widths of
a structured prune (arch) and the N2NSkip transform, so `load_checkpoint` rebuilds exactly this model.
Nothing is written until every stage has passed, and then through an atomic rename: an interrupted or
failed prune leaves no partial file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgerppg.data import load_dataset
from edgerppg.data.clips import ClipDataset, split_subjects
from edgerppg.errors import EdgeRPPGError
from edgerppg.manifest import sha256_file
from edgerppg.progress import task
from edgerppg.recipes.runners import RUNNERS, Context, hr_summary
from edgerppg.recipes.schema import Recipe, load_recipe
from edgerppg.train.kinds import KINDS


@dataclass
class PruneResult:
    """What a recipe did, with numbers kept as numbers (the CLI renders them)."""

    recipe: str
    recipe_hash: str
    checkpoint: str
    out: str
    model: str
    variant: str
    stages: list = field(default_factory=list)
    layers: list = field(default_factory=list)  # prune.report.merge_tables rows
    totals: dict = field(default_factory=dict)  # params/nonzeros/macs before and after
    metrics_before: dict = field(default_factory=dict)
    metrics_after: dict = field(default_factory=dict)
    sparsity: dict = field(default_factory=dict)  # verified on the reloaded checkpoint

    def to_dict(self) -> dict:
        return asdict(self)


def apply_recipe(recipe, ckpt, data, out, *, device: str = "cpu", val_fraction: float = 0.2, seed: int = 0,
                 evaluate: bool = True, groups: list[str] | None = None) -> PruneResult:
    """Run `recipe` (a Recipe or a path) on checkpoint `ckpt` with the dataset at `data`; write `out`.

    `groups`: the data groups calibration and fine-tuning read (as `edgerppg train --groups`; None: those the
    model's training kind reads). Validation reads every group of the held-out subjects either way."""
    from edgerppg.models import load_checkpoint
    from edgerppg.prune.report import layer_table, merge_tables
    from edgerppg.train.loop import seed_everything
    from edgerppg.train.objectives import objective as objective_for

    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    seed_everything(seed)  # layers a stage adds (N2NSkip's skip convs) start from the same weights every run
    model, manifest = load_checkpoint(ckpt)
    _check_model(recipe, model, Path(ckpt))
    objective = objective_for(model)
    train_set, val_recs = _data(model, Path(data), val_fraction, seed, groups)
    ctx = Context(model=model, objective=objective, train_set=train_set, val_recordings=val_recs,
                  where=f"{recipe.source}", device=device)
    if any(getattr(s, "distill", 0) for s in recipe.stages):
        import copy

        ctx.teacher = copy.deepcopy(model).eval()  # the dense parent, before any stage touches the model
    model.to(device)
    before = layer_table(model)
    result = PruneResult(recipe=recipe.name, recipe_hash=recipe.hash, checkpoint=str(ckpt), out=str(out),
                         model=manifest["model"], variant=manifest["variant"])
    evaluate = evaluate and bool(val_recs) and getattr(objective, "has_signal", True)  # STVEN alone has no pulse
    if evaluate:
        result.metrics_before = hr_summary(model, objective, val_recs, device=device)

    with task(f"recipe {recipe.name}", len(recipe.stages)) as bar:
        for stage in recipe.stages:
            bar.update(stage.KIND)
            result.stages.append(RUNNERS.get(stage.KIND)(stage, ctx))
            bar.advance(1)
    model.eval()
    if evaluate:
        result.metrics_after = hr_summary(model, objective, val_recs, device=device)
    after = layer_table(model)
    result.layers = merge_tables(before, after)
    result.totals = _totals(before, after)
    result.sparsity = _save_and_verify(recipe, ctx, manifest, result, Path(ckpt), Path(out))
    return result


def _check_model(recipe, model, path: Path) -> None:
    """One-line errors for a checkpoint the recipe was not written for (model family, scope regexes)."""
    from edgerppg.prune import prunable_params

    if recipe.model is not None and recipe.model != model.spec.name:
        raise EdgeRPPGError(f"{path}: checkpoint holds a {model.spec.name} but recipe {recipe.source} is written for "
                            f"{recipe.model}; pass a {recipe.model} checkpoint")
    for i, stage in enumerate(recipe.stages):
        if stage.KIND == "prune":
            prunable_params(model, stage.scope, stage.exclude,
                            f"{path}: recipe {recipe.source} stages[{i}] does not fit this checkpoint:")
        if stage.KIND == "finetune" and stage.objective is not None:  # checked here, not after the pruning
            from edgerppg.train.objectives import OBJECTIVES

            objective = OBJECTIVES.get(stage.objective)()
            trains = objective.model or objective.name
            if trains != model.spec.name:
                raise EdgeRPPGError(f"{path}: checkpoint holds a {model.spec.name} but recipe {recipe.source} "
                                    f"stages[{i}] fine-tunes a {trains} (objective {stage.objective!r}); pass a "
                                    f"{trains} checkpoint or another recipe")


def _data(model, data: Path, val_fraction: float, seed: int, groups: list[str] | None = None):
    """(training clip dataset, held-out recordings of every group) with a subject-independent split."""
    recordings = load_dataset(data)
    kind = next((KINDS.get(k)() for k in KINDS.names() if KINDS.get(k).model_name == model.spec.name), None)
    if kind is None:
        raise EdgeRPPGError(f"no training kind trains a {model.spec.name}; cannot fine-tune it")
    chosen = recordings
    if groups:
        have = sorted({r.group for r in recordings})
        missing = [g for g in groups if g not in have]
        if missing:
            raise EdgeRPPGError(f"{data}: no data group {missing[0]!r} (it has {', '.join(have)}); fix --groups")
        groups = kind.groups_to_read(groups)
        chosen = [r for r in recordings if r.group in groups]
    selected = kind.select(chosen, data, groups)
    train, val = split_subjects(selected, val_fraction, seed)
    held_out = {r.subject for r in val}
    val_all = [r for r in recordings if r.subject in held_out]
    return ClipDataset(train, model.clip, pair_group=kind.pair_group), val_all


def _totals(before: list, after: list) -> dict:
    s = lambda rows, k: float(sum(r[k] for r in rows))  # noqa: E731
    return {"params_before": s(before, "params"), "params": s(after, "params"),
            "nonzeros_before": s(before, "nonzeros"), "nonzeros": s(after, "nonzeros"),
            "macs_before": s(before, "macs"), "macs": s(after, "macs"), "effective_macs": s(after, "effective_macs")}


def _save_and_verify(recipe, ctx, manifest: dict, result: PruneResult, ckpt: Path, out: Path) -> dict:
    """Save atomically, reload from disk and count the non-zeros there (never assumed)."""
    from edgerppg.models import load_checkpoint, save_checkpoint
    from edgerppg.prune import MaskSet

    meta = {
        "recipe_hash": recipe.hash,
        "recipe": recipe.to_dict(),
        "pruning": {"source": {"path": str(ckpt), "sha256": sha256_file(ckpt)}, "sparsity": ctx.sparsity,
                    "totals": result.totals},
        "training": manifest.get("training", {}),
        "metrics": {"hr_before": result.metrics_before.get("overall"), "hr_after": result.metrics_after.get("overall")},
    }
    if "converted" in manifest:  # provenance of weights imported with `edgerppg convert` travels with them
        meta["converted"] = manifest["converted"]
    save_checkpoint(out, ctx.model, meta)
    reloaded, _ = load_checkpoint(out)
    verified = {"arch_matches": reloaded.arch_config() == ctx.model.arch_config()}
    if ctx.masks is not None:
        report = MaskSet(ctx.masks.masks).verify(reloaded, f"{out} (reloaded)", ctx.expected_nonzeros)
        verified.update(nonzeros=report.nonzeros, prunable=ctx.sparsity["prunable"],
                        density=report.nonzeros / ctx.sparsity["prunable"])
    if not verified["arch_matches"]:
        out.unlink(missing_ok=True)
        raise EdgeRPPGError(f"{out}: the reloaded model's architecture differs from the pruned one; not kept")
    return verified
