"""`edgerppg bench --baseline` gate, `edgerppg compare`, and the JSON schema, on real numpy models."""

import dataclasses
import json
import os
import sys

import pytest

import edgerppg.runtime as runtime
from bench_fakes import open_fake, write_fake
from cli_runner import cli
from edgerppg.bench.gate import check_regression, compare_reports
from edgerppg.bench.results import SCHEMA, BenchReport
from edgerppg.bench.run import BenchSpec, benchmark
from edgerppg.errors import EdgeRPPGError


@pytest.fixture
def fake_runtime(monkeypatch):
    monkeypatch.setattr(runtime, "open_backend", open_fake, raising=False)


FAST = ["--iters", "15", "--repeats", "3", "--warmup", "3", "--no-isolate", "--methods", ""]


def test_baseline_gate_passes_unchanged_and_fails_a_slower_model(tmp_path, fake_runtime):
    model = write_fake(tmp_path / "model", width=64, layers=1)
    base = tmp_path / "base.json"
    assert cli(["bench", str(model), *FAST, "--json-out", str(base)]) == 0
    # unchanged model: within the threshold, set far above the noise of a loaded 2-core machine (4x)
    assert cli(["bench", str(model), *FAST, "--baseline", str(base), "--max-regression", "3.0"]) == 0
    # the same artifact name, now a genuinely heavier network: the gate must trip
    write_fake(model, width=1536, layers=4)
    out = tmp_path / "slow.json"
    assert cli(["bench", str(model), *FAST, "--baseline", str(base), "--max-regression", "3.0",
                "--json-out", str(out)]) == 1
    slow, fast = BenchReport.load(out), BenchReport.load(base)
    assert slow.results[0].latency.median_p50_ms > 2 * fast.results[0].latency.median_p50_ms


def test_bad_baseline_is_one_line_error(tmp_path, fake_runtime, capsys):
    model = write_fake(tmp_path / "model")
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something-else"}')
    assert cli(["bench", str(model), *FAST, "--baseline", str(bad)]) == 2
    assert "not an edgerppg bench result" in capsys.readouterr().err
    assert cli(["bench", str(tmp_path / "missing"), *FAST]) == 2


def test_mae_regression_trips_the_gate(tmp_path):
    report = benchmark([write_fake(tmp_path / "m")], BenchSpec(opener="bench_fakes:open_fake", isolate=False,
                                                              iters=3, repeats=1, warmup=0))
    base = BenchReport.from_dict(json.loads(json.dumps(report.to_dict())))
    base.results[0].accuracy = {"overall": {"window": {"mae": 2.0}}}
    worse = BenchReport.from_dict(base.to_dict())
    worse.results[0].accuracy = {"overall": {"window": {"mae": 2.6}}}
    assert [r.metric for r in check_regression(worse, base, max_regression=10.0 - 1e-9)] == []
    found = check_regression(worse, base, max_regression=0.10)
    assert "mae" in [r.metric for r in found] and "median_p50_ms" not in [r.metric for r in found]
    assert check_regression(base, base, 0.10) == []


