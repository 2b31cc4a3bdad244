"""Reference-layout state_dicts (parameter names and shapes of the authors' public STVEN / rPPGNet code), with
seeded random weights *and* normalisation running statistics, and the fixture clips they were run on.

Only names and shapes are written here (read from the authors' release; docs/checkpoints.md). The
fixtures in fixtures/ hold what the authors' code computes, in eval mode, from exactly these tensors
(fixtures/README.md says how they were made).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

FIXTURES = Path(__file__).parent / "fixtures"
SEED = 17


def _mid(cin: int, cout: int) -> int:
    """The authors' R(2+1)D rule for the width between the spatial and the temporal conv of a 3x3x3 block."""
    return int(math.floor(27 * cin * cout / (9 * cin + 3 * cout)))


def _conv(lay: dict, name: str, shape: tuple, bias: bool = True) -> None:
    lay[f"{name}.weight"] = shape
    if bias:
        lay[f"{name}.bias"] = (shape[0],)


def _norm(lay: dict, name: str, c: int) -> None:
    for p in ("weight", "bias", "running_mean", "running_var"):
        lay[f"{name}.{p}"] = (c,)
    lay[f"{name}.num_batches_tracked"] = ()


def _st(lay: dict, name: str, cin: int, cout: int) -> None:
    mid = _mid(cin, cout)
    _conv(lay, f"{name}.spatial_conv", (mid, cin, 1, 3, 3))
    _norm(lay, f"{name}.bn", mid)
    _conv(lay, f"{name}.temporal_conv", (cout, mid, 3, 1, 1))


def stven_layout(conv_dim: int = 4, c_dim: int = 5, repeat: int = 4) -> dict:
    """Key -> shape of STVEN_Generator(conv_dim, c_dim, repeat_num)."""
    d = conv_dim
    lay: dict = {}
    _conv(lay, "down3Dmain.0", (d, 3 + c_dim, 3, 7, 7), bias=False)
    _norm(lay, "down3Dmain.1", d)
    _conv(lay, "down3Dmain.3", (2 * d, d, 3, 4, 4), bias=False)
    _norm(lay, "down3Dmain.4", 2 * d)
    _conv(lay, "down3Dmain.6", (8 * d, 2 * d, 4, 4, 4), bias=False)
    _norm(lay, "down3Dmain.7", 8 * d)
    for i in range(repeat):
        _st(lay, f"down3Dmain.{9 + i}", 8 * d, 8 * d)
    _conv(lay, "layers2.0", (8 * d, 2 * d, 4, 4, 4), bias=False)  # ConvTranspose3d: (in, out, k)
    _norm(lay, "layers2.1", 2 * d)
    _conv(lay, "layers3.0", (2 * d, d, 1, 4, 4), bias=False)
    _norm(lay, "layers3.1", d)
    _conv(lay, "layers4.0", (3, d, 1, 7, 7), bias=False)
    return lay


def rppgnet_layout() -> dict:
    """Key -> shape of rPPGNet() (the release fixes its widths: 16, 32, 64)."""
    lay: dict = {}
    _conv(lay, "ConvSpa1.0", (16, 3, 1, 5, 5))
    _norm(lay, "ConvSpa1.1", 16)
    ins = {3: (16, 32), 4: (32, 32), 5: (32, 64), 6: (64, 64), 7: (64, 64), 8: (64, 64), 9: (64, 64)}
    for n, (cin, cout) in ins.items():
        _st(lay, f"ConvSpa{n}.0", cin, cout)
        _norm(lay, f"ConvSpa{n}.1", cout)
    for name in ("ConvSpa10", "ConvSpa11", "ConvPart1", "ConvPart2", "ConvPart3", "ConvPart4"):
        _conv(lay, name, (1, 64, 1, 1, 1))
    _conv(lay, "ConvSpa", (16, 3, 1, 3, 3))
    _conv(lay, "skin_main.0", (16, 32, 1, 3, 3))
    _norm(lay, "skin_main.1", 16)
    _conv(lay, "skin_main.3", (8, 16, 1, 3, 3))
    _norm(lay, "skin_main.4", 8)
    _conv(lay, "skin_residual.0", (8, 32, 1, 1, 1))
    _norm(lay, "skin_residual.1", 8)
    _conv(lay, "skin_output.0", (1, 8, 1, 3, 3))
    return lay


def randomise(layout: dict, seed: int = SEED) -> dict:
    """Seeded tensors for `layout`, keys in sorted order: conv weights ~ N(0, 1/fan_in), biases N(0, 0.1),
    norm scales U(0.5, 1.5), shifts and running means N(0, 0.1^2), running variances U(0.5, 1.5)."""
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for key in sorted(layout):
        shape = layout[key]
        if key.endswith("num_batches_tracked"):
            sd[key] = torch.tensor(100, dtype=torch.int64)
        elif key.endswith("running_var") or (key.endswith("weight") and len(shape) == 1):
            sd[key] = torch.rand(shape, generator=gen) + 0.5
        elif len(shape) == 5:
            fan = math.prod(shape) // shape[0]
            sd[key] = torch.randn(shape, generator=gen) / math.sqrt(fan)
        else:
            sd[key] = torch.randn(shape, generator=gen) * 0.1
    return sd


def clips(n: int, frames: int, size: int, seed: int = SEED, low: float = -1.0) -> torch.Tensor:
    """`n` seeded clips (n, 3, frames, size, size) in [low, 1]: smooth noise changing over time, a per-frame
    brightness swing (so the signals vary frame to frame) and fine grain."""
    gen = torch.Generator().manual_seed(seed + frames * 1000 + size)
    base = torch.rand(n, 3, 2, size // 4, size // 4, generator=gen)
    base = torch.nn.functional.interpolate(base, size=(frames, size, size), mode="trilinear", align_corners=False)
    swing = torch.rand(n, 1, frames, 1, 1, generator=gen) - 0.5
    grain = torch.rand(n, 3, frames, size, size, generator=gen)
    unit = (0.6 * base + 0.4 * swing + 0.2 * grain + 0.1).clamp(0, 1)
    return low + (1.0 - low) * unit
