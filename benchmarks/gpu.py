"""GPU figures (issue 20, part 5): torch CUDA fp32 and fp16 latency (p50, p99), frames per second and GPU memory
for the default pipeline's dense and 10x cascades and for the `paper` STVEN dense against its structured 10x;
ONNX Runtime's CUDA provider on the pipeline's exports where the installed build has it.

Two steps, because the GPU machine has torch but neither Torch-Pruning nor the pipeline's outputs:

    python benchmarks/gpu.py prepare                   # here, with the training stack: writes benchmarks/gpu-inputs/
    benchmarks/gpu.sh                                  # on the CUDA machine, from the repository root

`prepare` copies the pipeline's checkpoints (runs/default/dense, runs/default/pruned) and ONNX exports
(export-dense, export-10x) and prunes a seeded `paper` STVEN to 10x fewer MACs (benchmarks/stven_paper.py); the
dense `paper` STVEN is rebuilt from its seed on the GPU machine (110 MB is not worth carrying: latency depends on
the widths, not the values). Each (model, precision) is measured in a fresh process, so the GPU memory figure
(NVML's per-process usage: CUDA context plus the model, inputs and workspace) belongs to it alone; torch's
allocator peak is given beside it. On a Jetson NVML is absent: memory there is the process's RSS (unified memory
holds the model in RAM) and `tegrastats` is the cross-check; the table names the source of each figure.

`run --device cpu --quick` runs the same code on a CPU (tests and a dry run before spending GPU time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
INPUTS = ROOT / "benchmarks" / "gpu-inputs"
PIPELINE = ROOT / "runs" / "default"

#: name -> how to get it: a checkpoint file in the inputs folder, or a registered model built from a seed
MODELS = {
    "pipeline dense cascade": {"checkpoint": "cascade-dense.safetensors"},
    "pipeline 10x cascade": {"checkpoint": "cascade-10x.safetensors"},
    "paper STVEN dense": {"seeded": True},
    "paper STVEN structured 10x": {"checkpoint": "stven-paper-s10x.safetensors"},
}
ONNX = {"pipeline dense cascade": "cascade-dense-onnx", "pipeline 10x cascade": "cascade-10x-onnx"}


def prepare(pipeline: Path, out: Path) -> None:
    """Write the inputs folder (checkpoints, ONNX exports, the pruned paper STVEN); needs Torch-Pruning."""
    import copy

    from stven_paper import prune_10x, seeded_stven

    from edgerppg.models import save_checkpoint

    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sources = {"cascade-dense.safetensors": pipeline / "dense" / "model.safetensors",
               "cascade-10x.safetensors": pipeline / "pruned" / "model.safetensors",
               "cascade-dense-onnx": pipeline / "export-dense" / "fp32",
               "cascade-10x-onnx": pipeline / "export-10x" / "fp32"}
    for name, src in sources.items():
        if not src.exists():
            sys.exit(f"error: {src} is missing; run `edgerppg run pipelines/default.yaml` first (or pass --pipeline)")
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp / name)
    pruned = copy.deepcopy(seeded_stven())
    summary = prune_10x(pruned)
    save_checkpoint(tmp / "stven-paper-s10x.safetensors", pruned, {"pruning": summary})
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {out} ({sum(f.stat().st_size for f in out.rglob('*') if f.is_file()) / 2**20:.1f} MiB)")


def _load(name: str, inputs: Path):
    from stven_paper import seeded_stven

    from edgerppg.models import load_checkpoint

    how = MODELS[name]
    if how.get("seeded"):
        return seeded_stven()
    path = inputs / how["checkpoint"]
    if not path.exists():
        sys.exit(f"error: {path} is missing; run `python benchmarks/gpu.py prepare` where the pipeline ran, "
                 "then carry benchmarks/gpu-inputs to this machine")
    return load_checkpoint(path)[0]


def _memory(device: str) -> dict:
    """Process GPU memory (NVML / nvidia-smi) and torch's allocator peak; RSS on CPU or where NVML is absent."""
    import torch

    from edgerppg.bench.memory import gpu_memory_bytes, maxrss_bytes

    out = {"rss_peak_mib": (maxrss_bytes() or 0) / 2**20}
    if device.startswith("cuda"):
        used, source = gpu_memory_bytes()
        out.update(gpu_mib=None if used is None else used / 2**20, gpu_source=source,
                   torch_peak_mib=torch.cuda.max_memory_allocated() / 2**20)
    return out


