"""The training / fine-tuning loop shared by rPPGNet, STVEN and joint training (Yu et al., ICCV 2019).

`fit` trains with Adam (lr 1e-4 by default, as in the paper), validates after every epoch, keeps the
best-on-validation checkpoint (written atomically), and writes a resumable state file beside it, so a killed
run continues from its last finished epoch. It is deterministic for a seed (torch, numpy and python RNGs are
seeded and saved; the shuffling order of epoch e is drawn from `seed + e`), calls `after_step(model)` after
every optimiser step (pruning re-applies its masks there) and runs under `torchrun` with
DistributedDataParallel (see `edgerppg.train.ddp`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from edgerppg import progress
from edgerppg.errors import EdgeRPPGError
from edgerppg.train import ddp
from edgerppg.train.batch import to_device
from edgerppg.train.metrics import Metric, default_metric
from edgerppg.train.objectives import Objective
from edgerppg.train.objectives import objective as objective_for
from edgerppg.train.state import RESUME_INPUTS, load_state, save_state, state_path

SaveFn = Callable[[Path, nn.Module, dict], None]

#: learning-rate schedules: name -> factor(step, total steps) applied to the base lr before each step
SCHEDULES: dict[str, Callable[[int, int], float]] = {
    "constant": lambda step, total: 1.0,
    "cosine": lambda step, total: 0.5 * (1.0 + math.cos(math.pi * step / max(total, 1))),
}


class _Step(nn.Module):
    """The objective as a module, so DistributedDataParallel sees every sub-module call of one step."""

    def __init__(self, model: nn.Module, objective: Objective):
        super().__init__()
        self.model, self.objective = model, objective

    def forward(self, batch: dict) -> torch.Tensor:
        return self.objective(self.model, batch)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _loader(train_set: Dataset, batch: int, seed: int, epoch: int, ctx: ddp.DistContext, workers: int) -> DataLoader:
    """Shuffled batches; the order depends only on (seed, epoch), so a resumed run sees the same order."""
    if ctx.enabled:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(train_set, num_replicas=ctx.world, rank=ctx.rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
    else:
        sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(seed + epoch))
    return DataLoader(train_set, batch_size=batch, sampler=sampler, num_workers=workers)


def _default_save(path: Path, model: nn.Module, meta: dict) -> None:
    from edgerppg.models.checkpoint import save_checkpoint

    save_checkpoint(path, model, meta=meta)


@dataclass(frozen=True)
class FitOptions:
    """How `fit` trains: epochs, optimiser settings, seed, device, and whether it resumes a saved state."""

    epochs: int
    lr: float = 1e-4
    batch: int = 4
    seed: int = 0
    device: str = "cpu"
    schedule: str = "constant"  # a name in SCHEDULES
    resume: bool = True  # continue from `<out>.state.pt` when it exists
    workers: int = 0  # DataLoader worker processes

    def validate(self) -> "FitOptions":
        if self.schedule not in SCHEDULES:
            raise EdgeRPPGError(f"unknown learning-rate schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.epochs < 1 or self.batch < 1 or not self.lr > 0:
            raise EdgeRPPGError(f"training needs epochs >= 1, batch >= 1 and lr > 0 "
                                f"(got {self.epochs}, {self.batch}, {self.lr})")
        return self


def fit(
    model: nn.Module,
    train_set: Dataset,
    val_set=None,
    options: FitOptions | None = None,
    *,
    objective: Objective | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
    out: str | Path | None = None,
    metric: Metric | None = None,
    save: SaveFn | None = None,
    meta: dict | None = None,
) -> dict:
    """Train `model` on `train_set` as `options` say; returns history and the best validation metric.

    `val_set`: a ClipDataset or a list of Recordings (validation = HR MAE in bpm through the same pipeline
    as `edgerppg eval`), or any dataset of batches (validation = mean objective loss), or None (the last
    epoch is kept). `out`: checkpoint path (best epoch), with its resumable state at `<out>.state.pt`.
    `objective` defaults to the model's own; `after_step(model)` runs after every optimiser step;
    `metric(model) -> (name, value)` overrides validation (lower is better); `save(path, model, meta)`
    overrides the checkpoint writer; `meta` is merged into the checkpoint manifest.
    """
    options = (options or FitOptions(epochs=0)).validate()
    if len(train_set) == 0:
        raise EdgeRPPGError("training set is empty: the data directory has no clips long enough for the model's clip spec")
    ctx = ddp.setup(options.device)
    try:
        return _fit(model, train_set, val_set, options, ctx, objective, after_step, out,
                    metric, save or _default_save, dict(meta or {}))
    finally:
        ddp.teardown(ctx)


def _fit(model, train_set, val_set, options: FitOptions, ctx, objective, after_step, out, metric, save, meta) -> dict:
    o = options
    seed_everything(o.seed)
    objective = objective or objective_for(model)
    model.to(ctx.device)
    params = objective.prepare(model)
    optimizer = torch.optim.Adam(params, lr=o.lr)
    metric = metric or default_metric(val_set, objective, o.batch, ctx.device, model)
    config = {"objective": objective.name, "lr": o.lr, "batch": o.batch, "seed": o.seed, "epochs": o.epochs,
              "world": ctx.world}
    if o.schedule != "constant":  # recorded only when used: manifests and resume states of older runs stay valid
        config["schedule"] = o.schedule
    run = {"epoch": 0, "best": {}, "history": []}
    spath = state_path(out) if out is not None else None
    inputs = {k: v for k, v in meta.get("training", {}).items() if k in RESUME_INPUTS}
    if inputs.get("data"):
        inputs["data"] = str(Path(inputs["data"]).resolve())  # the same folder however it is spelled
    if o.resume and spath is not None and spath.exists():
        run = load_state(spath, model, optimizer, config, inputs)
    step = ddp.wrap(_Step(model, objective), ctx)
    steps_per_epoch = len(_loader(train_set, o.batch, o.seed, 0, ctx, o.workers))
    factor, total = SCHEDULES[o.schedule], o.epochs * steps_per_epoch

    def set_lr(step: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = o.lr * factor(step, total)
    with _bar(ctx, total) as bar:
        bar.advance(run["epoch"] * steps_per_epoch)
        for epoch in range(run["epoch"], o.epochs):
            loss = _train_epoch(step, model, objective, optimizer, after_step, bar, ctx,
                                _loader(train_set, o.batch, o.seed, epoch, ctx, o.workers), epoch, o.epochs,
                                lambda i, e=epoch: set_lr(e * steps_per_epoch + i))
            name, value = ddp.broadcast(_validate(metric, model, objective) if ctx.is_main else None, ctx)
            run["history"].append({"epoch": epoch + 1, "loss": loss, name: value})
            improved = not run["best"] or value <= run["best"]["value"]
            if improved:
                run["best"] = {"metric": name, "value": value, "epoch": epoch + 1}
            bar.update(f"loss {loss:.4f}  {name} {value:.3f}  best {run['best']['value']:.3f}")
            if ctx.is_main and out is not None:
                if improved:
                    save(Path(out), model, _checkpoint_meta(meta, config, run))
                save_state(spath, model, optimizer, epoch + 1, run["best"], run["history"],
                           {**config, "inputs": inputs})
            ddp.barrier(ctx)
            run["epoch"] = epoch + 1
    return {"history": run["history"], "best": run["best"], "epochs": o.epochs, "out": str(out) if out else None,
            "config": config}


def _train_epoch(step, model, objective, optimizer, after_step, bar, ctx, loader, epoch, epochs, set_lr) -> float:
    """One pass over the (shard of the) training set; returns the mean loss (averaged over ranks)."""
    objective.train_mode(model)
    total, count = 0.0, 0
    for i, batch in enumerate(loader):
        set_lr(i)
        loss = step(to_device(batch, ctx.device))
        if not torch.isfinite(loss):
            raise EdgeRPPGError(f"training diverged (loss {loss.item()}) at epoch {epoch + 1}; lower --lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step(model)
        total, count = total + loss.item(), count + 1
        bar.advance(1, status=f"epoch {epoch + 1}/{epochs}  loss {loss.item():.4f}")
    mean = total / max(count, 1)
    if ctx.enabled:
        import torch.distributed as dist

        t = torch.tensor([mean], dtype=torch.float64, device=ctx.device)
        dist.all_reduce(t)
        mean = t.item() / ctx.world
    return mean


def _validate(metric: Metric, model: nn.Module, objective: Objective) -> tuple[str, float]:
    model.eval()
    try:
        with torch.no_grad():
            name, value = metric(model)
    finally:
        objective.train_mode(model)
    if not math.isfinite(value):
        value = float("inf")
    return name, float(value)


def _checkpoint_meta(meta: dict, config: dict, run: dict) -> dict:
    out = dict(meta)
    out["training"] = {**meta.get("training", {}), **config, "best_epoch": run["best"]["epoch"],
                       "history": run["history"]}
    out["metrics"] = {**meta.get("metrics", {}), run["best"]["metric"]: run["best"]["value"]}
    return out


class _NullBar:
    def advance(self, n=1, status=None):
        pass

    def update(self, status):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _bar(ctx: ddp.DistContext, total: int):
    """The progress bar on rank 0; other ranks draw nothing."""
    return progress.task("training", total) if ctx.is_main else _NullBar()
