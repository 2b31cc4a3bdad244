"""`benchmark(paths, spec)`: latency, memory, model figures and HR accuracy for each artifact.

One artifact at a time, each (by default) in a fresh Python subprocess (`python -m edgerppg.bench.child`),
so its peak RSS is its own and one backend's threads or arenas do not slow the next. The child opens the
artifact through `runtime.open_backend` (or the factory named in `BenchSpec.opener`), times it with
`bench.timing`, samples memory with `bench.memory`, reads figures from the manifest, and, when a data
directory is given, measures HR error through `runtime.predict.load_predictor` + `predict.evaluate.evaluate`.
The classical POS/CHROM rows are computed once in the parent, on the same recordings.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edgerppg import progress
from edgerppg.bench.figures import model_figures
from edgerppg.bench.memory import MemorySampler, gpu_info
from edgerppg.bench.results import ArtifactResult, BenchReport
from edgerppg.bench.timing import time_backend, time_rounds
from edgerppg.data import load_dataset
from edgerppg.errors import EdgeRPPGError
from edgerppg.manifest import environment
from edgerppg.predict.evaluate import evaluate, floor_of
from edgerppg.predict.predictors import ClassicalPredictor


@dataclass
class BenchSpec:
    """What to measure and how; every field is recorded in the report's `settings`."""

    backend: str | None = None  # None: chosen from the artifact (checkpoint -> torch, export dir -> ort/trt)
    device: str = "cpu"
    data: str | None = None
    train_data: str | None = None  # the models' training set: its median HR is the constant-guess floor
    batch: int = 1
    threads: int | None = None
    warmup: int = 5
    iters: int = 30
    repeats: int = 3
    isolate: bool = True  # one fresh subprocess per artifact
    interleave: bool = True  # isolated CPU runs: the artifacts' repeats take turns (`_run_interleaved`)
    methods: tuple[str, ...] = ("pos", "chrom")  # classical rows in the accuracy table
    window: float = 10.0
    seed: int = 0
    opener: str = "edgerppg.runtime:open_backend"  # backend factory f(path, backend, device, threads)
    predictor: str = "edgerppg.runtime.predict:load_predictor"
    example: bool = True  # keep one predicted pulse for the plots
    accuracy_threads: int | None = None  # threads of one accuracy pass; None: every core (`accuracy_threads`)
    # paths timed but not scored: a pipeline's torch twin of an export whose parity check already showed the
    # same outputs (its accuracy pass would repeat the export's at twice the cost)
    unscored: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)  # path -> display name
    backends: dict[str, str] = field(default_factory=dict)  # path -> backend, where it differs from `backend`

    def backend_for(self, path) -> str | None:
        return self.backends.get(str(path), self.backend)

    def validate(self) -> None:
        if self.batch < 1 or self.iters < 1 or self.repeats < 1 or self.warmup < 0:
            raise EdgeRPPGError(
                f"bench: --batch/--iters/--repeats must be >= 1 and --warmup >= 0 "
                f"(got batch={self.batch}, iters={self.iters}, repeats={self.repeats}, warmup={self.warmup})"
            )
        if self.data is not None and not Path(self.data).is_dir():
            raise EdgeRPPGError(f"{self.data}: --data is not a directory; point it at an `edgerppg synth` output or a dataset")
        if self.train_data is not None and not Path(self.train_data).is_dir():
            raise EdgeRPPGError(f"{self.train_data}: --train-data is not a directory; point it at the models' training data")


