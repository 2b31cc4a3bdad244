"""`edgerppg bench`: latency, memory, model figures and HR error of artifacts; the CI regression gate."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from edgerppg.bench.gate import check_regression
from edgerppg.bench.plots import PLOT_FILES
from edgerppg.bench.report import rich_tables, write_report
from edgerppg.bench.results import BenchReport
from edgerppg.bench.run import BenchSpec, benchmark
from edgerppg.checks import check_number, check_output
from edgerppg.cli.app import Overwrite, app, console, err_console, model_path, print_json


@app.command("bench")
def bench_cmd(
    artifacts: list[Path] = typer.Argument(..., parser=model_path, help="Export directories (exported/NAME), "
                                           "checkpoints (.safetensors) or shipped weights (cascade-10x)."),
    backend: str = typer.Option(None, "--backend", help="torch, ort or trt (default: chosen from the artifact)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    data: Path = typer.Option(None, "--data", help="Dataset dir: adds the HR error table with POS/CHROM rows."),
    train_data: Path = typer.Option(None, "--train-data", help="The models' training data: its median HR is the "
                                    "constant-guess row (default: the median of --data's own, labelled so)."),
    batch: int = typer.Option(1, "--batch", help="Clips per call."),
    threads: int = typer.Option(None, "--threads", help="Intra-op threads (default: the backend's)."),
    warmup: int = typer.Option(5, "--warmup", help="Untimed calls before timing."),
    iters: int = typer.Option(30, "--iters", help="Timed calls per repeat."),
    repeats: int = typer.Option(3, "--repeats", help="Repeats; the gate compares their median p50."),
    methods: str = typer.Option("pos,chrom", "--methods", help="Classical rows in the accuracy table ('' for none)."),
    isolate: bool = typer.Option(True, "--isolate/--no-isolate", help="Measure each artifact in a fresh process."),
    interleave: bool = typer.Option(True, "--interleave/--no-interleave",
                                    help="Isolated CPU runs: the artifacts take turns, repeat by repeat."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON instead of tables."),
    json_path: Path = typer.Option(None, "--json-out", help="Also write the result as JSON to this file (the input "
                                   "of `edgerppg compare` and `--baseline`)."),
    md_out: Path = typer.Option(None, "--md", help="Write a Markdown report here."),
    plots: Path = typer.Option(None, "--plots", help="Write PNG plots into this directory."),
    baseline: Path = typer.Option(None, "--baseline", help="Saved bench JSON to gate against."),
    max_regression: float = typer.Option(0.10, "--max-regression", help="Allowed slow-down of p50 / rise of MAE (0.10 = 10%)."),
    overwrite: Overwrite = False,
) -> None:
    """Benchmark artifacts: latency (mean/SD/p50/p90/p99), FPS, memory, model figures, HR error."""
    _check_outputs(json_path, md_out, plots, (*artifacts, data, baseline), overwrite)
    for value, name, low in ((batch, "--batch", 1), (iters, "--iters", 1), (repeats, "--repeats", 1),
                             (warmup, "--warmup", 0), (threads, "--threads", 1),
                             (max_regression, "--max-regression", 0)):
        check_number(value, name, low)
    base = BenchReport.load(baseline) if baseline else None  # a bad baseline fails before the long run
    spec = BenchSpec(backend=backend, device=device, data=str(data) if data else None,
                     train_data=str(train_data) if train_data else None, batch=batch, threads=threads,
                     warmup=warmup, iters=iters, repeats=repeats, isolate=isolate, interleave=interleave,
                     methods=tuple(m for m in methods.split(",") if m))
    report = benchmark([str(a) for a in artifacts], spec)
    write_report(report, json_path=json_path, md_path=md_out, plots_dir=plots)
    if json_out:
        print_json(report.to_dict())
    else:
        for table in rich_tables(report):
            console.print(table)
    if base is not None:
        regressions = check_regression(report, base, max_regression)
        for r in regressions:
            err_console.print(f"[bold red]regression:[/] {escape(str(r.artifact))} {r.metric} {r.baseline:.3f} -> {r.current:.3f} "
                              f"(x{r.ratio:.2f} > x{r.limit:.2f})", highlight=False)
        if regressions:
            raise typer.Exit(1)
        err_console.print(f"no regression beyond {max_regression:.0%} against {baseline}", markup=False)


def _check_outputs(json_path, md_out, plots, inputs, overwrite: bool) -> None:
    """Every output path of the run is checked before the long measurement starts."""
    if json_path:
        check_output(json_path, "bench-json", inputs, overwrite)
    if md_out:
        check_output(md_out, "bench-md", inputs, overwrite)
    if plots:
        check_output(plots, "plots", inputs, overwrite)
        for name in PLOT_FILES:
            check_output(plots / name, "png", inputs, overwrite)

