"""`edgerppg run RECIPE`: the staged pipeline data -> train -> prune -> export -> engine -> bench."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.cli.app import app, console, print_json
from edgerppg.pipeline import run_pipeline


@app.command("run")
def run_cmd(
    recipe: Path = typer.Argument(..., help="Pipeline file, e.g. pipelines/default.yaml."),
    run_dir: Path = typer.Option(None, "--run-dir", help="Where stage artifacts go (default: the recipe's run_dir)."),
    force: list[str] = typer.Option([], "--force", help="Re-run this stage (and those after it) even if unchanged."),
    json_out: bool = typer.Option(False, "--json", help="Print the stage summary as JSON."),
) -> None:
    """Run a pipeline; stages whose inputs' hashes are unchanged are skipped."""
    summary = run_pipeline(recipe, run_dir=run_dir, force=tuple(force))
    if json_out:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"pipeline {summary['name']} -> {summary['run_dir']}")
    for col in ("stage", "kind", "status", "seconds", "output"):
        table.add_column(col)
    for s in summary["stages"]:
        note = s.get("reason") or s.get("output") or ""
        table.add_row(s["name"], s["kind"], s["status"], f"{s.get('seconds', 0):.1f}", str(note))
    console.print(table)
    report = summary.get("report_md")
    if report and Path(report).exists():
        from rich.markdown import Markdown

        console.print(Markdown(Path(report).read_text()))
