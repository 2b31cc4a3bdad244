"""Training objectives by model name: how each model of Yu et al. (ICCV 2019) is trained.

`objective(model)` looks the model's registered name up in `OBJECTIVES` and returns an `Objective`: called as
`objective(model, batch) -> loss`, it also says which parameters train (`prepare`), how train/eval modes are
set (`train_mode`) and how to read a pulse from the model for validation (`signal`; None for STVEN alone).
SNIP calibration and fine-tuning in `edgerppg.prune` use the same objectives.

- "rppgnet": Eq. 8 on the clip's ground-truth pulse and skin label.
- "stven": Eq. 3-4 on (compressed clip, original clip) pairs (`batch["target"]`).
- "cascade" (joint training, Eq. 9-10): STVEN enhances the compressed clip with label 0, the frozen rPPGNet
  reads it; L_rPPGNet + eps * perceptual loss on rPPGNet feature maps (enhanced vs original clip) +
  rho * L_STVEN. Only STVEN's parameters train; rPPGNet stays in eval mode.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from typing import Iterator

import torch
from torch import Tensor, nn

from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry
from edgerppg.train import losses

OBJECTIVES: Registry[type["Objective"]] = Registry("training objective")


class Objective:
    """A model's training loss plus the few facts the training loop needs about that model."""

    name = "base"
    #: the model (spec.name) this objective trains; None: the objective's own name
    model: str | None = None
    #: validation metric when `signal` gives a pulse (HR MAE, bpm); else the validation loss
    has_signal = True
    #: the attribute holding this objective's losses.RPPGNetWeights (None: no rPPG signal loss)
    rppg_weights_attr: str | None = None

    def __call__(self, model: nn.Module, batch: dict) -> Tensor:
        raise NotImplementedError

    def prepare(self, model: nn.Module) -> list[nn.Parameter]:
        """Freeze what must not train; return the parameters the optimiser updates."""
        return [p for p in model.parameters() if p.requires_grad]

    def train_mode(self, model: nn.Module) -> None:
        model.train()

    def signal(self, model: nn.Module, video: Tensor) -> Tensor:
        """The model's rPPG pulse (B, T) for a clip batch (B, 3, T, H, W)."""
        raise NotImplementedError

    def with_spectral(self, weight: float) -> "Objective":
        """A copy whose rPPGNet loss adds `weight` * losses.spectral_loss (0: the paper's loss)."""
        attr = self.rppg_weights_attr
        if attr is None:
            if weight == 0:
                return self
            raise EdgeRPPGError(f"objective {self.name!r} has no rPPG signal loss to add a spectral term to; "
                                f"drop the spectral weight")
        out = copy.copy(self)
        setattr(out, attr, dataclasses.replace(getattr(self, attr), freq=float(weight)))
        return out


def objective(model: nn.Module) -> Objective:
    """The training objective registered for `model`'s name (model.spec.name)."""
    spec = getattr(model, "spec", None)
    name = getattr(spec, "name", None)
    if name is None:
        raise EdgeRPPGError(f"{type(model).__name__}: model has no .spec.name, so no training objective is known")
    return for_input_format(OBJECTIVES.get(name)(), model)


def for_input_format(obj, model: nn.Module):
    """`obj` feeding `model` its recorded input format (spec.ClipSpec: channel order, scale, offset), for
    models imported with another format than the [0, 1] RGB the data gives; `obj` itself otherwise."""
    clip = getattr(model, "clip", None)
    return obj if clip is None or clip.is_rgb01 else InModelFormat(obj)


class InModelFormat:
    """An objective whose batches ("video", "target") and signal clips are converted from [0, 1] RGB to the
    model's input format before the wrapped objective sees them; everything else is the wrapped one's."""

    _CLIPS = ("video", "target")

    def __init__(self, base):
        self.base = base

    def __getattr__(self, name):
        return getattr(self.base, name)

    def __call__(self, model, batch):
        return self.base(model, {k: model.clip.to_model(v) if k in self._CLIPS else v for k, v in batch.items()})

    def signal(self, model, video):
        return self.base.signal(model, model.clip.to_model(video))

    def with_spectral(self, weight: float):
        return InModelFormat(self.base.with_spectral(weight))


