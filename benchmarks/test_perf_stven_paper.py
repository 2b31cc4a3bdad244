"""Issue 4's speed criterion: a structured 10x `paper` STVEN (Yu et al., ICCV 2019) against the dense one in
ONNX Runtime on this CPU, timed interleaved in one run, plus its checkpoint round trip.

Set-up (once per session, `stven_paper`): a seeded `paper` STVEN (27.9 M params, 1.11 TMACs per 64x128x128 clip;
random weights: no trained paper weights exist, and latency depends on the widths, not the values; the output
conv, zero at init so a fresh STVEN is the identity, is given a seeded random init so the parity and reload
checks compare a real output) is exported dense; a copy is channel-pruned with `prune.structured.prune_channels`
like recipes/structured-10x.yaml (its mac_ratio and exclude, cost-aware ranking as in the recipe stage) but with
magnitude channel scores (SNIP needs data and a backward pass of a TMAC network), saved as a checkpoint,
reloaded, and the reloaded checkpoint is exported (`export.export_checkpoint`, parity-checked). MACs are counted
at the paper clip on a meta-device copy (nothing is computed); Torch-Pruning's graph is traced on a short small
clip (8x32x32), which only fixes the channel coupling of this fully convolutional net.

Timing: `runtime.open_backend(..., backend="ort")` sessions of both artifacts, one dense and one pruned call per
round (alternating which goes first), each through `bench.timing.time_calls`; medians over the rounds via
`bench.timing.latency_stats`. ONNX Runtime threads: EDGERPPG_STVEN_THREADS (default: the machine's cores);
rounds: EDGERPPG_STVEN_ROUNDS (default 3, plus one untimed warm-up round).

    pytest benchmarks/test_perf_stven_paper.py -s        # prints the MACs, medians and ratio

Results and run time on the 2-core dev VM are in docs/pruning.md ("Structured 10x paper STVEN").
"""

from __future__ import annotations

import copy
import os

import pytest

pytest.importorskip("onnxruntime", reason="the benchmark runs ONNX Runtime: pip install edgerppg[train]")
pytest.importorskip("onnx", reason="the benchmark exports ONNX: pip install edgerppg[train]")
pytest.importorskip("torch_pruning", reason="structured pruning needs Torch-Pruning: pip install edgerppg[train]")

from stven_paper import VARIANT, prune_10x, prune_stage, seeded_stven, short_clip  # noqa: E402

ORT_THREADS = int(os.environ.get("EDGERPPG_STVEN_THREADS", str(os.cpu_count() or 1)))
ROUNDS = int(os.environ.get("EDGERPPG_STVEN_ROUNDS", "3"))
MIN_SPEEDUP = 5.0

@pytest.fixture(scope="session")
def stven_paper(tmp_path_factory):
    """Dense and structured-10x paper STVEN, the pruned one through a checkpoint, both exported to ONNX."""
    import time

    import torch

    from edgerppg.export.exporter import ExportOptions, export_checkpoint, export_module
    from edgerppg.models import load_checkpoint, save_checkpoint
    from edgerppg.prune.report import total_macs

    root = tmp_path_factory.mktemp("stven-paper")
    threads = torch.get_num_threads()
    torch.set_num_threads(ORT_THREADS)  # set-up only (parity runs the dense TMAC net in torch); timing is ORT's
    started = time.perf_counter()
    try:
        dense = seeded_stven()
        options = ExportOptions(parity_clips=1)
        dense_manifest = export_module(dense, root / "dense", options)
        pruned = copy.deepcopy(dense)
        summary = prune_10x(pruned)
        save_checkpoint(root / "stven-paper-s10x.safetensors", pruned, {"pruning": summary})
        reloaded, _ = load_checkpoint(root / "stven-paper-s10x.safetensors")
        pruned_manifest = export_checkpoint(root / "stven-paper-s10x.safetensors", root / "s10x", options)
        return {
            "dense": dense, "pruned": pruned.eval(), "reloaded": reloaded, "summary": summary,
            "dense_macs": total_macs(dense), "pruned_macs": total_macs(reloaded),
            "dense_dir": root / "dense", "pruned_dir": root / "s10x",
            "parity": {"dense": dense_manifest["parity"], "s10x": pruned_manifest["parity"]},
            "setup_s": time.perf_counter() - started,
        }
    finally:
        torch.set_num_threads(threads)


