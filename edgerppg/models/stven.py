"""STVEN: spatio-temporal video enhancement network, compressed face video -> enhanced video.

Yu, Peng, Li, Hong, Zhao: "Remote Heart Rate Measurement from Highly Compressed Facial Videos: an
End-to-end Deep Learning Solution with Video Enhancement", ICCV 2019, Sec. 3.1 and Table 1. Implemented
from the paper's description (instance norm + ReLU throughout):

- input: the video mapped to [-1, 1] plus the target compression label as one-hot planes (one plane per
  entry of `spec.COMPRESSION_LEVELS`; label 0 = "enhance to the best quality");
- encoder: conv 3x7x7 to 64; conv 3x4x4 stride (1,2,2) to 128; conv 4x4x4 stride 2 to 512;
- bottleneck: `blocks` residual ST blocks at 512 (Table 1: 6);
- decoder: transposed conv 4x4x4 stride 2 to 128; transposed conv 1x4x4 stride (1,2,2) to 64;
  conv 1x7x7 to 3, tanh, plus the input (global residual); mapped back to the [0, 1] range.

Norms are InstanceNorm3d(affine=True, track_running_stats=False): with running statistics the exported
ONNX graph silently differs from eval mode (pytorch #72057). The tiny variant uses smaller first/last
kernels (`k_in`, `k_out`) so it trains on a CPU; those kernels are part of the recorded architecture.

Weights imported from the authors' code (models/reference.py) compute exactly what that code computes in
eval mode through three recorded architecture keys (defaults: edgerppg's form above):

- `norm="running"`: their InstanceNorm3d(affine=True, track_running_stats=True), which normalises with the
  running statistics in eval mode (blocks.RunningInstanceNorm3d; exports as an affine BatchNormalization);
- `block="reference"`: their bottleneck block, spatial conv -> BatchNorm -> ReLU -> temporal conv, with
  no norm, ReLU or residual after it;
- `io="raw"`: no [0, 1] <-> [-1, 1] mapping; the input is taken as it comes (in the checkpoint's input
  format, spec.ClipSpec) and the output is tanh(...) + input, in that same format.
"""

from __future__ import annotations

import torch
from torch import nn

from edgerppg.models.base import MODELS, DeployOutput, EdgeModel
from edgerppg.models.blocks import ConvNormAct, STBlock
from edgerppg.spec import COMPRESSION_LEVELS, ClipSpec


def label_planes(video: torch.Tensor, label: torch.Tensor | None, n_labels: int) -> torch.Tensor:
    """One-hot label planes (B, n_labels, T, H, W) matching `video`; label None means 0 for every clip.

    Built from a comparison with arange (not F.one_hot) so the exported graph is a plain Equal + Mul. The
    ones come from the input (`x * 0 + 1`, not `ones_like`): with static shapes the exporter folds `ones_like`
    into a (1, n_labels, T, H, W) initializer, 4 MB for a tiny 64x64x64 cascade, larger than its weights.
    """
    levels = torch.arange(n_labels, device=video.device)
    if label is None:
        onehot = (levels == 0).to(video.dtype).view(1, n_labels, 1, 1, 1)
    else:
        onehot = (label.view(-1, 1) == levels.view(1, -1)).to(video.dtype).view(-1, n_labels, 1, 1, 1)
    return onehot * (video[:, :1] * 0.0 + 1.0)


def _bottleneck(width: int, blocks: list, norm: str, block: str) -> tuple[nn.Sequential, int]:
    """The ST blocks -> (Sequential, output width). edgerppg's residual blocks keep `width` (their [mid, out]
    entries' out is `width`); the authors' blocks chain [mid, out] freely (a structured prune narrows them)."""
    if block == "residual":
        return nn.Sequential(*(STBlock(width, mid, width, norm=norm, residual=True) for mid, _ in blocks)), width
    layers, cin = [], width
    for mid, out in blocks:
        layers.append(STBlock(cin, mid, out, norm="batch", tail=False))
        cin = out
    return nn.Sequential(*layers), cin