@OBJECTIVES.register("rppgnet")
class RPPGNetObjective(Objective):
    """Eq. 6, 8 with alpha=1, beta=0.5, gamma=0.1, delta=0.5."""

    name = "rppgnet"
    rppg_weights_attr = "weights"

    def __init__(self, weights: losses.RPPGNetWeights = losses.RPPGNetWeights()):
        self.weights = weights

    def __call__(self, model, batch):
        out = model(batch["video"])
        return losses.rppgnet_loss(out, batch["bvp"], batch.get("skin"), self.weights, batch.get("hr_bpm"),
                                   model.spec.clip.fps)

    def signal(self, model, video):
        return model(video)["rppg"]


@OBJECTIVES.register("stven")
class STVENObjective(Objective):
    """Eq. 3-4 on pairs: batch["video"] is the compressed clip (label k), batch["target"] the original."""

    name = "stven"
    has_signal = False

    def __call__(self, model, batch):
        if "target" not in batch:
            raise EdgeRPPGError("STVEN training needs (compressed, original) pairs: build the ClipDataset with pair_group='raw'")
        return losses.stven_loss(model, batch["video"], batch["target"], batch["label"])


@OBJECTIVES.register("cascade")
class JointObjective(Objective):
    """Eq. 9-10: train STVEN through the frozen rPPGNet of a cascade (inputs enhanced with label 0)."""

    name = "cascade"
    rppg_weights_attr = "rppgnet_weights"
    #: the objective recipes fine-tune a pruned cascade with: pruning narrows rPPGNet too, so it must train
    finetune = "cascade-all"

    def __init__(
        self,
        weights: losses.JointWeights = losses.JointWeights(),
        rppgnet_weights: losses.RPPGNetWeights = losses.RPPGNetWeights(),
    ):
        self.weights, self.rppgnet_weights = weights, rppgnet_weights

    def prepare(self, model):
        for p in model.rppgnet.parameters():
            p.requires_grad_(False)
        return [p for p in model.stven.parameters() if p.requires_grad]

    def train_mode(self, model):
        model.train()
        model.rppgnet.eval()  # frozen: batch-norm statistics stay those rPPGNet was trained with

    def __call__(self, model, batch):
        if "target" not in batch:
            raise EdgeRPPGError("joint training needs (compressed, original) pairs: build the ClipDataset with pair_group='raw'")
        video, target, label = batch["video"], batch["target"], batch["label"]
        zeros = torch.zeros_like(label)
        layers = feature_layers(model.rppgnet)
        with tap_features(model.rppgnet, layers) as feats:
            out = model(video, zeros)
        with torch.no_grad(), tap_features(model.rppgnet, layers) as target_feats:
            model.rppgnet(target)
        l_r = losses.rppgnet_loss(out, batch["bvp"], batch.get("skin"), self.rppgnet_weights, batch.get("hr_bpm"),
                                  model.spec.clip.fps)
        l_p = losses.perceptual_loss(feats, target_feats)
        l_s = losses.stven_loss(model.stven, video, target, label, enhanced=out["enhanced"])
        return losses.joint_loss(l_r, l_p, l_s, self.weights)

    def signal(self, model, video):
        return model(video, torch.zeros(video.shape[0], dtype=torch.long, device=video.device))["rppg"]