def test_stven_paper_10x_reloads(stven_paper):
    """>= 10x fewer MACs, and the checkpoint rebuilds the narrowed architecture with identical outputs."""
    import torch

    s = stven_paper
    stage = prune_stage()
    assert s["dense_macs"] / s["pruned_macs"] >= stage["mac_ratio"]
    assert s["reloaded"].arch_config() == s["pruned"].arch_config()
    assert s["reloaded"].arch_config()["widths"] != s["dense"].arch_config()["widths"]
    inputs = short_clip(s["pruned"].example_inputs(1))
    with torch.inference_mode():
        assert torch.equal(s["reloaded"].deploy()(*inputs), s["pruned"].deploy()(*inputs))
    assert s["parity"]["dense"]["passed"] and s["parity"]["s10x"]["passed"]


def test_stven_paper_10x_ort_speedup(benchmark, stven_paper):
    """Median ONNX Runtime latency of the dense paper STVEN / the structured 10x one, interleaved rounds."""
    from edgerppg.bench.timing import make_inputs, time_calls
    from edgerppg.runtime import open_backend

    s = stven_paper
    runs: dict[str, list] = {"dense": [], "s10x": []}
    with open_backend(s["dense_dir"], backend="ort", threads=ORT_THREADS) as dense, \
            open_backend(s["pruned_dir"], backend="ort", threads=ORT_THREADS) as pruned:
        calls = {"dense": (dense, make_inputs(dense)), "s10x": (pruned, make_inputs(pruned))}

        def one_round():
            order = ["dense", "s10x"] if len(runs["dense"]) % 2 == 0 else ["s10x", "dense"]
            for form in order:
                backend, feeds = calls[form]
                timed, _ = time_calls(lambda: backend.infer(feeds), warmup=0, iters=1, repeats=1)
                runs[form].append(timed[0][0])

        benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    timed = {form: times[-ROUNDS:] for form, times in runs.items()}  # the warm-up round is not counted
    figures = _figures(s, timed)
    benchmark.extra_info.update(model="stven", variant=VARIANT, backend="ort", **figures)
    print(_summary(figures))
    assert figures["speedup"] >= MIN_SPEEDUP, (
        f"structured 10x {VARIANT} STVEN only {figures['speedup']:.2f}x faster than dense in ONNX Runtime")


def _figures(s: dict, timed: dict) -> dict:
    """Numbers of one run (kept as numbers for the benchmark JSON): MACs, params, per-round ms, medians, ratio."""
    from edgerppg.bench.timing import latency_stats

    frames = s["dense"].clip.frames
    medians = {form: latency_stats([[t] for t in times], batch=1, frames=frames, warmup=1).median_p50_ms
               for form, times in timed.items()}
    return {
        "threads": ORT_THREADS, "rounds": ROUNDS,
        "dense_macs": s["dense_macs"], "s10x_macs": s["pruned_macs"], "mac_ratio": s["dense_macs"] / s["pruned_macs"],
        "dense_params": sum(p.numel() for p in s["dense"].parameters()),
        "s10x_params": sum(p.numel() for p in s["reloaded"].parameters()),
        "dense_ms": [t * 1e3 for t in timed["dense"]], "s10x_ms": [t * 1e3 for t in timed["s10x"]],
        "dense_median_ms": medians["dense"], "s10x_median_ms": medians["s10x"],
        "speedup": medians["dense"] / medians["s10x"],
        "arch": s["reloaded"].arch_config(), "prune_steps": s["summary"]["steps"], "setup_s": s["setup_s"],
    }


def _summary(f: dict) -> str:
    return (f"\nstven {VARIANT}, ORT {f['threads']} threads, {f['rounds']} interleaved rounds: "
            f"dense {f['dense_macs'] / 1e9:.1f} GMACs {f['dense_median_ms']:.0f} ms, "
            f"structured {f['s10x_macs'] / 1e9:.1f} GMACs {f['s10x_median_ms']:.0f} ms -> {f['speedup']:.2f}x faster "
            f"(MACs {f['mac_ratio']:.2f}x, params {f['dense_params'] / 1e6:.2f} M -> {f['s10x_params'] / 1e6:.2f} M); "
            f"set-up {f['setup_s']:.0f} s; widths {f['arch']['widths']}, blocks {f['arch']['blocks']}")
