"""Stage kinds of a pipeline, registered by name: synth, dataset, train, prune, export, engine, bench.

Each kind is a function `fn(ctx) -> {"path", "summary", "status", "reason"}` plus its parameter defaults
(which are also the set of allowed keys). A stage builds the same spec its command builds and calls the same
library function (`data.synth.synthesize`, `train.run.train_model`, `recipes.apply_recipe`,
`export.exporter.export_checkpoint`, `export.engine.build_engine`, `bench.run.benchmark`), so a pipeline and
a user typing the commands get the same result. `stage.log` records the equivalent command line and the
stage's result; outputs are written into the stage's working directory, which the runner renames into place.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgerppg.atomic import _json_default
from edgerppg.bench.report import accuracy_rows, latency_rows, write_report
from edgerppg.bench.run import BenchSpec, benchmark
from edgerppg.data.synth import shortfalls, synthesize
from edgerppg.errors import EdgeRPPGError
from edgerppg.export.engine import build_engine
from edgerppg.export.exporter import ExportOptions, export_checkpoint
from edgerppg.export.trtexec import EngineOptions
from edgerppg.recipes import apply_recipe, load_recipe
from edgerppg.registry import Registry
from edgerppg.train.run import TrainSpec, train_model


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


@contextmanager
def stage_log(ctx, command: list):
    """Write the equivalent `edgerppg` command to `stage.log`, with the library's log records (warnings
    included) while the stage runs; a failure becomes one line naming the stage and its log."""
    path = ctx.out / "stage.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    logging.captureWarnings(True)
    try:
        with open(path, "a") as log:
            log.write("$ edgerppg " + " ".join(str(a) for a in command) + "\n")
        yield
    except EdgeRPPGError as exc:
        logging.getLogger("edgerppg.pipeline").error("%s", exc)
        raise EdgeRPPGError(f"stage {ctx.name}: {exc} (log: {path})") from None
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        handler.close()


def log_result(ctx, result) -> None:
    """Append the stage's result, as JSON, to its stage.log."""
    with open(ctx.out / "stage.log", "a") as log:
        log.write(json.dumps(result, indent=2, default=_json_default) + "\n")


def _flags(options: dict) -> list[str]:
    """{"epochs": 3, "sparse": True, "calib": None} -> ["--epochs", "3", "--sparse"] (for stage.log)."""
    out = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        out += [flag] if value is True else [flag, ",".join(value) if isinstance(value, list) else str(value)]
    return out


@stage_kind("synth", subjects=6, seconds=20, fps=30, size=64, seed=0, groups=["raw"])
def synth_stage(ctx) -> dict:
    """Synthetic videos with ground truth (`edgerppg synth`): every group ("raw", "x264-250k", ...;
    compressing codecs are rendered at every listed bitrate)."""
    p = ctx.params
    out = ctx.out / "data"
    codecs = list(dict.fromkeys(g.partition("-")[0] for g in p["groups"]))
    bitrates = list(dict.fromkeys(g.partition("-")[2] for g in p["groups"] if "-" in g))
    command = ["synth", out, *_flags({k: p[k] for k in ("subjects", "seconds", "fps", "size", "seed")}),
               "--codec", ",".join(codecs), *(["--bitrate", ",".join(bitrates)] if bitrates else [])]
    with stage_log(ctx, command):
        manifest = synthesize(out, p["subjects"], p["seconds"], p["fps"], p["size"], codecs, bitrates, p["seed"])
        for line in shortfalls(manifest):
            logging.getLogger("edgerppg.pipeline").warning("%s", line)
    log_result(ctx, manifest)
    summary = {k: v for k, v in manifest.items() if k != "subjects"} | {"recordings": len(manifest["subjects"])}
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
    """`edgerppg train` (`train.run.train_model`), or copy a given `checkpoint` (start from a trained model)."""
    p = dict(ctx.params)
    out = ctx.out / "model.safetensors"
    if p.pop("checkpoint"):
        src = Path(ctx.params["checkpoint"])
        if not src.is_file():
            raise EdgeRPPGError(f"stage {ctx.name}: checkpoint {src} does not exist; fix with.checkpoint")
        shutil.copyfile(src, out)
        return {"path": out, "summary": {"checkpoint": str(src)}}
    if not p["data"]:
        raise EdgeRPPGError(f"stage {ctx.name}: train needs with.data (e.g. '@data') or with.checkpoint")
    spec = TrainSpec(out=out, **p)
    with stage_log(ctx, ["train", p.pop("kind"), *_flags(p), "--out", out]):
        summary = train_model(spec)
    log_result(ctx, summary)
    for extra in ctx.out.glob("model.safetensors.state*"):
        extra.unlink()  # resume state belongs to the work dir, not to the published artifact
    return {"path": out, "summary": summary}