@OBJECTIVES.register("cascade-all")
class CascadeFinetuneObjective(JointObjective):
    """Eq. 9-10 with rPPGNet trained too: fine-tuning a *pruned* cascade, whose narrowed rPPGNet must recover.

    The joint objective freezes rPPGNet because the paper trains STVEN for an already trained rPPGNet; after
    structured pruning both halves lost channels, and a frozen narrowed rPPGNet never recovers (measured:
    fine-tuning loss flat at 2.04 on the 10x tiny cascade). Recipes fine-tune cascades with it by default
    (`JointObjective.finetune`); `finetune: {objective: cascade}` keeps the paper's frozen rPPGNet.
    """

    name = "cascade-all"
    model = "cascade"

    def prepare(self, model):
        for p in model.parameters():
            p.requires_grad_(True)
        return list(model.parameters())

    def train_mode(self, model):
        model.train()

    def __call__(self, model, batch):
        """Every second clip of the batch is the original (label 0, target itself): the pruned rPPGNet keeps
        working on uncompressed video too, at no extra cost per step."""
        if "target" not in batch:
            return super().__call__(model, batch)
        video, label = batch["video"].clone(), batch["label"].clone()
        video[1::2], label[1::2] = batch["target"][1::2], 0
        return super().__call__(model, {**batch, "video": video, "label": label})


class DistilledObjective(Objective):
    """`base` plus `weight` * neg_pearson(student pulse, teacher pulse), the teacher fed the very inputs the
    student got (cascade-all swaps half the clips for originals, so the inputs are read off a forward hook).

    Knowledge distillation from the dense parent (SparseML's distillation modifier, Hinton et al. 2015, on the
    regression output): the pruned model is pulled towards what its parent reads, on top of the ground truth.
    The teacher runs in eval mode under no_grad; its parameters never train.
    """

    def __init__(self, base: Objective, teacher: nn.Module, weight: float):
        if weight <= 0:
            raise EdgeRPPGError(f"distillation weight must be > 0 (got {weight}); use the objective itself for 0")
        self.base, self.teacher, self.weight = base, teacher.eval(), float(weight)
        self.name, self.model, self.has_signal = base.name, base.model, base.has_signal
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def prepare(self, model):
        self.teacher.to(next(model.parameters()).device)
        return self.base.prepare(model)

    def train_mode(self, model):
        self.base.train_mode(model)
        self.teacher.eval()

    def signal(self, model, video):
        return self.base.signal(model, video)

    def __call__(self, model, batch):
        calls: list = []
        handle = model.register_forward_hook(lambda _m, args, kwargs, out: calls.append((args, kwargs, out)),
                                             with_kwargs=True)
        try:
            loss = self.base(model, batch)
        finally:
            handle.remove()
        if not calls or not isinstance(calls[0][2], dict) or "rppg" not in calls[0][2]:
            raise EdgeRPPGError(f"distillation needs a model whose forward returns a pulse ('rppg'); "
                                f"{type(model).__name__} did not; drop the finetune key 'distill'")
        args, kwargs, out = calls[0]
        with torch.no_grad():
            taught = self.teacher(*args, **kwargs)["rppg"]
        return loss + self.weight * losses.neg_pearson(out["rppg"], taught)


def feature_layers(rppgnet: nn.Module) -> list[str]:
    """Names of the rPPGNet blocks whose feature maps the perceptual loss compares.

    The model may name them (`rppgnet.feature_layers`); otherwise the output of every stage of ST blocks
    (`stages.0`, `stages.1`, ...): low-, mid- and high-level spatio-temporal features.
    """
    names = getattr(rppgnet, "feature_layers", None)
    if names:
        return list(names)
    stages = getattr(rppgnet, "stages", None)
    if isinstance(stages, nn.ModuleList) and len(stages):
        return [f"stages.{i}" for i in range(len(stages))]
    raise EdgeRPPGError(f"{type(rppgnet).__name__}: no feature layers found for the perceptual loss")


@contextlib.contextmanager
def tap_features(model: nn.Module, names: list[str]) -> Iterator[list[Tensor]]:
    """Collect the outputs of the named sub-modules during forwards inside the block (forward hooks)."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise EdgeRPPGError(f"{type(model).__name__}: no sub-module named {missing[0]!r} for the perceptual loss")
    feats: list[Tensor] = []
    handles = [modules[n].register_forward_hook(lambda _m, _i, o: feats.append(o)) for n in names]
    try:
        yield feats
    finally:
        for h in handles:
            h.remove()
