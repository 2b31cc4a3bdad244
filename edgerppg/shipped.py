"""Trained weights that ship inside the package (`edgerppg/weights/`, trained by `pipelines/ship.yaml`).

`--model cascade-10x` works wherever a checkpoint or an export directory does (`hr`, `eval`, `bench`, and
`train --init` / `prune` for the checkpoints): a value that names an existing path is that path; otherwise a
shipped name resolves to its file under the package. The export directories need only ONNX Runtime, so they
work on a runtime-only install; the checkpoints need the `train` extra. The model card is
`edgerppg/weights/MODEL_CARD.md`.
"""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent / "weights"

#: shipped name -> (path under WEIGHTS, what it is)
SHIPPED = {
    "cascade-10x": ("cascade-10x", "tiny STVEN->rPPGNet cascade, 10x pruned, ONNX fp32 (ONNX Runtime)"),
    "cascade": ("cascade", "tiny STVEN->rPPGNet cascade, dense, ONNX fp32 (ONNX Runtime)"),
    "cascade-10x-torch": ("cascade-10x.safetensors", "the 10x cascade's checkpoint (torch; prune/train --init)"),
    "cascade-torch": ("cascade.safetensors", "the dense cascade's checkpoint (torch; prune/train --init)"),
    "rppgnet-torch": ("rppgnet.safetensors", "tiny rPPGNet alone, the cascade's rPPGNet before joint training"),
}


def shipped_path(name: str) -> Path:
    """The file or directory of shipped weights `name` (a key of SHIPPED)."""
    return WEIGHTS / SHIPPED[name][0]


def resolve_model(value: str | os.PathLike | None) -> str | None:
    """`value` itself when it is None or an existing path, else the shipped weights it names, else `value`
    unchanged (the command's own check then names the missing path)."""
    if value is None or Path(value).exists():
        return None if value is None else str(value)
    name = str(value)
    if name in SHIPPED and shipped_path(name).exists():
        return str(shipped_path(name))
    return name


def shipped() -> list[dict]:
    """Every shipped name, its path and whether it is present in this install."""
    return [{"name": n, "path": str(shipped_path(n)), "what": what, "present": shipped_path(n).exists()}
            for n, (_, what) in SHIPPED.items()]
