"""Export-time rewrite of factorised 3D convolutions into 2D ones: the same function, faster integer kernels.

rPPGNet and STVEN (Yu et al., "Remote Heart Rate Measurement from Highly Compressed Facial Videos: an
End-to-end Deep Learning Solution with Video Enhancement", ICCV 2019) factor their 3D convolutions into a
spatial 1xkxk conv and a temporal kx1x1 one. Both are 2D convolutions in disguise:

- a spatial (1, kh, kw) conv is a Conv2d applied to every frame: (B, C, T, H, W) -> (B*T, C, H, W), the
  same weights with the time axis squeezed, and back (two transposes of whole frames);
- a temporal (kt, 1, 1) conv (and a 1x1x1 one) is a Conv2d with a (kt, 1) kernel over (T, H*W): a
  reshape that moves no data;
- a (1, kh, kw) average/max pooling is a 2D pooling frame by frame (the layout of the spatial conv that
  usually precedes it, so the transposes between the two cancel in the exported graph);
- a BatchNorm3d right after a conv (the `ConvNormAct` blocks) is folded into that conv's weights, so the
  2D graph is conv -> ReLU with nothing left between them for the exporter or the quantiser.

In fp32 the rewritten module computes what the original does (up to float rounding of the folded norm).
Why: ONNX Runtime's x86 int8 convolution (QLinearConv, run in NHWC with MLAS's integer kernels) is fast for
2D convolutions, and its 3D path is not: int8 paper rPPGNet was 1.34x faster than fp32 as 3D convs and is
1.52x faster than the (also faster) 2D fp32 graph, 1.90x faster than the 3D one (docs/deploy.md). The rewrite
changes the graph, not the model: checkpoints, training and the torch backend never see it, and
`export_module` applies it to the deploy form only (see `ExportOptions.conv2d`).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


class _Conv2dAs3d(nn.Module):
    """A Conv2d (plus activation) standing in for a Conv3d; channel counts read through (models use them)."""

    def __init__(self, conv: nn.Conv2d, act: nn.Module | None = None):
        super().__init__()
        self.conv = conv
        self.act = act if act is not None else nn.Identity()

    @property
    def in_channels(self) -> int:
        return self.conv.in_channels

    @property
    def out_channels(self) -> int:
        return self.conv.out_channels


class FrameConv(_Conv2dAs3d):
    """A (1, kh, kw) Conv3d (with its folded norm and activation) run frame by frame as a Conv2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c, t, h, w = x.shape
        y = self.act(self.conv(x.transpose(1, 2).reshape(-1, c, h, w)))
        return y.reshape(-1, t, y.shape[1], y.shape[2], y.shape[3]).transpose(1, 2)


class TimeConv(_Conv2dAs3d):
    """A (kt, 1, 1) Conv3d (with its folded norm and activation) as a Conv2d with a (kt, 1) kernel over (T, H*W)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c, t, h, w = x.shape
        y = self.act(self.conv(x.reshape(-1, c, t, h * w)))
        return y.reshape(-1, y.shape[1], y.shape[2], h, w)


class FramePool(nn.Module):
    """A (1, kh, kw) AvgPool3d / MaxPool3d run frame by frame as a 2D pooling.

    With `as_conv`, an average pool becomes the depthwise Conv2d with constant 1/(kh*kw) weights (the
    same sums): ONNX Runtime's int8 QLinearAveragePool ran rPPGNet's 2x2 stem pooling 13x slower than a
    depthwise QLinearConv, which also stays in the NHWC layout of the convolutions around it.
    """

    def __init__(self, pool: nn.Module, as_conv: bool = False):
        super().__init__()
        self.pool = pool
        self.as_conv = as_conv and isinstance(pool, nn.AvgPool2d)

    def _avg_conv(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = _pair(self.pool.kernel_size)
        weight = torch.full((x.shape[1], 1, kh, kw), 1.0 / (kh * kw), dtype=x.dtype, device=x.device)
        return F.conv2d(x, weight, None, self.pool.stride, self.pool.padding, groups=x.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(-1, c, h, w)
        y = self._avg_conv(x) if self.as_conv else self.pool(x)
        return y.reshape(-1, t, c, y.shape[2], y.shape[3]).transpose(1, 2)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _conv2d(conv: nn.Conv3d, axes: tuple[int, int]) -> nn.Conv2d:
    """The Conv2d over two of the Conv3d's kernel axes (0 = T, 1 = H, 2 = W); the third must be singleton."""
    pick = lambda v: (v[axes[0]], v[axes[1]])  # noqa: E731
    out = nn.Conv2d(conv.in_channels, conv.out_channels, pick(conv.kernel_size), stride=pick(conv.stride),
                    padding=pick(conv.padding), dilation=pick(conv.dilation), groups=conv.groups,
                    bias=conv.bias is not None).to(conv.weight.device, conv.weight.dtype)
    squeeze = ({0, 1, 2} - set(axes)).pop()
    with torch.no_grad():
        out.weight.copy_(conv.weight.squeeze(2 + squeeze))
        if conv.bias is not None:
            out.bias.copy_(conv.bias)
    return out


def conv_kind(conv: nn.Module) -> str | None:
    """The 2D form of a Conv3d: "frame" (1xkxk, no time stride or padding), "time" (kx1x1) or None (3D)."""
    if type(conv) is not nn.Conv3d or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return None
    k, s, p, d = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    if k[1:] == (1, 1) and s[1:] == (1, 1) and p[1:] == (0, 0):
        return "time"
    if k[0] == 1 and s[0] == 1 and p[0] == 0 and d[0] == 1:
        return "frame"
    return None


