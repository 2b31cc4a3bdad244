"""Shared set-up of the pytest-benchmark suite (benchmarks/, not collected by the unit tests).

Models are built once per session: each registered model ("rppgnet", "stven", "cascade") at the variant in
EDGERPPG_BENCH_VARIANT (default "tiny"), dense and channel-pruned to 10x fewer MACs (the mac_ratio and
exclude of recipes/structured-10x.yaml, magnitude scores, `prune.structured.prune_channels`), and exported to
ONNX with parity checked. Weights are random: latency does not depend on their values, and no trained
checkpoint is needed for a perf check. Threads default to 1
(EDGERPPG_BENCH_THREADS) because single-thread numbers are the least noisy on a shared CI runner.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("EDGERPPG_PROGRESS", "0")
THREADS = int(os.environ.get("EDGERPPG_BENCH_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))

import pytest  # noqa: E402

VARIANT = os.environ.get("EDGERPPG_BENCH_VARIANT", "tiny")
RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "structured-10x.yaml"


def macs(model, frames: int = 16) -> float:
    """MACs of the deploy form on a `frames`-long clip: every layer's cost is linear in T (time is only
    strided, never pooled away), so the dense/pruned ratio equals the full clip's, at a quarter of the cost."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    deploy = model.deploy().eval()
    inputs = list(model.example_inputs(1))
    inputs[0] = inputs[0][:, :, :frames]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        deploy(*inputs)
    return counter.get_total_flops() / 2


def recipe_prune_stage(path: Path = RECIPE) -> dict:
    """The prune stage of the shipped structured recipe (its MAC ratio and excluded layers)."""
    import yaml

    for stage in yaml.safe_load(path.read_text())["stages"]:
        if "prune" in stage:
            return stage["prune"]
    raise ValueError(f"{path}: no prune stage")


def structured_10x(model):
    """Channel-prune `model` in place like recipes/structured-10x.yaml (its mac_ratio and exclude), but with
    magnitude channel scores: SNIP needs data, and latency depends only on the widths."""
    from edgerppg.prune.structured import ChannelBudget, prune_channels

    stage = recipe_prune_stage()

    def scores(m):
        return {n: p.detach().abs() for n, p in m.named_parameters()}

    example = list(model.example_inputs(1))
    example[0] = example[0][:, :, :16]
    return prune_channels(model, tuple(example), scores, macs,
                          ChannelBudget(float(stage.get("mac_ratio", 10)), exclude=stage.get("exclude")))


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """{(model, "dense"|"10x"): (torch model, ONNX artifact dir)} built lazily, once per session."""
    cache: dict = {}
    root = tmp_path_factory.mktemp("artifacts")

    def get(name: str, form: str):
        key = (name, form)
        if key not in cache:
            import torch

            from edgerppg.export.exporter import ExportOptions, export_module
            from edgerppg.models import create_model

            torch.manual_seed(0)
            model = create_model(name, variant=VARIANT).eval()
            if form == "10x":
                structured_10x(model)
            export_module(model, root / f"{name}-{form}", ExportOptions())
            cache[key] = (model, root / f"{name}-{form}")
        return cache[key]

    return get


@pytest.fixture(autouse=True)
def _threads():
    import torch

    torch.set_num_threads(THREADS)
    yield
