"""Tiny Conv3d models with the model contract (.spec, .deploy(), .example_inputs()) for export/runtime tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from edgerppg.spec import ClipSpec

CLIP = ClipSpec(channels=3, frames=48, height=16, width=16, fps=30.0)


@dataclass(frozen=True)
class ToySpec:
    name: str = "toy"
    variant: str = "tiny"
    clip: ClipSpec = CLIP
    input_names: tuple = ("video",)
    output_names: tuple = ("rppg",)
    dynamic_axes: dict = field(default_factory=lambda: {"video": {0: "batch"}, "rppg": {0: "batch"}})


class ToyRPPG(nn.Module):
    """Conv3d (spatial) -> norm -> ReLU -> Conv3d (temporal) -> spatial mean -> 1x1x1 head: (B, T)."""

    def __init__(self, width: int = 8, norm: str = "batch", clip: ClipSpec = CLIP):
        super().__init__()
        self.spec = ToySpec(clip=clip)
        self.conv1 = nn.Conv3d(3, width, (1, 3, 3), padding=(0, 1, 1))
        if norm == "instance_running":  # the pytorch #72057 pitfall: eval uses running stats, ONNX does not
            self.norm = nn.InstanceNorm3d(width, affine=True, track_running_stats=True)
            self.norm.running_mean.uniform_(-2, 2)
            self.norm.running_var.uniform_(3, 9)
        elif norm == "instance":
            self.norm = nn.InstanceNorm3d(width, affine=True)
        else:
            self.norm = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, width, (3, 1, 1), padding=(1, 0, 0))
        self.head = nn.Conv3d(width, 1, 1)
        self.eval()

    def forward(self, video):
        x = torch.relu(self.norm(self.conv1(video)))
        x = torch.relu(self.conv2(x))
        x = x.mean(dim=(3, 4), keepdim=True)
        return self.head(x)[:, 0, :, 0, 0]

    def deploy(self):
        return self

    def example_inputs(self, batch: int = 1):
        return (torch.rand(self.spec.clip.shape(batch)),)


def prune_(model: nn.Module, density: float = 0.1, seed: int = 0) -> nn.Module:
    """Zero all but the largest-magnitude `density` of every conv weight (unstructured)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv3d) and m.weight.numel() > 16:
                w = m.weight + 1e-6 * torch.randn(m.weight.shape, generator=g)
                k = max(1, int(density * w.numel()))
                thr = w.abs().flatten().kthvalue(w.numel() - k).values
                m.weight.mul_((w.abs() > thr).float())
    return model
