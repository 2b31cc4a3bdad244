"""N2NSkip connections as an architecture: sparse learnable skip convolutions from layer l to layer l+k.

Subramaniam & Sharma, "N2NSkip: Learning Highly Sparse Networks using Neuron-to-Neuron Skip Connections",
BMVC 2020. The skip convs live in `model.n2nskip` (a ModuleDict, so they are saved with the weights) and forward
hooks wire them in, so the original parameter names do not change. A checkpoint records the pairs in its
manifest ("transforms"), and `load_checkpoint` rebuilds them through the "n2nskip" entry of
`models.TRANSFORMS`, registered here. Which pairs to connect is the pruning stage's choice
(`edgerppg.prune.n2nskip.add_n2nskip`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgerppg.errors import EdgeRPPGError
from edgerppg.models.base import TRANSFORMS

ATTR = "n2nskip"


class _Tap:
    """Forward hook on the source layer: remembers its latest output for the skip."""

    def __init__(self):
        self.value = None

    def __call__(self, module, inputs, output):
        self.value = output


class _AddSkip:
    """Forward hook on the target layer: adds skip(resample(source output)) to its output."""

    def __init__(self, tap: _Tap, skip: nn.Module):
        self.tap, self.skip = tap, skip

    def __call__(self, module, inputs, output):
        src, self.tap.value = self.tap.value, None
        if src is None:
            raise RuntimeError("N2NSkip source layer did not run before its target layer")
        return output + self.skip(resample(src, output.shape[2:]))


def resample(x: torch.Tensor, size) -> torch.Tensor:
    """Average-pool the dimensions that shrink, nearest-upsample those that grow."""
    size = tuple(int(s) for s in size)
    if tuple(x.shape[2:]) == size:
        return x
    src = tuple(int(a) for a in x.shape[2:])
    down = tuple(min(a, b) for a, b in zip(src, size))
    if down != src:
        factor = tuple(a // b for a, b in zip(src, down))
        if all(a == b * f for a, b, f in zip(src, down, factor)):
            x = F.avg_pool3d(x, factor, factor)  # exports to ONNX (adaptive 3D pooling does not)
        else:
            x = F.adaptive_avg_pool3d(x, down)
    if down != size:
        x = F.interpolate(x, size=size, mode="nearest")
    return x


def attach_skips(model: nn.Module, pairs: list, hop: int, skip_share: float, init_std: float = 1e-3) -> nn.Module:
    """Add one 1x1x1 skip conv per [src, dst, c_src, c_dst] pair to `model` in place, wire them, record it."""
    if hasattr(model, ATTR):
        raise EdgeRPPGError("the model already has N2NSkip connections; apply the n2nskip stage once")
    modules = dict(model.named_modules())
    skips = nn.ModuleDict()
    for i, (src, dst, c_in, c_out) in enumerate(pairs):
        skip = nn.Conv3d(c_in, c_out, 1, bias=False)
        nn.init.normal_(skip.weight, std=init_std)
        ref = modules[dst].weight
        skips[str(i)] = skip.to(ref.device, ref.dtype)
    setattr(model, ATTR, skips)
    wire(model, pairs)
    model._n2nskip_config = {"type": "n2nskip", "hop": hop, "skip_share": skip_share, "pairs": pairs}
    _record_transform(model, model._n2nskip_config)
    return model


def wire(model: nn.Module, pairs: list) -> None:
    """Register the source/target hooks for each pair (also after deepcopy-free reconstruction)."""
    modules = dict(model.named_modules())
    skips = getattr(model, ATTR)
    for i, (src, dst, _, _) in enumerate(pairs):
        if src not in modules or dst not in modules:
            raise EdgeRPPGError(f"n2nskip: layer {src if src not in modules else dst!r} is not in this model")
        tap = _Tap()
        modules[src].register_forward_hook(tap)
        modules[dst].register_forward_hook(_AddSkip(tap, skips[str(i)]))


def skip_param_names(model: nn.Module) -> list[str]:
    return [n for n, _ in model.named_parameters() if n.startswith(ATTR + ".")]


def _record_transform(model: nn.Module, cfg: dict) -> None:
    """Remember the transform on the model, where save_checkpoint reads it into the manifest."""
    model.edgerppg_transforms = list(getattr(model, "edgerppg_transforms", None) or []) + [dict(cfg)]


def rebuild(model: nn.Module, hop: int, skip_share: float, pairs: list) -> nn.Module:
    """Re-apply a recorded N2NSkip transform (models.TRANSFORMS entry) before the weights are loaded."""
    model = attach_skips(model, [list(p) for p in pairs], hop=hop, skip_share=skip_share)
    model.edgerppg_transforms = []  # load_checkpoint records the manifest's list itself
    return model


TRANSFORMS.register("n2nskip")(rebuild)