class Label0Input(nn.Module):
    """STVEN's `enc1` for label 0 without building the label planes: the export form's input layer.

    With label 0 the planes are one plane of ones and zeros elsewhere, and the conv is linear, so
    conv(cat(video, planes)) = conv over the video channels + the label-0 weights' response to a plane of
    ones. That response depends only on the distance to the borders (zero padding), so when the kernel has
    no time extent it is computed on one frame and broadcast over time. Same function (tested to 1e-5);
    ONNX Runtime no longer concatenates (B, 3 + labels, T, H, W) and convolves 7 channels at full
    resolution (the tiny cascade's most expensive layer after rPPGNet's stem: docs/deploy.md).
    The weights are views of `enc1.conv.weight`, so the module follows the model it was built from.
    """

    def __init__(self, enc1: ConvNormAct, channels: int):
        super().__init__()
        conv, weight = enc1.conv, enc1.conv.weight.detach()
        self.conv = self._part(conv, weight[:, :channels], conv.bias)
        self.plane = self._part(conv, weight[:, channels:channels + 1], None)
        self.norm, self.act = enc1.norm, enc1.act
        self.still = conv.kernel_size[0] == 1 and conv.padding[0] == 0  # the plane's response is the same every frame

    @staticmethod
    def _part(conv: nn.Conv3d, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Conv3d:
        part = nn.Conv3d(weight.shape[1], conv.out_channels, conv.kernel_size, stride=conv.stride,
                         padding=conv.padding, dilation=conv.dilation, bias=False, device="meta")
        part.weight = nn.Parameter(weight, requires_grad=False)
        if bias is not None:
            part.bias = nn.Parameter(bias.detach(), requires_grad=False)
        return part

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = (x[:, :1, :1] if self.still else x[:, :1]) * 0.0 + 1.0  # from the input: no constant initializer
        return self.act(self.norm(self.conv(x) + self.plane(ones)))


# edgerppg's own form (per-clip instance norms, residual blocks, [0, 1] in and out); see the module docstring
_EDGERPPG_FORM = {"norm": "instance", "block": "residual", "io": "unit"}
_FORMS = {"norm": ("instance", "running"), "block": ("residual", "reference"), "io": ("unit", "raw")}


@MODELS.register("stven")
class STVEN(EdgeModel):
    """STVEN; forward(video, label int64 (B,)) -> enhanced video (B,3,T,H,W) in about [0, 1]."""

    NAME = "stven"
    DEPLOY_OUTPUTS = ("enhanced",)
    VARIANTS = {
        "paper": {
            "clip": ClipSpec(frames=64, height=128, width=128),
            "labels": len(COMPRESSION_LEVELS),
            "widths": [64, 128, 512],
            "blocks": [[512, 512]] * 6,
            "k_in": [3, 7, 7],
            "k_out": [1, 7, 7],
            **_EDGERPPG_FORM,
        },
        "small": {
            "clip": ClipSpec(frames=64, height=64, width=64),
            "labels": len(COMPRESSION_LEVELS),
            "widths": [8, 16, 32],
            "blocks": [[32, 32]] * 3,
            "k_in": [3, 5, 5],
            "k_out": [1, 5, 5],
            **_EDGERPPG_FORM,
        },
        "tiny": {
            "clip": ClipSpec(frames=64, height=64, width=64),
            "labels": len(COMPRESSION_LEVELS),
            "widths": [4, 8, 16],
            "blocks": [[16, 16]] * 2,
            "k_in": [1, 3, 3],
            "k_out": [1, 3, 3],
            **_EDGERPPG_FORM,
        },
    }

    def __init__(self, variant: str, clip, labels: int, widths: list[int], blocks: list, k_in, k_out,
                 norm: str = "instance", block: str = "residual", io: str = "unit"):
        super().__init__(variant, clip)
        for key, value in (("norm", norm), ("block", block), ("io", io)):
            if value not in _FORMS[key]:
                raise ValueError(f"STVEN {key} {value!r} is not one of {_FORMS[key]}")
        if self.clip.height % 4 or self.clip.width % 4 or self.clip.frames % 2:
            raise ValueError(f"STVEN needs H, W multiples of 4 and an even T, got {self.clip.shape()}")
        self.norm_mode, self.block_mode, self.io_mode = norm, block, io
        w1, w2, w3 = widths
        self.enc1 = ConvNormAct(self.clip.channels + labels, w1, k_in, norm=norm, bias=False)
        self.enc2 = ConvNormAct(w1, w2, (3, 4, 4), stride=(1, 2, 2), padding=1, norm=norm, bias=False)
        self.enc3 = ConvNormAct(w2, w3, 4, stride=2, padding=1, norm=norm, bias=False)
        self.blocks, w4 = _bottleneck(w3, blocks, norm, block)
        self.dec1 = ConvNormAct(w4, w2, 4, stride=2, padding=1, norm=norm, bias=False, transposed=True)
        self.dec2 = ConvNormAct(
            w2, w1, (1, 4, 4), stride=(1, 2, 2), padding=(0, 1, 1), norm=norm, bias=False, transposed=True
        )
        self.out = nn.Conv3d(w1, self.clip.channels, k_out, padding=tuple(k // 2 for k in k_out), bias=False)
        with torch.no_grad():  # start as the identity map (tanh(0) + input): a cascade begins as its rPPGNet
            self.out.weight.zero_()  # (even a 0.1-scaled random residual swamps a 0.5 % pulse); gradients still reach it
        self.label0: Label0Input | None = None  # set by fold_label0() on export copies only

    @property
    def n_labels(self) -> int:
        return self.enc1.conv.in_channels - self.clip.channels

    def _arch(self) -> dict:
        return {
            "labels": self.n_labels,
            "widths": [self.enc1.conv.out_channels, self.enc2.conv.out_channels, self.enc3.conv.out_channels],
            "blocks": [block.widths() for block in self.blocks],
            "k_in": list(self.enc1.conv.kernel_size),
            "k_out": list(self.out.kernel_size),
            "norm": self.norm_mode,
            "block": self.block_mode,
            "io": self.io_mode,
        }

    def forward(self, video: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """Enhance `video` (B,3,T,H,W) in [0,1] towards compression level `label` (int64 (B,); None = 0)."""
        x = video * 2.0 - 1.0 if self.io_mode == "unit" else video
        if label is None and self.label0 is not None:
            h = self.label0(x)
        else:
            h = self.enc1(torch.cat([x, label_planes(x, label, self.n_labels)], dim=1))
        h = self.blocks(self.enc3(self.enc2(h)))
        y = torch.tanh(self.out(self.dec2(self.dec1(h)))) + x
        return (y + 1.0) * 0.5 if self.io_mode == "unit" else y

    def enhance(self, video: torch.Tensor) -> torch.Tensor:
        """The deployed computation: enhance to the best quality (label 0)."""
        return self.forward(video, None)

    def deploy(self) -> nn.Module:
        return DeployOutput(self, "enhance")

    def fold_label0(self) -> None:
        """Run label 0 (the deployed enhancement) through `Label0Input` from now on; export copies call this."""
        self.label0 = Label0Input(self.enc1, self.clip.channels)

    def example_inputs_train(self, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """(video, label) for forward(); labels cycle through the compression levels."""
        (video,) = self.example_inputs(batch)
        return video, torch.arange(batch, device=video.device) % self.n_labels
