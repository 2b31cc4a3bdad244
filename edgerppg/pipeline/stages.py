"""Stage kinds of a pipeline recipe, registered by name: synth, dataset, train, prune, export, engine, bench.

Each kind is a function `fn(ctx) -> {"path", "summary", "status", "reason"}` plus its parameter defaults
(which are also the set of allowed keys). The stages that wrap another sub-package run its documented
command (`edgerppg synth|train|prune|export|build-engine ... --json`) in a child process: the pipeline
chains exactly what a user would type, each stage's console output lands in `stage.log`, and a crash in
one stage cannot leave the runner in a half state. `bench` calls `bench.run.benchmark` directly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgerppg.errors import EdgeRPPGError
from edgerppg.registry import Registry


@dataclass(frozen=True)
class StageKind:
    fn: Callable
    params: dict  # defaults; also the allowed keys


STAGES: Registry[StageKind] = Registry("pipeline stage kind")


def stage_kind(name: str, **defaults):
    """Register `fn(ctx)` as a stage kind whose parameters are the given keyword defaults."""
    def deco(fn):
        STAGES.register(name)(StageKind(fn, defaults))
        return fn

    return deco


def run_cli(ctx, args: list[str]) -> dict | list | None:
    """Run `edgerppg ARGS --json` in a child process; log its output; return its parsed JSON (or None)."""
    cmd = [sys.executable, "-m", "edgerppg", "--quiet", *[str(a) for a in args]]
    env = dict(os.environ, EDGERPPG_PROGRESS=os.environ.get("EDGERPPG_PROGRESS", "1"))
    with open(ctx.log_path(), "a") as log:
        log.write("$ edgerppg " + " ".join(str(a) for a in args) + "\n")
        log.flush()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        log.write(proc.stdout)
    if proc.returncode != 0:
        lines = [l for l in ctx.log_path().read_text().splitlines() if l.strip()]
        last = next((l for l in reversed(lines) if "error" in l.lower()), lines[-1] if lines else "no output")
        raise EdgeRPPGError(f"stage {ctx.name}: `edgerppg {args[0]}` failed ({last.strip()}); "
                            f"see {ctx.run_dir / ctx.name / 'stage.log'} after fixing, or .partial/{ctx.name}/stage.log")
    try:
        return json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        return None


def _flags(options: dict) -> list[str]:
    """{"epochs": 3, "sparse": True, "calib": None} -> ["--epochs", "3", "--sparse"]."""
    out = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        out += [flag] if value is True else [flag, str(value)]
    return out


@stage_kind("synth", subjects=6, seconds=20, fps=30, size=64, seed=0, groups=["raw"])
def synth_stage(ctx) -> dict:
    """Synthetic videos with ground truth: one `edgerppg synth` writing every group ("raw", "x264-250k", ...;
    compressing codecs are rendered at every listed bitrate)."""
    p = ctx.params
    out = ctx.out / "data"
    codecs = list(dict.fromkeys(g.partition("-")[0] for g in p["groups"]))
    bitrates = list(dict.fromkeys(g.partition("-")[2] for g in p["groups"] if "-" in g))
    args = ["synth", out, "--subjects", p["subjects"], "--seconds", p["seconds"], "--fps", p["fps"],
            "--size", p["size"], "--seed", p["seed"], "--codec", ",".join(codecs)]
    summary = run_cli(ctx, args + (["--bitrate", ",".join(bitrates)] if bitrates else []) + ["--json"])
    if isinstance(summary, dict):
        summary = {k: v for k, v in summary.items() if k != "subjects"} | {"recordings": len(summary.get("subjects", []))}
    return {"path": out, "summary": summary}


@stage_kind("dataset", path=None)
def dataset_stage(ctx) -> dict:
    """A dataset already on disk (UBFC, PURE, MAHNOB or a synth output): recorded, not copied."""
    path = ctx.params["path"]
    if not path or not Path(path).is_dir():
        raise EdgeRPPGError(f"stage {ctx.name}: dataset path {path!r} is not a directory; set with.path")
    return {"path": str(Path(path).resolve()), "summary": {"path": str(path)}}


@stage_kind("train", kind="rppgnet", data=None, variant="tiny", epochs=5, lr=1e-3, batch=4, seed=0,
            init=None, stven=None, groups=None, hr_aug=0.0, spectral=0.0, target="pulse", checkpoint=None)
def train_stage(ctx) -> dict:
    """`edgerppg train`, or copy a given `checkpoint` (start the pipeline from a trained model)."""
    p = dict(ctx.params)
    out = ctx.out / "model.safetensors"
    if p.pop("checkpoint"):
        src = Path(ctx.params["checkpoint"])
        if not src.is_file():
            raise EdgeRPPGError(f"stage {ctx.name}: checkpoint {src} does not exist; fix with.checkpoint")
        shutil.copyfile(src, out)
        return {"path": out, "summary": {"checkpoint": str(src)}}
    kind, data = p.pop("kind"), p.pop("data")
    if not data:
        raise EdgeRPPGError(f"stage {ctx.name}: train needs with.data (e.g. '@data') or with.checkpoint")
    summary = run_cli(ctx, ["train", kind, "--data", data, "--out", out, *_flags(p), "--json"])
    for extra in ctx.out.glob("model.safetensors.state*"):
        extra.unlink()  # resume state belongs to the work dir, not to the published artifact
    return {"path": out, "summary": summary}


@stage_kind("prune", checkpoint=None, recipe=None, data=None, override={}, groups=None)
def prune_stage(ctx) -> dict:
    """`edgerppg prune CKPT --recipe R --data D` (recipes.apply_recipe: prune + fine-tune).

    `override: {finetune: {epochs: 1}}` merges into the recipe's stage of that name (a patched copy of the
    recipe is written beside the output and used), so a pipeline can shorten fine-tuning without a new file.
    `groups: [raw, x264-250k]` is `--groups` (the data groups calibration and fine-tuning read).
    """
    p = ctx.params
    if not (p["checkpoint"] and p["recipe"] and p["data"]):
        raise EdgeRPPGError(f"stage {ctx.name}: prune needs with.checkpoint, with.recipe and with.data")
    recipe = _patched_recipe(ctx, Path(p["recipe"]), p["override"]) if p["override"] else p["recipe"]
    out = ctx.out / "model.safetensors"
    extra = ["--groups", ",".join(p["groups"])] if p["groups"] else []
    summary = run_cli(ctx, ["prune", p["checkpoint"], "--recipe", recipe, "--data", p["data"], "--out", out, *extra,
                            "--json"])
    return {"path": out, "summary": _slim(summary)}


def _patched_recipe(ctx, path: Path, override: dict) -> Path:
    import yaml

    recipe = yaml.safe_load(path.read_text())
    stages = recipe.get("stages", []) if isinstance(recipe, dict) else []
    for key, patch in override.items():
        hits = [s for s in stages if isinstance(s, dict) and key in s]
        if not hits or not isinstance(patch, dict):
            raise EdgeRPPGError(f"stage {ctx.name}: override {key!r} matches no stage of {path}; "
                                f"its stages are {[next(iter(s)) for s in stages if isinstance(s, dict)]}")
        for s in hits:
            s[key] = {**(s[key] or {}), **patch}
    out = ctx.out / path.name
    out.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return out


@stage_kind("export", checkpoint=None, precisions=["fp32"], sparse=False, calib=None, batch=None, conv2d=True)
def export_stage(ctx) -> dict:
    """`edgerppg export` once per precision into NAME/<precision>[-sparse]/ (model.onnx + manifest.json)."""
    p = ctx.params
    if not p["checkpoint"]:
        raise EdgeRPPGError(f"stage {ctx.name}: export needs with.checkpoint (e.g. '@train/model.safetensors')")
    summary = {}
    for precision in p["precisions"]:
        name = precision + ("-sparse" if p["sparse"] else "")
        opts = {"precision": precision, "sparse": p["sparse"], "batch": p["batch"],
                "calib": p["calib"] if precision == "int8" else None, "no_conv2d": not p["conv2d"]}
        summary[name] = _slim(run_cli(ctx, ["export", p["checkpoint"], "--out", ctx.out / name, *_flags(opts), "--json"]))
    return {"path": ctx.out, "summary": summary}


@stage_kind("engine", artifact=None, fp16=True, int8=False)
def engine_stage(ctx) -> dict:
    """`edgerppg build-engine` when TensorRT is importable here; otherwise skipped with the reason."""
    import importlib.util

    if importlib.util.find_spec("tensorrt") is None:
        return {"status": "skipped", "reason": "TensorRT is not installed here (pip install 'edgerppg[trt]' on a CUDA machine)"}
    p = ctx.params
    out = ctx.out / "model.engine"
    summary = run_cli(ctx, ["build-engine", p["artifact"], "--out", out, *_flags({"fp16": p["fp16"], "int8": p["int8"]}), "--json"])
    return {"path": ctx.out, "summary": summary}


@stage_kind("bench", artifacts=[], data=None, methods=["pos"], batch=1, threads=None, warmup=3, iters=10,
            repeats=3, device="cpu", isolate=True, interleave=True, plots=True)
def bench_stage(ctx) -> dict:
    """`bench.run.benchmark` over the listed artifacts ({path, name, backend}); report.json/.md + plots."""
    from edgerppg.bench.report import to_markdown
    from edgerppg.bench.run import BenchSpec, benchmark

    p = ctx.params
    entries = [a if isinstance(a, dict) else {"path": a} for a in p["artifacts"]]
    if not entries:
        raise EdgeRPPGError(f"stage {ctx.name}: bench needs with.artifacts (a list of '@stage/...' paths)")
    results, classical, env, settings = [], {}, None, None
    groups: dict = {}
    for e in entries:
        unknown = set(e) - {"path", "name", "backend"}
        if unknown:
            raise EdgeRPPGError(f"stage {ctx.name}: unknown key {sorted(unknown)[0]!r} in an artifacts entry; use path, name, backend")
        groups.setdefault(e.get("backend"), []).append(e)
    for i, (backend, items) in enumerate(groups.items()):
        spec = BenchSpec(backend=backend, device=p["device"], data=p["data"], batch=p["batch"], threads=p["threads"],
                         warmup=p["warmup"], iters=p["iters"], repeats=p["repeats"], isolate=p["isolate"],
                         interleave=p["interleave"],
                         methods=tuple(p["methods"]) if i == 0 else (),
                         labels={e["path"]: e.get("name") or Path(e["path"]).name for e in items})
        report = benchmark([e["path"] for e in items], spec)
        results += report.results
        classical.update(report.classical)
        env, settings = env or report.environment, settings or {**report.settings, "backend": "per artifact"}
    order = {e.get("name") or Path(e["path"]).name: i for i, e in enumerate(entries)}
    results.sort(key=lambda r: order.get(r.name, len(order)))
    from edgerppg.bench.results import BenchReport

    report = BenchReport(results=results, environment=env, settings=settings, classical=classical)
    report.save(ctx.out / "report.json")
    plots = []
    if p["plots"]:
        from edgerppg.bench.plots import write_plots

        plots = [str(Path(x).relative_to(ctx.out)) for x in write_plots(report, ctx.out / "plots")]
    (ctx.out / "report.md").write_text(to_markdown(report, plots))
    from edgerppg.bench.report import accuracy_rows, latency_rows

    return {"path": ctx.out, "summary": {"latency": [{k: r[k] for k in ("artifact", "backend", "p50_ms", "fps", "speedup")}
                                                     for r in latency_rows(report)],
                                         "accuracy": [r for r in accuracy_rows(report) if r["group"] == "all"]}}


def _slim(summary):
    """Keep a stage summary small in stage.json (drop long per-layer tables)."""
    if isinstance(summary, dict):
        return {k: v for k, v in summary.items() if not (isinstance(v, list) and len(v) > 20)}
    return summary
