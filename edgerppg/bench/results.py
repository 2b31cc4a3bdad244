"""Typed benchmark results and their JSON form.

Numbers stay numbers until a report renders them (STYLE.md habit 8, after onnxruntime's benchmark helper):
every figure is a float/int in milliseconds, bytes, frames per second or bpm, and the JSON printed by
`edgerppg bench --json` (or written by `--json-out FILE`) is exactly `BenchReport.to_dict()`. `SCHEMA` names the
layout; a change of field names bumps it, and `BenchReport.from_dict` refuses a file of another schema with one
clear line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from edgerppg.atomic import write_json
from edgerppg.bench.paired import paired_rows
from edgerppg.errors import EdgeRPPGError

SCHEMA = "edgerppg-bench/1"


@dataclass
class LatencyStats:
    """Per-call latency of one artifact at one batch size, over `repeats` x `iters` timed calls."""

    mean_ms: float
    sd_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    iters: int
    repeats: int
    warmup: int
    batch: int
    frames: int  # video frames per clip (T)
    p50_repeats_ms: list[float]  # p50 of each repeat: the gate compares their median
    median_p50_ms: float
    fps: float  # video frames per second = batch * T / mean latency
    clips_per_s: float  # throughput at this batch size
    samples_ms: list[float] = field(default_factory=list)  # every timed call, for the histogram
    split_ms: dict[str, float] | None = None  # {"h2d", "compute", "d2h"} means when the backend reports them


@dataclass
class MemoryStats:
    """Process and device memory while one artifact was loaded and run."""

    rss_idle_bytes: int  # before the model was loaded
    rss_peak_bytes: int  # highest resident set size seen while loading and running it
    rss_increase_bytes: int
    isolated: bool  # measured in a fresh process (peak is this artifact's alone)
    gpu_bytes: int | None = None
    gpu_source: str | None = None  # "nvml", "nvidia-smi", "torch-allocator" or None on CPU


@dataclass
class ModelFigures:
    """Size of the model as shipped: parameters, non-zeros, MACs, bytes on disk, numeric precision."""

    params: int | None = None
    nonzeros: int | None = None
    density: float | None = None
    macs: int | None = None
    size_bytes: int | None = None
    precision: str | None = None
    model: str | None = None
    variant: str | None = None


@dataclass
class ArtifactResult:
    """Everything measured for one artifact (or checkpoint) on one backend."""

    name: str
    path: str
    backend: str
    device: str
    threads: int | None
    latency: LatencyStats
    memory: MemoryStats
    figures: ModelFigures
    providers: list[str] = field(default_factory=list)
    accuracy: dict | None = None  # predict.evaluate.evaluate() output for this artifact, when --data was given
    example: dict | None = None  # one predicted pulse {"subject", "fps", "pulse", "true_hr_bpm"} for the plots

    @classmethod
    def from_dict(cls, d: dict) -> "ArtifactResult":
        d = dict(d)
        d["latency"] = LatencyStats(**d["latency"])
        d["memory"] = MemoryStats(**d["memory"])
        d["figures"] = ModelFigures(**d["figures"])
        return cls(**_known(cls, d))


@dataclass
class BenchReport:
    """A whole `edgerppg bench` run: per-artifact results, classical baselines, environment, settings."""

    results: list[ArtifactResult]
    environment: dict
    settings: dict
    classical: dict[str, dict] = field(default_factory=dict)  # method -> evaluate() output
    schema: str = SCHEMA
    floor: dict | None = None  # predict.evaluate.constant_guess() output: the constant guess, on the same windows

    def to_dict(self) -> dict:
        """The fields, plus "paired": the report's MAE differences from the reference artifact with their
        intervals (derived from the windows, so a consumer of the JSON need not recompute them; not read back)."""
        return {**asdict(self), "paired": paired_rows(self)}

    @classmethod
    def from_dict(cls, d: dict, source: str = "result") -> "BenchReport":
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            found = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise EdgeRPPGError(
                f"{source}: not an edgerppg bench result (schema {found!r}, expected {SCHEMA!r}); "
                "write one with `edgerppg bench ... --json-out OUT`"
            )
        try:
            results = [ArtifactResult.from_dict(r) for r in d["results"]]
            return cls(results=results, environment=d["environment"], settings=d["settings"],
                       classical=d.get("classical", {}), schema=d["schema"], floor=d.get("floor"))
        except (KeyError, TypeError) as exc:
            raise EdgeRPPGError(f"{source}: bench result is missing or has a bad field ({exc}); re-run the benchmark") from None

    @classmethod
    def load(cls, path: str | Path) -> "BenchReport":
        import json

        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise EdgeRPPGError(f"{path}: cannot read the bench result ({exc.strerror}); check the path") from None
        except ValueError:
            raise EdgeRPPGError(f"{path}: is not valid JSON; write it with `edgerppg bench ... --json-out {path}`") from None
        return cls.from_dict(data, source=str(path))

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())


def _known(cls, d: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}
