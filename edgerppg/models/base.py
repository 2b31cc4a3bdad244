"""What every edgerppg model shares: the registries, its `ModelSpec`, variant tables and rebuild contract.

A model family (rPPGNet, STVEN, the cascade of both; Yu et al., ICCV 2019) is a subclass of `EdgeModel`
registered in `MODELS`. It carries a table of variants (clip spec + architecture widths) and can describe
itself with `arch_config()`, read from its live modules, so `create_model(**model.arch_config())`
rebuilds it exactly even after Torch-Pruning narrowed its channels in place.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry
from edgerppg.spec import ClipSpec

MODELS: Registry[type["EdgeModel"]] = Registry("model")
# Architecture transforms re-applied by load_checkpoint before the weights are loaded, e.g. "n2nskip"
# (edgerppg/prune/n2nskip.py). Each entry is `f(model, **params) -> model`.
TRANSFORMS: Registry = Registry("model transform")


@dataclass(frozen=True)
class ModelSpec:
    """The deploy form's contract: clip spec, tensor names and the dynamic (batch) axes."""

    name: str
    variant: str
    clip: ClipSpec
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "variant": self.variant,
            "clip": self.clip.to_dict(),
            "input_names": list(self.input_names),
            "output_names": list(self.output_names),
            "dynamic_axes": {k: {str(a): n for a, n in v.items()} for k, v in self.dynamic_axes.items()},
        }


class EdgeModel(nn.Module):
    """Base of the registered model families; see docs/ARCHITECTURE.md "models"."""

    NAME: ClassVar[str] = ""
    VARIANTS: ClassVar[dict[str, dict[str, Any]]] = {}
    DEPLOY_INPUTS: ClassVar[tuple[str, ...]] = ("video",)
    DEPLOY_OUTPUTS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, variant: str, clip: ClipSpec | dict):
        super().__init__()
        self.variant = variant
        self.clip = clip if isinstance(clip, ClipSpec) else ClipSpec.from_dict(clip)

    @classmethod
    def build(cls, variant: str = "tiny", **arch) -> "EdgeModel":
        """The variant's architecture with `arch` overriding its entries (widths, clip, ...)."""
        if variant not in cls.VARIANTS:
            raise EdgeRPPGError(f"unknown {cls.NAME} variant {variant!r}; choose one of: {', '.join(cls.VARIANTS)}")
        cfg = copy.deepcopy(cls.VARIANTS[variant])
        unknown = set(arch) - set(cfg)
        if unknown:
            raise EdgeRPPGError(
                f"{cls.NAME} architecture has no keys {sorted(unknown)}; known keys: {', '.join(sorted(cfg))}"
            )
        cfg.update(copy.deepcopy(arch))
        try:
            return cls(variant=variant, **cfg)
        except (TypeError, ValueError) as exc:
            raise EdgeRPPGError(f"{cls.NAME}/{variant}: invalid architecture ({exc}); check the widths") from None

    @property
    def spec(self) -> ModelSpec:
        axes = {n: {0: "batch"} for n in self.DEPLOY_INPUTS + self.DEPLOY_OUTPUTS}
        return ModelSpec(self.NAME, self.variant, self.clip, self.DEPLOY_INPUTS, self.DEPLOY_OUTPUTS, axes)

    def arch_config(self) -> dict:
        """`{"name", "variant", "clip", ...widths}` read from the live modules; `create_model(**it)` rebuilds."""
        return {"name": self.NAME, "variant": self.variant, "clip": self.clip.to_dict(), **self._arch()}

    def _arch(self) -> dict:
        raise NotImplementedError

    def deploy(self) -> nn.Module:
        """A module whose forward(video) gives only the deployed output (shares this model's weights)."""
        raise NotImplementedError

    def example_inputs(self, batch: int = 1) -> tuple[torch.Tensor, ...]:
        """Seeded inputs for the deploy form at this variant's clip spec, on the model's device."""
        gen = torch.Generator().manual_seed(0)
        video = torch.rand(self.clip.shape(batch), generator=gen)
        return (video.to(self._device()),)

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")


class DeployOutput(nn.Module):
    """Wraps a model so forward(video) returns one tensor, picked by `method` (deploy form for export)."""

    def __init__(self, model: nn.Module, method: str):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(video)


def create_model(name: str, variant: str = "tiny", **arch) -> EdgeModel:
    """Build a registered model: `create_model("rppgnet", "tiny")` or `create_model(**model.arch_config())`."""
    return MODELS.get(name).build(variant, **arch)


def variants(name: str) -> list[str]:
    """The variant names of a registered model, in table order (paper, small, tiny)."""
    return list(MODELS.get(name).VARIANTS)
