"""Parameter, sparsity and MAC counts of the edgerppg models (STVEN / rPPGNet of Yu et al., ICCV 2019).

MACs come from torch.utils.flop_counter.FlopCounterMode (MACs = FLOPs / 2) on the deploy form at the
model's own clip spec, run on a meta-device copy so even the `paper` STVEN (about a TMAC per clip) is
counted instantly without computing anything. Only convolutions / matmuls count (norms, activations and
pooling are not multiply-accumulates).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def _meta_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).to("meta")


def _count_flops(model) -> tuple[int, dict[str, int]]:
    """Total FLOPs of one deploy forward at batch 1, and FLOPs per module name (names of `model`)."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = _meta_copy(model)
    inputs = meta.example_inputs(1)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        meta.deploy()(*inputs)
    per_module = {}
    prefix = "DeployOutput.model."
    for key, ops in counter.get_flop_counts().items():
        if key.startswith(prefix):
            per_module[key[len(prefix):]] = int(sum(ops.values()))
    return int(counter.get_total_flops()), per_module


def _has_params(model: nn.Module) -> bool:
    return any(p.device.type != "meta" for p in model.parameters())


def model_stats(model) -> dict:
    """{"params", "nonzeros", "density", "macs"} of an EdgeModel (MACs per clip of its deploy form).

    On a meta-device model `nonzeros` and `density` are None (there are no values to count).
    """
    params = sum(p.numel() for p in model.parameters())
    if _has_params(model):
        nonzeros = int(sum(int(torch.count_nonzero(p)) for p in model.parameters()))
        density = nonzeros / params if params else 1.0
    else:
        nonzeros = density = None
    flops, _ = _count_flops(model)
    return {"params": params, "nonzeros": nonzeros, "density": density, "macs": flops // 2}


def layer_stats(model) -> list[dict]:
    """Per conv layer: {"name", "type", "params", "nonzeros", "density", "macs"} (MACs per clip, deploy form).

    Layers the deploy form does not run (rPPGNet's mid-level and part heads) report 0 MACs.
    """
    _, per_module = _count_flops(model)
    rows = []
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Conv3d, nn.ConvTranspose3d, nn.Linear)):
            continue
        params = sum(p.numel() for p in module.parameters(recurse=False))
        nz = None
        if _has_params(model):
            nz = int(sum(int(torch.count_nonzero(p)) for p in module.parameters(recurse=False)))
        rows.append({
            "name": name,
            "type": type(module).__name__,
            "params": params,
            "nonzeros": nz,
            "density": (nz / params if params else 1.0) if nz is not None else None,
            "macs": per_module.get(name, 0) // 2,
        })
    return rows


def catalog(names: list[str] | None = None) -> list[dict]:
    """Every registered model x variant: params, MACs per clip, clip spec and I/O names (built on meta)."""
    from edgerppg.models.base import MODELS, create_model, variants

    rows = []
    for name in names or MODELS.names():
        for variant in variants(name):
            with torch.device("meta"):
                model = create_model(name, variant)
            stats = model_stats(model)
            spec = model.spec
            rows.append({
                "model": name,
                "variant": variant,
                "params": stats["params"],
                "macs": stats["macs"],
                "clip": spec.clip.to_dict(),
                "inputs": list(spec.input_names),
                "outputs": list(spec.output_names),
            })
    return rows
