"""Model figures for the benchmark table: params, non-zeros, density, MACs, bytes on disk, precision.

Read from what ships, not from the training code: the layer weights stored in an export's ONNX graph (Conv,
ConvTranspose, Gemm, MatMul weights and biases, through QDQ and sparse initializers; a constant an exporter
folded into the graph is not a parameter) or a checkpoint's tensors, with the manifest (`manifest.json`, or
the safetensors header) for model name, variant, precision, and totals when no weights can be read. MACs are whatever the producing stage recorded (torch.utils.flop_counter on the
deploy form, see models.stats); bench does not re-count them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgerppg.bench.results import ModelFigures
from edgerppg.export import macs

_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")  # state, not parameters
_MODEL_FILES = ("model.onnx", "model.onnx.data", "model.engine", "model.plan")


def artifact_manifest(path: str | Path) -> dict:
    """The manifest stored with an artifact: export dir `manifest.json` or safetensors header metadata."""
    path = Path(path)
    if path.is_dir():
        mf = path / "manifest.json"
        return json.loads(mf.read_text()) if mf.exists() else {}
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        for key in ("manifest", "edgerppg"):
            if key in meta:
                try:
                    return json.loads(meta[key])
                except ValueError:
                    pass
        return {k: _maybe_json(v) for k, v in meta.items()}
    return {}


def model_figures(path: str | Path) -> ModelFigures:
    """Figures for one artifact (export dir, .onnx file or .safetensors checkpoint)."""
    path = Path(path)
    manifest = artifact_manifest(path)
    stats = _find_stats(manifest)
    fig = ModelFigures(
        params=_int(stats.get("params")), nonzeros=_int(stats.get("nonzeros")),
        density=_float(stats.get("density")), macs=_int(stats.get("macs")),
        size_bytes=_size(path), precision=manifest.get("precision") or _precision_of(path),
        model=_lookup(manifest, "model"), variant=_lookup(manifest, "variant"),
    )
    counted = _count_weights(path)  # the stored layer weights are the truth; manifest totals are a fallback
    if counted:
        fig.params, fig.nonzeros, fig.density = counted[0], counted[1], None
    if fig.macs is None:
        fig.macs = _count_macs(path)
    if fig.density is None and fig.params:
        fig.density = fig.nonzeros / fig.params if fig.nonzeros is not None else None
    return fig


def _find_stats(manifest: dict) -> dict:
    """Counts may sit at the top level or under "stats"/"model_stats"/"figures"."""
    out = {}
    for key in ("stats", "model_stats", "figures", "metrics"):
        if isinstance(manifest.get(key), dict):
            out.update({k: v for k, v in manifest[key].items() if k in ("params", "nonzeros", "density", "macs")})
    out.update({k: manifest[k] for k in ("params", "nonzeros", "density", "macs") if k in manifest})
    return out


def _size(path: Path) -> int | None:
    if path.is_file():
        return path.stat().st_size
    files = [path / n for n in _MODEL_FILES if (path / n).exists()]
    return sum(f.stat().st_size for f in files) if files else None


def _precision_of(path: Path) -> str | None:
    return "fp32" if path.suffix == ".safetensors" else None


def _count_weights(path: Path) -> tuple[int, int] | None:
    """(params, nonzeros) over the stored float weights (ONNX initializers, dense and sparse, or tensors)."""
    if path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        tensors = [t for k, t in load_file(str(path)).items()
                   if t.dtype.kind == "f" and not any(b in k for b in _BUFFERS)]
        return sum(t.size for t in tensors), sum(int(np.count_nonzero(t)) for t in tensors)
    return _from_onnx(path, "onnx_weight_counts")


def _lookup(manifest: dict, key: str):
    """A string field at the top level or under the manifest's "source"/"architecture" block."""
    for block in (manifest, manifest.get("model"), manifest.get("source"), manifest.get("arch")):
        if not isinstance(block, dict):
            continue
        if isinstance(block.get(key), str):
            return block[key]
        if key == "model" and isinstance(block.get(key), dict) and isinstance(block[key].get("name"), str):
            return block[key]["name"]
    return None


def _count_macs(path: Path) -> int | None:
    """MACs per call: torch.utils.flop_counter on a checkpoint's deploy form, or the ONNX graph's conv/matmul shapes."""
    if path.suffix == ".safetensors":
        return _checkpoint_macs(path)
    return _from_onnx(path, "onnx_macs")


def _from_onnx(path: Path, counter: str):
    """`export.macs.<counter>(model.onnx)` for an ONNX file or export dir; None when there is no readable graph."""
    onnx_path = path / "model.onnx" if path.is_dir() else path
    if onnx_path.suffix != ".onnx" or not onnx_path.exists():
        return None
    try:
        return getattr(macs, counter)(onnx_path)
    except Exception:  # onnx missing or an unreadable graph: the backend reports the file itself
        return None


def _checkpoint_macs(path: Path) -> int | None:
    try:
        from edgerppg.models.checkpoint import load_checkpoint
    except ImportError:
        return None
    model, _ = load_checkpoint(path)
    try:
        from edgerppg.models.stats import model_stats

        return int(model_stats(model)["macs"])
    except ImportError:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        deploy = model.deploy().eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            deploy(*model.example_inputs(1))
        return int(counter.get_total_flops() // 2)


def _maybe_json(v):
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return v


def _int(v):
    return int(v) if isinstance(v, (int, float)) else None


def _float(v):
    return float(v) if isinstance(v, (int, float)) else None
