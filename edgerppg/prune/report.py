"""Per-layer numbers of a (pruned) model: parameters, non-zeros, density and MACs.

MACs come from torch.utils.flop_counter on the model's deploy form at its own clip spec (the same counter
as models.stats.model_stats), per conv layer. "effective" MACs scale a layer's dense MACs by its weight
density: what a sparse kernel would execute; dense kernels still execute the dense count.
"""

from __future__ import annotations

import torch
from torch import nn


def layer_macs(model: nn.Module, module=None, inputs: tuple | None = None) -> dict[str, float]:
    """{layer name: MACs} for every conv/linear layer of `model`, counted on `module` with `inputs` (default:
    the deploy form at the model's clip spec, on a meta-device copy, so nothing is computed)."""
    import copy

    from torch.utils.flop_counter import FlopCounterMode

    if module is None:
        meta = copy.deepcopy(model).to("meta")
        module, inputs, names_of = meta.deploy(), meta.example_inputs(), meta
    else:
        names_of = model
    was = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(*(inputs if inputs is not None else model.example_inputs()))
    finally:
        module.train(was)
    counts = {k: sum(v.values()) / 2 for k, v in counter.get_flop_counts().items()}
    out = {}
    for name, m in names_of.named_modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            hits = [v for k, v in counts.items() if k == name or k.endswith("." + name)]
            out[name] = float(hits[0]) if hits else 0.0
    return out


def total_macs(model: nn.Module) -> float:
    """MACs of the deploy form (models.stats.model_stats when available)."""
    try:
        from edgerppg.models.stats import model_stats
    except ImportError:
        return float(sum(layer_macs(model).values()))
    return float(model_stats(model)["macs"])


def layer_table(model: nn.Module) -> list[dict]:
    """One row per conv/linear layer: name, params, nonzeros, density, macs (dense), effective_macs."""
    macs = layer_macs(model)
    rows = []
    for name, m in model.named_modules():
        if name not in macs:
            continue
        w = m.weight.detach()
        nz = int((w != 0).sum())
        density = nz / max(w.numel(), 1)
        rows.append({"layer": name, "shape": list(w.shape), "params": w.numel(), "nonzeros": nz,
                     "density": density, "macs": macs[name], "effective_macs": macs[name] * density})
    return rows


def merge_tables(before: list[dict], after: list[dict]) -> list[dict]:
    """Join before/after rows by layer name (layers added by N2NSkip have no 'before')."""
    old = {r["layer"]: r for r in before}
    rows = []
    for r in after:
        b = old.get(r["layer"], {})
        rows.append({"layer": r["layer"], "params_before": b.get("params", 0), "params": r["params"],
                     "nonzeros": r["nonzeros"], "density": r["density"], "macs_before": b.get("macs", 0.0),
                     "macs": r["macs"], "effective_macs": r["effective_macs"]})
    return rows