#: a factorised conv with fewer channels than this on both sides stays 3D. ONNX Runtime runs 2D convs in its
#: NCHWc layout, whose kernels pad the channels to blocks of 8 floats (AVX2; 16 on AVX-512): a 3->1 3x3 conv
#: at 64x64x64 frames does 8 outputs' work there (3.9 ms) and takes 2.0 ms as a 3D conv, which has no such
#: blocks. Rewriting only the wide convs made the rPPGNet-dense 10x cascade 32.8 -> 27.9 ms against 31.7 ms
#: with every conv rewritten (1 thread, AVX2; docs/deploy.md).
MIN_2D_CHANNELS = 8


def _thin(conv: nn.Module, min_channels: int) -> bool:
    return max(conv.in_channels, conv.out_channels) < min_channels


def _wrap(conv: nn.Conv3d, act: nn.Module | None = None) -> nn.Module | None:
    kind = conv_kind(conv)
    if kind == "time":
        return TimeConv(_conv2d(conv, (0, 1)).requires_grad_(False), act)  # kernel (kt, 1): W's 1 squeezed
    if kind == "frame":
        return FrameConv(_conv2d(conv, (1, 2)).requires_grad_(False), act)
    return None


def _as3(v) -> tuple[int, int, int]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


def _pool2d(pool: nn.Module, as_conv: bool) -> nn.Module | None:
    """The frame-wise 2D pooling equal to a (1, kh, kw) 3D one, or None."""
    if not isinstance(pool, (nn.AvgPool3d, nn.MaxPool3d)):
        return None
    k, s, p = _as3(pool.kernel_size), _as3(pool.stride or pool.kernel_size), _as3(pool.padding)
    if k[0] != 1 or s[0] != 1 or p[0] != 0 or pool.ceil_mode:
        return None
    if isinstance(pool, nn.AvgPool3d):
        if pool.divisor_override is not None:
            return None
        # a conv pads with zeros and always divides by kh*kw: equal only when padding counts (or there is none)
        exact = pool.count_include_pad or p == (0, 0, 0)
        return FramePool(nn.AvgPool2d(k[1:], s[1:], p[1:], count_include_pad=pool.count_include_pad), as_conv and exact)
    if _as3(pool.dilation)[0] != 1 or pool.return_indices:
        return None
    return FramePool(nn.MaxPool2d(k[1:], s[1:], p[1:], dilation=_as3(pool.dilation)[1:]))


def _fused_block(block: nn.Module, min_channels: int) -> nn.Module | None:
    """conv -> BatchNorm3d -> act (edgerppg's ConvNormAct) as one 2D conv with the norm folded in, or None."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    from edgerppg.models.blocks import ConvNormAct

    if not isinstance(block, ConvNormAct) or not isinstance(block.norm, nn.BatchNorm3d) or conv_kind(block.conv) is None:
        return None
    if _thin(block.conv, min_channels):
        return None
    return _wrap(fuse_conv_bn_eval(block.conv, block.norm), block.act)


def _replacement(child: nn.Module, pool_as_conv: bool, min_channels: int) -> nn.Module | None:
    if type(child) is nn.Conv3d:
        return None if _thin(child, min_channels) else _wrap(child)
    return _fused_block(child, min_channels) or _pool2d(child, pool_as_conv)


def _rewrite(parent: nn.Module, counts: dict, pool_as_conv: bool, min_channels: int) -> None:
    for name, child in list(parent.named_children()):
        new = _replacement(child, pool_as_conv, min_channels)
        if new is None:
            if type(child) in (nn.Conv3d, nn.ConvTranspose3d):
                thin = conv_kind(child) is not None and _thin(child, min_channels)
                counts["kept_thin" if thin else "kept_3d"] += 1
            _rewrite(child, counts, pool_as_conv, min_channels)
            continue
        setattr(parent, name, new)
        if isinstance(new, FramePool):
            counts["pools_as_conv" if new.as_conv else "pools"] += 1
            continue
        counts["frame_convs" if isinstance(new, FrameConv) else "time_convs"] += 1
        counts["folded_norms"] += not isinstance(child, nn.Conv3d)


def as_conv2d(module: nn.Module, pool_as_conv: bool = False,
              min_channels: int = MIN_2D_CHANNELS) -> tuple[nn.Module, dict]:
    """An eval-mode copy of `module` with its factorised Conv3ds, their BatchNorm3ds and (1,k,k) pooling in 2D.

    `pool_as_conv` turns average pools into depthwise convs (for int8; see `FramePool`). A factorised conv
    with fewer than `min_channels` channels on both sides stays 3D (`MIN_2D_CHANNELS`; 1 rewrites all).
    Returns (rewritten copy, counts {"frame_convs", "time_convs", "pools", "pools_as_conv", "folded_norms",
    "kept_3d", "kept_thin"}), which the export manifest records. The original module is not modified.
    """
    out = copy.deepcopy(module).eval()
    counts = {"frame_convs": 0, "time_convs": 0, "pools": 0, "pools_as_conv": 0, "folded_norms": 0, "kept_3d": 0,
              "kept_thin": 0}
    _rewrite(out, counts, pool_as_conv, min_channels)
    return out, counts
