"""Read an artifact directory's manifest and tell which backend runs it, without importing torch."""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgerppg.errors import EdgeRPPGError

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt")


def read_manifest(path: str | os.PathLike) -> dict:
    """The `manifest.json` of an artifact directory (or of the directory holding an artifact file)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    mf = folder / "manifest.json"
    if not mf.is_file():
        raise EdgeRPPGError(f"{folder}: no manifest.json; export the model with `edgerppg export CKPT --out {folder}`")
    try:
        return json.loads(mf.read_text())
    except (OSError, ValueError) as exc:
        raise EdgeRPPGError(f"{mf}: unreadable manifest ({exc}); re-export the artifact") from None


def default_backend(path: str | os.PathLike) -> str:
    """"torch" for a checkpoint file, "trt" for an engine, "ort" for an ONNX artifact."""
    path = Path(path)
    if path.is_file() and path.suffix in CHECKPOINT_SUFFIXES:
        return "torch"
    if path.suffix == ".engine" or (path.is_dir() and (path / "model.engine").is_file()):
        return "trt"
    if path.suffix == ".onnx" or (path.is_dir() and (path / "model.onnx").is_file()):
        return "ort"
    if not path.exists():
        raise EdgeRPPGError(f"{path}: no such checkpoint or artifact directory")
    raise EdgeRPPGError(f"{path}: neither a checkpoint (.safetensors) nor an artifact directory with model.onnx or model.engine")


def model_file(path: str | os.PathLike, name: str) -> Path:
    """`path` itself when it is the file, else `path/name`."""
    path = Path(path)
    target = path / name if path.is_dir() else path
    if not target.is_file():
        raise EdgeRPPGError(f"{target}: missing; the artifact directory is incomplete, re-export it")
    return target
