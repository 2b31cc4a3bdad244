"""Report rows, Markdown and plots from real `predict.evaluate.evaluate` output (pulse predictors on synthetic
recordings with a known pulse), next to a real numpy-backend latency result."""

import pytest

from bench_fakes import NoisyPredictor, recording, write_fake
from edgerppg.predict.evaluate import evaluate
from edgerppg.bench.gate import overall_metric
from edgerppg.bench.report import accuracy_rows, rich_tables, to_markdown
from edgerppg.bench.run import BenchSpec, benchmark


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    recs = [recording(i, g, 60 + 7 * i) for i in range(4) for g in ("raw", "x264-250k")]
    rep = benchmark([write_fake(tmp_path / "m")], BenchSpec(opener="bench_fakes:open_fake", isolate=False,
                                                            iters=3, repeats=1, warmup=0))
    rep.results[0].accuracy = evaluate(recs, NoisyPredictor("m", 0.3))
    pulse, fps = NoisyPredictor("m", 0.3).predict(recs[0])
    rep.results[0].example = {"subject": "s0", "group": "raw", "fps": fps, "pulse": pulse.tolist(), "true_hr_bpm": 60.0}
    rep.classical = {"pos": evaluate(recs, NoisyPredictor("pos", 3.0))}
    return rep


def test_accuracy_rows_put_models_and_classical_per_group(report):
    rows = accuracy_rows(report)
    assert [(r["group"], r["method"]) for r in rows] == [
        ("raw", "m"), ("raw", "pos"), ("x264-250k", "m"), ("x264-250k", "pos"), ("all", "m"), ("all", "pos")]
    assert all(isinstance(r["mae"], float) and r["n"] > 0 for r in rows)
    assert overall_metric(report.results[0].accuracy) == rows[4]["mae"]


def test_markdown_and_rich_tables_show_the_same_figures(report):
    md = to_markdown(report, ["plots/latency_hist.png"])
    assert "## HR error per window" in md and "| x264-250k | pos |" in md and "![plots/latency_hist.png]" in md
    p50 = f"{report.results[0].latency.p50_ms:.2f}"
    assert p50 in md
    assert [" ".join(t.title.split(" ")[:4]) for t in rich_tables(report)] == [
        "latency and memory -", "model figures", "HR error per window", "HR error per recording",
        "MAE per window by", "MAE difference from m"]


def test_per_recording_rows_are_the_whole_clip_metrics(report):
    """One HR per recording (the papers' protocol) next to the per-window rows, classical methods included."""
    rows = accuracy_rows(report, "subject")
    acc = report.results[0].accuracy
    assert [(r["group"], r["method"]) for r in rows] == [(r["group"], r["method"]) for r in accuracy_rows(report)]
    assert rows[0]["mae"] == acc["groups"]["raw"]["subject"]["mae"] and rows[0]["n"] == 4
    assert rows[4]["mae"] == acc["overall"]["subject"]["mae"] and rows[4]["n"] == 8
    assert rows[0]["n"] < accuracy_rows(report)[0]["n"]  # 4 recordings, 8 windows
    md = to_markdown(report)
    assert "## HR error per recording" in md and f"| raw | m | {rows[0]['mae']:.2f} |" in md


def test_plots_are_written(report, tmp_path):
    pytest.importorskip("matplotlib")
    from edgerppg.bench.plots import window_pairs, write_plots

    pred, true = window_pairs(report.results[0].accuracy)
    assert pred.size == true.size == 16
    made = write_plots(report, tmp_path / "plots")
    assert sorted(p.rsplit("/", 1)[-1] for p in made) == [
        "bland_altman.png", "latency_hist.png", "pred_vs_true.png", "pulse_spectrum.png"]
    assert all((tmp_path / "plots" / n).stat().st_size > 5000 for n in ("bland_altman.png", "pulse_spectrum.png"))


