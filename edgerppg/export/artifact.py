"""Reading an artifact directory that `edgerppg export` / `build-engine` wrote: its manifest and model file.

The stage that writes the manifest also reads it; the runtime, bench and engine builder import these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgerppg.errors import EdgeRPPGError


def read_manifest(path: str | os.PathLike) -> dict:
    """The `manifest.json` of an artifact directory (or of the directory holding an artifact file)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    mf = folder / "manifest.json"
    if not mf.is_file() and path.is_file() and path.suffix == ".safetensors":
        raise EdgeRPPGError(f"{path}: is a checkpoint, not an export directory; export it first (`edgerppg export "
                            f"{path} --out exported/NAME`) or use --backend torch")
    if not mf.is_file():
        raise EdgeRPPGError(f"{folder}: no manifest.json; export the model with `edgerppg export CKPT --out {folder}`")
    try:
        return json.loads(mf.read_text())
    except (OSError, ValueError) as exc:
        raise EdgeRPPGError(f"{mf}: unreadable manifest ({exc}); re-export the artifact") from None


def model_file(path: str | os.PathLike, name: str) -> Path:
    """`path` itself when it is the file, else `path/name`."""
    path = Path(path)
    target = path / name if path.is_dir() else path
    if not target.is_file():
        raise EdgeRPPGError(f"{target}: missing; the artifact directory is incomplete, re-export it")
    return target
