"""The bitrate sweep (table and mae_vs_bitrate.png) and the constant-guess row of the bench report."""

import pytest

from bench_fakes import NoisyPredictor, recording, write_fake
from edgerppg.bench.report import accuracy_rows, rich_tables, to_markdown, write_report
from edgerppg.bench.run import BenchSpec, benchmark
from edgerppg.bench.sweep import group_label, sweep_groups, sweep_rows, sweep_series
from edgerppg.data.synth import group_name, parse_group
from edgerppg.predict.evaluate import evaluate, floor_of

GROUPS = ("raw", "x264-250k", "x264-1000k", "mpeg4-500k", "x265-250k")


def rows(methods=("m", "pos")):
    """Accuracy rows whose MAE encodes (method, group), so a misplaced cell shows."""
    return [{"group": g, "method": m, "mae": 10.0 * i + j, "n": 5 + j}
            for i, m in enumerate(methods) for j, g in enumerate(GROUPS)] + [
        {"group": "all", "method": m, "mae": 99.0, "n": 25} for m in methods]


def test_group_names_round_trip_and_order_by_codec_then_bitrate():
    assert parse_group(group_name("x264", "1M")) == ("x264", 1000.0) and parse_group("raw") == ("raw", None)
    assert parse_group("subject-group") == ("subject-group", None)  # a real dataset's name: not compressed
    assert sweep_groups(GROUPS) == ["raw", "mpeg4-500k", "x264-250k", "x264-1000k", "x265-250k"]  # 250 < 1000
    assert group_label("x264-250k") == "x264 250 kb/s" and group_label("raw") == "raw"
    assert sweep_groups(["raw", "all"]) == []  # lossless data alone: no sweep
    assert group_label("mpeg4-250k", 46.8) == "mpeg4 250 kb/s (47 reached)"  # under 80% of the asked rate
    assert group_label("x264-250k", 241.0) == "x264 250 kb/s" and group_label("raw", 1355.0) == "raw"


def test_a_group_short_of_its_rate_is_labelled_and_plotted_at_the_rate_reached():
    reached = {"mpeg4-500k": 46.0, "x264-250k": 257.0, "x264-1000k": 990.0}
    table = [{**r, "kbps": reached.get(r["group"]) if r["method"] == "m" else None} for r in rows()]
    _, columns = sweep_rows(table)
    assert [label for _, label, _ in columns][3:8:2] == ["mpeg4 500 kb/s (46 reached)", "x264 250 kb/s",
                                                          "x264 1000 kb/s"]
    series = sweep_series(table)
    assert series["pos"]["mpeg4"] == [(46.0, 13.0)] and series["m"]["x264"] == [(250.0, 1.0), (1000.0, 2.0)]


def test_sweep_table_has_one_row_per_method_and_mae_with_n_per_group():
    table, columns = sweep_rows(rows())
    assert [r["method"] for r in table] == ["m", "pos"]
    assert [label for _, label, _ in columns] == ["method", "raw", "n", "mpeg4 500 kb/s", "n", "x264 250 kb/s", "n",
                                                   "x264 1000 kb/s", "n", "x265 250 kb/s", "n"]
    assert table[1]["x264-1000k"] == 12.0 and table[1]["x264-1000k n"] == 7  # pos is i=1, x264-1000k is j=2
    assert "all" not in table[0]
    assert sweep_rows([r for r in rows() if r["group"] == "raw"]) == ([], ())
    series = sweep_series(rows())
    assert series["pos"]["x264"] == [(250.0, 11.0), (1000.0, 12.0)] and series["pos"]["raw"] == [(0.0, 10.0)]


def test_mae_vs_bitrate_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from edgerppg.bench.plots import mae_vs_bitrate

    path = mae_vs_bitrate(rows(("m", "pos", "constant (train median)")), tmp_path / "mae_vs_bitrate.png")
    assert path == str(tmp_path / "mae_vs_bitrate.png") and (tmp_path / "mae_vs_bitrate.png").stat().st_size > 5000
    assert mae_vs_bitrate([r for r in rows() if r["group"] == "raw"], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    recs = [recording(i, g, 60 + 7 * i) for i in range(4) for g in ("raw", "x264-250k", "x264-500k")]
    rep = benchmark([write_fake(tmp / "m")], BenchSpec(opener="bench_fakes:open_fake", isolate=False, iters=3,
                                                        repeats=1, warmup=0))
    rep.results[0].accuracy = evaluate(recs, NoisyPredictor("m", 0.3))
    rep.classical = {"pos": evaluate(recs, NoisyPredictor("pos", 3.0))}
    rep.floor = floor_of(rep.classical["pos"])
    return rep


def test_report_rows_carry_intervals_subjects_and_the_floor_last(report):
    acc = accuracy_rows(report)
    floor = report.floor["predictor"]
    assert [r["method"] for r in acc if r["group"] == "raw"] == ["m", "pos", floor]
    for r in acc:
        assert r["mae_low"] <= r["mae"] <= r["mae_high"] and r["subjects"] == 4
    per_recording = accuracy_rows(report, "subject")
    assert [r["method"] for r in per_recording if r["group"] == "all"] == ["m", "pos", floor]
    assert all(r["mae_low"] <= r["mae"] <= r["mae_high"] for r in per_recording)
    md = to_markdown(report)
    assert "| group | method | MAE | 95% CI low | 95% CI high |" in md and f"| raw | {floor} |" in md
    assert "## MAE per window by codec and bitrate" in md and "| x264 250 kb/s | n | x264 500 kb/s | n |" in md
    assert "MAE per window by codec and bitrate (bpm; n = windows)" in [t.title for t in rich_tables(report)]


def test_report_files_include_the_sweep_plot_and_the_floor_survives_json(report, tmp_path):
    pytest.importorskip("matplotlib")
    from edgerppg.bench.results import BenchReport

    written = write_report(report, json_path=tmp_path / "r.json", plots_dir=tmp_path / "plots")
    assert str(tmp_path / "plots" / "mae_vs_bitrate.png") in written
    back = BenchReport.load(tmp_path / "r.json")
    assert back.floor == report.floor and accuracy_rows(back) == accuracy_rows(report)


def test_benchmark_takes_the_floor_from_the_training_data(tmp_path):
    from edgerppg.data.synth import synthesize
    from edgerppg.predict.evaluate import truth_median
    from edgerppg.data import load_dataset

    synthesize(tmp_path / "test", subjects=1, seconds=12, fps=30, size=32, seed=5)
    synthesize(tmp_path / "train", subjects=2, seconds=12, fps=30, size=32, seed=6)
    spec = BenchSpec(opener="bench_fakes:open_fake", predictor="bench_fakes:load_truth", isolate=False, iters=2,
                     repeats=1, warmup=0, data=str(tmp_path / "test"), train_data=str(tmp_path / "train"),
                     methods=())
    rep = benchmark([write_fake(tmp_path / "m")], spec)
    assert rep.floor["guess_source"] == "train median" and rep.settings["train_data"] == str(tmp_path / "train")
    assert rep.floor["guess_bpm"] == pytest.approx(truth_median(load_dataset(tmp_path / "train")))
    true = rep.results[0].accuracy["windows"][0]["hr_true"]
    assert rep.floor["overall"]["window"]["mae"] == pytest.approx(abs(rep.floor["guess_bpm"] - true))
    assert [r["method"] for r in accuracy_rows(rep) if r["group"] == "raw"] == ["m", "constant (train median)"]
