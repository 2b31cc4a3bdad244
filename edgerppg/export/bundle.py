"""Device bundles: scripts written beside an export so the target needs only the bundle and the package.

`TARGETS["jetson"]` writes `build_engine.sh` (trtexec with flags matching the export: fp16 / int8 /
sparsity, workspace, timing cache, batch profile), `bench_on_device.sh` (`edgerppg bench` on the engine
with the TensorRT backend) and `run_hr.sh` (live heart rate from a camera, stream or file with the engine if
one was built, else the ONNX file in ONNX Runtime). trtexec is what JetPack ships; the same flags drive
`edgerppg build-engine`. The scripts need only the runtime install (`pip install edgerppg`, no torch).
"""

from __future__ import annotations

import os
from pathlib import Path

from edgerppg.export.trtexec import EngineOptions, shell_line, trtexec_args
from edgerppg.registry import Registry

TARGETS: Registry = Registry("deploy target")

_HEADER = """#!/usr/bin/env bash
# Written by `edgerppg export` for {model} ({precision}{sparse}). Run it on the device, from anywhere.
set -euo pipefail
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
"""

# Live HR on the device. PYTHON and ENGINE_DIR may be set in the environment; options after SOURCE go to
# `edgerppg hr` (e.g. --duration 60 --refresh 2 --crop full). One JSON object per update, as `edgerppg hr --json`.
_RUN_HR = """# usage: run_hr.sh SOURCE [edgerppg hr options]
#   SOURCE: camera:N, a video file, a file being written (follow:FILE), or rtsp:// udp:// http:// URL
PYTHON="${PYTHON:-python3}"
ENGINE_DIR="${ENGINE_DIR:-$HERE-trt}"
SOURCE="${1:?usage: run_hr.sh camera:N|VIDEO|follow:FILE|URL [edgerppg hr options]}"
shift
MODEL="$HERE"
if [ -f "$ENGINE_DIR/model.engine" ]; then MODEL="$ENGINE_DIR"; fi   # the TensorRT engine when built
case "$SOURCE" in
  camera:*) SRC=(--camera "${SOURCE#camera:}") ;;
  follow:*) SRC=(--follow "${SOURCE#follow:}") ;;
  *) SRC=("$SOURCE") ;;
esac
exec "$PYTHON" -m edgerppg hr "${SRC[@]}" --model "$MODEL" --json "$@"
"""


def engine_options_for(manifest: dict) -> EngineOptions:
    """Engine flags implied by an export: fp16 for fp16 and int8 (fallback layers), int8 for QDQ, sparsity when sparse."""
    batch = manifest["batch"]
    dynamic = batch == "dynamic"
    return EngineOptions(
        fp16=manifest["precision"] in ("fp16", "int8"),
        int8=manifest["precision"] == "int8",
        sparse_weights=bool(manifest.get("sparse")) or manifest.get("density", 1.0) <= 0.5,
        workspace_mb=1024,
        min_batch=1, opt_batch=1 if dynamic else int(batch), max_batch=8 if dynamic else int(batch),
    )


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o755)


@TARGETS.register("jetson")
def jetson_bundle(folder: Path, manifest: dict) -> dict:
    """Write build_engine.sh and bench_on_device.sh into the artifact directory being created."""
    opts = engine_options_for(manifest)
    head = _HEADER.format(model=f"{manifest['model']['name']}/{manifest['model']['variant']}",
                          precision=manifest["precision"], sparse=", sparse" if manifest.get("sparse") else "")
    onnx_in = '"$HERE/model.onnx"'
    densify = ""
    if manifest.get("sparse"):  # TensorRT's parser is given dense weights, as `edgerppg build-engine` does
        densify = 'python3 -m edgerppg.export.graph densify "$HERE/model.onnx" "$HERE/model.dense.onnx"\n'
        onnx_in = '"$HERE/model.dense.onnx"'
    args = trtexec_args("ONNX", "ENGINE", manifest["inputs"], opts, timing_cache="CACHE")
    line = (shell_line(args).replace("--onnx=ONNX", f"--onnx={onnx_in}")
            .replace("--saveEngine=ENGINE", '--saveEngine="$OUT/model.engine"')
            .replace("--timingCacheFile=CACHE", '--timingCacheFile="$OUT/timing.cache"'))
    build = (head + 'OUT="${1:-$HERE-trt}"\nmkdir -p "$OUT"\n' + densify
             + f"TRTEXEC=\"${{TRTEXEC:-$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)}}\"\n"
             + line.replace("trtexec ", '"$TRTEXEC" ', 1) + "\n"
             + 'python3 -m edgerppg.export.engine record "$HERE" "$OUT"\n'
             + 'echo "engine written to $OUT/model.engine"\n')
    bench = (head + 'ENGINE_DIR="${1:-$HERE-trt}"\nshift || true\n'
             + '[ -f "$ENGINE_DIR/model.engine" ] || "$HERE/build_engine.sh" "$ENGINE_DIR"\n'
             + 'edgerppg bench "$ENGINE_DIR" --backend trt --device cuda '
             + f'--batch {opts.opt_batch} --warmup 20 --iters 200 --json-out "$ENGINE_DIR/bench.json" "$@"\n')
    _write(folder / "build_engine.sh", build)
    _write(folder / "bench_on_device.sh", bench)
    _write(folder / "run_hr.sh", head + _RUN_HR)
    return {"target": "jetson", "files": ["build_engine.sh", "bench_on_device.sh", "run_hr.sh"],
            "trtexec": shell_line(args)}