@stage_kind("prune", checkpoint=None, recipe=None, data=None, override={}, groups=None)
def prune_stage(ctx) -> dict:
    """`edgerppg prune CKPT --recipe R --data D` (recipes.apply_recipe: prune + fine-tune).

    `override: {finetune: {epochs: 1}}` sets keys of the recipe's stages of that kind through the recipe
    schema (`Recipe.override`: unknown stages or keys are errors), so a pipeline can shorten fine-tuning
    without a new file. `groups: [raw, x264-250k]` is `--groups` (the data groups calibration and
    fine-tuning read).
    """
    p = ctx.params
    if not (p["checkpoint"] and p["recipe"] and p["data"]):
        raise EdgeRPPGError(f"stage {ctx.name}: prune needs with.checkpoint, with.recipe and with.data")
    out = ctx.out / "model.safetensors"
    command = ["prune", p["checkpoint"], *_flags({"recipe": p["recipe"], "data": p["data"], "groups": p["groups"]}),
               "--out", out]
    with stage_log(ctx, command):
        recipe = load_recipe(p["recipe"]).override(p["override"])
        result = apply_recipe(recipe, p["checkpoint"], p["data"], out, groups=p["groups"])
    log_result(ctx, result.to_dict())
    return {"path": out, "summary": _slim(result.to_dict())}


@stage_kind("export", checkpoint=None, precisions=["fp32"], sparse=False, calib=None, batch=None, conv2d=True)
def export_stage(ctx) -> dict:
    """`edgerppg export` once per precision into NAME/<precision>[-sparse]/ (model.onnx + manifest.json)."""
    p = ctx.params
    if not p["checkpoint"]:
        raise EdgeRPPGError(f"stage {ctx.name}: export needs with.checkpoint (e.g. '@train/model.safetensors')")
    summary = {}
    for precision in p["precisions"]:
        name = precision + ("-sparse" if p["sparse"] else "")
        calib = p["calib"] if precision == "int8" else None
        options = ExportOptions(precision=precision, sparse=p["sparse"], batch=p["batch"] or 1, calib=calib,
                                conv2d=p["conv2d"])
        flags = {"precision": precision, "sparse": p["sparse"], "batch": p["batch"], "calib": calib,
                 "no_conv2d": not p["conv2d"]}
        with stage_log(ctx, ["export", p["checkpoint"], "--out", ctx.out / name, *_flags(flags)]):
            manifest = export_checkpoint(p["checkpoint"], ctx.out / name, options)
        log_result(ctx, manifest)
        summary[name] = _slim(manifest)
    return {"path": ctx.out, "summary": summary}


@stage_kind("engine", artifact=None, fp16=True, int8=False)
def engine_stage(ctx) -> dict:
    """`edgerppg build-engine` when TensorRT is importable here; otherwise skipped with the reason."""
    if importlib.util.find_spec("tensorrt") is None:
        return {"status": "skipped", "reason": "TensorRT is not installed here (pip install 'edgerppg[trt]' on a CUDA machine)"}
    p = ctx.params
    out = ctx.out / "model.engine"
    with stage_log(ctx, ["build-engine", p["artifact"], "--out", out, *_flags({"fp16": p["fp16"], "int8": p["int8"]})]):
        summary = build_engine(p["artifact"], out, EngineOptions(fp16=p["fp16"], int8=p["int8"]))
    log_result(ctx, summary)
    return {"path": ctx.out, "summary": summary}


@stage_kind("bench", artifacts=[], data=None, train_data=None, methods=["pos"], batch=1, threads=None, warmup=3,
            iters=10, repeats=3, device="cpu", isolate=True, interleave=True, plots=True)
def bench_stage(ctx) -> dict:
    """`edgerppg bench` over the listed artifacts ({path, name, backend, accuracy}): report.json, report.md and
    plots. `accuracy: false` times an artifact without scoring it (a torch twin of an export that the export's
    parity check already showed to give the same outputs)."""
    p = ctx.params
    entries = [a if isinstance(a, dict) else {"path": a} for a in p["artifacts"]]
    if not entries:
        raise EdgeRPPGError(f"stage {ctx.name}: bench needs with.artifacts (a list of '@stage/...' paths)")
    for e in entries:
        unknown = set(e) - {"path", "name", "backend", "accuracy"}
        if unknown:
            raise EdgeRPPGError(f"stage {ctx.name}: unknown key {sorted(unknown)[0]!r} in an artifacts entry; "
                                "use path, name, backend, accuracy")
    spec = BenchSpec(device=p["device"], data=p["data"], train_data=p["train_data"], batch=p["batch"],
                     threads=p["threads"], warmup=p["warmup"], iters=p["iters"], repeats=p["repeats"],
                     isolate=p["isolate"], interleave=p["interleave"], methods=tuple(p["methods"]),
                     labels={e["path"]: e.get("name") or Path(e["path"]).name for e in entries},
                     backends={e["path"]: e["backend"] for e in entries if e.get("backend")},
                     unscored=tuple(e["path"] for e in entries if e.get("accuracy", True) is False))
    paths = [e["path"] for e in entries]
    flags = {"data": p["data"], "train_data": p["train_data"], "methods": p["methods"]}
    with stage_log(ctx, ["bench", *paths, *_flags(flags)]):
        report = benchmark(paths, spec)
        write_report(report, json_path=ctx.out / "report.json", md_path=ctx.out / "report.md",
                     plots_dir=ctx.out / "plots" if p["plots"] else None)
    summary = {"latency": [{k: r[k] for k in ("artifact", "backend", "p50_ms", "fps", "speedup")}
                           for r in latency_rows(report)],
               "accuracy": [r for r in accuracy_rows(report) if r["group"] == "all"]}
    log_result(ctx, summary)
    return {"path": ctx.out, "summary": summary}


def _slim(summary):
    """Keep a stage summary small in stage.json (drop long per-layer tables)."""
    if isinstance(summary, dict):
        return {k: v for k, v in summary.items() if not (isinstance(v, list) and len(v) > 20)}
    return summary
