"""Which backend runs a path (checkpoint, ONNX artifact or engine), decided without importing torch."""

from __future__ import annotations

import os
from pathlib import Path

from edgerppg.errors import EdgeRPPGError

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".pkl", ".tar")


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
