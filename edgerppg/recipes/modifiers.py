"""The recipe stages (modifiers): prune, n2nskip, finetune, evaluate — each a validated dataclass + `run`.

A stage decides *when* something happens; the scoring (prune.scorers), mask shaping (prune.masks), N2NSkip
transform (prune.n2nskip) and channel surgery (prune.structured) live in edgerppg/prune (STYLE.md habit 4).
`run(stage, ctx) -> dict` mutates `ctx.model` and returns the stage's JSON-ready result.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgerppg.data.clips import TARGETS
from edgerppg.errors import EdgeRPPGError
from edgerppg.recipes.schema import STAGES, check_regex


@STAGES.register("prune")
@dataclass(frozen=True)
class PruneStage:
    """Score with `method`, then keep `density` of the weights (unstructured, `mask` creator) or remove
    channels until the MACs drop `mac_ratio`-fold (structured, Torch-Pruning)."""

    KIND = "prune"
    method: str = "snip"
    density: float | None = None
    mac_ratio: float | None = None
    mask: str = "global"
    scope: str | None = None
    exclude: str | None = None
    min_layer_density: float = 0.0
    #: structured only: the fewest output channels a layer keeps (prune.structured.prune_channels) ...
    min_channels: int = 1
    #: ... in every layer, or in the layers whose names match this regex
    min_channels_scope: str | None = None
    calibration_batches: int = 4
    batch: int = 2
    at_init: bool = False
    seed: int = 0

    def validate(self, where: str) -> None:
        from edgerppg.prune import MASKERS, SCORERS

        if (self.density is None) == (self.mac_ratio is None):
            raise EdgeRPPGError(f"{where}: give exactly one of 'density' (unstructured) or 'mac_ratio' (structured)")
        if self.density is not None and not 0.0 < self.density <= 1.0:
            raise EdgeRPPGError(f"{where}: key 'density' is {self.density}, outside (0, 1]; e.g. 0.1 keeps 1 in 10")
        if self.mac_ratio is not None and self.mac_ratio < 1.0:
            raise EdgeRPPGError(f"{where}: key 'mac_ratio' is {self.mac_ratio}; it must be >= 1 (10 = 10x fewer MACs)")
        if self.method not in SCORERS:
            raise EdgeRPPGError(f"{where}: key 'method' {self.method!r} is not one of {', '.join(SCORERS.names())}")
        if self.mask not in MASKERS:
            raise EdgeRPPGError(f"{where}: key 'mask' {self.mask!r} is not one of {', '.join(MASKERS.names())}")
        if not 0.0 <= self.min_layer_density <= 1.0:
            raise EdgeRPPGError(f"{where}: key 'min_layer_density' {self.min_layer_density} is outside [0, 1]")
        if self.density is not None and (self.min_channels != 1 or self.min_channels_scope is not None):
            raise EdgeRPPGError(f"{where}: keys 'min_channels'/'min_channels_scope' are for structured pruning "
                                f"(mac_ratio); drop them from this density stage")
        if self.min_channels < 1:
            raise EdgeRPPGError(f"{where}: key 'min_channels' is {self.min_channels}; every layer keeps >= 1 channel")
        if self.calibration_batches < 1 or self.batch < 1:
            raise EdgeRPPGError(f"{where}: 'calibration_batches' and 'batch' must be >= 1")
        check_regex(self.scope, f"{where}: key 'scope'")
        check_regex(self.exclude, f"{where}: key 'exclude'")
        check_regex(self.min_channels_scope, f"{where}: key 'min_channels_scope'")


@STAGES.register("n2nskip")
@dataclass(frozen=True)
class N2NSkipStage:
    """Add sparse 1x1x1 skip convs from conv l to conv l+hop; a later prune stage gives them `skip_share`
    of its non-zero budget."""

    KIND = "n2nskip"
    hop: int = 1
    skip_share: float = 0.5
    scope: str | None = None
    exclude: str | None = None

    def validate(self, where: str) -> None:
        if self.hop < 1:
            raise EdgeRPPGError(f"{where}: key 'hop' must be >= 1")
        if not 0.0 < self.skip_share < 1.0:
            raise EdgeRPPGError(f"{where}: key 'skip_share' {self.skip_share} is outside (0, 1)")
        check_regex(self.scope, f"{where}: key 'scope'")
        check_regex(self.exclude, f"{where}: key 'exclude'")


@STAGES.register("finetune")
@dataclass(frozen=True)
class FinetuneStage:
    """Train with the model's own objective, masks re-applied after every optimiser step; the best epoch
    on the validation subjects (HR MAE) is kept."""

    KIND = "finetune"
    epochs: int
    lr: float = 1e-4
    batch: int = 4
    seed: int = 0
    #: a registered training objective (train.OBJECTIVES) instead of the default: the model's own, or the
    #: fine-tuning objective it names (a cascade's is cascade-all, which trains rPPGNet too)
    objective: str | None = None
    #: probability of resampling a training clip to a random heart rate (data.clips.ClipDataset)
    hr_aug: float = 0.0
    #: weight of the spectral (HR band-power) term added to the rPPG loss (train.losses.spectral_loss)
    spectral: float = 0.0
    #: training target: "pulse" (the recorded pulse) or "fundamental" (data.clips.fundamental)
    target: str = "pulse"
    #: learning-rate schedule (train.loop.SCHEDULES): "constant" or "cosine" (lr -> 0 over the stage)
    schedule: str = "constant"
    #: weight of a distillation term: negative Pearson between the pulse of the model being fine-tuned and
    #: that of the recipe's input model (the dense parent) on the same clips (train.DistilledObjective); 0: off
    distill: float = 0.0

    def validate(self, where: str) -> None:
        from edgerppg.train.loop import SCHEDULES

        if self.epochs < 1 or self.batch < 1 or self.lr <= 0:
            raise EdgeRPPGError(f"{where}: needs epochs >= 1, batch >= 1 and lr > 0")
        if self.schedule not in SCHEDULES:
            raise EdgeRPPGError(f"{where}: key 'schedule' is {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.distill < 0:
            raise EdgeRPPGError(f"{where}: key 'distill' is {self.distill}; a loss weight >= 0 (0: no teacher)")
        if not 0.0 <= self.hr_aug <= 1.0:
            raise EdgeRPPGError(f"{where}: key 'hr_aug' is {self.hr_aug}; a probability in [0, 1]")
        if self.spectral < 0:
            raise EdgeRPPGError(f"{where}: key 'spectral' is {self.spectral}; a loss weight >= 0")

        if self.target not in TARGETS:
            raise EdgeRPPGError(f"{where}: key 'target' is {self.target!r}; choose one of {', '.join(TARGETS)}")
        if self.objective is not None:
            from edgerppg.train.objectives import OBJECTIVES

            if self.objective not in OBJECTIVES.names():
                raise EdgeRPPGError(f"{where}: key 'objective' is {self.objective!r}; choose one of "
                                    f"{', '.join(OBJECTIVES.names())}")


@STAGES.register("evaluate")
@dataclass(frozen=True)
class EvaluateStage:
    """HR metrics (predict.evaluate.evaluate) of the current model on the validation subjects."""

    KIND = "evaluate"
    groups: list[str] | None = None
    window: float = 10.0

    def validate(self, where: str) -> None:
        if self.window <= 0:
            raise EdgeRPPGError(f"{where}: key 'window' must be > 0 seconds")
