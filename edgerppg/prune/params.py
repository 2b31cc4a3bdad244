"""Which weights a pruning stage may touch: the prunable set chosen by parameter-name regexes.

The prunable set is the weight tensors of convolution and linear layers (biases and norm scales stay dense)
whose names match `scope` and do not match `exclude`. A scope that matches nothing is a user error: it means
the recipe was written for another architecture.
"""

from __future__ import annotations

import re

from torch import nn

from edgerppg.errors import EdgeRPPGError

_WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)


def prunable_params(
    model: nn.Module, scope: str | None = None, exclude: str | None = None, where: str = "model"
) -> dict[str, nn.Parameter]:
    """Return {name: weight} of the conv/linear weights matching `scope` and not `exclude` (in model order)."""
    owners = {f"{mname}.weight" if mname else "weight": m for mname, m in model.named_modules()}
    scope_re = re.compile(scope) if scope else None
    exclude_re = re.compile(exclude) if exclude else None
    out: dict[str, nn.Parameter] = {}
    for name, p in model.named_parameters():
        if not isinstance(owners.get(name), _WEIGHT_LAYERS):
            continue
        if scope_re and not scope_re.search(name):
            continue
        if exclude_re and exclude_re.search(name):
            continue
        out[name] = p
    if not out:
        raise EdgeRPPGError(
            f"{where}: scope {scope!r} (exclude {exclude!r}) matches no conv/linear weight of "
            f"{type(model).__name__}; fix the recipe's regex or use a checkpoint of the architecture it was written for"
        )
    return out


def count(params: dict[str, nn.Parameter]) -> int:
    return sum(p.numel() for p in params.values())
