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

This file finds the pairs (on the autograd graph of an example forward pass); `edgerppg.models.skips` adds the
skip convs and wires them in, and rebuilds them from a checkpoint's manifest (models.TRANSFORMS "n2nskip"), so
loading a checkpoint never needs the pruning stage.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from edgerppg.errors import EdgeRPPGError
from edgerppg.models.skips import ATTR, attach_skips


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
    if pairs is None:
        chain, direct = conv_chain(model, example_inputs, scope, exclude)
        pairs = skip_pairs(chain, direct, hop)
    if not pairs:
        raise EdgeRPPGError(
            f"n2nskip: no pair of dependent Conv3d layers {hop} apart in scope {scope!r}; lower hop or widen scope"
        )
    attach_skips(model, pairs, hop=hop, skip_share=skip_share, init_std=init_std)
    return model
