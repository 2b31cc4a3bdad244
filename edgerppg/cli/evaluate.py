"""`edgerppg eval`: the HR metric table (MAE, RMSE, MAPE, r, % < 5 bpm, SD, n) of methods and models on a dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.checks import check_window
from edgerppg.cli.app import Band, Estimator, Step, Window, app, console, print_json
from edgerppg.data import load_dataset
from edgerppg.predict.evaluate import accuracy_table
from edgerppg.predict.predictors import ClassicalPredictor
from edgerppg.runtime.predict import load_predictor


@app.command("eval")
def eval_cmd(
    data: Path = typer.Option(..., "--data", help="Dataset directory (edgerppg synth, UBFC-rPPG, PURE, MAHNOB)."),
    methods: list[str] = typer.Option(None, "--method", help="Classical method (repeat): pos, chrom, green."),
    models: list[Path] = typer.Option(None, "--model", help="Checkpoint or export dir (repeat)."),
    reader: str = typer.Option("auto", "--reader", help="Dataset reader (auto detects the layout)."),
    groups: list[str] = typer.Option(None, "--group", help="Only these groups, e.g. raw, x264-250k (repeat)."),
    crop: str = typer.Option("auto", "--crop", help="Face crop for the methods: auto, haar, full, center."),
    window: Window = 10.0,
    step: Step = None,
    band: Band = (0.7, 3.0),
    estimator: Estimator = "welch",
    json_out: bool = typer.Option(False, "--json", help="Print JSON (table rows plus every window and subject)."),
) -> None:
    """Evaluate HR error of classical methods and models side by side, one row per predictor x data group."""
    check_window(window, step, band)
    recordings = load_dataset(data, reader=reader, groups=groups or None)
    predictors = [ClassicalPredictor(m, crop) for m in (methods or ([] if models else ["pos"]))]
    if models:
        predictors += [load_predictor(str(m), backend=None, device="cpu") for m in models]
    table = accuracy_table(recordings, predictors, window, step, band, estimator)
    if json_out:
        print_json(table)
        return
    render_table(table, str(data))


def render_table(table: dict, title: str) -> None:
    from rich.table import Table

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    t = Table(title=f"HR error on {title}: {table['window']:g} s windows every {table['step']:g} s, "
                    f"band {table['band'][0]}-{table['band'][1]} Hz, {table['method']}")
    for col in ("predictor", "group", "MAE", "RMSE", "MAPE %", "r", "% <5bpm", "SD", "n", "no pulse", "subj MAE",
                "subj"):
        t.add_column(col, justify="left" if col in ("predictor", "group") else "right")
    for r in table["rows"]:
        t.add_row(r["predictor"], r["group"], fmt(r["mae"], ".2f"), fmt(r["rmse"], ".2f"), fmt(r["mape"], ".1f"),
                  fmt(r["r"], ".3f"), fmt(r["within5"], ".1f"), fmt(r["sd"], ".2f"), str(r["n"]), str(r["no_pulse"]),
                  fmt(r["subject_mae"], ".2f"), str(r["subjects"]))
    console.print(t)
