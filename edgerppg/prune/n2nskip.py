"""N2NSkip: sparse learnable skip convolutions from layer l to layer l+k.

Subramaniam & Sharma, "N2NSkip: Learning Highly Sparse Networks using Neuron-to-Neuron Skip Connections",
BMVC 2020. On top of a pruned network, skip connections from the output of layer l to layer l+k add paths
that keep a very sparse network well connected (better gradient flow, higher heat-diffusion connectivity).
The skips are themselves sparse and share the total density budget with the sequential weights
(e.g. 10% = 5% skip + 5% sequential; the prune stage splits the budget, see recipes/modifiers.py).

Here the layers are the model's Conv3d layers within a name scope; layer l+1 is a conv that takes l's output
through no other conv (found on the autograd graph, so branches such as rPPGNet's skin segmentation get their
own skips and none into layers they do not feed), and l+k is k such steps downstream. The skip is
a 1x1x1 Conv3d from l's channels to l+k's output channels; when the feature sizes differ, l's output is
average-pooled (downsampling) or nearest-upsampled to l+k's size. It is added to l+k's conv output, i.e.
before l+k's normalisation and activation.

Implemented as a model transform (registered in `edgerppg.models.TRANSFORMS` as "n2nskip"): the skip convs
live in `model.n2nskip` (a ModuleDict, so they are saved with the weights) and forward hooks wire them in, so
the original parameter names do not change and `load_checkpoint` rebuilds the same model from the manifest.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from edgerppg.errors import EdgeRPPGError

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


def conv_chain(model: nn.Module, example_inputs: tuple, scope: str | None = None, exclude: str | None = None):
    """Conv3d layers in execution order: [(name, module, output_shape)], and a dependency test on the graph."""
    convs = {
        m: n
        for n, m in model.named_modules()
        if isinstance(m, nn.modules.conv._ConvNd) and m.weight.dim() == 5 and not n.startswith(ATTR + ".")
    }
    scope_re = re.compile(scope) if scope else None
    exclude_re = re.compile(exclude) if exclude else None
    order, outs, ins, handles = [], {}, {}, []

    def hook(mod, inputs, output):
        name = convs[mod]
        if name in outs:
            return
        order.append(name)
        outs[name], ins[name] = output, inputs[0]

    for m in convs:
        handles.append(m.register_forward_hook(hook))
    try:
        with torch.enable_grad():
            example = tuple(x.detach().requires_grad_(x.is_floating_point()) for x in example_inputs)
            model(*example)
    finally:
        for h in handles:
            h.remove()
    modules = {n: m for m, n in convs.items()}
    keep = [n for n in order if (not scope_re or scope_re.search(n)) and not (exclude_re and exclude_re.search(n))]
    chain = [(n, modules[n], tuple(outs[n].shape)) for n in keep]
    stops = {outs[n].grad_fn: n for n in order}

    def direct(src: str, dst: str) -> bool:
        """dst's input depends on src's output through no other conv layer."""
        return _reaches(ins[dst].grad_fn, outs[src].grad_fn, {k: v for k, v in stops.items() if v != src})

    return chain, direct


def _reaches(start, target, stops: dict, limit: int = 200000) -> bool:
    """Whether autograd node `target` is an ancestor of `start`, not looking past the nodes in `stops`."""
    if start is None or target is None:
        return False
    seen, stack = set(), [start]
    while stack and len(seen) < limit:
        node = stack.pop()
        if node is target:
            return True
        if node in seen or node in stops:
            continue
        seen.add(node)
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)
    return False


def skip_pairs(chain: list, direct, hop: int) -> list:
    """[src, dst, c_src, c_dst] for every dst exactly `hop` conv layers downstream of src (conv-layer DAG)."""
    names = [n for n, _, _ in chain]
    shapes = {n: s for n, _, s in chain}
    succ = {a: [b for b in names[i + 1 :] if direct(a, b)] for i, a in enumerate(names)}
    pairs = []
    for src in names:
        frontier = {src}
        for _ in range(hop):
            frontier = {b for a in frontier for b in succ[a]}
        for dst in sorted(frontier, key=names.index):
            if shapes[src][0] == shapes[dst][0]:
                pairs.append([src, dst, int(shapes[src][1]), int(shapes[dst][1])])
    return pairs


def add_n2nskip(
    model: nn.Module,
    example_inputs: tuple,
    hop: int = 1,
    scope: str | None = None,
    exclude: str | None = None,
    skip_share: float = 0.5,
    pairs: list | None = None,
    init_std: float = 1e-3,
) -> nn.Module:
    """Add N2NSkip connections in place; returns the model. `pairs` (from a manifest) skips the discovery."""
    if hasattr(model, ATTR):
        raise EdgeRPPGError("the model already has N2NSkip connections; apply the n2nskip stage once")
    if pairs is None:
        chain, direct = conv_chain(model, example_inputs, scope, exclude)
        pairs = skip_pairs(chain, direct, hop)
    if not pairs:
        raise EdgeRPPGError(
            f"n2nskip: no pair of dependent Conv3d layers {hop} apart in scope {scope!r}; lower hop or widen scope"
        )
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
    model = add_n2nskip(model, (), hop=hop, skip_share=skip_share, pairs=[list(p) for p in pairs])
    model.edgerppg_transforms = []  # load_checkpoint records the manifest's list itself
    return model


def register_transform() -> None:
    """Register "n2nskip" in edgerppg.models.TRANSFORMS, so load_checkpoint can rebuild N2NSkip models."""
    from edgerppg.models import TRANSFORMS

    if "n2nskip" not in TRANSFORMS:
        TRANSFORMS.register("n2nskip")(rebuild)
