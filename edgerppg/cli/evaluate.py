"""`edgerppg eval`: the HR metric table (MAE with its 95% interval, RMSE, MAPE, r, % < 5 bpm, SD, n) of methods and
models on a dataset, the constant-guess floor, and the MAE per codec and bitrate (the bitrate sweep)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.checks import check_window
from edgerppg.bench.plots import mae_vs_bitrate
from edgerppg.bench.sweep import sweep_rows
from edgerppg.cli.app import Band, Estimator, Step, Window, app, console, model_path, print_json
from edgerppg.data import load_dataset
from edgerppg.errors import EdgeRPPGError
from edgerppg.predict.evaluate import accuracy_table
from edgerppg.predict.predictors import ClassicalPredictor
from edgerppg.runtime.predict import load_predictor
from edgerppg.signal.metrics import RESAMPLES, SEED


@app.command("eval")
def eval_cmd(
    data: Path = typer.Option(..., "--data", help="Dataset directory (edgerppg synth, UBFC-rPPG, PURE, MAHNOB)."),
    methods: list[str] = typer.Option(None, "--method", help="Classical method (repeat): pos, chrom, green."),
    models: list[Path] = typer.Option(None, "--model", parser=model_path, help="Checkpoint, export dir or shipped "
                                      "weights (cascade-10x) (repeat)."),
    reader: str = typer.Option("auto", "--reader", help="Dataset reader (auto detects the layout)."),
    groups: list[str] = typer.Option(None, "--group", help="Only these groups, e.g. raw, x264-250k (repeat)."),
    crop: str = typer.Option("auto", "--crop", help="Face crop for the methods: auto, haar, full, center."),
    train_data: Path = typer.Option(None, "--train-data", help="The models' training data: its median HR is the "
                                    "constant-guess row (default: the median of --data's own, labelled so)."),
    plots: Path = typer.Option(None, "--plots", help="Write mae_vs_bitrate.png into this directory."),
    window: Window = 10.0,
    step: Step = None,
    band: Band = (0.7, 3.0),
    estimator: Estimator = "welch",
    json_out: bool = typer.Option(False, "--json", help="Print JSON (table rows plus every window and subject)."),
) -> None:
    """Evaluate HR error of classical methods and models side by side, one row per predictor x data group."""
    check_window(window, step, band)
    if train_data is not None and not train_data.is_dir():
        raise EdgeRPPGError(f"{train_data}: --train-data is not a directory; point it at the models' training data")
    recordings = load_dataset(data, reader=reader, groups=groups or None)
    predictors = [ClassicalPredictor(m, crop) for m in (methods or ([] if models else ["pos"]))]
    if models:
        predictors += [load_predictor(str(m), backend=None, device="cpu") for m in models]
    train = load_dataset(train_data) if train_data else None
    table = accuracy_table(recordings, predictors, window, step, band, estimator, train_recordings=train)
    if plots:
        plots.mkdir(parents=True, exist_ok=True)
        table["plots"] = [p for p in [mae_vs_bitrate(table["rows"], plots / "mae_vs_bitrate.png", "predictor")] if p]
    if json_out:
        print_json(table)
        return
    render_table(table, str(data))


def render_table(table: dict, title: str) -> None:
    from rich.table import Table

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    def ci(lo, hi):
        return "-" if lo is None else f"{lo:.2f}-{hi:.2f}"

    t = Table(title=f"HR error on {title}: {table['window']:g} s windows every {table['step']:g} s, "
                    f"band {table['band'][0]}-{table['band'][1]} Hz, {table['method']}")
    for col in ("predictor", "group", "MAE", "95% CI", "RMSE", "MAPE %", "r", "% <5bpm", "SD", "n", "no pulse",
                "subj MAE", "subj 95% CI", "subj"):
        t.add_column(col, justify="left" if col in ("predictor", "group") else "right")
    for r in table["rows"]:
        t.add_row(r["predictor"], r["group"], fmt(r["mae"], ".2f"), ci(r["mae_low"], r["mae_high"]),
                  fmt(r["rmse"], ".2f"), fmt(r["mape"], ".1f"), fmt(r["r"], ".3f"), fmt(r["within5"], ".1f"),
                  fmt(r["sd"], ".2f"), str(r["n"]), str(r["no_pulse"]), fmt(r["subject_mae"], ".2f"),
                  ci(r["subject_mae_low"], r["subject_mae_high"]), str(r["subjects"]))
    console.print(t)
    if table.get("floor"):
        f = table["floor"]
        console.print(f"{f['predictor']}: {f['guess_bpm']:.1f} bpm for every window, the "
                      f"{'training set' if f['guess_source'] == 'train median' else 'evaluated set'}'s median "
                      f"true HR; a model must beat it. 95% CI: subjects resampled ({RESAMPLES} draws, seed {SEED}); "
                      "n = windows, "
                      "subj = recordings.", highlight=False)
    moves: dict[str, float] = {}
    for r in table["rows"]:
        if r.get("one_window") is not None:
            moves[r["group"]] = max(moves.get(r["group"], 0.0), r["one_window"])
    if moves:
        console.print("The most one window moves a predictor's MAE (dropping it), per group: "
                      + ", ".join(f"{g} {v:.2f}" for g, v in moves.items()) + " bpm.", highlight=False)
    rows, columns = sweep_rows(table["rows"], "predictor")
    if rows:
        s = Table(title="MAE per window by codec and bitrate (bpm; n = windows)")
        for key, label, spec in columns:
            s.add_column(label, justify="left" if spec is None else "right")
        for r in rows:
            s.add_row(*[fmt(r.get(key), spec) if spec else str(r[key]) for key, _, spec in columns])
        console.print(s)
    for p in table.get("plots", []):
        console.print(f"wrote {p}", highlight=False)
