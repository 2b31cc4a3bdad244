"""Run a pipeline stage by stage, skipping stages whose inputs' hashes are unchanged.

Each stage gets a working directory `RUN/.partial/NAME`; when its function returns, `stage.json` (kind,
parameters, input key, output hash, status, timing, the stage's own summary) is written there and the
directory replaces `RUN/NAME` by rename, so an interrupted stage never leaves a half artifact in place.
The working directory survives an interruption, so a stage that can resume (training) picks up where it
stopped when the run is repeated with the same inputs.

A stage's input key hashes its kind, its parameters, the content of every file its parameters name, and the
output hash of every stage it refers to ("@stage"). A stage is skipped when `RUN/NAME/stage.json` holds the
same key and the directory still hashes to the recorded output hash; otherwise it runs, and so does every
stage whose inputs changed as a result (a re-run producing identical bytes leaves its consumers skipped).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import edgerppg
from edgerppg import progress
from edgerppg.atomic import replace_dir, write_json
from edgerppg.errors import EdgeRPPGError
from edgerppg.manifest import sha256_bytes, sha256_file
from edgerppg.pipeline.schema import Pipeline, Stage, load_pipeline, parse_pipeline
from edgerppg.pipeline.stages import STAGES

RECORD = "stage.json"


@dataclass
class StageContext:
    """What a stage function sees: its resolved parameters and the directory it writes into."""

    name: str
    out: Path
    params: dict
    run_dir: Path
    upstream: dict = field(default_factory=dict)  # stage name -> its stage.json record

    def log_path(self) -> Path:
        return self.out / "stage.log"


def tree_hash(path: Path, skip: tuple[str, ...] = (RECORD, "stage.log")) -> str:
    """Content hash of a file, or of every file under a directory (relative names + contents)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    parts = []
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if rel in skip or "/." in f"/{rel}":
            continue
        parts.append(f"{rel}:{sha256_file(f)}")
    return sha256_bytes("\n".join(parts).encode())


def _input_hash(path: Path) -> str:
    """Files by content; directories (datasets, possibly large) by names, sizes and modification times."""
    if path.is_file():
        return sha256_file(path)
    rows = [f"{f.relative_to(path).as_posix()}:{f.stat().st_size}:{f.stat().st_mtime_ns}"
            for f in sorted(path.rglob("*")) if f.is_file()]
    return sha256_bytes("\n".join(rows).encode())


def _resolve(value, records: dict, run_dir: Path, files: dict):
    """Replace "@stage[/sub]" with real paths; note the hashes of upstream outputs and of named files."""
    if isinstance(value, dict):
        return {k: _resolve(v, records, run_dir, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, records, run_dir, files) for v in value]
    if isinstance(value, str) and value.startswith("@"):
        stage, _, sub = value[1:].partition("/")
        rec = records[stage]
        if rec.get("status") == "skipped":
            raise EdgeRPPGError(f"stage {stage!r} was skipped ({rec.get('reason')}), but a later stage uses {value!r}")
        base = Path(rec["path"])
        if sub and base.is_file():  # a stage whose output is one file: "@stage/x" names a file beside it
            base = base.parent
        files[value] = rec["output_hash"]
        return str(base / sub) if sub else str(base)
    if isinstance(value, str) and value and len(value) < 4096 and ("/" in value or "." in value) and Path(value).exists():
        files[value] = _input_hash(Path(value))
    return value


def stage_key(stage: Stage, params: dict, files: dict) -> str:
    blob = json.dumps({"kind": stage.kind, "params": params, "inputs": files, "version": edgerppg.__version__},
                      sort_keys=True, default=str)
    return sha256_bytes(blob.encode())


def _up_to_date(final: Path, key: str) -> dict | None:
    rec_path = final / RECORD
    if not rec_path.is_file():
        return None
    try:
        rec = json.loads(rec_path.read_text())
    except ValueError:
        return None
    if rec.get("key") != key or rec.get("status") == "skipped":
        return None  # a stage skipped for a reason (no TensorRT) is asked again: the reason may be gone
    if tree_hash(final) != rec.get("output_hash"):
        return None  # someone changed or deleted part of the output: rebuild it
    return rec


