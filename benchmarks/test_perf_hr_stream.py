"""`edgerppg hr FILE` end to end on a 640x480 x264 face video: frames per second, per stage, HR, memory.

Two predictors: POS, and the default pipeline's 10x cascade in ONNX Runtime (EDGERPPG_HR_MODEL, else
runs/default/export-10x/fp32 when the main job has run, else the benchmark suite's randomly initialised
structured 10x cascade: the same widths, so the same speed, but no meaningful pulse). Each run reports, in
pytest-benchmark's extra_info: end-to-end frames per second (decoding, face tracking, crops, the model or
POS, HR) and the milliseconds per frame of each stage. The model run also checks that the streamed HR equals,
window by window within 0.5 bpm, the whole-video path (`predict(recording)`: every frame decoded, cropped and
inferred at once), which is what `hr` computed before it streamed. The memory run decodes a 10-minute video in
a subprocess and samples its resident memory: the peak must stay under 500 MiB and within 15% of a 1-minute
video's (memory independent of the video's length).

    python -m pytest benchmarks/test_perf_hr_stream.py -s      # not --benchmark-only: it would skip the HR and memory checks
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from face_video import make_face_video

ROOT = Path(__file__).resolve().parent.parent
PIPELINE_10X = ROOT / "runs" / "default" / "export-10x" / "fp32"
BPM = 72.0


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_face_video(tmp_path_factory.mktemp("hr") / "face-60s.mp4", seconds=60, bpm=BPM)


@pytest.fixture(scope="module")
def model_artifact(artifacts) -> tuple[Path, bool]:
    """(ONNX artifact of the 10x cascade, trained?)."""
    env = os.environ.get("EDGERPPG_HR_MODEL")
    if env:
        return Path(env), True
    if (PIPELINE_10X / "model.onnx").is_file():
        return PIPELINE_10X, True
    return artifacts("cascade", "10x")[1], False


def _predictor(kind: str, model_artifact):
    from edgerppg.predict.predictors import ClassicalPredictor
    from edgerppg.runtime.predict import load_predictor

    if kind == "pos":
        return ClassicalPredictor("pos")
    return load_predictor(str(model_artifact[0]), threads=1)


def _report(benchmark, result: dict) -> None:
    t = result["timings"]
    benchmark.extra_info.update({"fps_end_to_end": round(t["fps_end_to_end"], 1), "hr_bpm": round(result["hr_bpm"], 2),
                                 **{f"cpu_ms_{k}": round(v, 3) for k, v in t["cpu_ms_per_frame"].items()}})
    print(f"\n{result['method']}: {t['fps_end_to_end']:.0f} frames/s end to end over {result['frames']} frames; "
          "CPU ms per frame " + ", ".join(f"{k} {v:.2f}" for k, v in t["cpu_ms_per_frame"].items()) +
          f"; HR {result['hr_bpm']:.1f} bpm")


@pytest.mark.parametrize("kind", ["pos", "10x"])
def test_hr_file_end_to_end(benchmark, video, model_artifact, kind):
    from edgerppg.predict.video import video_hr

    predictor = _predictor(kind, model_artifact)
    result = benchmark.pedantic(video_hr, args=(video, predictor), rounds=3, warmup_rounds=1)
    _report(benchmark, result)
    if kind == "pos" or model_artifact[1]:
        assert abs(result["hr_bpm"] - BPM) < 2.0


def test_hr_streamed_equals_whole_video(video, model_artifact):
    """The streamed 10x pulse gives the HR the whole-video path gives, on every 10 s window (within 0.5 bpm)."""
    from edgerppg.data.recording import Recording
    from edgerppg.predict.evaluate import measure
    from edgerppg.predict.video import video_hr

    predictor = _predictor("10x", model_artifact)
    streamed = video_hr(video, predictor)
    rec = Recording(subject="face", group="video", video_path=video, fps=30.0, bvp=np.zeros(0), hr_bpm=None,
                    codec="x264", bitrate=None, crop="haar", meta={})
    pulse, fps = predictor.predict(rec)
    whole = measure(pulse, fps)
    diffs = [abs(a["hr_bpm"] - b["hr_bpm"]) for a, b in zip(streamed["windows"], whole["windows"])]
    print(f"\nstreamed vs whole-video HR per window: max |diff| {max(diffs):.3f} bpm over {len(diffs)} windows")
    assert len(diffs) == len(whole["windows"]) and max(diffs) <= 0.5


def _peak_rss_mib(args: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of `edgerppg ARGS`, sampled every 50 ms."""
    import psutil

    env = dict(os.environ, EDGERPPG_PROGRESS="0", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "edgerppg", *args], env=env, stdout=subprocess.DEVNULL)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    assert proc.returncode == 0
    return peak / 2**20, time.perf_counter() - start


def test_hr_memory_does_not_grow_with_video_length(tmp_path_factory, video, model_artifact):
    long = make_face_video(tmp_path_factory.mktemp("hr-long") / "face-600s.mp4", seconds=600, bpm=BPM)
    args = ["--model", str(model_artifact[0]), "--json"]
    short_mib, short_s = _peak_rss_mib(["hr", str(video), *args])
    long_mib, long_s = _peak_rss_mib(["hr", str(long), *args])
    print(f"\npeak RSS: 1-minute video {short_mib:.0f} MiB ({short_s:.0f} s), 10-minute video {long_mib:.0f} MiB "
          f"({long_s:.0f} s)")
    assert long_mib < 500 and long_mib < 1.15 * short_mib