def test_paired_table_compares_with_the_slowest_artifact(report):
    from edgerppg.bench.paired import paired_difference
    from edgerppg.bench.paired import paired_rows, reference_result

    assert reference_result(report) is report.results[0]
    rows = paired_rows(report)
    assert [(r["group"], r["method"]) for r in rows] == [("raw", "pos"), ("x264-250k", "pos"), ("all", "pos")]
    windows = report.classical["pos"]["windows"]
    expected = paired_difference(windows, report.results[0].accuracy["windows"], "raw")
    assert rows[0]["delta_mae"] == expected["delta_mae"] and rows[0]["ci_low"] <= expected["delta_mae"] <= rows[0]["ci_high"]
    assert rows[0]["mae"] == pytest.approx(accuracy_rows(report)[1]["mae"])
    md = to_markdown(report)
    assert "## MAE difference from m (paired windows, 95% CI from resampling subjects)" in md
    assert f"| raw | pos | {rows[0]['mae']:.2f} |" in md


def test_an_unscored_slowest_row_leaves_paired_differences_to_the_slowest_scored(report):
    """A torch twin timed with `accuracy: false` is the speed reference but has no windows: the paired table
    compares with the slowest row that was scored, and says which."""
    import copy
    import dataclasses

    from edgerppg.bench.paired import paired_rows, reference_result

    rep = copy.deepcopy(report)
    slow = dataclasses.replace(rep.results[0], name="m torch", accuracy=None,
                               latency=copy.deepcopy(rep.results[0].latency))
    slow.latency.median_p50_ms = (rep.results[0].latency.median_p50_ms or 1.0) * 4
    rep.results.insert(0, slow)
    assert reference_result(rep) is slow and reference_result(rep, scored=True) is rep.results[1]
    pairs = [(r["group"], r["method"]) for r in paired_rows(rep)]
    assert pairs == [("raw", "pos"), ("x264-250k", "pos"), ("all", "pos")]
    assert "## MAE difference from m (paired windows" in to_markdown(rep)


def test_saved_json_carries_the_paired_rows_and_loads_back(report, tmp_path):
    import json

    from edgerppg.bench.paired import paired_rows
    from edgerppg.bench.results import BenchReport

    report.save(tmp_path / "r.json")
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["paired"] == paired_rows(report) and saved["paired"][0]["method"] == "pos"
    assert paired_rows(BenchReport.load(tmp_path / "r.json")) == saved["paired"]


def test_accuracy_pass_uses_every_core_while_latency_keeps_its_threads(tmp_path):
    """Latency runs at --threads; the untimed accuracy pass opens its predictor with every core."""
    import os

    import bench_fakes

    from edgerppg.data.synth import synthesize

    synthesize(tmp_path / "d", subjects=1, seconds=4, fps=30, size=32, seed=0)
    bench_fakes.OPENED_WITH.clear()
    spec = BenchSpec(opener="bench_fakes:open_fake", predictor="bench_fakes:load_truth", isolate=False, iters=2,
                     repeats=1, warmup=0, threads=1, data=str(tmp_path / "d"), methods=())
    rep = benchmark([write_fake(tmp_path / "m")], spec)
    assert rep.results[0].threads == 1 and rep.settings["threads"] == 1
    assert bench_fakes.OPENED_WITH == [{"device": "cpu", "threads": len(os.sched_getaffinity(0))}]
    assert rep.results[0].accuracy["groups"]["raw"]["window"]["mae"] < 1.0  # the truth predictor was the one used


def test_an_unscored_artifact_is_timed_but_not_scored(tmp_path):
    """A pipeline's `accuracy: false` (BenchSpec.unscored): the torch twin of a parity-checked export keeps its
    latency row and skips the accuracy pass; the report names it under the accuracy table."""
    import bench_fakes

    from edgerppg.data.synth import synthesize

    synthesize(tmp_path / "d", subjects=1, seconds=4, fps=30, size=32, seed=0)
    bench_fakes.OPENED_WITH.clear()
    a, b = write_fake(tmp_path / "a"), write_fake(tmp_path / "b")
    spec = BenchSpec(opener="bench_fakes:open_fake", predictor="bench_fakes:load_truth", isolate=False, iters=2,
                     repeats=1, warmup=0, data=str(tmp_path / "d"), methods=(), unscored=(str(b),))
    rep = benchmark([a, b], spec)
    assert rep.results[0].accuracy and rep.results[1].accuracy is None and rep.results[1].latency.samples_ms
    assert len(bench_fakes.OPENED_WITH) == 1  # one accuracy pass, for a only
    md = to_markdown(rep)
    assert "timed, not scored: b" in md and "| raw | a |" in md and "| raw | b |" not in md