def run_stage(stage: Stage, records: dict, run_dir: Path, force: bool = False) -> dict:
    """Run (or skip) one stage; return its record."""
    files: dict = {}
    params = _resolve(stage.params, records, run_dir, files)
    key = stage_key(stage, stage.params, files)
    final = run_dir / stage.name
    if (final.exists() or final.is_symlink()) and not (final / RECORD).is_file():
        raise EdgeRPPGError(f"{final}: exists and is not a stage output of `edgerppg run` (no {RECORD}); move it away "
                            "or choose another --run-dir")
    if not force:
        rec = _up_to_date(final, key)
        if rec is not None:
            return {**rec, "path": rec.get("path_rel") and str(run_dir / rec["path_rel"]) or str(final), "ran": False}
    partial = run_dir / ".partial" / stage.name
    marker = partial / ".key"
    if partial.exists() and (force or not marker.is_file() or marker.read_text() != key):
        shutil.rmtree(partial)  # work left by a run with other inputs: start clean
    partial.mkdir(parents=True, exist_ok=True)
    marker.write_text(key)
    ctx = StageContext(name=stage.name, out=partial, params=params, run_dir=run_dir, upstream=dict(records))
    t0 = time.perf_counter()
    result = STAGES.get(stage.kind).fn(ctx) or {}
    seconds = time.perf_counter() - t0
    marker.unlink()
    status = result.get("status", "done")
    rel = Path(result.get("path", partial)).resolve()
    path_rel = (Path(stage.name) / rel.relative_to(partial.resolve())).as_posix() if _inside(rel, partial) else None
    rec = {"stage": stage.name, "kind": stage.kind, "key": key, "status": status, "reason": result.get("reason"),
           "params": stage.params, "inputs": files, "seconds": seconds, "summary": result.get("summary"),
           "path_rel": path_rel, "external_path": None if path_rel else str(rel),
           "output_hash": tree_hash(partial)}
    write_json(partial / RECORD, rec)
    replace_dir(partial, final)  # renames; the old output is removed only after the swap
    return {**rec, "path": str(run_dir / path_rel) if path_rel else str(rel), "ran": True}


def _inside(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def run_pipeline(recipe: str | Path | dict | Pipeline, run_dir: str | Path | None = None,
                 force: tuple[str, ...] = ()) -> dict:
    """Run every stage of a recipe in order; returns a JSON-ready summary of what ran and what was skipped."""
    pipe = recipe if isinstance(recipe, Pipeline) else (
        parse_pipeline(recipe) if isinstance(recipe, dict) else load_pipeline(recipe))
    names = [s.name for s in pipe.stages]
    for f in force:
        if f not in names:
            raise EdgeRPPGError(f"--force {f!r}: no such stage in {pipe.source}; stages are {', '.join(names)}")
    run_dir = Path(run_dir or pipe.run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / ".partial").mkdir(exist_ok=True)  # stages work in here: fails now on a read-only folder
    except OSError as exc:
        raise EdgeRPPGError(f"{run_dir}: cannot create the run directory ({exc.strerror}); choose another "
                            "--run-dir") from None
    records: dict = {}
    rows = []
    with progress.task(f"pipeline {pipe.name}", total=len(pipe.stages)) as bar:
        for stage in pipe.stages:
            bar.update(status=stage.name)
            rec = run_stage(stage, records, run_dir, force=stage.name in force)
            if rec.get("external_path"):
                rec["path"] = rec["external_path"]
            records[stage.name] = rec
            status = ("ran" if rec["ran"] else "unchanged") if rec["status"] != "skipped" else "skipped"
            rows.append({"name": stage.name, "kind": stage.kind, "status": status, "reason": rec.get("reason"),
                         "seconds": rec["seconds"] if rec["ran"] else 0.0, "output": rec["path"],
                         "summary": rec.get("summary")})
            bar.advance()
    report = next((Path(r["output"]) / "report.md" for r in reversed(rows)
                   if r["kind"] == "bench" and (Path(r["output"]) / "report.md").exists()), None)
    return {"name": pipe.name, "recipe": pipe.source, "run_dir": str(run_dir), "stages": rows,
            "report_md": str(report) if report else None}