def measure_torch(name: str, precision: str, device: str, inputs: Path, warmup: int, iters: int,
                  repeats: int) -> dict:
    """Latency of one model's deploy form at one precision, in this process."""
    import torch

    from edgerppg.bench.timing import latency_stats, time_calls

    torch.backends.cudnn.benchmark = True  # the clip shape is fixed: let cuDNN pick its fastest kernels
    model = _load(name, inputs)
    clip = model.spec.clip
    example = model.example_inputs(batch=1)
    dtype = torch.float16 if precision == "fp16" else torch.float32
    net = model.deploy().eval().to(device=device, dtype=dtype)
    feeds = [t.to(device=device, dtype=dtype) if t.is_floating_point() else t.to(device) for t in example]
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    with torch.inference_mode():
        reference = model.deploy().eval()(*example)
        got = net(*feeds)
        ref0 = reference[0] if isinstance(reference, (tuple, list)) else reference
        got0 = got[0] if isinstance(got, (tuple, list)) else got
        max_diff = float((got0.float().cpu() - ref0).abs().max())
        runs, _ = time_calls(lambda: net(*feeds), warmup=warmup, iters=iters, repeats=repeats, sync=sync)
    stats = latency_stats(runs, batch=1, frames=clip.frames, warmup=warmup)
    params = sum(p.numel() for p in model.parameters())
    return {"model": name, "runtime": "torch", "precision": precision, "device": device, "batch": 1,
            "clip": [clip.frames, clip.height, clip.width], "params": params, "p50_ms": stats.p50_ms,
            "p99_ms": stats.p99_ms, "mean_ms": stats.mean_ms, "fps": stats.fps,
            "max_abs_diff_vs_cpu_fp32": max_diff, **_memory(device)}


def measure_ort(name: str, device: str, inputs: Path, warmup: int, iters: int, repeats: int) -> dict:
    """ONNX Runtime on its CUDA provider (CPU provider with --device cpu), the pipeline's fp32 export."""
    import onnxruntime as ort

    from edgerppg.bench.timing import latency_stats, make_inputs, time_calls
    from edgerppg.runtime import open_backend

    row = {"model": name, "runtime": "onnxruntime", "precision": "fp32", "device": device, "batch": 1}
    if device.startswith("cuda") and "CUDAExecutionProvider" not in ort.get_available_providers():
        return {**row, "skipped": f"onnxruntime {ort.__version__} has no CUDAExecutionProvider "
                                  f"(providers: {', '.join(ort.get_available_providers())})"}
    with open_backend(inputs / ONNX[name], backend="ort", device=device) as backend:
        feeds = make_inputs(backend)
        runs, _ = time_calls(lambda: backend.infer(feeds), warmup=warmup, iters=iters, repeats=repeats)
        frames = backend.spec.frames
    stats = latency_stats(runs, batch=1, frames=frames, warmup=warmup)
    return {**row, "p50_ms": stats.p50_ms, "p99_ms": stats.p99_ms, "mean_ms": stats.mean_ms, "fps": stats.fps,
            **_memory(device)}


def environment(device: str) -> dict:
    import torch

    from edgerppg.bench.memory import gpu_info

    env = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "device": device, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if device.startswith("cuda"):
        env.update(gpu_info() or {"gpu": torch.cuda.get_device_name(0)})
    try:
        import onnxruntime as ort

        env["onnxruntime"] = ort.__version__
    except ImportError:
        env["onnxruntime"] = None
    return env


