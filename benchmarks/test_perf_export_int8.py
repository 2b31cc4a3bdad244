"""INT8 (ONNX Runtime static QDQ) vs fp32 rPPGNet latency on this CPU, both as `edgerppg export` writes them.

    pytest benchmarks/test_perf_export_int8.py --benchmark-only --benchmark-group-by=param:variant

Both artifacts come from `export_module`, so they are the shipped graphs: the 2D-conv rewrite
(export/conv2d.py) for both precisions, pools as depthwise convs and static QDQ for int8, saved in ONNX
Runtime's CPU layout (export/ort_layout.py; EDGERPPG_INT8_ORT_LAYOUT=0 keeps the QDQ graph), each
parity-checked by the exporter. Variant: EDGERPPG_INT8_VARIANT (default "paper", the deployed size). Calibration: the
dataset directory in EDGERPPG_CALIB when set (as `--calib DIR`), else a small `edgerppg synth` dataset
rendered at the model's clip size (recorded in extra_info). EDGERPPG_INT8_CONV2D=0 exports both without the
rewrite (the previous 3D graphs) for comparison. Weights are random: latency does not depend on them, and
HR parity is only meaningful for trained weights (docs/deploy.md has those figures).
pytest-benchmark times each test on its own; `test_rppgnet_int8_speedup_interleaved` alternates fp32 and
int8 runs in every round, so a shared CPU's load hits both alike, and records both medians and their
ratio in extra_info (the figure to report). EDGERPPG_INT8_MIN_SPEEDUP (unset by default) makes it assert one.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

VARIANT = os.environ.get("EDGERPPG_INT8_VARIANT", "paper")
CONV2D = os.environ.get("EDGERPPG_INT8_CONV2D", "1") != "0"
ORT_LAYOUT = os.environ.get("EDGERPPG_INT8_ORT_LAYOUT", "1") != "0"


def _calibration_dir(root, clip) -> str:
    if os.environ.get("EDGERPPG_CALIB"):
        return os.environ["EDGERPPG_CALIB"]
    from edgerppg.data.synth import synthesize

    seconds = 2 * clip.frames / clip.fps + 0.5  # two clips per subject
    synthesize(root / "calib", subjects=2, seconds=seconds, fps=clip.fps, size=clip.height, seed=1)
    return str(root / "calib")


@pytest.fixture(scope="module")
def rppgnet_onnx(tmp_path_factory):
    """{"fp32": path, "int8": path, "calibration": str, "clip": ClipSpec, "manifests": {...}} at VARIANT."""
    import torch

    from edgerppg.export.exporter import ExportOptions, export_module
    from edgerppg.models import create_model

    torch.manual_seed(0)
    model = create_model("rppgnet", VARIANT).eval()
    root = tmp_path_factory.mktemp("int8")
    clip = model.spec.clip
    calib = _calibration_dir(root, clip)
    manifests = {
        "fp32": export_module(model, root / "fp32", ExportOptions(parity_clips=2, conv2d=CONV2D)),
        "int8": export_module(model, root / "int8", ExportOptions(precision="int8", calib=calib, calib_clips=4,
                                                                  parity_clips=2, conv2d=CONV2D,
                                                                  ort_layout=ORT_LAYOUT)),
    }
    return {"fp32": root / "fp32" / "model.onnx", "int8": root / "int8" / "model.onnx", "calibration": calib,
            "clip": clip, "manifests": manifests}


@pytest.mark.parametrize("variant", [VARIANT])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_rppgnet_ort_latency(benchmark, rppgnet_onnx, precision, variant):
    from edgerppg.export.parity import synthetic_clips
    from edgerppg.export.session import make_session

    clip = rppgnet_onnx["clip"]
    manifest = rppgnet_onnx["manifests"][precision]
    session = make_session(rppgnet_onnx[precision], threads=int(os.environ.get("EDGERPPG_BENCH_THREADS", "1")))
    video = synthetic_clips(clip, 1, seed=7)
    assert np.isfinite(session.run(None, {"video": video})[0]).all()
    benchmark.extra_info.update(precision=precision, calibration=rppgnet_onnx["calibration"], clip=clip.to_dict(),
                                rewrite=manifest["rewrite"], parity=manifest["parity"]["max_hr_diff_bpm"],
                                kept_float=len(manifest["precision_details"].get("kept_float", [])))
    assert manifest["parity"]["passed"]
    benchmark.pedantic(session.run, args=(None, {"video": video}), rounds=7, warmup_rounds=2)


@pytest.mark.parametrize("variant", [VARIANT])
def test_rppgnet_int8_speedup_interleaved(benchmark, rppgnet_onnx, variant):
    """One round = one fp32 run then one int8 run on the same clip; the ratio of medians is the speed-up."""
    import time

    from edgerppg.export.parity import synthetic_clips
    from edgerppg.export.session import make_session

    threads = int(os.environ.get("EDGERPPG_BENCH_THREADS", "1"))
    sessions = {p: make_session(rppgnet_onnx[p], threads=threads) for p in ("fp32", "int8")}
    feed = {"video": synthetic_clips(rppgnet_onnx["clip"], 1, seed=7)}
    times: dict[str, list[float]] = {p: [] for p in sessions}

    def pair():
        for p, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feed)
            times[p].append(time.perf_counter() - t0)

    benchmark.pedantic(pair, rounds=9, warmup_rounds=1)
    med = {p: float(np.median(t[-9:])) for p, t in times.items()}
    ratio = med["fp32"] / med["int8"]
    benchmark.extra_info.update(fp32_median_ms=round(med["fp32"] * 1e3, 1), int8_median_ms=round(med["int8"] * 1e3, 1),
                                speedup=round(ratio, 3), threads=threads, conv2d=CONV2D,
                                ort_layout=rppgnet_onnx["manifests"]["int8"]["ort_layout"])
    if os.environ.get("EDGERPPG_INT8_MIN_SPEEDUP"):
        assert ratio >= float(os.environ["EDGERPPG_INT8_MIN_SPEEDUP"]), med
