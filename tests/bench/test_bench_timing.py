"""Timing statistics and memory sampling measured on a real numpy backend (no mocked clock)."""

import numpy as np
import pytest

from bench_fakes import FakeBackend, write_fake
from edgerppg.bench.memory import MemorySampler, run_peak_rss
from edgerppg.bench.timing import latency_stats, make_inputs, time_backend
from edgerppg.errors import EdgeRPPGError


def test_stats_are_ordered_and_count_video_frames(tmp_path):
    with FakeBackend(write_fake(tmp_path / "m", width=64, frames=8)) as be:
        stats = time_backend(be, batch=2, warmup=2, iters=10, repeats=3)
        assert be.calls == 2 + 30
    assert stats.min_ms <= stats.p50_ms <= stats.p90_ms <= stats.p99_ms <= stats.max_ms
    assert len(stats.samples_ms) == 30 and len(stats.p50_repeats_ms) == 3
    assert stats.median_p50_ms == pytest.approx(np.median(stats.p50_repeats_ms))
    assert stats.fps == pytest.approx(2 * 8 / (stats.mean_ms / 1e3))
    assert stats.clips_per_s == pytest.approx(2 / (stats.mean_ms / 1e3))
    assert stats.frames == 8 and stats.batch == 2 and stats.sd_ms >= 0


def test_latency_stats_on_known_samples():
    s = latency_stats([[0.001, 0.002, 0.003], [0.004, 0.005, 0.006]], batch=1, frames=64, warmup=0)
    assert s.mean_ms == pytest.approx(3.5) and s.min_ms == pytest.approx(1.0) and s.max_ms == pytest.approx(6.0)
    assert s.p50_repeats_ms == pytest.approx([2.0, 5.0]) and s.median_p50_ms == pytest.approx(3.5)
    assert s.fps == pytest.approx(64 / 0.0035)


def test_bigger_model_is_measured_slower(tmp_path):
    with FakeBackend(write_fake(tmp_path / "s", width=32, layers=1)) as small:
        fast = time_backend(small, warmup=2, iters=15, repeats=3)
    with FakeBackend(write_fake(tmp_path / "b", width=1024, layers=4)) as big:
        slow = time_backend(big, warmup=2, iters=15, repeats=3)
    assert slow.median_p50_ms > 2 * fast.median_p50_ms


def test_inputs_follow_the_backend_spec(tmp_path):
    be = FakeBackend(write_fake(tmp_path / "m", frames=8, size=16))
    x = make_inputs(be, batch=3)["video"]
    assert x.shape == (3, 3, 8, 16, 16) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1


def test_bad_counts_are_one_line_errors(tmp_path):
    with FakeBackend(write_fake(tmp_path / "m")) as be, pytest.raises(EdgeRPPGError, match="iters"):
        time_backend(be, iters=0)


def test_memory_sampler_sees_an_allocation():
    with MemorySampler(interval=0.001) as mem:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block += 1
        del block
    stats = mem.stats()
    assert stats.rss_increase_bytes > 32 * 2**20 and stats.gpu_bytes is None


def test_child_peak_is_the_kernels_high_water_mark_even_when_freed_at_once():
    """A 160 MiB block touched and freed within a millisecond: a sampler would miss it, wait4's maxrss does not."""
    import sys

    code = "import numpy as np; b = np.ones(160 * 2**20 // 8); b += 1; del b; raise SystemExit(3)"
    peak, seconds, rc = run_peak_rss([sys.executable, "-c", code])
    assert rc == 3 and seconds > 0 and peak > 160 * 2**20


def test_real_checkpoint_through_the_runtime(tmp_path):
    """A real tiny rPPGNet checkpoint through runtime.open_backend: torch backend, figures from the checkpoint."""
    from edgerppg.bench.run import BenchSpec, benchmark
    from edgerppg.models import create_model
    from edgerppg.models.checkpoint import save_checkpoint

    ckpt = tmp_path / "tiny.safetensors"
    model = create_model("rppgnet", variant="tiny")
    save_checkpoint(ckpt, model)
    report = benchmark([ckpt], BenchSpec(isolate=False, warmup=0, iters=1, repeats=2, threads=1))
    r = report.results[0]
    assert r.backend == "torch" and r.latency.frames == model.spec.clip.frames and r.latency.p50_ms > 0
    trainable = sum(p.numel() for p in model.parameters())
    assert r.figures.params == trainable and r.figures.model == "rppgnet" and r.figures.variant == "tiny"
    assert r.figures.macs > 1e6 and r.figures.precision == "fp32" and r.figures.size_bytes == ckpt.stat().st_size