def _row_markdown(r: dict) -> str:
    name = f"| {r['model']} | {r['runtime']} | {r['precision']} |"
    if "skipped" in r:
        return f"{name} skipped: {r['skipped']} | | | | |"
    if r.get("gpu_mib") is not None:
        mem = f"{r['gpu_mib']:.0f} ({r['gpu_source']}); torch peak {r['torch_peak_mib']:.0f}"
    else:
        mem = f"{r['rss_peak_mib']:.0f} (process RSS)"
    params = f"{r['params']:,}" if "params" in r else ""
    return f"{name} {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['fps']:,.0f} | {mem} | {params} |"


def render(env: dict, rows: list[dict]) -> str:
    head = (f"GPU: {env.get('gpu', 'none')} (driver {env.get('driver')}), torch {env['torch']}, CUDA {env['cuda']}, "
            f"cuDNN {env['cudnn']}, onnxruntime {env['onnxruntime']}, device {env['device']}, {env['date']}\n\n"
            "| model | runtime | precision | p50 ms | p99 ms | FPS (frames) | memory MiB | params |\n"
            "|---|---|---|---:|---:|---:|---|---:|\n")
    return head + "\n".join(_row_markdown(r) for r in rows) + "\n"


def run(device: str, inputs: Path, out: Path, quick: bool) -> int:
    """Each (model, precision) in a fresh child process; JSON and Markdown into `out`."""
    warmup, iters, repeats = (2, 5, 1) if quick else (20, 100, 3)
    precisions = ["fp32"] if device == "cpu" else ["fp32", "fp16"]
    jobs = [("torch", name, p) for name in MODELS for p in precisions] + [("ort", name, "fp32") for name in ONNX]
    if quick:  # the CPU dry run: a TMAC paper STVEN takes minutes a call on two cores
        jobs = [j for j in jobs if "paper" not in j[1]]
    out.mkdir(parents=True, exist_ok=True)
    env = environment(device)
    rows, failed = [], 0
    for i, (runtime, name, precision) in enumerate(jobs, 1):
        cmd = [sys.executable, __file__, "one", runtime, name, precision, "--device", device, "--inputs", str(inputs),
               "--warmup", str(warmup), "--iters", str(iters), "--repeats", str(repeats)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        took = time.perf_counter() - started
        if proc.returncode != 0:
            failed += 1
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            rows.append({"model": name, "runtime": runtime, "precision": precision, "skipped": f"failed: {tail}"})
        else:
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"[{i}/{len(jobs)}] {runtime} {name} {precision}: {took:.1f} s", file=sys.stderr, flush=True)
        # written after every job: a run cut short by its time limit keeps what it measured
        (out / "gpu.json").write_text(json.dumps({"environment": env, "rows": rows}, indent=2))
        (out / "gpu.md").write_text(render(env, rows))
    print(render(env, rows))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="write benchmarks/gpu-inputs (needs the training stack)")
    p.add_argument("--pipeline", type=Path, default=PIPELINE, help="the default pipeline's run folder")
    p.add_argument("--out", type=Path, default=INPUTS)
    r = sub.add_parser("run", help="measure every model and precision, each in a fresh process")
    r.add_argument("--device", default="cuda")
    r.add_argument("--inputs", type=Path, default=INPUTS)
    r.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-results")))
    r.add_argument("--quick", action="store_true", help="few iterations, no paper STVEN (a dry run on a CPU)")
    o = sub.add_parser("one")
    o.add_argument("runtime", choices=["torch", "ort"])
    o.add_argument("model", choices=list(MODELS))
    o.add_argument("precision", choices=["fp32", "fp16"])
    for a, d in (("--device", "cuda"), ("--inputs", str(INPUTS)), ("--warmup", "20"), ("--iters", "100"),
                 ("--repeats", "3")):
        o.add_argument(a, default=d)
    args = parser.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.pipeline, args.out)
        return 0
    if args.cmd == "run":
        return run(args.device, args.inputs, args.out, args.quick)
    counts = dict(warmup=int(args.warmup), iters=int(args.iters), repeats=int(args.repeats))
    if args.runtime == "torch":
        row = measure_torch(args.model, args.precision, args.device, Path(args.inputs), **counts)
    else:
        row = measure_ort(args.model, args.device, Path(args.inputs), **counts)
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
