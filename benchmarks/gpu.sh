#!/usr/bin/env bash
# GPU figures (docs/benchmarking.md, "GPU"): torch CUDA fp32/fp16 p50/p99, FPS and GPU memory of the default
# pipeline's dense and 10x cascades and of the paper STVEN dense against its structured 10x, plus ONNX Runtime's
# CUDA provider when the installed build has it. One prepared run, at most 8 minutes; results in $OUT (gpu.md,
# gpu.json). Before it, where the pipeline ran and the training stack is installed:
#     python benchmarks/gpu.py prepare            # writes benchmarks/gpu-inputs (about 10 MiB; carry it over)
# Then on the CUDA machine, from anywhere:    benchmarks/gpu.sh [extra `gpu.py run` options]
# DEVICE=cpu benchmarks/gpu.sh --quick is the dry run on a CPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-gpu-results}"
mkdir -p "$OUT"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null \
    || echo "nvidia-smi not available (on a Jetson, memory comes from the process; cross-check with tegrastats)"; } \
    | tee "$OUT/gpu-info.txt"
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" timeout 470 \
    python3 benchmarks/gpu.py run --device "${DEVICE:-cuda}" --out "$OUT" "$@"
