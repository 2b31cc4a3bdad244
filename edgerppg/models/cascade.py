"""The STVEN -> rPPGNet cascade as one module (enhance the compressed video, then measure the pulse).

Yu et al., "Remote Heart Rate Measurement from Highly Compressed Facial Videos: an End-to-end Deep
Learning Solution with Video Enhancement", ICCV 2019, Sec. 3.3 (joint training, Eq. 9-10). At inference
STVEN gets label 0 ("enhance to the best quality"); the deploy form maps video -> rPPG signal (B, T).
Each cascade variant pairs the STVEN and rPPGNet variants of the same name (the same clip spec).
"""

from __future__ import annotations

import torch
from torch import nn

from edgerppg.models.base import MODELS, DeployOutput, EdgeModel
from edgerppg.models.rppgnet import RPPGNet
from edgerppg.models.stven import STVEN


def _sub_arch(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in ("name", "variant")}


@MODELS.register("cascade")
class Cascade(EdgeModel):
    """forward(video, label=None) -> {"enhanced", "rppg", "rppg_mid", "parts", "skin"}."""

    NAME = "cascade"
    DEPLOY_OUTPUTS = ("rppg",)
    VARIANTS = {
        v: {"clip": RPPGNet.VARIANTS[v]["clip"], "stven": {}, "rppgnet": {}} for v in ("paper", "small", "tiny")
    }

    def __init__(self, variant: str, clip, stven: dict, rppgnet: dict):
        super().__init__(variant, clip)
        clip_dict = self.clip.to_dict()
        self.stven = STVEN.build(variant, **{**_sub_arch(stven), "clip": clip_dict})
        self.rppgnet = RPPGNet.build(variant, **{**_sub_arch(rppgnet), "clip": clip_dict})

    def _arch(self) -> dict:
        def sub(model: EdgeModel) -> dict:
            cfg = model.arch_config()
            return {k: v for k, v in cfg.items() if k not in ("name", "variant", "clip")}

        return {"stven": sub(self.stven), "rppgnet": sub(self.rppgnet)}

    def forward(self, video: torch.Tensor, label: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        enhanced = self.stven(video, label)
        return {"enhanced": enhanced, **self.rppgnet(enhanced)}

    def rppg_only(self, video: torch.Tensor) -> torch.Tensor:
        """The deployed computation: STVEN with label 0, then rPPGNet's rPPG signal only."""
        return self.rppgnet.rppg_only(self.stven.enhance(video))

    def deploy(self) -> nn.Module:
        return DeployOutput(self, "rppg_only")
