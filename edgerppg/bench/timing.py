"""Latency of any backend: warm-up, timed calls with explicit synchronisation, percentile statistics.

The harness only needs an object with `infer({name: ndarray}) -> {name: ndarray}` (a runtime backend,
STYLE.md habit 3): it never knows whether torch, ONNX Runtime or TensorRT is behind it. `infer()` returns
when its outputs are ready; a backend that queues work asynchronously may also expose `synchronize()`,
which is called before the clock stops. A backend that can split one call like trtexec does (host-to-device
copy, compute, device-to-host copy) exposes `last_split_ms() -> {"h2d": ms, "compute": ms, "d2h": ms}`;
the means of those go into `LatencyStats.split_ms`.

FPS is counted in video frames (batch x T / mean latency), not in calls (Torch-Pruning's 1000/latency).
Repeats exist for noisy shared machines: each repeat's p50 is kept so the regression gate can compare the
median of repeat medians instead of one lucky or unlucky run.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Mapping

import numpy as np

from edgerppg.bench.results import LatencyStats
from edgerppg.errors import EdgeRPPGError


def make_inputs(backend, batch: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded float32 clips in [0, 1] shaped by the backend's clip spec; extra inputs (STVEN's label) come
    from the backend's own `feeds(video)` when it has one, else every input gets a clip."""
    rng = np.random.default_rng(seed)
    video = rng.random(backend.spec.shape(batch), dtype=np.float32)
    feeds = getattr(backend, "feeds", None)
    if feeds is not None:
        return feeds(video)
    names = list(getattr(backend, "input_names", None) or ["video"])
    return {name: video for name in names}


def time_calls(call: Callable[[], object], warmup: int, iters: int, repeats: int,
               sync: Callable[[], None] | None = None,
               split: Callable[[], Mapping[str, float] | None] | None = None,
               on_iter: Callable[[], None] | None = None) -> tuple[list[list[float]], dict | None]:
    """Run `call` warmup times untimed, then repeats x iters timed; return seconds per call per repeat."""
    if iters < 1 or repeats < 1 or warmup < 0:
        raise EdgeRPPGError(f"bench: iters ({iters}) and repeats ({repeats}) must be >= 1 and warmup >= 0")
    for _ in range(warmup):
        call()
    if sync:
        sync()
    runs: list[list[float]] = []
    splits: dict[str, list[float]] = {}
    for _ in range(repeats):
        times = []
        for _ in range(iters):
            t0 = time.perf_counter()
            call()
            if sync:
                sync()
            times.append(time.perf_counter() - t0)
            part = split() if split else None
            for key, value in (part or {}).items():
                splits.setdefault(key, []).append(float(value))
            if on_iter:
                on_iter()
        runs.append(times)
    split_ms = {k: float(np.mean(v)) for k, v in splits.items()} or None
    return runs, split_ms


def latency_stats(runs: list[list[float]], *, batch: int, frames: int, warmup: int,
                  split_ms: dict | None = None) -> LatencyStats:
    """Statistics over every timed call (seconds in, milliseconds out)."""
    ms = np.asarray([t for run in runs for t in run], dtype=np.float64) * 1e3
    p50s = [float(np.percentile(np.asarray(run) * 1e3, 50)) for run in runs]
    mean = float(ms.mean())
    return LatencyStats(
        mean_ms=mean,
        sd_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
        min_ms=float(ms.min()),
        p50_ms=float(np.percentile(ms, 50)),
        p90_ms=float(np.percentile(ms, 90)),
        p99_ms=float(np.percentile(ms, 99)),
        max_ms=float(ms.max()),
        iters=len(runs[0]),
        repeats=len(runs),
        warmup=warmup,
        batch=batch,
        frames=frames,
        p50_repeats_ms=p50s,
        median_p50_ms=float(np.median(p50s)),
        fps=batch * frames / (mean / 1e3),
        clips_per_s=batch / (mean / 1e3),
        samples_ms=[float(x) for x in ms],
        split_ms=split_ms,
    )


def _timed_call(backend, batch: int, seed: int) -> tuple[Callable[[], object], dict, int]:
    """`backend.infer` on seeded clips, its sync/split hooks (as `time_calls` keywords) and frames per clip."""
    inputs = make_inputs(backend, batch=batch, seed=seed)
    hooks = {"sync": getattr(backend, "synchronize", None), "split": getattr(backend, "last_split_ms", None)}
    frames = next(iter(inputs.values())).shape[2] if inputs else backend.spec.frames
    return (lambda: backend.infer(inputs)), hooks, int(frames)


def time_backend(backend, *, batch: int = 1, warmup: int = 5, iters: int = 30, repeats: int = 3,
                 seed: int = 0, on_iter: Callable[[], None] | None = None) -> LatencyStats:
    """Time `backend.infer` on seeded clips of the backend's clip spec at `batch`."""
    call, hooks, frames = _timed_call(backend, batch, seed)
    runs, split_ms = time_calls(call, warmup, iters, repeats, on_iter=on_iter, **hooks)
    return latency_stats(runs, batch=batch, frames=frames, warmup=warmup, split_ms=split_ms)


def time_rounds(backend, rounds: Iterable, *, batch: int = 1, warmup: int = 5, iters: int = 30,
                seed: int = 0) -> LatencyStats:
    """`time_backend` with one repeat per item of `rounds`, each after its own `warmup` calls.

    For interleaved benchmarks (`bench.run`, one process per artifact taking turns): `rounds` is advanced by
    the caller's schedule (a parent process's "time" commands), and another artifact ran since the last
    repeat, so caches and branch predictors are cold again: every repeat is warmed up like the first.
    """
    call, hooks, frames = _timed_call(backend, batch, seed)
    runs: list[list[float]] = []
    splits: list[dict] = []
    for _ in rounds:
        run, split_ms = time_calls(call, warmup, iters, 1, **hooks)
        runs += run
        splits += [split_ms] if split_ms else []
    if not runs:
        raise EdgeRPPGError("bench: no timing round was run; the interleaved schedule ended before the first repeat")
    merged = {k: float(np.mean([s[k] for s in splits])) for k in splits[0]} if splits else None
    return latency_stats(runs, batch=batch, frames=frames, warmup=warmup, split_ms=merged)
