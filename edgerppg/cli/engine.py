"""`edgerppg build-engine` (TensorRT engine from an export) and `edgerppg check-trt` (lint without TensorRT)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgerppg.checks import check_output
from edgerppg.cli.app import Overwrite, app, console, print_json
from edgerppg.export.engine import build_engine, default_engine_dir
from edgerppg.export.trt_lint import check_trt
from edgerppg.export.trtexec import EngineOptions


@app.command("build-engine")
def build_engine_cmd(
    artifact: Path = typer.Argument(..., help="Export directory (model.onnx + manifest.json)."),
    fp16: bool = typer.Option(False, "--fp16", help="Allow fp16 kernels."),
    int8: bool = typer.Option(False, "--int8", help="Allow int8 kernels (QDQ export, or --calib for fp32)."),
    sparse_weights: bool = typer.Option(False, "--sparse-weights", help="Use sparse (2:4) tensor-core kernels."),
    workspace: int = typer.Option(1024, "--workspace", help="Builder workspace limit in MiB."),
    max_batch: int = typer.Option(8, "--max-batch", help="Largest batch of the profile (dynamic-batch exports)."),
    calib: Path = typer.Option(None, "--calib", help="Dataset directory for the INT8 calibrator (fp32 exports)."),
    out: Path = typer.Option(None, "--out", help="Engine directory (default: ARTIFACT-trt[-flags])."),
    json_out: bool = typer.Option(False, "--json", help="Print the engine manifest as JSON."),
    overwrite: Overwrite = False,
) -> None:
    """Build a TensorRT engine with the Python API, or trtexec when only that is installed."""
    options = EngineOptions(fp16=fp16, int8=int8, sparse_weights=sparse_weights, workspace_mb=workspace,
                            max_batch=max_batch)
    check_output(out or default_engine_dir(artifact, options), "trt", inputs=(artifact, calib), overwrite=overwrite)
    result = build_engine(artifact, out, options, calib)
    if json_out:
        print_json(result)
        return
    e = result["engine"]
    console.print(f"engine {result['path']}/model.engine: {e['bytes'] / 2**20:.1f} MiB, {e['gpu']} (sm {e['compute_capability']}), "
                  f"TensorRT {e['tensorrt']}, built by {e['builder']}", highlight=False)


@app.command("check-trt")
def check_trt_cmd(
    artifact: Path = typer.Argument(..., help="Export directory or .onnx file."),
    trt_version: str = typer.Option("10", "--trt-version", help="TensorRT version to check against: 8.6 or 10."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Lint an export for TensorRT without TensorRT: ops, shapes, int64 weights, Q/DQ zero points, names."""
    from rich.table import Table

    report = check_trt(artifact, trt_version)
    if json_out:
        print_json(report)
    else:
        table = Table(title=f"check-trt {report['path']} (TensorRT {trt_version})")
        for col in ("severity", "check", "where", "problem"):
            table.add_column(col)
        for p in report["problems"]:
            table.add_row(p["severity"], p["check"], p["where"], p["message"])
        console.print(table)
        verdict = "[green]ok[/]" if report["ok"] else f"[red]{report['errors']} error(s)[/]"
        console.print(f"{verdict}, {report['warnings']} warning(s); {sum(report['ops'].values())} nodes, "
                      f"{len(report['ops'])} op types")
    if not report["ok"]:
        raise typer.Exit(1)