def test_compare_ratios_and_cli(tmp_path, fake_runtime, capsys):
    small, big = write_fake(tmp_path / "a" / "net", width=32), write_fake(tmp_path / "b" / "net", width=1024, layers=3)
    ja, jb = tmp_path / "a.json", tmp_path / "b.json"
    assert cli(["bench", str(small), *FAST, "--json-out", str(ja)]) == 0
    assert cli(["bench", str(big), *FAST, "--json-out", str(jb)]) == 0
    rows = {r["metric"]: r for r in compare_reports(BenchReport.load(ja), BenchReport.load(jb))}
    assert rows["median_p50_ms"]["ratio"] == pytest.approx(rows["median_p50_ms"]["b"] / rows["median_p50_ms"]["a"])
    assert rows["median_p50_ms"]["ratio"] > 1 and rows["size_mib"]["ratio"] > 1
    capsys.readouterr()
    assert cli(["compare", str(ja), str(jb), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {r["metric"] for r in printed} >= {"median_p50_ms", "fps", "rss_peak_mib"}
    assert cli(["compare", str(ja), str(jb)]) == 0
    assert "B/A" in capsys.readouterr().out


# The JSON layout CI jobs parse: adding a field is fine, renaming/removing one must bump SCHEMA.
LATENCY_KEYS = {"mean_ms", "sd_ms", "min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "iters", "repeats", "warmup",
                "batch", "frames", "p50_repeats_ms", "median_p50_ms", "fps", "clips_per_s", "samples_ms", "split_ms"}
MEMORY_KEYS = {"rss_idle_bytes", "rss_peak_bytes", "rss_increase_bytes", "isolated", "gpu_bytes", "gpu_source"}
FIGURE_KEYS = {"params", "nonzeros", "density", "macs", "size_bytes", "precision", "model", "variant"}


def test_json_schema_is_stable_and_numbers_stay_numbers(tmp_path, fake_runtime, capsys):
    model = write_fake(tmp_path / "m", width=16)
    out, md = tmp_path / "r.json", tmp_path / "r.md"
    assert cli(["bench", str(model), *FAST, "--json-out", str(out), "--md", str(md),
                "--plots", str(tmp_path / "plots")]) == 0
    data = json.loads(out.read_text())
    assert data["schema"] == SCHEMA == "edgerppg-bench/1"
    # paired: derived; floor: the constant guess (None without --data), optional when read back
    assert set(data) == {"schema", "results", "environment", "settings", "classical", "paired", "floor"}
    r = data["results"][0]
    assert set(r) >= {"name", "path", "backend", "device", "threads", "latency", "memory", "figures", "providers", "accuracy"}
    assert set(r["latency"]) == LATENCY_KEYS and set(r["memory"]) == MEMORY_KEYS and set(r["figures"]) == FIGURE_KEYS
    assert isinstance(r["latency"]["p50_ms"], float) and isinstance(r["memory"]["rss_peak_bytes"], int)
    assert r["figures"]["params"] == r["figures"]["nonzeros"] and r["figures"]["density"] == 1.0
    assert r["backend"] == "numpy" and data["environment"]["cpu"]
    assert "| p50 ms |" in md.read_text() and (tmp_path / "plots" / "latency_hist.png").stat().st_size > 1000
    assert BenchReport.from_dict(data).to_dict() == data  # round trip


def test_isolated_subprocess_measures_its_own_peak(tmp_path, monkeypatch):
    here = os.path.dirname(__file__)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    spec = BenchSpec(opener="bench_fakes:open_fake", isolate=True, iters=3, repeats=1, warmup=1)
    report = benchmark([write_fake(tmp_path / "m", width=2048, layers=2)], spec)
    mem = report.results[0].memory
    assert mem.isolated and mem.rss_peak_bytes >= mem.rss_idle_bytes
    assert mem.rss_increase_bytes > 8 * 2**20  # 2048x2048 float32 weights (16 MiB) were loaded in the child
    with pytest.raises(EdgeRPPGError, match="no such artifact"):
        benchmark([tmp_path / "nope"], spec)
    assert sys.modules.get("bench_fakes") is not None


def test_isolated_child_runs_this_edgerppg_not_one_in_the_working_directory(tmp_path, monkeypatch):
    """`python -m` would put the cwd first on sys.path: started inside another checkout, the child timed that."""
    here = os.path.dirname(__file__)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    decoy = tmp_path / "cwd" / "edgerppg"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('the decoy edgerppg in the working directory')\n")
    artifact = write_fake(tmp_path / "m")
    monkeypatch.chdir(decoy.parent)
    spec = BenchSpec(opener="bench_fakes:open_fake", isolate=True, iters=2, repeats=1, warmup=0)
    assert benchmark([artifact], spec).results[0].memory.isolated


def test_interleaved_artifacts_take_turns_repeat_by_repeat(tmp_path, monkeypatch):
    """Two isolated artifacts: repeat r of both runs before repeat r + 1 of either, each after its warm-up;
    the results are those of each artifact, in order, with every repeat timed."""
    here = os.path.dirname(__file__)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("EDGERPPG_FAKE_LOG", str(log))
    a, b = write_fake(tmp_path / "a", width=16), write_fake(tmp_path / "b", width=32, layers=2)
    spec = BenchSpec(opener="bench_fakes:open_fake", isolate=True, iters=2, repeats=3, warmup=1, methods=())
    report = benchmark([a, b], spec)
    calls = log.read_text().split()
    assert calls == (["16"] * 3 + ["32"] * 3) * 3  # (1 warm-up + 2 timed) per repeat, taking turns
    assert [r.path for r in report.results] == [str(a), str(b)]
    assert all(r.latency.repeats == 3 and len(r.latency.samples_ms) == 6 and r.memory.isolated for r in report.results)
    assert report.settings["interleave"] is True
    log.unlink()
    benchmark([a, b], dataclasses.replace(spec, interleave=False))
    assert log.read_text().split() == ["16"] * 7 + ["32"] * 7  # one warm-up, then 3 x 2 back to back


def test_interleaved_run_reports_a_failing_artifact_in_one_line(tmp_path, monkeypatch):
    here = os.path.dirname(__file__)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    good, bad = write_fake(tmp_path / "good"), tmp_path / "bad"
    bad.mkdir()  # no fake.json: the child's opener fails
    spec = BenchSpec(opener="bench_fakes:open_fake", isolate=True, iters=1, repeats=2, warmup=0, methods=())
    with pytest.raises(EdgeRPPGError, match="bad: benchmark subprocess failed"):
        benchmark([good, bad], spec)


def test_interleaved_accuracy_passes_run_side_by_side_one_per_core(tmp_path, monkeypatch):
    """The accuracy passes are not timed: after the interleaved timing they run at once, one per core, each on
    cores // passes threads (so the default pipeline's larger held-out set costs half the wall time on 2 cores)."""
    from edgerppg.bench.run import cores
    from edgerppg.data.synth import synthesize

    here = os.path.dirname(__file__)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    log = tmp_path / "passes.log"
    monkeypatch.setenv("EDGERPPG_FAKE_LOG", str(log))
    synthesize(tmp_path / "d", subjects=1, seconds=4, size=32, codecs=["raw"], seed=2)
    a, b = write_fake(tmp_path / "a"), write_fake(tmp_path / "b")
    spec = BenchSpec(opener="bench_fakes:open_fake", predictor="bench_fakes:load_truth_logged", isolate=True,
                     iters=1, repeats=1, warmup=0, methods=(), data=str(tmp_path / "d"))
    report = benchmark([a, b], spec)
    assert [r.path for r in report.results] == [str(a), str(b)] and all(r.accuracy for r in report.results)
    passes = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines()
                    if len(line.split()) == 3)  # the fake backend logs its calls there too
    workers = min(cores(), 2)
    assert [int(p[0]) for p in passes] == [max(1, cores() // workers)] * 2
    if workers == 2:
        (_, s1, e1), (_, s2, e2) = sorted(passes, key=lambda p: p[1])
        assert s2 < e1, "the two accuracy passes ran one after the other"