def resolve(target: str):
    """Import "module:attr"."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def benchmark(paths: list[str | Path], spec: BenchSpec) -> BenchReport:
    """Measure every artifact in `paths` and the classical methods on `spec.data`."""
    spec.validate()
    for p in paths:
        if not Path(p).exists():
            raise EdgeRPPGError(f"{p}: no such artifact or checkpoint; export one with `edgerppg export` or check the path")
    if spec.isolate and spec.interleave and spec.device == "cpu" and len(paths) > 1:
        results = _run_interleaved(paths, spec)
    else:
        results = []
        with progress.task("bench", total=len(paths)) as bar:
            for p in paths:
                bar.update(status=Path(p).name)
                results.append(_run_child(p, spec) if spec.isolate else measure_artifact(p, spec))
                bar.advance()
    classical = classical_rows(spec) if spec.data else {}
    floor = floor_row(spec, [r.accuracy for r in results] + list(classical.values()))
    env = environment()
    env["threads"] = spec.threads
    if spec.device.startswith("cuda"):
        env["gpu"] = gpu_info()
    settings = {k: v for k, v in asdict(spec).items() if k not in ("labels", "backends")}
    if spec.backends:
        settings["backend"] = "per artifact"
    return BenchReport(results=results, environment=env, settings=settings, classical=classical, floor=floor)


def measure_artifact(path: str | Path, spec: BenchSpec, rounds=None) -> ArtifactResult:
    """Open, time, measure and (optionally) score one artifact in this process.

    `rounds`: None times `spec.repeats` repeats back to back; an iterable runs one warmed-up repeat per item
    (`timing.time_rounds`), which is how an interleaved child follows its parent's schedule."""
    opener = resolve(spec.opener)
    with MemorySampler(isolated=spec.isolate, device=spec.device) as mem:
        backend = opener(path, backend=spec.backend_for(path), device=spec.device, threads=spec.threads)
        with backend:
            if rounds is None:
                latency = time_backend(backend, batch=spec.batch, warmup=spec.warmup, iters=spec.iters,
                                       repeats=spec.repeats, seed=spec.seed)
            else:
                latency = time_rounds(backend, rounds, batch=spec.batch, warmup=spec.warmup, iters=spec.iters,
                                      seed=spec.seed)
            name = getattr(backend, "name", None) or spec.backend_for(path) or "auto"
            described = backend.describe() if hasattr(backend, "describe") else {}
            providers = list(described.get("providers") or getattr(backend, "providers", None) or [])
    result = ArtifactResult(
        name=spec.labels.get(str(path)) or Path(path).name, path=str(path), backend=str(name),
        device=spec.device, threads=spec.threads, latency=latency, memory=mem.stats(),
        figures=model_figures(path), providers=providers,
    )
    if spec.data and str(path) not in spec.unscored:
        result.accuracy, result.example = artifact_accuracy(path, spec)
    return result


def load_recordings(data: str):
    recordings = load_dataset(data)
    if not recordings:
        raise EdgeRPPGError(f"{data}: no recordings found; run `edgerppg synth {data}` or point --data at a dataset")
    return recordings


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def accuracy_threads(spec: BenchSpec) -> int | None:
    """Threads for the accuracy pass: on CPU, every core this process may use (or `spec.accuracy_threads`, set
    where several passes run at once).

    The pass is not timed and its numbers do not depend on the thread count (only on float summation order),
    so it does not inherit the latency pass's `--threads 1`: on the default pipeline's 2 cores that pass was
    most of the bench stage (7 artifacts x 12 recordings of half-overlapping clips)."""
    if spec.device != "cpu":
        return spec.threads
    return spec.accuracy_threads or cores()


def artifact_accuracy(path, spec: BenchSpec) -> tuple[dict, dict | None]:
    """HR metrics of one artifact on `spec.data`, plus one example pulse for the plots."""
    recordings = load_recordings(spec.data)
    predictor = resolve(spec.predictor)(path, backend=spec.backend_for(path), device=spec.device,
                                        threads=accuracy_threads(spec))
    metrics = evaluate(recordings, predictor, window=spec.window)
    example = None
    if spec.example:
        rec = recordings[0]
        pulse, fps = predictor.predict(rec)
        example = {"subject": rec.subject, "group": rec.group, "fps": float(fps),
                   "pulse": [float(x) for x in pulse], "true_hr_bpm": rec.hr_bpm}
    closer = getattr(predictor, "close", None) or getattr(getattr(predictor, "backend", None), "close", None)
    if closer:
        closer()
    return metrics, example


def classical_rows(spec: BenchSpec) -> dict[str, dict]:
    """POS/CHROM/GREEN on the same recordings, for the same table."""
    recordings = load_recordings(spec.data)
    return {m: evaluate(recordings, ClassicalPredictor(m), window=spec.window) for m in spec.methods}


def floor_row(spec: BenchSpec, accuracies: list) -> dict | None:
    """The constant guess on the windows of the first accuracy result (`predict.evaluate.floor_of`): the median
    HR of `spec.train_data` when given, else of the evaluated data (labelled so). None without accuracy."""
    reference = next((a for a in accuracies if a and a.get("windows")), None)
    if reference is None:
        return None
    return floor_of(reference, load_recordings(spec.train_data) if spec.train_data else None)


#: prefix of the lines an interleaved child answers with on stdout (other output there is ignored)
REPLY = "@edgerppg-bench"

# The child imports the edgerppg this process runs, not one that happens to sit in the working directory
# (`python -m` puts the cwd first on sys.path: a bench started inside another checkout timed that code).
_CHILD = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); "
          "from edgerppg.bench.child import main; sys.exit(main(*sys.argv[1:]))")


