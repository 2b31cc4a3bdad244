"""INT8 (ONNX Runtime static QDQ) vs fp32 rPPGNet latency on this CPU, with the HR agreement beside it.

    pytest benchmarks/test_perf_export_int8.py --benchmark-only --benchmark-group-by=param:variant

Variant: EDGERPPG_INT8_VARIANT (default "paper", the deployed size). Calibration: real clips from the
dataset directory in EDGERPPG_CALIB when set (as `edgerppg export --precision int8 --calib DIR` does), else
seeded synthetic pulsing clips (recorded in extra_info). Weights are random: latency does not depend on them.
The int8/fp32 ratio to compare is the ratio of the two medians in one run.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

VARIANT = os.environ.get("EDGERPPG_INT8_VARIANT", "paper")


@pytest.fixture(scope="module")
def rppgnet_onnx(tmp_path_factory):
    """{"fp32": path, "int8": path, "calibration": str, "clip": ClipSpec} for rPPGNet at VARIANT."""
    import torch

    from edgerppg.export.exporter import ExportOptions, export_module
    from edgerppg.export.parity import synthetic_clips
    from edgerppg.export.precision import to_int8
    from edgerppg.models import create_model

    torch.manual_seed(0)
    model = create_model("rppgnet", VARIANT).eval()
    root = tmp_path_factory.mktemp("int8")
    export_module(model, root / "fp32", ExportOptions(parity_clips=2))
    clip = model.spec.clip
    if os.environ.get("EDGERPPG_CALIB"):
        from edgerppg.export.calib import calibration_clips

        calib, source = calibration_clips(os.environ["EDGERPPG_CALIB"], clip, 16), os.environ["EDGERPPG_CALIB"]
    else:
        calib, source = synthetic_clips(clip, 8, seed=1), "synthetic"
    to_int8(root / "fp32" / "model.onnx", root / "int8.onnx", calib=calib, input_name="video")
    return {"fp32": root / "fp32" / "model.onnx", "int8": root / "int8.onnx", "calibration": source, "clip": clip}


@pytest.mark.parametrize("variant", [VARIANT])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_rppgnet_ort_latency(benchmark, rppgnet_onnx, precision, variant):
    from edgerppg.export.parity import compare, synthetic_clips
    from edgerppg.runtime.ort_backend import make_session

    clip = rppgnet_onnx["clip"]
    clips = synthetic_clips(clip, 4, seed=7)
    session = make_session(rppgnet_onnx[precision], threads=int(os.environ.get("EDGERPPG_BENCH_THREADS", "1")))
    ref = make_session(rppgnet_onnx["fp32"], threads=1)
    got = np.concatenate([session.run(None, {"video": c[None]})[0] for c in clips])
    want = np.concatenate([ref.run(None, {"video": c[None]})[0] for c in clips])
    fig = compare(want, got, clip.fps, precision="int8")
    benchmark.extra_info.update(precision=precision, calibration=rppgnet_onnx["calibration"],
                                max_hr_diff_bpm=fig["max_hr_diff_bpm"], clip=clip.to_dict())
    assert fig["max_hr_diff_bpm"] <= 0.5
    benchmark.pedantic(session.run, args=(None, {"video": clips[:1]}), rounds=7, warmup_rounds=2)
