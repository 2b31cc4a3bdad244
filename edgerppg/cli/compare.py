"""`edgerppg compare A.json B.json`: two bench results side by side, with B/A ratios."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.bench.gate import compare_reports
from edgerppg.bench.results import BenchReport
from edgerppg.cli.app import app, console, print_json


@app.command("compare")
def compare_cmd(
    a: Path = typer.Argument(..., help="Reference bench JSON (A)."),
    b: Path = typer.Argument(..., help="Bench JSON to compare with it (B)."),
    json_out: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Side-by-side table of two `edgerppg bench --json-out` results; ratio = B / A."""
    from rich.table import Table

    rows = compare_reports(BenchReport.load(a), BenchReport.load(b))
    if json_out:
        print_json(rows)
        return
    table = Table(title=f"A = {a}   B = {b}")
    for col in ("artifact", "backend", "metric", "A", "B", "B/A"):
        table.add_column(col, justify="right" if col in ("A", "B", "B/A") else "left")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        better = r["ratio"] is not None and r["ratio"] != 1 and (r["ratio"] > 1) == r["higher_is_better"]
        style = "green" if better else ("red" if r["ratio"] not in (None, 1.0) else "")
        table.add_row(r["artifact"], r["backend"], r["label"], _num(r["a"]), _num(r["b"]),
                      f"[{style}]{ratio}[/]" if style else ratio)
    console.print(table)


def _num(v) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