def _child_result(path, returncode: int, out: Path, stderr: str) -> ArtifactResult:
    """The child's ArtifactResult, or its failure as a one-line EdgeRPPGError."""
    if returncode == 2 and out.exists():
        raise EdgeRPPGError(json.loads(out.read_text())["error"])
    if returncode != 0 or not out.exists():
        tail = stderr.strip().splitlines()[-1:] or ["no output"]
        raise EdgeRPPGError(f"{path}: benchmark subprocess failed ({tail[0]}); re-run with --no-isolate to see the traceback")
    return ArtifactResult.from_dict(json.loads(out.read_text()))


def _child_command(path, spec: BenchSpec, job: Path, out: Path, *mode: str) -> tuple[list[str], dict]:
    """Write the child's job file; return its argv (`bench.child.main JOB OUT [mode]`) and environment."""
    job.write_text(json.dumps({"path": str(path), "spec": asdict(spec)}))
    return [sys.executable, "-c", _CHILD, str(job), str(out), *mode], dict(os.environ, EDGERPPG_PROGRESS="0")


def _run_child(path, spec: BenchSpec) -> ArtifactResult:
    """Measure one artifact in a fresh interpreter; its errors come back as one-line EdgeRPPGErrors."""
    with tempfile.TemporaryDirectory(prefix="edgerppg-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv, env = _child_command(path, spec, Path(tmp) / "job.json", out)
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        return _child_result(path, proc.returncode, out, proc.stderr or proc.stdout)


class _Child:
    """One artifact's interpreter in an interleaved run, driven line by line over its stdin/stdout
    (`bench.child.main` in serve mode): it opens its backend and says "ready", times one repeat per "time"
    and says "timed", and on "finish" closes the timing, runs the accuracy pass and writes its result."""

    def __init__(self, path, spec: BenchSpec, tmp: Path, i: int):
        self.path, self.reply = path, REPLY
        self.out, self.err_path = tmp / f"result{i}.json", tmp / f"stderr{i}.txt"
        argv, env = _child_command(path, spec, tmp / f"job{i}.json", self.out, "serve")
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                         text=True)

    def send(self, command: str) -> None:
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.fail()

    def expect(self, word: str) -> None:
        for line in self.proc.stdout:  # anything else a library prints to stdout is skipped
            if line.strip() == f"{self.reply} {word}":
                return
        self.fail()

    def fail(self):
        self.proc.wait()
        _child_result(self.path, self.proc.returncode or 1, self.out, self.err_path.read_text())
        raise EdgeRPPGError(f"{self.path}: benchmark subprocess stopped answering; re-run with --no-interleave")

    def finish(self) -> ArtifactResult:
        try:
            self.proc.communicate("finish\n")  # also drains stdout while the accuracy pass runs
        except (BrokenPipeError, OSError):
            self.proc.wait()
        return _child_result(self.path, self.proc.returncode, self.out, self.err_path.read_text())


def _run_interleaved(paths: list, spec: BenchSpec) -> list[ArtifactResult]:
    """One process per artifact, all open at once, taking turns: repeat r of every artifact runs before repeat
    r + 1 of any. On a shared machine the load of other tenants drifts over tens of seconds; back-to-back
    repeats put one artifact's whole measurement in one such stretch (a fresh-clone pipeline run timed its 10x
    at 1.6x its usual latency and dense ORT at its usual one, a minute apart), taking turns spreads every
    stretch over all of them, so the ratios between rows hold. Only one process computes at a time; the others
    wait on a pipe. At the end the accuracy passes, which are not timed, run side by side, at most one per core, each
    on cores // passes threads (a tiny model's convolutions scale poorly over threads; separate recordings fully)."""
    scored = [p for p in paths if str(p) not in spec.unscored] if spec.data else []
    workers = max(1, min(cores(), len(scored)))
    child_spec = replace(spec, accuracy_threads=spec.accuracy_threads or max(1, cores() // workers))
    with tempfile.TemporaryDirectory(prefix="edgerppg-bench-") as tmp:
        children: list[_Child] = []
        try:
            with progress.task("bench (interleaved)", total=len(paths) * (spec.repeats + 1)) as bar:
                for i, p in enumerate(paths):
                    children.append(_Child(p, child_spec, Path(tmp), i))
                for child in children:
                    child.expect("ready")
                for r in range(spec.repeats):
                    for child in children:
                        bar.update(status=f"repeat {r + 1}: {Path(child.path).name}")
                        child.send("time")
                        child.expect("timed")
                        bar.advance()
                bar.update(status=f"accuracy: {len(children)} artifacts, {workers} at a time")
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    results = []
                    for result in pool.map(_Child.finish, children):
                        results.append(result)
                        bar.advance()
                return results
        finally:
            for child in children:
                if child.proc.poll() is None:
                    child.proc.kill()
                    child.proc.wait()
