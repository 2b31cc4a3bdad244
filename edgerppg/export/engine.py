"""`build_engine`: exported ONNX artifact directory -> engine artifact directory (model.engine + manifest.json)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from edgerppg.atomic import atomic_dir, write_json
from edgerppg.errors import EdgeRPPGError
from edgerppg.export import tensorrt as T
from edgerppg.export.artifact import model_file, read_manifest
from edgerppg.export.bundle import engine_options_for
from edgerppg.export.calib import calibration_clips
from edgerppg.export.trtexec import EngineOptions
from edgerppg.spec import ClipSpec


def _gpu_without_python() -> dict:
    """GPU identity from nvidia-smi when pycuda is absent (trtexec route)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return {"gpu": "unknown", "compute_capability": "unknown"}
    out = subprocess.run([exe, "--query-gpu=name,compute_cap", "--format=csv,noheader"], capture_output=True, text=True)
    name, _, cc = out.stdout.strip().splitlines()[0].partition(",") if out.stdout.strip() else ("unknown", "", "unknown")
    return {"gpu": name.strip(), "compute_capability": cc.strip() or "unknown"}


def default_engine_dir(artifact: Path, options: EngineOptions) -> Path:
    tags = [t for t, on in (("fp16", options.fp16), ("int8", options.int8), ("sparse", options.sparse_weights)) if on]
    return artifact.with_name(f"{artifact.name}-trt{'-' + '-'.join(tags) if tags else ''}")


def build_engine(artifact: str | os.PathLike, out: str | os.PathLike | None = None,
                 options: EngineOptions = EngineOptions(), calib: str | os.PathLike | None = None) -> dict:
    """Build a TensorRT engine from `artifact/model.onnx` into `out` (atomic); returns the engine manifest."""
    artifact = Path(artifact)
    manifest = read_manifest(artifact)
    onnx_path = model_file(artifact, manifest.get("file", "model.onnx"))
    if onnx_path.suffix != ".onnx":
        raise EdgeRPPGError(f"{artifact}: holds {onnx_path.name}, not an ONNX model; point build-engine at an export directory")
    route = T.require_builder()
    out = Path(out) if out else default_engine_dir(artifact, options)
    quantized = manifest.get("precision") == "int8"
    clips = None
    if options.int8 and not quantized:
        if not calib:
            raise EdgeRPPGError(f"{artifact}: --int8 on an fp32 export needs --calib DIR; or export with --precision int8")

        clips = calibration_clips(calib, ClipSpec.from_dict(manifest["clip"]))
    with atomic_dir(out) as tmp:
        engine = tmp / "model.engine"
        if route == "api":
            build = T.build_with_api(onnx_path, engine, manifest["inputs"], options, quantized, clips, tmp)
            here = T.device_info()
        else:
            build = T.build_with_trtexec(onnx_path, engine, manifest["inputs"], options, tmp)
            here = {**_gpu_without_python(), "tensorrt": T.trtexec_version()}
        result = T.engine_manifest(manifest, options, build, here, engine)
        write_json(tmp / "manifest.json", result)
    result["path"] = str(out)
    return result


def _here_info() -> dict:
    """GPU and TensorRT of this machine, through pycuda/tensorrt when present, else nvidia-smi/trtexec."""
    try:
        return T.device_info()
    except ImportError:
        return {**_gpu_without_python(), "tensorrt": T.trtexec_version()}


def record_engine(artifact: str | os.PathLike, engine_dir: str | os.PathLike) -> dict:
    """Write `engine_dir/manifest.json` for an engine built by the bundle's trtexec script."""
    manifest = read_manifest(artifact)
    engine = model_file(engine_dir, "model.engine")
    build = {"builder": "trtexec (build_engine.sh)"}
    result = T.engine_manifest(manifest, engine_options_for(manifest), build, _here_info(), engine)
    write_json(Path(engine_dir) / "manifest.json", result)
    return result


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 4 or sys.argv[1] != "record":
        raise SystemExit("usage: python -m edgerppg.export.engine record EXPORT_DIR ENGINE_DIR")
    record_engine(sys.argv[2], sys.argv[3])
