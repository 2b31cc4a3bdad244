"""Inference latency of rPPGNet, STVEN and the cascade, dense vs structured 10x, in torch eager and ONNX Runtime.

One clip per call (batch 1, the model's own clip spec). Compare the `dense` and `10x` rows of one run for the
speed-up structured pruning buys; compare runs with --benchmark-compare for regressions (docs/benchmarking.md).
"""

import os

import numpy as np
import pytest

from edgerppg.models import MODELS

ROUNDS = 5


@pytest.mark.parametrize("form", ["dense", "10x"])
@pytest.mark.parametrize("name", MODELS.names())
def test_torch_eager(benchmark, artifacts, name, form):
    import torch

    model, _ = artifacts(name, form)
    deploy, inputs = model.deploy().eval(), model.example_inputs(1)
    benchmark.extra_info.update(model=name, form=form, backend="torch", frames=model.spec.clip.frames)

    def run():
        with torch.inference_mode():
            return deploy(*inputs)

    run()
    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("form", ["dense", "10x"])
@pytest.mark.parametrize("name", MODELS.names())
def test_onnxruntime(benchmark, artifacts, name, form):
    from edgerppg.runtime import open_backend

    _, path = artifacts(name, form)
    with open_backend(path, backend="ort", threads=int(os.environ.get("EDGERPPG_BENCH_THREADS", "1"))) as backend:
        video = np.random.default_rng(0).random(backend.spec.shape(1), dtype=np.float32)
        feeds = backend.feeds(video)
        benchmark.extra_info.update(model=name, form=form, backend="ort", frames=backend.spec.frames)
        benchmark.pedantic(backend.infer, args=(feeds,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
