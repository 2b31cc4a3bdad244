"""Building blocks shared by STVEN and rPPGNet (Yu et al., "Remote Heart Rate Measurement from Highly
Compressed Facial Videos: an End-to-end Deep Learning Solution with Video Enhancement", ICCV 2019).

Both networks are stacks of 3D convolutions, each followed by a normalisation and a ReLU, and of
spatio-temporal (ST) blocks that factor a 3x3x3 convolution into a spatial 1x3x3 convolution and a
temporal 3x1x1 one. The modules here are deliberately plain (nn.Conv3d / nn.ConvTranspose3d / norm /
nn.ReLU in named children, ReLU never in place) so that Torch-Pruning's dependency graph can trace and
narrow them, and every width is read back from the modules themselves (`out_channels`) so a model whose
channels were pruned in place still describes itself exactly.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "instance", "running", "none")


class RunningInstanceNorm3d(nn.BatchNorm3d):
    """InstanceNorm3d(affine=True, track_running_stats=True), as the authors' STVEN uses it.

    Training normalises each clip with its own statistics and updates the running ones (what
    nn.InstanceNorm3d does); eval mode normalises with the running statistics, which is a fixed per-channel
    affine map, i.e. exactly BatchNorm3d's eval computation. Being a BatchNorm3d, it exports to ONNX as
    BatchNormalization (folded into the conv by runtimes; no InstanceNormalization, which would use per-clip
    statistics: pytorch #72057), and pruners narrow its running statistics with its weights.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, True,
                               self.momentum if self.momentum is not None else 0.1, self.eps)


def make_norm(kind: str, channels: int) -> nn.Module:
    """BatchNorm3d (rPPGNet), affine InstanceNorm3d without running stats (STVEN), the authors' instance norm
    with running statistics ("running", for imported weights) or none.

    InstanceNorm3d with `track_running_stats=True` normalises with the running statistics in eval mode,
    and the ONNX exporter writes an InstanceNormalization node that always uses the per-clip statistics,
    so the exported graph computes something else (pytorch #72057). Without running stats, eval and
    export agree; "running" is therefore a BatchNorm3d subclass (RunningInstanceNorm3d).
    """
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=True, track_running_stats=False)
    if kind == "running":
        return RunningInstanceNorm3d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose one of {NORMS}")


def _triple(v: int | Sequence[int]) -> tuple[int, int, int]:
    if isinstance(v, int):
        return (v, v, v)
    t = tuple(int(x) for x in v)
    if len(t) != 3:
        raise ValueError(f"expected 3 values, got {v!r}")
    return t  # type: ignore[return-value]


class ConvNormAct(nn.Module):
    """conv -> norm -> ReLU, with `conv`, `norm`, `act` as named children (what pruners look for).
    `act=False` leaves the ReLU out (an Identity), as after the temporal conv of the authors' ST block."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | None = None,
        norm: str = "batch",
        bias: bool = True,
        transposed: bool = False,
        act: bool = True,
    ):
        super().__init__()
        kernel = _triple(kernel)
        pad = tuple(k // 2 for k in kernel) if padding is None else _triple(padding)
        conv_cls = nn.ConvTranspose3d if transposed else nn.Conv3d
        self.conv = conv_cls(cin, cout, kernel, stride=_triple(stride), padding=pad, bias=bias)
        self.norm = make_norm(norm, cout)
        self.act = nn.ReLU(inplace=False) if act else nn.Identity()

    @property
    def out_channels(self) -> int:
        return self.conv.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class STBlock(nn.Module):
    """Spatio-temporal block: spatial 1x3x3 conv -> norm -> ReLU -> temporal 3x1x1 conv -> norm -> ReLU.

    `mid` is the width between the two convolutions (the paper's blocks use mid == out; the authors'
    released code uses the R(2+1)D rule, see models/reference.py). With `residual=True` the block adds
    its input to its output (requires cin == out; STVEN's bottleneck). With `tail=False` the temporal conv's
    output is returned as it is (no norm, no ReLU): the authors' SpatioTemporalConv.
    """

    def __init__(self, cin: int, mid: int, cout: int, norm: str = "batch", residual: bool = False, bias: bool = True,
                 tail: bool = True):
        super().__init__()
        if residual and cin != cout:
            raise ValueError(f"a residual ST block needs cin == cout, got {cin} -> {cout}")
        self.residual = residual
        self.spatial = ConvNormAct(cin, mid, (1, 3, 3), norm=norm, bias=bias)
        self.temporal = ConvNormAct(mid, cout, (3, 1, 1), norm=norm if tail else "none", bias=bias, act=tail)

    def widths(self) -> list[int]:
        """[mid, out], read from the live convolutions."""
        return [self.spatial.conv.out_channels, self.temporal.conv.out_channels]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.temporal(self.spatial(x))
        return x + y if self.residual else y
